-- 007_performance.sql - what tools/bench found (README, Benchmarks).  No
-- behaviour changes except where noted: the same answers, events and
-- limits, with less work per request.

-- A LANGUAGE sql function with a SET clause is never inlined, and PostgreSQL
-- 15 parses and plans its body on every call: that was half the time of the
-- functions that log an event.  PL/pgSQL keeps the plan for the session.
CREATE OR REPLACE FUNCTION cv.log_event(p_account bigint, p_contact bigint, p_event_id integer,
                             p_source text, p_request text, p_detail jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO cv.events (account_id, contact_id, event_code, event_id, source_system, request_id, detail)
	SELECT p_account, p_contact, t.event_code, t.event_id, p_source, p_request, COALESCE(p_detail, '{}')
	  FROM cv.event_types t WHERE t.event_id = p_event_id;
END
$$;

-- Sends per address per hour are counted from the contact's own codes, not
-- in a cv.rate_counters row: a code is stored for every send that went
-- ahead, and the contact row is locked first, so the count is exact under
-- concurrency (as the counter was) and costs no write.  The window slides
-- (the last hour) instead of being fixed.  The same index answers the resend
-- cooldown, which read all of a contact's codes, and the ON DELETE CASCADE
-- from contacts.
CREATE INDEX passcodes_contact_time ON cv.passcodes (contact_id, created_at);

-- Seconds until the contact may be sent another code of this purpose, or
-- NULL when it may now: the user app's resend cooldown (per purpose), then
-- the account's sends per address per hour (all purposes).  Locks the
-- contact: the caller's queuing then happens under the same lock.
CREATE OR REPLACE FUNCTION cv.send_wait(p_contact bigint, p_purpose text, p_cooldown integer)
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	lim integer;
	sent record;
	last_of_purpose timestamptz;
BEGIN
	SELECT a.sends_per_hour INTO lim
	  FROM cv.contacts c JOIN cv.accounts a ON a.id = c.account_id
	 WHERE c.id = p_contact
	   FOR UPDATE OF c;
	SELECT count(*) AS n, min(p.created_at) AS first INTO sent
	  FROM cv.passcodes p
	 WHERE p.contact_id = p_contact AND p.created_at > now() - interval '1 hour';
	IF p_cooldown > 0 THEN
		SELECT max(p.created_at) INTO last_of_purpose
		  FROM cv.passcodes p
		 WHERE p.contact_id = p_contact AND p.purpose = p_purpose
		   AND p.created_at > now() - make_interval(secs => p_cooldown);
		IF last_of_purpose IS NOT NULL THEN
			RETURN greatest(1, ceil(extract(epoch FROM
			           last_of_purpose + make_interval(secs => p_cooldown) - clock_timestamp())))::integer;
		END IF;
	END IF;
	IF sent.n >= lim THEN
		RETURN greatest(1, ceil(extract(epoch FROM
		           sent.first + interval '1 hour' - clock_timestamp())))::integer;
	END IF;
	RETURN NULL;
END
$$;

-- Every send, verify and auth token wrote an event (and a send an outbox
-- row) with a foreign key to cv.accounts, and each such check locks the
-- account row FOR KEY SHARE: all concurrent requests of an account shared
-- one locked row, which PostgreSQL tracks as a MultiXact per new locker.
-- Measured: 15-20 % of a send's database CPU.  The rows are only ever
-- written by these functions for an account they just authenticated, so
-- the keys hold by construction; what the constraints also did, delete an
-- account's events with it, a trigger does (the outbox rows go with their
-- contacts, which still cascade).
ALTER TABLE cv.events DROP CONSTRAINT events_account_id_fkey;
ALTER TABLE cv.outbox DROP CONSTRAINT outbox_account_id_fkey;

-- SECURITY DEFINER: as with a cascade, whoever may delete an account need
-- not be allowed to delete events.
CREATE FUNCTION cv.account_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM cv.events e WHERE e.account_id = OLD.id;
	RETURN NULL;
END
$$;
CREATE TRIGGER account_deleted AFTER DELETE ON cv.accounts
	FOR EACH ROW EXECUTE FUNCTION cv.account_deleted();

