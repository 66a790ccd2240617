-- lifecycle.sql - a contact's data erased and exported (README, "Erasure,
-- export, retention"; issue 21).  cv.erase_contact is the one erasure, which
-- DELETE .../contact-verification/contacts/{uuid} (cv.api_erase_contact,
-- cgi-bin/contact.c) and cvctl contact delete call; cv.export_contact is
-- cvctl contact export.  The expiry of history is housekeeping.sql's
-- cv.expire_history.  cv.contact_deleted and cv.passcode_deleted (at the end)
-- do on delete what foreign keys did before migration 022.
--
-- Lock order of an erasure, the same as every other path's, so that it can
-- race a send, a verify, a portal login or a mailer without a deadlock:
--   1. the rate-limit counters keyed by the contact's address (a verify and
--      the portal take them before the contact);
--   2. the contact, FOR UPDATE: it is deleted, and FOR UPDATE is the one
--      lock that also waits for the mailer's FOR KEY SHARE (outbox.sql's
--      cv.outbox_hold, held across the SMTP exchange), so mail in a mailer's
--      hands is either sent and recorded before the erasure or found gone;
--      sends and verifies take FOR NO KEY UPDATE, which conflicts with it;
--   3. its codes (deleting one sets its mail's passcode_id to NULL: the
--      order of cv.expire_history too), its mail, its login tickets, its
--      events.

-- The hash by which cv.erased_contacts remembers an erased contact: SHA-256
-- of "<account id>:<uuid>".  Cannot fail.
CREATE OR REPLACE FUNCTION cv.erased_hash(p_account bigint, p_uuid uuid)
RETURNS bytea
LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT sha256(convert_to(p_account::text || ':' || p_uuid::text, 'UTF8'));
$$;

-- The rate-limit counters keyed by the address p_email of account
-- p_account (limits.sql's cv.verify_limits and portal.sql's cv.portal_send
-- name them so).  Cannot fail.
CREATE OR REPLACE FUNCTION cv.address_buckets(p_account bigint, p_email text)
RETURNS text[]
LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT ARRAY['verify:' || p_account || ':' || lower(p_email),
	             'portal-cooldown:' || p_account || ':' || lower(p_email),
	             'portal-send:' || p_account || ':' || lower(p_email)];
$$;

