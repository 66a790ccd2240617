-- 002_oauth.sql - OAuth 2.0 client credentials (SPEC section 4.2): clients
-- with keyed-hash secrets, the record of failed client authentications that
-- rate-limits guessing, and cv.authenticate extended to access tokens.

CREATE TABLE cv.oauth_clients (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the client_id
	account_id  bigint NOT NULL REFERENCES cv.accounts (id) ON DELETE CASCADE,
	name        text NOT NULL DEFAULT '',
	-- HMAC-SHA256(code_secret, "o:" || client_secret): a keyed hash, so a
	-- dump of this table does not allow offline guessing.
	secret_hash bytea NOT NULL CHECK (pg_catalog.length(secret_hash) = 32),
	token_ttl   integer NOT NULL DEFAULT 3600 CHECK (token_ttl BETWEEN 1 AND 86400),
	revoked_at  timestamptz,
	created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX oauth_clients_account ON cv.oauth_clients (account_id);

-- Failed client authentications per client address, in fixed windows.
CREATE TABLE cv.auth_failures (
	client_ip    text PRIMARY KEY,
	window_start timestamptz NOT NULL,
	failures     integer NOT NULL
);

-- How many failed client authentications one address may make per window.
CREATE FUNCTION cv.auth_failure_limit(OUT max_failures integer, OUT window_seconds integer)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT 10, 900;
$$;

-- POST /oauth/token, read-only part: the client and whether its address is
-- blocked.  The secret is compared in the program (constant time).
CREATE FUNCTION cv.oauth_client(p_client_id bigint, p_ip text,
                                OUT client_found boolean, OUT secret_hash text, OUT token_ttl integer,
                                OUT usable boolean, OUT blocked_for integer, OUT now_epoch bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	lim record;
	f cv.auth_failures%ROWTYPE;
BEGIN
	lim := cv.auth_failure_limit();
	now_epoch := extract(epoch FROM now())::bigint;
	blocked_for := 0;
	SELECT * INTO f FROM cv.auth_failures a WHERE a.client_ip = p_ip;
	IF FOUND AND f.failures >= lim.max_failures
	   AND f.window_start + make_interval(secs => lim.window_seconds) > now() THEN
		blocked_for := greatest(1, ceil(extract(epoch FROM
			f.window_start + make_interval(secs => lim.window_seconds) - now()))::integer);
	END IF;
	SELECT encode(c.secret_hash, 'hex'), c.token_ttl,
	       c.revoked_at IS NULL AND a.status = 'active'
	  INTO secret_hash, token_ttl, usable
	  FROM cv.oauth_clients c JOIN cv.accounts a ON a.id = c.account_id
	 WHERE c.id = p_client_id;
	client_found := FOUND;
END
$$;

-- Records one failed client authentication from p_ip; a window older than
-- the limit's starts afresh.  Atomic under concurrency (one upsert).
CREATE FUNCTION cv.oauth_client_failed(p_ip text)
RETURNS integer
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	INSERT INTO cv.auth_failures AS a (client_ip, window_start, failures)
	VALUES (p_ip, now(), 1)
	ON CONFLICT (client_ip) DO UPDATE
	   SET window_start = CASE WHEN a.window_start + make_interval(secs =>
	                                (SELECT window_seconds FROM cv.auth_failure_limit())) <= now()
	                           THEN now() ELSE a.window_start END,
	       failures = CASE WHEN a.window_start + make_interval(secs =>
	                            (SELECT window_seconds FROM cv.auth_failure_limit())) <= now()
	                       THEN 1 ELSE a.failures + 1 END
	RETURNING failures;
$$;

-- The account behind a bearer credential.  p_credential is either the hex
-- SHA-256 of an API key, or "oauth:<client_id>:<exp>" for an access token
-- whose signature the program has checked.  result: 0, 1001 unknown,
-- revoked or malformed, 3000 expired (database clock), 7002 account inactive.
CREATE OR REPLACE FUNCTION cv.authenticate(p_key_hash text, OUT result integer, OUT account_id bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	k record;
	parts text[];
BEGIN
	account_id := NULL;
	IF p_key_hash LIKE 'oauth:%' THEN
		parts := string_to_array(p_key_hash, ':');
		IF array_length(parts, 1) <> 3 OR parts[2] !~ '^[0-9]{1,18}$'
		   OR parts[3] !~ '^[0-9]{1,18}$' THEN
			result := 1001;
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
		result := 1001;
		RETURN;
	END IF;
	IF k.id IS NULL OR k.revoked_at IS NOT NULL THEN
		result := 1001;
	ELSIF k.expires_at IS NOT NULL AND k.expires_at <= now() THEN
		result := 3000;
	ELSIF k.status <> 'active' THEN
		result := 7002;
	ELSE
		result := 0;
		account_id := k.id;
	END IF;
END
$$;

GRANT SELECT, INSERT, UPDATE ON cv.oauth_clients, cv.auth_failures TO cv_app;
GRANT EXECUTE ON FUNCTION cv.auth_failure_limit(), cv.oauth_client(bigint, text),
      cv.oauth_client_failed(text) TO cv_app;
