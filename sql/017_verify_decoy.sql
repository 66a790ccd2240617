-- 017_verify_decoy.sql - POST .../verify takes as long for an address that
-- belongs to no contact as for a contact's wrong code (issue 17 finding 6).
-- The answer was already the same (13010), but a stranger's attempt ended
-- after the contact lookup while a contact's went on to lock the contact
-- and its live code, count the wrong attempt and write the VERIFY_FAILED
-- event: 0.14-0.37 ms more for a contact in the database alone (cv.api_verify
-- called directly, 500 interleaved pairs), slower in 91-96 % of the pairs;
-- through nginx 0.21-0.24 ms, 88-93 % (README, "Timing at verify").
--
-- cv.check_code_decoy does for a stranger what cv.check_code does for a
-- contact with a wrong code, on rows of its own request so that it waits
-- for nobody: the same lookups of a contact and its live code (which find
-- nothing), two row locks and two updates on the rate-limit counters that
-- cv.verify_limits has just taken for this address and client address
-- (rows this transaction already holds; hits are written unchanged), and
-- the VERIFY_FAILED event through cv.log_event, without a contact and with
-- reason "unknown_address" (no address is stored).  Measured that way:
-- +0.01-0.04 ms in the database (57-65 % of pairs), +0.00-0.04 ms through
-- nginx (53-58 %).  Only the event alone left +0.16 ms.  Redoing check_code itself on a
-- contact and code inserted in a rolled-back subtransaction (the way 009's
-- cv.portal_send does its decoy) made strangers slower by 0.20-0.28 ms
-- instead: the two inserts cost more than the work they stand in for.
--
-- The portal's login/verify (cv.portal_verify, which returns at once for a
-- stranger too) can call cv.check_code_decoy with the same arguments in its
-- "v_contact IS NULL" branch.  The Users Orchestrator's
-- /v4/Users/Verification needs nothing: its documented answers tell an
-- unregistered address (E400_14) and a verified one (E400_16) apart.

CREATE FUNCTION cv.check_code_decoy(p_account bigint, p_email text, p_ip text, p_purpose text,
                                    p_code_hash text, p_source text, p_request text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc cv.passcodes%ROWTYPE;
	-- cv.verify_limits's buckets, taken by this transaction already.
	by_email CONSTANT text := 'verify:' || p_account || ':' || lower(p_email);
	by_ip CONSTANT text := 'verify-ip:' || p_account || ':' || COALESCE(p_ip, '');
BEGIN
	PERFORM 1 FROM cv.rate_counters r WHERE r.bucket = by_email FOR NO KEY UPDATE;
	PERFORM 1 FROM cv.rate_counters r WHERE r.bucket = by_ip FOR NO KEY UPDATE;
	-- The live code of contact 0, which no contact is (ids start at 1): the
	-- same index probe as check_code's, planned the same way.
	SELECT * INTO pc FROM cv.passcodes p
	 WHERE p.contact_id = 0 AND p.purpose = p_purpose AND p.used_at IS NULL
	 ORDER BY p.id DESC LIMIT 1
	   FOR UPDATE;
	IF pc.code_hash IS DISTINCT FROM decode(p_code_hash, 'hex') THEN
		UPDATE cv.rate_counters r SET hits = r.hits WHERE r.bucket = by_email;
		UPDATE cv.rate_counters r SET hits = r.hits WHERE r.bucket = by_ip;
		PERFORM cv.log_event(p_account, NULL, 5003, p_source, p_request,
		                     jsonb_build_object('reason', 'unknown_address'));
	END IF;
	RETURN NULL;
END
$$;

-- POST .../verify (as in 008), with the decoy for a stranger.
CREATE OR REPLACE FUNCTION cv.api_verify(p_key_hash text, p_email text, p_code_hash text,
                                         p_ip text, p_request text,
                                         OUT result integer, OUT contact_uuid uuid,
                                         OUT retry_after integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	ct record;
	pc_id bigint;
BEGIN
	contact_uuid := NULL;
	auth := cv.authenticate_from(p_key_hash, p_ip);
	retry_after := auth.retry_after;
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
	IF ct.id IS NULL THEN
		PERFORM cv.check_code_decoy(auth.account_id, p_email, p_ip, 'login', p_code_hash, 'api',
		                            p_request);
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

CALL cv.apply_privileges();
