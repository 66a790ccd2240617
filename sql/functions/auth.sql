-- auth.sql - who is calling: the account behind an API key or an OAuth
-- access token (cv.authenticate, by cv.credential_state, which cvctl
-- shows), the same from a client address whose
-- failed authentications are limited (cv.authenticate_from, on top of
-- limits.sql's cv.auth_failed and cv.auth_blocked), and the read-only part
-- of POST /oauth/token (cv.oauth_client).  Every endpoint authenticated by a
-- bearer credential starts with cv.authenticate_from.

-- The state of an API key or an OAuth client's access token: 'revoked'
-- (revoked_at set), else 'expired' (expires_at reached on the database
-- clock; NULL never expires), else 'active'.  The one statement of these
-- rules: cv.authenticate decides by it, and cvctl's "api-key list" shows it.
-- PL/pgSQL, not SQL: every function is SECURITY DEFINER with a SET clause
-- (cv.apply_privileges), which keeps a SQL function from being inlined, so
-- it was parsed and planned on every call; PL/pgSQL keeps its plan.
-- Measured (pgbench -c1 calling cv.authenticate): 0.077-0.082 ms of
-- PostgreSQL CPU per call before, 0.041-0.053 ms after.
CREATE OR REPLACE FUNCTION cv.credential_state(p_revoked_at timestamptz, p_expires_at timestamptz)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN CASE WHEN p_revoked_at IS NOT NULL THEN 'revoked'
	            WHEN p_expires_at <= now() THEN 'expired'
	            ELSE 'active' END;
END
$$;

-- The account behind a bearer credential.  p_key_hash is either the hex
-- SHA-256 of an API key, or "oauth:<client_id>:<exp>" for an access token
-- whose signature the program has checked.  result: 0 (with account_id),
-- 1001 unknown, revoked or malformed, 3000 expired (API key or access token,
-- on the database clock), 7002 account inactive.  Reads only.
CREATE OR REPLACE FUNCTION cv.authenticate(p_key_hash text, OUT result integer, OUT account_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	k record;
	parts text[];
	state text;
BEGIN
	account_id := NULL;
	IF p_key_hash LIKE 'oauth:%' THEN
		parts := string_to_array(p_key_hash, ':');
		IF array_length(parts, 1) <> 3 OR parts[2] !~ '^[0-9]{1,18}$'
		   OR parts[3] !~ '^[0-9]{1,18}$' THEN
			result := 1001;  -- CV_ERR_UNAUTHENTICATED
			RETURN;
		END IF;
		SELECT a.id, a.status, NULL::timestamptz AS expires_at, c.revoked_at INTO k
		  FROM cv.oauth_clients c JOIN cv.accounts a ON a.id = c.account_id
		 WHERE c.id = parts[2]::bigint;
		IF FOUND AND k.revoked_at IS NULL THEN
			k.expires_at := to_timestamp(parts[3]::bigint);
		END IF;
	ELSIF p_key_hash ~ '^[0-9a-f]{64}$' THEN
		SELECT a.id, a.status, ak.expires_at, ak.revoked_at INTO k
		  FROM cv.api_keys ak JOIN cv.accounts a ON a.id = ak.account_id
		 WHERE ak.key_hash = decode(p_key_hash, 'hex');
	ELSE
		result := 1001;  -- CV_ERR_UNAUTHENTICATED
		RETURN;
	END IF;
	state := cv.credential_state(k.revoked_at, k.expires_at);
	IF k.id IS NULL OR state = 'revoked' THEN
		result := 1001;  -- CV_ERR_UNAUTHENTICATED
	ELSIF state = 'expired' THEN
		result := 3000;  -- CV_ERR_TOKEN_EXPIRED
	ELSIF k.status <> 'active' THEN
		result := 7002;  -- CV_ERR_ACCOUNT_INACTIVE
	ELSE
		result := 0;
		account_id := k.id;
	END IF;
END
$$;

-- cv.authenticate from client address p_addr: result as cv.authenticate's,
-- or 1029 with retry_after when the address is blocked, whether or not the
-- credential is valid (answering a valid key normally would tell the guesser
-- which guess was right, which is what the limit is for).  Only 1001
-- (unknown, revoked or malformed credential) counts as a failure: an expired
-- key or an inactive account was not a guess.  The failure is counted in the
-- same transaction that found the credential wrong, so of N parallel wrong
-- guesses exactly the allowance's worth get 401 and the rest 429; a valid
-- key only reads the counter (no write, no lock on the hot path).
CREATE OR REPLACE FUNCTION cv.authenticate_from(p_key_hash text, p_addr text,
                                                OUT result integer, OUT account_id bigint,
                                                OUT retry_after integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
BEGIN
	auth := cv.authenticate(p_key_hash);
	result := auth.result;
	account_id := auth.account_id;
	IF auth.result = 1001 THEN  -- CV_ERR_UNAUTHENTICATED
		retry_after := cv.auth_failed(p_addr);
	ELSE
		retry_after := cv.auth_blocked(p_addr);
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
