-- 008_hardening.sql - failed authentications per client address (README
-- "Configuration, Limits"): API keys, access tokens and OAuth client secrets share one
-- allowance per address, counted in cv.rate_counters under "auth:<addr>"
-- (the address as lib/client_addr.c names it: IPv4, or an IPv6 /64).  The
-- limit is global, not per account: a failure has no account to belong to.
-- Replaces 002's cv.auth_failures and its fixed cv.auth_failure_limit().
--
-- An address that has used up its allowance is refused with 1029 even when
-- it presents a valid key: answering a valid key normally would tell the
-- guesser which of its guesses was right, which is what the limit is for.
--
-- The failure is counted in the same transaction that found the credential
-- wrong, with cv.rate_take's conditional upsert: of N parallel wrong guesses
-- exactly the allowance's worth get 401 and the rest 429.  A valid key only
-- reads the counter (no write, no lock on the hot path).  The code:
-- cv.authenticate_from (sql/functions/auth.sql), cv.auth_failed and
-- cv.auth_blocked (limits.sql); send and auth-token take the client address
-- (their old signatures are dropped here), and the code check locks the
-- contact before its codes (cv.check_code, codes.sql: the lock order).

-- The one row of settings: max_failures per window_seconds per address.
CREATE TABLE cv.auth_limits (
	singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	max_failures   integer NOT NULL DEFAULT 10 CHECK (max_failures BETWEEN 1 AND 1000000),
	window_seconds integer NOT NULL DEFAULT 900 CHECK (window_seconds BETWEEN 1 AND 86400)
);
INSERT INTO cv.auth_limits DEFAULT VALUES;

DROP FUNCTION IF EXISTS cv.api_send(text, text, text, text[], text, text, text);
DROP FUNCTION IF EXISTS cv.api_auth_token(text, uuid, text);
DROP FUNCTION IF EXISTS cv.oauth_client(bigint, text);
DROP FUNCTION IF EXISTS cv.oauth_client_failed(text);
DROP FUNCTION IF EXISTS cv.auth_failure_limit();
DROP TABLE cv.auth_failures;

GRANT SELECT ON cv.auth_limits TO cv_app;