-- Erases the contact of account p_account whose uuid is p_uuid (or, when
-- p_uuid is NULL, whose address is p_email, case-insensitive), in the
-- caller's one transaction: its codes, its mail (queued mail is never sent
-- afterwards), its login tickets, the rate-limit counters keyed by its
-- address and the contact itself are deleted; its events stay for counts
-- without the contact and without the mailer's error text (which may quote
-- the address); the erasure is remembered (cv.erased_contacts, a hash) and
-- logged as CONTACT_ERASED 5012 without naming it.  result: 0 with
-- contact_uuid, also when p_uuid names a contact erased before (a repeated
-- delete answers as the first); 55031 when there is no such contact of the
-- account.  p_source and p_request go to the event.
CREATE OR REPLACE FUNCTION cv.erase_contact(p_account bigint, p_uuid uuid, p_email text,
                                            p_source text, p_request text,
                                            OUT result integer, OUT contact_uuid uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	ct cv.contacts%ROWTYPE;
	buckets text[];
BEGIN
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.account_id = p_account
	   AND (c.uuid = p_uuid OR (p_uuid IS NULL AND lower(c.email) = lower(p_email)));
	IF FOUND THEN
		-- 1. The counters of its address, taken even when they do not
		-- exist yet: a verify of the address that comes meanwhile waits
		-- for this erasure and counts after it, as any stranger's would.
		buckets := cv.address_buckets(p_account, ct.email);
		INSERT INTO cv.rate_counters AS r (bucket, window_start, hits)
		SELECT b, clock_timestamp(), 0 FROM unnest(buckets) b
		ON CONFLICT (bucket) DO UPDATE SET hits = r.hits;
		-- 2. The contact (gone if another erasure was first).
		SELECT * INTO ct FROM cv.contacts c WHERE c.id = ct.id FOR UPDATE;
	END IF;
	IF ct.id IS NULL THEN
		-- Another erasure of it was first: the counters this one took (or
		-- made) go too.
		DELETE FROM cv.rate_counters r WHERE r.bucket = ANY (buckets);
		IF p_uuid IS NOT NULL AND EXISTS (
		       SELECT 1 FROM cv.erased_contacts e
		        WHERE e.uuid_hash = cv.erased_hash(p_account, p_uuid)) THEN
			result := 0;
			contact_uuid := p_uuid;
		ELSE
			result := 55031;  -- CV_ERR_CONTACT_NOT_FOUND
		END IF;
		RETURN;
	END IF;
	-- 3. Everything of it.
	DELETE FROM cv.passcodes p WHERE p.contact_id = ct.id;
	DELETE FROM cv.outbox o WHERE o.contact_id = ct.id;
	DELETE FROM cv.login_tickets t WHERE t.contact_id = ct.id;
	UPDATE cv.events e SET contact_id = NULL, detail = e.detail - 'error'
	 WHERE e.contact_id = ct.id;
	DELETE FROM cv.rate_counters r WHERE r.bucket = ANY (buckets);
	DELETE FROM cv.contacts c WHERE c.id = ct.id;
	INSERT INTO cv.erased_contacts (uuid_hash, account_id)
	VALUES (cv.erased_hash(p_account, ct.uuid), p_account) ON CONFLICT DO NOTHING;
	PERFORM cv.log_event(p_account, NULL, 5012, p_source, p_request, '{}');
	result := 0;
	contact_uuid := ct.uuid;
END
$$;

-- DELETE .../contacts/{uuid}: erases contact p_contact_uuid (NULL when the
-- path held no well-formed uuid) of the caller's account (cv.erase_contact).
-- result: 0 (contact_uuid; also for a contact erased before), 1001, 3000,
-- 7002, 1029 (the address is blocked: retry_after), 55031 no such contact
-- of the account.
CREATE OR REPLACE FUNCTION cv.api_erase_contact(p_key_hash text, p_contact_uuid uuid,
                                                p_request text, p_ip text,
                                                OUT result integer, OUT contact_uuid uuid,
                                                OUT retry_after integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
BEGIN
	auth := cv.authenticate_from(p_key_hash, p_ip);
	retry_after := auth.retry_after;
	IF auth.result <> 0 THEN
		result := auth.result;
		RETURN;
	END IF;
	IF p_contact_uuid IS NULL THEN
		result := 55031;  -- CV_ERR_CONTACT_NOT_FOUND
		RETURN;
	END IF;
	SELECT e.result, e.contact_uuid INTO result, contact_uuid
	  FROM cv.erase_contact(auth.account_id, p_contact_uuid, NULL, 'api', p_request) e;
END
$$;

-- Everything stored about the contact of account p_account (by p_uuid, or
-- by p_email when p_uuid is NULL) as one JSON object, or NULL when there is
-- none: the contact, its codes, mail, login tickets, events and the
-- rate-limit counters of its address.  Secrets are only named: a code's and
-- a link's HMAC are "hashed", a sealed mail body "sealed" (or null once
-- wiped), a ticket's hash "hashed".  Reads only.
CREATE OR REPLACE FUNCTION cv.export_contact(p_account bigint, p_uuid uuid, p_email text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	ct cv.contacts%ROWTYPE;
	acc uuid;
BEGIN
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.account_id = p_account
	   AND (c.uuid = p_uuid OR (p_uuid IS NULL AND lower(c.email) = lower(p_email)));
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT a.uuid INTO acc FROM cv.accounts a WHERE a.id = p_account;
	RETURN jsonb_build_object(
		'contact', jsonb_build_object(
			'uuid', ct.uuid, 'account', acc, 'email', ct.email,
			'email_verified', ct.email_verified, 'status', ct.status, 'locale', ct.locale,
			'created_at', ct.created_at, 'updated_at', ct.updated_at),
		'codes', COALESCE((SELECT jsonb_agg(jsonb_build_object(
			'id', p.id, 'purpose', p.purpose, 'code', 'hashed', 'link', 'hashed',
			'created_at', p.created_at, 'expires_at', p.expires_at, 'used_at', p.used_at,
			'replaced', p.replaced, 'attempts', p.attempts, 'return_url', p.return_url)
			ORDER BY p.id) FROM cv.passcodes p WHERE p.contact_id = ct.id), '[]'),
		'outbox', COALESCE((SELECT jsonb_agg(jsonb_build_object(
			'id', o.id, 'purpose', o.purpose, 'to_email', o.to_email,
			'body', CASE WHEN o.sealed IS NULL THEN NULL ELSE 'sealed' END,
			'app_name', o.app_name, 'sender_name', o.sender_name,
			'sender_email', o.sender_email, 'locale', o.locale, 'status', o.status,
			'attempts', o.attempts, 'last_error', o.last_error, 'message_id', o.message_id,
			'created_at', o.created_at, 'sent_at', o.sent_at, 'expires_at', o.expires_at)
			ORDER BY o.id) FROM cv.outbox o WHERE o.contact_id = ct.id), '[]'),
		'login_tickets', COALESCE((SELECT jsonb_agg(jsonb_build_object(
			'id', t.id, 'ticket', 'hashed', 'created_at', t.created_at,
			'expires_at', t.expires_at, 'used_at', t.used_at)
			ORDER BY t.id) FROM cv.login_tickets t WHERE t.contact_id = ct.id), '[]'),
		'events', COALESCE((SELECT jsonb_agg(jsonb_build_object(
			'id', e.id, 'event_code', e.event_code, 'event_id', e.event_id,
			'source_system', e.source_system, 'request_id', e.request_id,
			'detail', e.detail, 'created_at', e.created_at)
			ORDER BY e.id) FROM cv.events e WHERE e.contact_id = ct.id), '[]'),
		'rate_counters', COALESCE((SELECT jsonb_agg(jsonb_build_object(
			'bucket', r.bucket, 'window_start', r.window_start, 'hits', r.hits)
			ORDER BY r.bucket) FROM cv.rate_counters r
			WHERE r.bucket = ANY (cv.address_buckets(p_account, ct.email))), '[]'));
END
$$;

-- What the foreign keys to cv.contacts and cv.passcodes did on delete
-- (migration 022 dropped them: their checks cost every request a query per
-- row written), once per DELETE statement: a deleted contact's codes and mail
-- go with it and its events stay without it (cv.erase_contact does all this
-- itself, in its lock order; this is for a contact that goes with its
-- account, cv.contacts' own foreign key), and mail keeps no deleted code's
-- id (housekeeping.sql's cv.expire_history, an erasure).
CREATE OR REPLACE FUNCTION cv.contact_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM cv.passcodes p USING gone WHERE p.contact_id = gone.id;
	DELETE FROM cv.outbox o USING gone WHERE o.contact_id = gone.id;
	UPDATE cv.events e SET contact_id = NULL FROM gone WHERE e.contact_id = gone.id;
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION cv.passcode_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE cv.outbox o SET passcode_id = NULL FROM gone WHERE o.passcode_id = gone.id;
	RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER contact_deleted AFTER DELETE ON cv.contacts
	REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION cv.contact_deleted();
CREATE OR REPLACE TRIGGER passcode_deleted AFTER DELETE ON cv.passcodes
	REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION cv.passcode_deleted();
