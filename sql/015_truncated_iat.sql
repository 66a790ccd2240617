-- 015_truncated_iat.sql - the time a token is issued at, in whole seconds,
-- is truncated, never rounded (issue 17 finding 1).  extract(epoch FROM
-- now())::bigint rounds to the nearest second, so an access token's iat
-- was up to half a second after the moment it was issued, and a verifier
-- that allows no leeway (PyJWT's default) refused a fresh token about half
-- the time: "The token is not yet valid (iat)".  The same number judged a
-- tenant JWT's exp and nbf, where rounding made a token expire up to half
-- a second early and become valid up to half a second early; truncated,
-- "exp + leeway <= now" and "nbf - leeway > now" in whole seconds give the
-- same answer as on the exact clock.  (The auth token's iat, read in
-- lib/db.c's TOKEN_COLUMNS, is truncated there.)  Otherwise as in 003 and
-- 008, and as every function since 014: SECURITY DEFINER.

CREATE OR REPLACE FUNCTION cv.uo_tenant(p_client text, p_paper text, p_group text,
                                        OUT tenant_id bigint, OUT jwt_secret text,
                                        OUT jwt_issuer text, OUT jwt_audience text,
                                        OUT return_origins text, OUT account_active boolean,
                                        OUT now_epoch bigint)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT t.id, t.jwt_secret, t.jwt_issuer, t.jwt_audience,
	       array_to_string(t.return_origins, ' '), a.status = 'active',
	       floor(extract(epoch FROM now()))::bigint
	  FROM cv.tenants t JOIN cv.accounts a ON a.id = t.account_id
	 WHERE t.client_code = p_client AND t.paper_code = p_paper
	   AND t.client_group_code = p_group;
$$;

CREATE OR REPLACE FUNCTION cv.oauth_client(p_client_id bigint, p_ip text,
                                           OUT client_found boolean, OUT secret_hash text,
                                           OUT token_ttl integer, OUT usable boolean,
                                           OUT blocked_for integer, OUT now_epoch bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	now_epoch := floor(extract(epoch FROM now()))::bigint;
	blocked_for := COALESCE(cv.auth_blocked(p_ip), 0);
	SELECT encode(c.secret_hash, 'hex'), c.token_ttl,
	       c.revoked_at IS NULL AND a.status = 'active'
	  INTO secret_hash, token_ttl, usable
	  FROM cv.oauth_clients c JOIN cv.accounts a ON a.id = c.account_id
	 WHERE c.id = p_client_id;
	client_found := FOUND;
END
$$;

CALL cv.apply_privileges();
