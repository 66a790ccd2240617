-- 006_limits.sql - the limits of README "Configuration, Limits", per account: sends per
-- email address per hour, verify attempts per email address per 15
-- minutes, and verify attempts per client address per hour (the resend
-- cooldown per contact is the user app's, from 001).  Counting is one
-- atomic upsert per limit, so parallel requests cannot slip past it, and
-- the verify attempts count per address, not per code: asking for a new
-- code does not buy new guesses.  The limits are sql/functions/limits.sql;
-- the code check that verify in both dialects shares, in one function,
-- cv.check_code (sql/functions/codes.sql).  Both verify functions take the
-- client address now: the old ones are dropped here.

ALTER TABLE cv.accounts
	ADD COLUMN sends_per_hour integer NOT NULL DEFAULT 5
		CHECK (sends_per_hour BETWEEN 1 AND 1000000),
	ADD COLUMN verifies_per_email integer NOT NULL DEFAULT 10
		CHECK (verifies_per_email BETWEEN 1 AND 1000000),
	ADD COLUMN verifies_per_ip integer NOT NULL DEFAULT 100
		CHECK (verifies_per_ip BETWEEN 1 AND 1000000);

-- One row per limited thing ("send:<account>:<email>", ...), fixed windows.
CREATE TABLE cv.rate_counters (
	bucket       text PRIMARY KEY,
	window_start timestamptz NOT NULL,
	hits         integer NOT NULL
);

DROP FUNCTION IF EXISTS cv.api_verify(text, text, text, text);
DROP FUNCTION IF EXISTS cv.uo_verify(bigint, text, text, text, text);

GRANT SELECT, INSERT, UPDATE ON cv.rate_counters TO cv_app;
