-- 005_sealed_outbox.sql - the outbox keeps no plaintext code or link
-- (issue "Mail delivery you can trust", protection at rest).  The responder
-- seals "<10 code digits><link token>" with AES-256-GCM under the server's
-- outbox key (derived from code_secret) before it reaches the database;
-- only the mailer opens it.  The non-secret part of the link (link_base)
-- and the code length the user app wants are stored beside it.  The sealed
-- value is wiped once the message is sent, failed or expired.

DROP FUNCTION cv.api_send(text, text, text, text[], text, text, text, text);
DROP FUNCTION cv.uo_send(bigint, text, text, text, text[], text, text, text, text, text);
DROP FUNCTION cv.outbox_claim(integer, integer);

ALTER TABLE cv.outbox
	DROP COLUMN code,
	DROP COLUMN link,
	ADD COLUMN sealed bytea,
	ADD COLUMN code_length integer NOT NULL DEFAULT 6 CHECK (code_length BETWEEN 6 AND 10),
	ADD COLUMN link_base text NOT NULL DEFAULT '';

-- What cv.api_send and cv.uo_send share once the contact, its user app and
-- the purpose are known: replace earlier codes of that purpose (and drop the
-- mail still waiting to carry them), store the new passcode and queue the
-- sealed mail.  Returns the passcode id.
CREATE FUNCTION cv.queue_code(p_account bigint, p_contact cv.contacts, p_app cv.user_apps,
                              p_purpose text, p_ttl integer, p_code_hashes text[],
                              p_link_hash text, p_sealed text, p_link_base text,
                              p_return_url text, p_source text, p_request text)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc_id bigint;
	pc_expires timestamptz := now() + make_interval(secs => p_ttl);
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
	        p_contact.locale, pc_expires, '<' || gen_random_uuid() || '@contact-verify>');
	PERFORM cv.log_event(p_account, p_contact.id, 5001, p_source, p_request,
	                     jsonb_build_object('purpose', p_purpose, 'passcode_id', pc_id));
	NOTIFY cv_outbox;
	RETURN pc_id;
END
$$;

-- Seconds until the contact may be sent another code of this purpose, or
-- NULL when it may now (the user app's resend cooldown; 006 adds the hourly
-- limit per address).  clock_timestamp(), not now(): a send that held the
-- contact's lock before us may have committed a created_at later than our
-- transaction's start.
CREATE FUNCTION cv.send_wait(p_contact bigint, p_purpose text, p_cooldown integer)
RETURNS integer
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT greatest(1, ceil(extract(epoch FROM
	           max(p.created_at) + make_interval(secs => p_cooldown) - clock_timestamp())))::integer
	  FROM cv.passcodes p
	 WHERE p_cooldown > 0 AND p.contact_id = p_contact AND p.purpose = p_purpose
	HAVING max(p.created_at) + make_interval(secs => p_cooldown) > clock_timestamp();
$$;

