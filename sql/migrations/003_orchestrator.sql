-- 003_orchestrator.sql - the Users Orchestrator dialect (README "Users Orchestrator API"):
-- tenants named by three header codes.  The functions behind
-- /v4/Users/VerificationCode, /VerifyEmail/Resend, /v4/Users/Verification
-- and the verification link /v4/Users/VerifyEmail are in
-- sql/functions/orchestrator.sql.

CREATE TABLE cv.tenants (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id        bigint NOT NULL REFERENCES cv.accounts (id) ON DELETE CASCADE,
	client_code       text NOT NULL CHECK (client_code ~ '^[A-Za-z0-9._-]{1,64}$'),
	paper_code        text NOT NULL CHECK (paper_code ~ '^[A-Za-z0-9._-]{1,64}$'),
	client_group_code text NOT NULL CHECK (client_group_code ~ '^[A-Za-z0-9._-]{1,64}$'),
	-- HS256 key of the tenant's JWTs (its UTF-8 bytes); at least 256 bits.
	jwt_secret        text NOT NULL CHECK (pg_catalog.octet_length(jwt_secret) >= 32),
	jwt_issuer        text,   -- expected "iss", when set
	jwt_audience      text,   -- expected "aud", when set
	-- Origins ("https://shop.example.com[:port]") a returnUrl may lead to.
	return_origins    text[] NOT NULL DEFAULT '{}',
	created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (client_code, paper_code, client_group_code)
);

GRANT SELECT, INSERT, UPDATE ON cv.tenants TO cv_app;
