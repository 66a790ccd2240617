-- codes.sql - the passcode itself, whatever the dialect: a code and its link
-- are one row of cv.passcodes.  cv.queue_code stores a new one (replacing
-- the contact's earlier ones) and queues its sealed mail; cv.check_code
-- checks a submitted code and uses it up; cv.check_code_decoy does the same
-- work for an address that belongs to no contact.  The senders and verifiers
-- of api.sql, orchestrator.sql and portal.sql call these.
--
-- Lock order: the contact before its codes, on every path that writes a
-- code.  A send locks the contact (cv.send_wait), then replaces its live
-- code; a verify that locked the live code first and then waited for the
-- contact (its event's foreign key locks the contact FOR KEY SHARE, and
-- marking it verified updates it) could deadlock with a send of the same
-- contact, and one of the two answered 500 (found by tools/valgrind's load).
-- So cv.check_code and the links (cv.uo_link_consume, cv.portal_verify)
-- lock the contact first, FOR NO KEY UPDATE, which lets the foreign keys of
-- other rows pass.
--
-- At rest a code and a link token are only HMACs under the server's
-- code_secret (code_hash, link_hash); the mail carries them sealed (AES-256-GCM under the outbox
-- key, opened only by the mailer) and the sealed value is wiped once the
-- message is final (outbox.sql).

-- Stores the new passcode of p_contact for p_purpose ('login' or
-- 'verify_email'), living p_ttl seconds, and queues its mail; returns the
-- passcode id.  p_code_hashes[i] is the hex HMAC of the first
-- code_min - 1 + i digits of the code (so the user app's code length,
-- code_min to 10, is chosen here without a second round trip), p_sealed
-- the hex of the sealed "<10 code digits><link token>", p_link_base the
-- non-secret start of the link.
-- Every earlier unused code of the purpose is replaced: marked used and
-- replaced (the link page says "replaced"); its mail, if still queued, is
-- not touched here but dropped by the mailer when it claims it
-- (cv.outbox_claim: superseded), which spares every send a look through the
-- queue.  The caller holds the contact's lock (the lock order above).
CREATE OR REPLACE FUNCTION cv.queue_code(p_account bigint, p_contact cv.contacts, p_app cv.user_apps,
                                         p_purpose text, p_ttl integer, p_code_hashes text[],
                                         p_link_hash text, p_sealed text, p_link_base text,
                                         p_return_url text, p_source text, p_request text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc_id bigint;
	pc_expires timestamptz := now() + make_interval(secs => p_ttl);
	idle boolean;
	-- The shortest code, lib/codes.h's CV_CODE_MIN: the length of the code
	-- p_code_hashes[1] hashes.  The bounds CV_CODE_MIN..CV_CODE_MAX are also
	-- the CHECK and DEFAULT of cv.user_apps.code_length and
	-- cv.outbox.code_length (migrations 001 and 005);
	-- tests/integration/test_code_length.py holds them all to lib/codes.h.
	code_min CONSTANT integer := 6;
BEGIN
	-- One statement: its parts see one snapshot (the replacement cannot see
	-- the new code) and the look at the queue cannot see the new mail.  The
	-- mail of a replaced code, if still queued, is dropped by the mailer when
	-- it claims it (cv.outbox_claim: superseded).
	WITH replaced AS (
	       UPDATE cv.passcodes p SET used_at = now(), replaced = true
	        WHERE p.contact_id = p_contact.id AND p.purpose = p_purpose AND p.used_at IS NULL),
	     pc AS (
	       INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at,
	                                 return_url)
	       VALUES (p_contact.id, p_purpose,
	               decode(p_code_hashes[p_app.code_length - code_min + 1], 'hex'),
	               decode(p_link_hash, 'hex'), pc_expires, p_return_url)
	       RETURNING id),
	     ob AS (
	       INSERT INTO cv.outbox (account_id, contact_id, passcode_id, purpose, to_email, sealed,
	                              code_length, link_base, app_name, sender_name, sender_email,
	                              locale, expires_at, message_id)
	       SELECT p_account, p_contact.id, pc.id, p_purpose, p_contact.email, decode(p_sealed, 'hex'),
	              p_app.code_length, p_link_base, p_app.name, p_app.sender_name, p_app.sender_email,
	              p_contact.locale, pc_expires, '<' || gen_random_uuid() || '@contact-verify>'
	         FROM pc),
	     ev AS (
	       INSERT INTO cv.events (account_id, contact_id, event_code, event_id, source_system,
	                              request_id, detail)
	       SELECT p_account, p_contact.id, t.event_code, t.event_id, p_source, p_request,
	              jsonb_build_object('purpose', p_purpose, 'passcode_id', pc.id)
	         FROM pc, cv.event_types t WHERE t.event_id = 5001)  -- CODE_SENT
	SELECT pc.id, NOT EXISTS (SELECT 1 FROM cv.outbox o
	                           WHERE o.status = 'queued' AND o.next_attempt_at <= now())
	  INTO pc_id, idle
	  FROM pc;
	-- Only an idle mailer needs waking: with other mail due it is at work
	-- and claims again until nothing is due.  A NOTIFY takes a database-wide
	-- lock before its commit and holds it until after the WAL flush, so
	-- notifying on every send made concurrent sends commit one at a time.
	-- A race (the mailer's last claim just before this commit) leaves the
	-- row to its next look, at most a second later (src/mailer.c
	-- IDLE_WAIT_MS).
	IF idle THEN
		NOTIFY cv_outbox;
	END IF;
	RETURN pc_id;
END
$$;

-- Checks p_code_hash (hex HMAC of the submitted code) against the live code
-- of contact p_contact for p_purpose: the newest unused one.  Of concurrent
-- correct attempts exactly one wins because each locks the contact first
-- and reads the code after that lock (a new snapshot, READ COMMITTED); every
-- path that writes a code holds the contact's lock (the lock order above),
-- so the code row itself is not locked: that lock was a second tuple write
-- and WAL record per verify for nothing.  Returns the id of the passcode it
-- used up, or NULL.  A missing, expired or burned (5 wrong
-- tries) code logs VERIFY_FAILED 5003 with the reason; a wrong code counts
-- an attempt and logs 5003, or CODE_LOCKED 5004 when that attempt burns it.
-- Locks the contact first (the lock order above); a contact erased
-- meanwhile is an unknown address.
CREATE OR REPLACE FUNCTION cv.check_code(p_account bigint, p_contact bigint, p_purpose text,
                                         p_code_hash text, p_source text, p_request text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc cv.passcodes%ROWTYPE;
	max_attempts CONSTANT integer := 5;
BEGIN
	PERFORM 1 FROM cv.contacts c WHERE c.id = p_contact FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		-- Erased since the caller found it (lifecycle.sql): the address is
		-- now a stranger's, and the event names no contact.
		PERFORM cv.log_event(p_account, NULL, 5003, p_source, p_request,
		                     jsonb_build_object('reason', 'unknown_address'));
		RETURN NULL;
	END IF;
	SELECT * INTO pc FROM cv.passcodes p
	 WHERE p.contact_id = p_contact AND p.purpose = p_purpose AND p.used_at IS NULL
	 ORDER BY p.id DESC LIMIT 1;
	IF pc.id IS NULL OR pc.expires_at <= now() OR pc.attempts >= max_attempts THEN
		PERFORM cv.log_event(p_account, p_contact, 5003, p_source, p_request,
		                     jsonb_build_object('reason', CASE
		                         WHEN pc.id IS NULL THEN 'no_live_code'
		                         WHEN pc.expires_at <= now() THEN 'expired'
		                         ELSE 'locked' END));
		RETURN NULL;
	END IF;
	IF pc.code_hash <> decode(p_code_hash, 'hex') THEN
		-- The try and its event, one statement.
		WITH tried AS (UPDATE cv.passcodes p SET attempts = p.attempts + 1 WHERE p.id = pc.id)
		INSERT INTO cv.events (account_id, contact_id, event_code, event_id, source_system,
		                       request_id, detail)
		SELECT p_account, p_contact, t.event_code, t.event_id, p_source, p_request,
		       jsonb_build_object('reason', 'wrong_code', 'attempts', pc.attempts + 1)
		  FROM cv.event_types t
		 -- CODE_LOCKED when this try burns it, else VERIFY_FAILED
		 WHERE t.event_id = CASE WHEN pc.attempts + 1 >= max_attempts THEN 5004 ELSE 5003 END;
		RETURN NULL;
	END IF;
	UPDATE cv.passcodes SET used_at = now() WHERE id = pc.id;
	RETURN pc.id;
END
$$;

-- For an address p_email of account p_account that belongs to no contact:
-- what cv.check_code does for a contact's wrong code, so that a verify takes
-- as long for a stranger as for a contact (the answer is the same 13010
-- either way; README, "Timing at verify").  Always returns NULL.  It works on
-- rows of its own request, so it waits for nobody: the same lookups of a
-- contact and its live code (which find nothing), two row locks and two
-- updates on the rate-limit counters that cv.verify_limits has just taken
-- for this address and client address p_ip (rows this transaction already
-- holds; hits are written unchanged), and the VERIFY_FAILED event without a
-- contact, with reason "unknown_address" (the address is not stored).
-- Measured so: +0.01-0.04 ms for a contact in the database, against
-- +0.14-0.37 ms without the decoy; the event alone left +0.16 ms, and redoing
-- cv.check_code on a contact and code inserted in a rolled-back
-- subtransaction (as cv.portal_send does) made strangers 0.20-0.28 ms slower
-- instead: the inserts cost more than the work they stand in for.  It reads
-- the counters without sequential scans, as limits.sql does.
CREATE OR REPLACE FUNCTION cv.check_code_decoy(p_account bigint, p_email text, p_ip text,
                                               p_purpose text, p_code_hash text, p_source text,
                                               p_request text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off AS $$
DECLARE
	pc cv.passcodes%ROWTYPE;
	-- cv.verify_limits's buckets, taken by this transaction already.
	by_email CONSTANT text := 'verify:' || p_account || ':' || lower(p_email);
	by_ip CONSTANT text := 'verify-ip:' || p_account || ':' || COALESCE(p_ip, '');
BEGIN
	-- check_code's lock of the contact: one statement, rows of our own.
	PERFORM 1 FROM cv.rate_counters r WHERE r.bucket IN (by_email, by_ip) FOR NO KEY UPDATE;
	-- The live code of contact 0, which no contact is (ids start at 1): the
	-- same index probe as check_code's, planned the same way.
	SELECT * INTO pc FROM cv.passcodes p
	 WHERE p.contact_id = 0 AND p.purpose = p_purpose AND p.used_at IS NULL
	 ORDER BY p.id DESC LIMIT 1;
	IF pc.code_hash IS DISTINCT FROM decode(p_code_hash, 'hex') THEN
		-- check_code's try and its event: one statement, two row writes.
		WITH tried AS (UPDATE cv.rate_counters r SET hits = r.hits
		                WHERE r.bucket IN (by_email, by_ip))
		INSERT INTO cv.events (account_id, contact_id, event_code, event_id, source_system,
		                       request_id, detail)
		SELECT p_account, NULL, t.event_code, t.event_id, p_source, p_request,
		       jsonb_build_object('reason', 'unknown_address')
		  FROM cv.event_types t WHERE t.event_id = 5003;  -- VERIFY_FAILED
	END IF;
	RETURN NULL;
END
$$;