-- POST .../send (as in 001, with the sealed code).  result: 0, 1001, 3000,
-- 7002, 55031, 55032, 1029 (with retry_after seconds).
CREATE FUNCTION cv.api_send(p_key_hash text, p_email text, p_sealed text, p_code_hashes text[],
                            p_link_hash text, p_public_url text, p_request text,
                            OUT result integer, OUT retry_after integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	app cv.user_apps%ROWTYPE;
	ct cv.contacts%ROWTYPE;
BEGIN
	retry_after := NULL;
	auth := cv.authenticate(p_key_hash);
	IF auth.result <> 0 THEN
		result := auth.result;
		RETURN;
	END IF;
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.account_id = auth.account_id AND lower(c.email) = lower(p_email)
	   FOR UPDATE;
	IF NOT FOUND THEN
		result := 55031;
		RETURN;
	END IF;
	SELECT * INTO app FROM cv.user_apps u WHERE u.account_id = auth.account_id;
	IF NOT FOUND THEN
		result := 55032;
		RETURN;
	END IF;
	retry_after := cv.send_wait(ct.id, 'login', app.resend_cooldown);
	IF retry_after IS NOT NULL THEN
		result := 1029;
		RETURN;
	END IF;
	PERFORM cv.queue_code(auth.account_id, ct, app, 'login', app.login_ttl, p_code_hashes,
	                      p_link_hash, p_sealed, p_public_url || '/login/confirm?token=', NULL,
	                      'api', p_request);
	result := 0;
END
$$;

-- Users Orchestrator send (as in 003, with the sealed code).  result: 0; 14
-- no user app; 16 already verified; 1029 cooldown (retry_after).
CREATE FUNCTION cv.uo_send(p_tenant bigint, p_email text, p_return_url text, p_sealed text,
                           p_code_hashes text[], p_link_hash text, p_public_url text,
                           p_source text, p_request text,
                           OUT result integer, OUT retry_after integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	acc bigint;
	app cv.user_apps%ROWTYPE;
	ct cv.contacts%ROWTYPE;
BEGIN
	retry_after := NULL;
	SELECT t.account_id INTO acc FROM cv.tenants t WHERE t.id = p_tenant;
	SELECT * INTO app FROM cv.user_apps u WHERE u.account_id = acc;
	IF NOT FOUND THEN
		result := 14;
		RETURN;
	END IF;
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.account_id = acc AND lower(c.email) = lower(p_email) FOR UPDATE;
	PERFORM cv.log_event(acc, ct.id, 4000, p_source, p_request,
	                     jsonb_build_object('found', ct.id IS NOT NULL));
	IF ct.id IS NULL THEN
		INSERT INTO cv.contacts (account_id, email, status) VALUES (acc, p_email, 'pending')
		ON CONFLICT DO NOTHING;
		SELECT * INTO ct FROM cv.contacts c
		 WHERE c.account_id = acc AND lower(c.email) = lower(p_email) FOR UPDATE;
		PERFORM cv.log_event(acc, ct.id, 4003, p_source, p_request, '{}');
	END IF;
	IF ct.email_verified THEN
		result := 16;
		RETURN;
	END IF;
	retry_after := cv.send_wait(ct.id, 'verify_email', app.resend_cooldown);
	IF retry_after IS NOT NULL THEN
		result := 1029;
		RETURN;
	END IF;
	PERFORM cv.queue_code(acc, ct, app, 'verify_email', app.verify_ttl, p_code_hashes,
	                      p_link_hash, p_sealed, p_public_url || '/v4/Users/VerifyEmail?token=',
	                      p_return_url, p_source, p_request);
	result := 0;
END
$$;

CREATE FUNCTION cv.outbox_claim(p_limit integer, p_lease_seconds integer)
RETURNS SETOF cv.outbox
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	WITH due AS (
		SELECT o.id FROM cv.outbox o
		 WHERE o.status IN ('queued', 'sending') AND o.next_attempt_at <= now()
		 ORDER BY o.next_attempt_at
		 LIMIT p_limit
		   FOR UPDATE SKIP LOCKED
	)
	UPDATE cv.outbox o
	   SET status = 'sending', attempts = o.attempts + 1,
	       next_attempt_at = now() + make_interval(secs => p_lease_seconds)
	  FROM due WHERE o.id = due.id
	RETURNING o.*;
$$;

CREATE OR REPLACE FUNCTION cv.outbox_record(p_id bigint, p_outcome text, p_error text,
                                            p_retry_seconds integer)
RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	o cv.outbox%ROWTYPE;
	new_status text;
BEGIN
	SELECT * INTO o FROM cv.outbox WHERE id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	IF p_outcome = 'sent' THEN
		new_status := 'sent';
	ELSIF p_outcome = 'retry' AND now() + make_interval(secs => p_retry_seconds) < o.expires_at THEN
		new_status := 'queued';
	ELSIF p_outcome = 'retry' THEN
		new_status := 'expired';
	ELSE
		new_status := 'failed';
	END IF;
	UPDATE cv.outbox
	   SET status = new_status,
	       last_error = p_error,
	       sent_at = CASE WHEN new_status = 'sent' THEN now() END,
	       next_attempt_at = CASE WHEN new_status = 'queued'
	                              THEN now() + make_interval(secs => p_retry_seconds)
	                              ELSE next_attempt_at END,
	       sealed = CASE WHEN new_status = 'queued' THEN sealed END
	 WHERE id = p_id;
	PERFORM cv.log_event(o.account_id, o.contact_id,
	                     CASE new_status WHEN 'sent' THEN 5005 WHEN 'queued' THEN 5008
	                                     WHEN 'expired' THEN 5009 ELSE 5006 END,
	                     'mailer', NULL,
	                     jsonb_build_object('outbox_id', o.id, 'attempt', o.attempts,
	                                        'error', p_error));
	RETURN new_status;
END
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cv TO cv_app;
