-- auth.sql - who is calling: the account behind an API key or an OAuth
-- access token from a client address whose failed authentications are
-- limited (cv.authenticate_from, by cv.credential_state, which cvctl shows,
-- and limits.sql's cv.auth_failed and cv.auth_wait), and the read-only part
-- of POST /oauth/token (cv.oauth_client).  Every endpoint authenticated by a
-- bearer credential starts with cv.authenticate_from.
--
-- Inline functions.  cv.credential_state (and limits.sql's cv.auth_wait,
-- keys.sql's cv.secret_kid) are LANGUAGE sql without SECURITY DEFINER or SET
-- (cv.apply_privileges' inline list), so PostgreSQL's planner copies their
-- body into the statement that names them instead of calling them: a rule
-- stated once, at no cost per call.  They are executable by no login role
-- (but credential_state by cvctl) and run with the caller's rights, here
-- cv_owner's.  A function with a SET clause is never inlined, and PL/pgSQL is
-- never: each call then costs a function call and a statement of its own
-- (issue 22, README Benchmarks).

-- The state of an API key or an OAuth client's access token: 'revoked'
-- (revoked_at set), else 'expired' (expires_at reached on the database
-- clock; NULL never expires), else 'active'.  The one statement of these
-- rules: cv.authenticate_from decides by it, and cvctl's "api-key list"
-- shows it.
CREATE OR REPLACE FUNCTION cv.credential_state(p_revoked_at timestamptz, p_expires_at timestamptz)
RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p_revoked_at IS NOT NULL THEN 'revoked'
	            WHEN p_expires_at <= pg_catalog.now() THEN 'expired'
	            ELSE 'active' END
$$;

-- The account behind a bearer credential, from client address p_addr whose
-- failed authentications are limited (cv.auth_limits).  p_key_hash is
-- either the hex SHA-256 of an API key, or "oauth:<client_id>:<exp>" for an
-- access token whose signature the program has checked.  result: 0 (with
-- account_id), 1001 unknown, revoked or malformed (counted against the
-- address: cv.auth_failed), 3000 expired (API key or access token, on the
-- database clock), 7002 account inactive, 1029 the address is blocked
-- (retry_after: limits.sql's cv.auth_wait).  On the way of every request, so
-- one statement: the credential and the address's counter in one read, with
-- no sequential scan whatever the statistics (as limits.sql says); each kind
-- of credential reads only its own table, which a new connection (CGI) pays
-- for by the table.
CREATE OR REPLACE FUNCTION cv.authenticate_from(p_key_hash text, p_addr text,
                                                OUT result integer, OUT account_id bigint,
                                                OUT retry_after integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off AS $$
DECLARE
	-- The credential's account, its state and the address's wait; all NULL
	-- for a malformed credential, which reads nothing.
	acc bigint;
	acc_status text;
	expires timestamptz;
	revoked timestamptz;
	wait integer;
	state text;
BEGIN
	account_id := NULL;
	IF p_key_hash ~ '^[0-9a-f]{64}$' THEN
		SELECT a.id, a.status, ak.expires_at, ak.revoked_at, w.wait
		  INTO acc, acc_status, expires, revoked, wait
		  FROM (SELECT 1) AS one
		  LEFT JOIN (cv.api_keys ak JOIN cv.accounts a ON a.id = ak.account_id)
		    ON ak.key_hash = decode(p_key_hash, 'hex')
		  LEFT JOIN LATERAL cv.auth_wait(p_addr) AS w ON true;
	ELSIF p_key_hash ~ '^oauth:[0-9]{1,18}:[0-9]{1,18}$' THEN
		SELECT a.id, a.status, to_timestamp(split_part(p_key_hash, ':', 3)::bigint), c.revoked_at,
		       w.wait
		  INTO acc, acc_status, expires, revoked, wait
		  FROM (SELECT 1) AS one
		  LEFT JOIN (cv.oauth_clients c JOIN cv.accounts a ON a.id = c.account_id)
		    ON c.id = split_part(p_key_hash, ':', 2)::bigint
		  LEFT JOIN LATERAL cv.auth_wait(p_addr) AS w ON true;
	END IF;
	state := cv.credential_state(revoked, expires);
	IF acc IS NULL OR state = 'revoked' THEN
		result := 1001;  -- CV_ERR_UNAUTHENTICATED
		retry_after := cv.auth_failed(p_addr);
	ELSE
		retry_after := wait;
		IF state = 'expired' THEN
			result := 3000;  -- CV_ERR_TOKEN_EXPIRED
		ELSIF acc_status <> 'active' THEN
			result := 7002;  -- CV_ERR_ACCOUNT_INACTIVE
		ELSE
			result := 0;
			account_id := acc;
		END IF;
	END IF;
	IF retry_after IS NOT NULL THEN
		result := 1029;  -- CV_ERR_TOO_MANY_ATTEMPTS
		account_id := NULL;
	END IF;
END
$$;

-- POST /oauth/token, the read-only part: client p_client_id (client_found;
-- usable when neither it is revoked nor its account inactive), and whether
-- the address p_ip is blocked (blocked_for seconds, 0 when not).  The secret
-- is compared in the program, in constant time; a wrong one is counted with
-- cv.auth_failed.  now_epoch is the database clock in whole seconds,
-- truncated, never rounded: the access token's iat, which must never be
-- later than the moment of issue (a verifier without leeway, such as
-- PyJWT's default, refuses a token issued "in the future").
CREATE OR REPLACE FUNCTION cv.oauth_client(p_client_id bigint, p_ip text,
                                           OUT client_found boolean, OUT secret_hash text,
                                           OUT token_ttl integer, OUT usable boolean,
                                           OUT blocked_for integer, OUT now_epoch bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off AS $$
BEGIN
	SELECT floor(extract(epoch FROM now()))::bigint, COALESCE(w.wait, 0), c.id IS NOT NULL,
	       encode(c.secret_hash, 'hex'), c.token_ttl, c.revoked_at IS NULL AND a.status = 'active'
	  INTO now_epoch, blocked_for, client_found, secret_hash, token_ttl, usable
	  FROM (SELECT 1) AS one
	  LEFT JOIN (cv.oauth_clients c JOIN cv.accounts a ON a.id = c.account_id)
	    ON c.id = p_client_id
	  LEFT JOIN LATERAL cv.auth_wait(p_ip) AS w ON true;
END
$$;
