-- 019_signing_keys.sql - signing keys of contact auth tokens, each with a
-- kid, for rotation with overlap and for tokens a business verifies with a
-- public key (issue 18).  An account's token_secret stays its implicit
-- first HS256 key (its kid is cv.secret_kid of it), so tokens issued before
-- keep verifying; a row here that is 'active' signs instead of it.
--   published  in the account's JWKS (ES256, EdDSA), not signing yet, or
--              no longer: a verifier accepts tokens of every published key
--   active     signs the account's new tokens (at most one per account)
--   retired    in no JWKS; its tokens stop verifying
-- The private key (PKCS#8 DER; for HS256 the secret's bytes) is sealed with
-- AES-256-GCM under the server's outbox key with the kid as additional
-- data, as outbox bodies are (lib/crypto.h cv_seal): the database alone
-- cannot sign.  public_jwk is the RFC 7517 public key (NULL for HS256).
-- cv.api_auth_token and cv.api_login_ticket answer the active key: new OUT
-- parameters, so they are dropped here and defined again in api.sql.

CREATE TABLE cv.signing_keys (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id    bigint NOT NULL REFERENCES cv.accounts (id) ON DELETE CASCADE,
	kid           text NOT NULL UNIQUE CHECK (kid ~ '^[A-Za-z0-9_-]{16,64}$'),
	alg           text NOT NULL CHECK (alg IN ('HS256', 'ES256', 'EdDSA')),
	state         text NOT NULL DEFAULT 'published'
	              CHECK (state IN ('published', 'active', 'retired')),
	sealed        bytea NOT NULL CHECK (pg_catalog.length(sealed) BETWEEN 29 AND 1024),
	public_jwk    jsonb CHECK ((alg = 'HS256') = (public_jwk IS NULL)),
	created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
	activated_at  timestamptz,
	-- when another key became active after this one had signed: its tokens
	-- may be valid until superseded_at + the account's token_ttl
	superseded_at timestamptz,
	retired_at    timestamptz,
	CHECK ((state = 'active') <= (activated_at IS NOT NULL)),
	CHECK ((state = 'retired') = (retired_at IS NOT NULL))
);

CREATE UNIQUE INDEX signing_keys_one_active ON cv.signing_keys (account_id)
	WHERE state = 'active';
CREATE INDEX signing_keys_account ON cv.signing_keys (account_id);

DROP FUNCTION IF EXISTS cv.api_login_ticket(text, text, text, text);
DROP FUNCTION IF EXISTS cv.api_auth_token(text, uuid, text, text);
