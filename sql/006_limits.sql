-- 006_limits.sql - the limits of SPEC section 7, per account: sends per
-- email address per hour, verify attempts per email address per 15
-- minutes, and verify attempts per client address per hour (the resend
-- cooldown per contact is the user app's, from 001).  Counting is one
-- atomic upsert per limit, so parallel requests cannot slip past it, and
-- the verify attempts count per address, not per code: asking for a new
-- code does not buy new guesses.  Also: the code check that verify in both
-- dialects shares, in one function.

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

-- Takes one unit from the bucket's allowance of p_limit per p_window
-- seconds.  NULL: taken.  Otherwise the seconds until the window ends, and
-- nothing is taken (a refused request does not extend the wait).
CREATE FUNCTION cv.rate_take(p_bucket text, p_limit integer, p_window integer)
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	taken integer;
	wait integer;
BEGIN
	INSERT INTO cv.rate_counters AS r (bucket, window_start, hits)
	VALUES (p_bucket, clock_timestamp(), 1)
	ON CONFLICT (bucket) DO UPDATE
	   SET window_start = CASE WHEN r.window_start + make_interval(secs => p_window)
	                                <= clock_timestamp()
	                           THEN clock_timestamp() ELSE r.window_start END,
	       hits = CASE WHEN r.window_start + make_interval(secs => p_window) <= clock_timestamp()
	                   THEN 1 ELSE r.hits + 1 END
	 WHERE r.window_start + make_interval(secs => p_window) <= clock_timestamp()
	    OR r.hits < p_limit
	RETURNING hits INTO taken;
	IF taken IS NOT NULL THEN
		RETURN NULL;
	END IF;
	SELECT greatest(1, ceil(extract(epoch FROM
	           r.window_start + make_interval(secs => p_window) - clock_timestamp())))::integer
	  INTO wait FROM cv.rate_counters r WHERE r.bucket = p_bucket;
	RETURN COALESCE(wait, 1);
END
$$;

-- The verify limits of an account for one email address and client
-- address: NULL when this attempt may go on, else seconds to wait.
CREATE FUNCTION cv.verify_limits(p_account bigint, p_email text, p_ip text)
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	acc cv.accounts%ROWTYPE;
BEGIN
	SELECT * INTO acc FROM cv.accounts WHERE id = p_account;
	RETURN COALESCE(
		cv.rate_take('verify:' || p_account || ':' || lower(p_email), acc.verifies_per_email, 900),
		cv.rate_take('verify-ip:' || p_account || ':' || COALESCE(p_ip, ''), acc.verifies_per_ip,
		             3600));
END
$$;

-- Checks p_code_hash against the contact's live code of p_purpose: the
-- newest unused one, locked, so of concurrent correct attempts one wins.
-- Wrong, expired, used and burned (5 wrong) codes log 5003 (5004 when the
-- attempt burns it).  Returns the passcode id it used up, or NULL.
CREATE FUNCTION cv.check_code(p_account bigint, p_contact bigint, p_purpose text,
                              p_code_hash text, p_source text, p_request text)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc cv.passcodes%ROWTYPE;
	max_attempts CONSTANT integer := 5;
BEGIN
	SELECT * INTO pc FROM cv.passcodes p
	 WHERE p.contact_id = p_contact AND p.purpose = p_purpose AND p.used_at IS NULL
	 ORDER BY p.id DESC LIMIT 1
	   FOR UPDATE;
	IF pc.id IS NULL OR pc.expires_at <= now() OR pc.attempts >= max_attempts THEN
		PERFORM cv.log_event(p_account, p_contact, 5003, p_source, p_request,
		                     jsonb_build_object('reason', CASE
		                         WHEN pc.id IS NULL THEN 'no_live_code'
		                         WHEN pc.expires_at <= now() THEN 'expired'
		                         ELSE 'locked' END));
		RETURN NULL;
	END IF;
	IF pc.code_hash <> decode(p_code_hash, 'hex') THEN
		UPDATE cv.passcodes SET attempts = attempts + 1 WHERE id = pc.id;
		PERFORM cv.log_event(p_account, p_contact,
		                     CASE WHEN pc.attempts + 1 >= max_attempts THEN 5004 ELSE 5003 END,
		                     p_source, p_request,
		                     jsonb_build_object('reason', 'wrong_code', 'attempts', pc.attempts + 1));
		RETURN NULL;
	END IF;
	UPDATE cv.passcodes SET used_at = now() WHERE id = pc.id;
	RETURN pc.id;
END
$$;

DROP FUNCTION cv.api_verify(text, text, text, text);
DROP FUNCTION cv.uo_verify(bigint, text, text, text, text);

-- POST .../verify.  result: 0 (with contact_uuid), 1001, 3000, 7002, 55032,
-- 13010, 1029 (with retry_after).
CREATE FUNCTION cv.api_verify(p_key_hash text, p_email text, p_code_hash text, p_ip text,
                              p_request text,
                              OUT result integer, OUT contact_uuid uuid, OUT retry_after integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	ct record;
	pc_id bigint;
BEGIN
	contact_uuid := NULL;
	auth := cv.authenticate(p_key_hash);
	IF auth.result <> 0 THEN
		result := auth.result;
		RETURN;
	END IF;
	PERFORM 1 FROM cv.user_apps u WHERE u.account_id = auth.account_id;
	IF NOT FOUND THEN
		result := 55032;
		RETURN;
	END IF;
	retry_after := cv.verify_limits(auth.account_id, p_email, p_ip);
	IF retry_after IS NOT NULL THEN
		result := 1029;
		RETURN;
	END IF;
	result := 13010;
	SELECT c.id, c.uuid INTO ct FROM cv.contacts c
	 WHERE c.account_id = auth.account_id AND lower(c.email) = lower(p_email);
	IF NOT FOUND THEN
		RETURN;
	END IF;
	pc_id := cv.check_code(auth.account_id, ct.id, 'login', p_code_hash, 'api', p_request);
	IF pc_id IS NULL THEN
		RETURN;
	END IF;
	UPDATE cv.contacts SET email_verified = true, status = 'active', updated_at = now()
	 WHERE id = ct.id;
	PERFORM cv.log_event(auth.account_id, ct.id, 5002, 'api', p_request,
	                     jsonb_build_object('purpose', 'login', 'passcode_id', pc_id));
	result := 0;
	contact_uuid := ct.uuid;
END
$$;

-- POST /v4/Users/Verification.  result: 0; 14 not registered; 15 invalid
-- (wrong, expired, used, burned); 16 already verified; 1029 (retry_after).
CREATE FUNCTION cv.uo_verify(p_tenant bigint, p_email text, p_code_hash text, p_ip text,
                             p_source text, p_request text,
                             OUT result integer, OUT retry_after integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	acc bigint;
	ct cv.contacts%ROWTYPE;
	pc_id bigint;
BEGIN
	SELECT t.account_id INTO acc FROM cv.tenants t WHERE t.id = p_tenant;
	retry_after := cv.verify_limits(acc, p_email, p_ip);
	IF retry_after IS NOT NULL THEN
		result := 1029;
		RETURN;
	END IF;
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.account_id = acc AND lower(c.email) = lower(p_email);
	PERFORM cv.log_event(acc, ct.id, 4000, p_source, p_request,
	                     jsonb_build_object('found', ct.id IS NOT NULL));
	IF ct.id IS NULL THEN
		result := 14;
		RETURN;
	END IF;
	IF ct.email_verified THEN
		result := 16;
		RETURN;
	END IF;
	pc_id := cv.check_code(acc, ct.id, 'verify_email', p_code_hash, p_source, p_request);
	IF pc_id IS NULL THEN
		result := 15;
		RETURN;
	END IF;
	PERFORM cv.uo_mark_verified(ct.id, pc_id, 'code', p_source, p_request);
	result := 0;
END
$$;

-- Seconds until the contact may be sent another code of this purpose, or
-- NULL when it may now: first the user app's resend cooldown (as in 005),
-- then the account's sends per address per hour, of which a send that may
-- go ahead takes one.  Both send functions call this just before queuing.
CREATE OR REPLACE FUNCTION cv.send_wait(p_contact bigint, p_purpose text, p_cooldown integer)
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	wait integer;
	ct record;
BEGIN
	SELECT greatest(1, ceil(extract(epoch FROM
	           max(p.created_at) + make_interval(secs => p_cooldown) - clock_timestamp())))::integer
	  INTO wait
	  FROM cv.passcodes p
	 WHERE p_cooldown > 0 AND p.contact_id = p_contact AND p.purpose = p_purpose
	HAVING max(p.created_at) + make_interval(secs => p_cooldown) > clock_timestamp();
	IF wait IS NOT NULL THEN
		RETURN wait;
	END IF;
	SELECT c.account_id, lower(c.email) AS email, a.sends_per_hour INTO ct
	  FROM cv.contacts c JOIN cv.accounts a ON a.id = c.account_id WHERE c.id = p_contact;
	RETURN cv.rate_take('send:' || ct.account_id || ':' || ct.email, ct.sends_per_hour, 3600);
END
$$;

GRANT SELECT, INSERT, UPDATE ON cv.rate_counters TO cv_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cv TO cv_app;
