-- 002_oauth.sql - OAuth 2.0 client credentials (README "POST /oauth/token"): clients
-- with keyed-hash secrets, the record of failed client authentications that
-- rate-limits guessing (replaced by 008), and cv.authenticate extended to
-- access tokens (sql/functions/auth.sql).

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

GRANT SELECT, INSERT, UPDATE ON cv.oauth_clients, cv.auth_failures TO cv_app;
