-- 010_superseded_mail.sql - a send no longer looks for the older mail its
-- new code replaces; the mailer drops such mail when it claims it.
--
-- Until now cv.queue_code expired the contact's queued mail of the purpose
-- with an UPDATE over the partial index outbox_contact_queued (status =
-- 'queued').  When the last ANALYZE had found no queued mail (the normal
-- state: the mailer keeps up), the planner took the other partial index
-- that status = 'queued' satisfies, outbox_due, believed to be just as
-- empty; once mail piled up (SMTP down) every send then read the whole
-- queue: 3,665 buffers and 3.3 ms per send over 6,284 queued mails, growing
-- with the backlog (found with tools/bench, whose stack runs no mailer).
-- The replaced code is already marked used by the send (its passcode row's
-- used_at), so the mail of a code that is no longer live is recognised at
-- the claim, by its passcode, and recorded as 'expired' (event 5009, the
-- reason in last_error) instead of sent.  The send path loses a statement,
-- and the outbox one index entry per mail.  Mail without a passcode (none
-- is queued today) is always sent.

DROP INDEX cv.outbox_contact_queued;

-- The code of the send, as in 007, without the UPDATE of the outbox.
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
	-- The mail of a replaced code, if still queued, is dropped by the
	-- mailer when it claims it (cv.outbox_claim: superseded).
	UPDATE cv.passcodes p SET used_at = now()
	 WHERE p.contact_id = p_contact.id AND p.purpose = p_purpose AND p.used_at IS NULL;
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
	-- As in 007: only an idle mailer needs waking.
	IF NOT EXISTS (SELECT 1 FROM cv.outbox o
	                WHERE o.status = 'queued' AND o.next_attempt_at <= now() AND o.id <> ob_id) THEN
		NOTIFY cv_outbox;
	END IF;
	RETURN pc_id;
END
$$;

-- The claim of 005, with the columns the mailer reads, and superseded: the
-- mail's code is no longer live (replaced by a newer one, or used), so the
-- mail is not to be sent (nor counted as an attempt); the mailer records it
-- with outcome 'expired'.
DROP FUNCTION cv.outbox_claim(integer, integer);
CREATE FUNCTION cv.outbox_claim(p_limit integer, p_lease_seconds integer,
                                OUT id bigint, OUT to_email text, OUT sealed bytea,
                                OUT link_base text, OUT app_name text, OUT sender_name text,
                                OUT sender_email text, OUT locale text, OUT purpose text,
                                OUT message_id text, OUT expires_at timestamptz,
                                OUT attempts integer, OUT created_at timestamptz,
                                OUT code_length integer, OUT superseded boolean)
RETURNS SETOF record
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	WITH due AS (
		SELECT o.id, COALESCE(p.used_at IS NOT NULL, false) AS superseded
		  FROM cv.outbox o LEFT JOIN cv.passcodes p ON p.id = o.passcode_id
		 WHERE o.status IN ('queued', 'sending') AND o.next_attempt_at <= now()
		 ORDER BY o.next_attempt_at
		 LIMIT p_limit
		   FOR UPDATE OF o SKIP LOCKED
	)
	UPDATE cv.outbox o
	   SET status = 'sending', attempts = o.attempts + CASE WHEN due.superseded THEN 0 ELSE 1 END,
	       next_attempt_at = now() + make_interval(secs => p_lease_seconds)
	  FROM due WHERE o.id = due.id
	RETURNING o.id, o.to_email, o.sealed, o.link_base, o.app_name, o.sender_name,
	          o.sender_email, o.locale, o.purpose, o.message_id, o.expires_at, o.attempts,
	          o.created_at, o.code_length, due.superseded;
$$;

-- As in 005, and outcome 'expired': the message is not to be sent (its code
-- was superseded); recorded as expired with event 5009 and p_error.
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
	ELSIF p_outcome IN ('retry', 'expired') THEN
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
