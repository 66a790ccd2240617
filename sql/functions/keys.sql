-- keys.sql - the signing keys of contact auth tokens (migration 019):
-- the JWKS the responders publish and what cvctl account key does.

-- The kid of an account's implicit first HS256 key, its token_secret:
-- the account's uuid without dashes (the secret itself goes into no kid).
-- Inline (auth.sql): no SECURITY DEFINER, no SET.
CREATE OR REPLACE FUNCTION cv.secret_kid(p_account uuid) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT pg_catalog.replace(p_account::text, '-', '')
$$;

-- GET /accounts/{uuid}/.well-known/jwks.json: the RFC 7517 key set of an
-- active account's published and active public keys, oldest first (never
-- an HS256 key, which has no public half).  found is false for an unknown
-- or disabled account.
CREATE OR REPLACE FUNCTION cv.account_jwks(p_account uuid, OUT found boolean, OUT jwks text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT a.id IS NOT NULL,
	       CASE WHEN a.id IS NOT NULL THEN
	         pg_catalog.jsonb_build_object('keys', COALESCE(
	           (SELECT pg_catalog.jsonb_agg(k.public_jwk ORDER BY k.id) FROM cv.signing_keys k
	             WHERE k.account_id = a.id AND k.state IN ('published', 'active')
	               AND k.public_jwk IS NOT NULL), '[]'::jsonb))::text END
	  FROM (SELECT NULL) AS one
	  LEFT JOIN cv.accounts a ON a.uuid = p_account AND a.status = 'active'
$$;

-- cvctl account key list: the account's keys, the implicit one first.
CREATE OR REPLACE FUNCTION cv.signing_key_list(p_account bigint)
RETURNS TABLE (kid text, alg text, state text, created_at timestamptz,
               activated_at timestamptz, retired_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT cv.secret_kid(a.uuid), 'HS256',
	       CASE WHEN EXISTS (SELECT 1 FROM cv.signing_keys k
	                          WHERE k.account_id = a.id AND k.state = 'active')
	            THEN 'published' ELSE 'active' END,
	       a.created_at, NULL::timestamptz, NULL::timestamptz
	  FROM cv.accounts a WHERE a.id = p_account AND a.token_secret IS NOT NULL
	UNION ALL
	SELECT * FROM (SELECT k.kid, k.alg, k.state, k.created_at, k.activated_at, k.retired_at
	                 FROM cv.signing_keys k WHERE k.account_id = p_account ORDER BY k.id) AS ks
$$;

-- cvctl account key activate: the key signs from now on; the key that
-- signed before stays published (its tokens verify until they expire).
-- result: 'activated', 'unknown' (no such key of the account), 'retired'
-- (a retired key never signs again), 'active' (already; nothing changed).
CREATE OR REPLACE FUNCTION cv.signing_key_activate(p_account bigint, p_kid text,
                                                   OUT result text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	k cv.signing_keys%ROWTYPE;
BEGIN
	-- One activation of an account at a time: the account's row is the lock.
	PERFORM 1 FROM cv.accounts WHERE id = p_account FOR UPDATE;
	SELECT * INTO k FROM cv.signing_keys WHERE account_id = p_account AND kid = p_kid;
	IF NOT FOUND THEN
		result := 'unknown';
		RETURN;
	ELSIF k.state <> 'published' THEN
		result := k.state;
		RETURN;
	END IF;
	UPDATE cv.signing_keys SET state = 'published', superseded_at = now()
	 WHERE account_id = p_account AND state = 'active';
	UPDATE cv.signing_keys SET state = 'active', activated_at = now(), superseded_at = NULL
	 WHERE id = k.id;
	result := 'activated';
END
$$;

-- cvctl account key retire: the key leaves the JWKS for good.  result:
-- 'retired', 'unknown', 'active' (activate another key first), 'retired
-- before' (nothing changed), 'in use' (a token it signed may still be
-- valid, until valid_until; p_force retires it anyway).
CREATE OR REPLACE FUNCTION cv.signing_key_retire(p_account bigint, p_kid text, p_force boolean,
                                                 OUT result text, OUT valid_until timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	k cv.signing_keys%ROWTYPE;
	ttl integer;
BEGIN
	SELECT a.token_ttl INTO ttl FROM cv.accounts a WHERE a.id = p_account FOR UPDATE;
	SELECT * INTO k FROM cv.signing_keys WHERE account_id = p_account AND kid = p_kid;
	IF NOT FOUND THEN
		result := 'unknown';
		RETURN;
	ELSIF k.state = 'active' THEN
		result := 'active';
		RETURN;
	ELSIF k.state = 'retired' THEN
		result := 'retired before';
		RETURN;
	END IF;
	valid_until := k.superseded_at + make_interval(secs => ttl);
	IF valid_until > now() AND NOT p_force THEN
		result := 'in use';
		RETURN;
	END IF;
	UPDATE cv.signing_keys SET state = 'retired', retired_at = now() WHERE id = k.id;
	result := 'retired';
END
$$;
