-- outbox.sql - the mail queue, the mailer's side (src/mailer.c, as role
-- cv_mailer; README, The mailer): claiming due messages and recording each
-- attempt's outcome.  A message is queued in the same transaction as its
-- code (codes.sql's cv.queue_code), so an API call never waits for SMTP;
-- its life is queued -> sending (claimed, with a lease) -> sent, failed or
-- expired.  The sealed code and link (cv.outbox.sealed) are wiped once the
-- message is final.  The template of a message is templates.sql's
-- cv.outbox_template.

-- Claims up to p_limit due messages: queued ones whose next attempt is due,
-- and sending ones whose lease has run out (their mailer died mid-send).  A
-- claimed row is 'sending' with a lease of p_lease_seconds.  FOR UPDATE SKIP
-- LOCKED lets several mailers run at once.  superseded: the message's code
-- is no longer live (replaced by a newer send, or used), so it is not to be
-- sent, nor counted as an attempt; the mailer records it with outcome
-- 'expired'.  Dropping such mail here rather than at the send that replaced
-- it spares every send a look through the queue, whose plan read the whole
-- queue once mail piled up (SMTP down: 3.3 ms per send over 6,284 queued
-- mails, growing with the backlog).
CREATE OR REPLACE FUNCTION cv.outbox_claim(p_limit integer, p_lease_seconds integer,
                                           OUT id bigint, OUT to_email text, OUT sealed bytea,
                                           OUT link_base text, OUT app_name text,
                                           OUT sender_name text, OUT sender_email text,
                                           OUT locale text, OUT purpose text,
                                           OUT message_id text, OUT expires_at timestamptz,
                                           OUT attempts integer, OUT created_at timestamptz,
                                           OUT code_length integer, OUT superseded boolean)
RETURNS SETOF record
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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

-- Holds message p_id for the rest of the caller's transaction, which the
-- mailer keeps open across the SMTP exchange and ends with the outcome's
-- cv.outbox_record: the contact FOR KEY SHARE first, then the row FOR
-- UPDATE (lifecycle.sql's lock order).  An erasure of the contact (which
-- takes it FOR UPDATE) then waits until the message is sent and recorded,
-- or it was first and the row is gone: returns false, and the mailer sends
-- nothing.  The lease and the retries stay as they are: a mailer that dies
-- holding a row leaves it 'sending' until its lease ends, as before.
CREATE OR REPLACE FUNCTION cv.outbox_hold(p_id bigint)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM 1 FROM cv.contacts c
	 WHERE c.id = (SELECT o.contact_id FROM cv.outbox o WHERE o.id = p_id)
	   FOR KEY SHARE;
	PERFORM 1 FROM cv.outbox o WHERE o.id = p_id FOR UPDATE;
	RETURN FOUND;
END
$$;

-- Records the outcome of one delivery attempt of message p_id: 'sent';
-- 'retry', a temporary failure, queued again after p_retry_seconds unless
-- its code has expired by then (then 'expired'); 'expired', not to be sent
-- (superseded at the claim); anything else 'failed' (permanent).  p_error
-- becomes last_error and the event's detail (EMAIL_DELIVERED 5005,
-- EMAIL_DEFERRED 5008, EMAIL_EXPIRED 5009, EMAIL_FAILED 5006).  Returns the
-- new status, or NULL when the row is gone.  The sealed code and link are
-- wiped unless the message is queued again.  Takes the row through
-- cv.outbox_hold (a no-op inside the mailer's holding transaction), so its
-- event's contact is locked before the row, as an erasure locks them.
CREATE OR REPLACE FUNCTION cv.outbox_record(p_id bigint, p_outcome text, p_error text,
                                            p_retry_seconds integer)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	o cv.outbox%ROWTYPE;
	new_status text;
BEGIN
	IF NOT cv.outbox_hold(p_id) THEN
		RETURN NULL;
	END IF;
	SELECT * INTO o FROM cv.outbox WHERE id = p_id;
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