-- auth-token's one write is its AUTH_TOKEN_ISSUED event; waiting for the WAL
-- flush doubled its latency.
CREATE OR REPLACE FUNCTION cv.api_auth_token(p_key_hash text, p_contact_uuid uuid, p_request text,
                                  OUT result integer, OUT account_uuid uuid,
                                  OUT token_secret text, OUT token_ttl integer,
                                  OUT contact_uuid uuid, OUT email text,
                                  OUT email_verified boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	acc cv.accounts%ROWTYPE;
	ct cv.contacts%ROWTYPE;
BEGIN
	auth := cv.authenticate(p_key_hash);
	IF auth.result <> 0 THEN
		result := auth.result;
		RETURN;
	END IF;
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.uuid = p_contact_uuid AND c.account_id = auth.account_id;
	IF NOT FOUND THEN
		result := 55031;
		RETURN;
	END IF;
	SELECT * INTO acc FROM cv.accounts a WHERE a.id = auth.account_id;
	IF acc.token_secret IS NULL OR octet_length(acc.token_secret) < 32 THEN
		result := 1053;
		RETURN;
	END IF;
	-- The event is the only write: an audit record, of which a crash may
	-- lose the last few, so the commit need not wait for the WAL flush.
	-- (SET LOCAL lasts to the end of the transaction; the function's own
	-- SET clause restores only search_path.)
	SET LOCAL synchronous_commit = off;
	PERFORM cv.log_event(acc.id, ct.id, 5007, 'api', p_request, '{}');
	result := 0;
	account_uuid := acc.uuid;
	token_secret := acc.token_secret;
	token_ttl := acc.token_ttl;
	contact_uuid := ct.uuid;
	email := ct.email;
	email_verified := ct.email_verified;
END
$$;

-- A NOTIFY takes a database-wide lock before its commit and holds it until
-- after the WAL flush, so sends committed one at a time (pg_stat_activity:
-- wait_event "object").  Notify only when no other mail is due.
CREATE OR REPLACE FUNCTION cv.queue_code(p_account bigint, p_contact cv.contacts, p_app cv.user_apps,
                              p_purpose text, p_ttl integer, p_code_hashes text[],
                              p_link_hash text, p_sealed text, p_link_base text,
                              p_return_url text, p_source text, p_request text)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc_id bigint;
	pc_expires timestamptz := now() + make_interval(secs => p_ttl);
	ob_id bigint;
BEGIN
	UPDATE cv.passcodes p SET used_at = now()
	 WHERE p.contact_id = p_contact.id AND p.purpose = p_purpose AND p.used_at IS NULL;
	UPDATE cv.outbox o SET status = 'expired', sealed = NULL,
	       last_error = 'replaced by a newer code'
	 WHERE o.contact_id = p_contact.id AND o.purpose = p_purpose AND o.status = 'queued';
	INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at, return_url)
	VALUES (p_contact.id, p_purpose, decode(p_code_hashes[p_app.code_length - 5], 'hex'),
	        decode(p_link_hash, 'hex'), pc_expires, p_return_url)
	RETURNING id INTO pc_id;
	INSERT INTO cv.outbox (account_id, contact_id, passcode_id, purpose, to_email, sealed,
	                       code_length, link_base, app_name, sender_name, sender_email, locale,
	                       expires_at, message_id)
	VALUES (p_account, p_contact.id, pc_id, p_purpose, p_contact.email, decode(p_sealed, 'hex'),
	        p_app.code_length, p_link_base, p_app.name, p_app.sender_name, p_app.sender_email,
	        p_contact.locale, pc_expires, '<' || gen_random_uuid() || '@contact-verify>')
	RETURNING id INTO ob_id;
	PERFORM cv.log_event(p_account, p_contact.id, 5001, p_source, p_request,
	                     jsonb_build_object('purpose', p_purpose, 'passcode_id', pc_id));
	-- Only an idle mailer needs waking: with other mail due it is at work
	-- and claims again until nothing is due.  A race (the mailer's last
	-- claim just before this commit) leaves the row to its next look, at
	-- most a second later (src/mailer.c IDLE_WAIT_MS).
	IF NOT EXISTS (SELECT 1 FROM cv.outbox o
	                WHERE o.status = 'queued' AND o.next_attempt_at <= now() AND o.id <> ob_id) THEN
		NOTIFY cv_outbox;
	END IF;
	RETURN pc_id;
END
$$;
