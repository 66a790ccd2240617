-- housekeeping.sql - deleting the rows that can no longer mean anything
-- (README, Operations, Housekeeping).  cv-mailer, the one long-running
-- program, calls cv.housekeeping at start and then hourly when idle (with
-- --once, on every run), and then cv.expire_history in batches until the
-- history older than each account's retention is gone.

-- Deletes the rate-limit counters (cv.rate_counters) whose window started
-- over a day ago and the login tickets (cv.login_tickets) that expired over
-- a day ago; returns how many of each.  Both tables grew without end: a
-- counter row for every client address that ever verified, asked the
-- portal for a code or failed to authenticate (an address per request is
-- cheap to come by, IPv6 above all), a ticket row for every portal login.
-- Neither changes an answer: a counter whose window has ended is reset by
-- its next use (cv.rate_take), and an expired ticket answers 1410 exactly
-- like an unknown one.  Every window is at most a day
-- (auth_limits.window_seconds <= 86400, the others 3600 s or less), so a
-- counter that started over a day ago has ended.  No index on window_start:
-- it would cost every rate_take (a window reset would no longer be a HOT
-- update) to spare an hourly scan of a table this keeps to about a day of
-- rows.  SECURITY DEFINER matters here most: the mailer's role may not
-- delete from either table itself.
CREATE OR REPLACE FUNCTION cv.housekeeping(OUT counters bigint, OUT tickets bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM cv.rate_counters r WHERE r.window_start < now() - interval '1 day';
	GET DIAGNOSTICS counters = ROW_COUNT;
	DELETE FROM cv.login_tickets t WHERE t.expires_at < now() - interval '1 day';
	GET DIAGNOSTICS tickets = ROW_COUNT;
END
$$;

-- Deletes one batch of expired history, at most p_batch rows of each kind:
-- events older than their account's events_retention days, ended codes
-- older than codes_retention (a code has ended by its expires_at at the
-- latest: used, replaced, burned or expired; one whose mail is still queued
-- or being sent is kept) and ended mail older than mail_retention (sent,
-- failed or expired, by the time it was queued).  Never a live code or a
-- queued mail.  Returns how many of each it deleted; cv-mailer calls it
-- again while any count is p_batch, each call its own short transaction,
-- with a pause as long as the batch took between calls (src/mailer.c), so
-- requests are not held up.  Rows another transaction holds are skipped
-- (SKIP LOCKED): an erasure or a mailer is never waited for, and such a row
-- goes with a later batch.  The commit does not wait for the WAL flush: a
-- crash can only bring back rows that the next run deletes again.  The
-- indexes of migration 020 (and events_account_time of 001) find each
-- batch in order; each time range is bounded by the shortest retention of
-- any account, so the scan never starts over the kept rows of every
-- account.
CREATE OR REPLACE FUNCTION cv.expire_history(p_batch integer, OUT events bigint,
                                             OUT codes bigint, OUT mail bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	acc record;
	n bigint;
BEGIN
	SET LOCAL synchronous_commit = off;
	events := 0;
	mail := 0;
	FOR acc IN SELECT a.id, a.events_retention, a.mail_retention FROM cv.accounts a LOOP
		EXIT WHEN events >= p_batch AND mail >= p_batch;
		IF events < p_batch THEN
			DELETE FROM cv.events e WHERE e.id IN (
				SELECT x.id FROM cv.events x
				 WHERE x.account_id = acc.id
				   AND x.created_at < now() - make_interval(days => acc.events_retention)
				 ORDER BY x.created_at LIMIT p_batch - events
				   FOR UPDATE SKIP LOCKED);
			GET DIAGNOSTICS n = ROW_COUNT;
			events := events + n;
		END IF;
		IF mail < p_batch THEN
			DELETE FROM cv.outbox o WHERE o.id IN (
				SELECT x.id FROM cv.outbox x
				 WHERE x.account_id = acc.id AND x.status IN ('sent', 'failed', 'expired')
				   AND x.created_at < now() - make_interval(days => acc.mail_retention)
				 ORDER BY x.created_at LIMIT p_batch - mail
				   FOR UPDATE SKIP LOCKED);
			GET DIAGNOSTICS n = ROW_COUNT;
			mail := mail + n;
		END IF;
	END LOOP;
	-- Codes have no account column: by time first, bounded by the shortest
	-- retention, then each code's own account.
	DELETE FROM cv.passcodes p WHERE p.id IN (
		SELECT x.id FROM cv.passcodes x
		  JOIN cv.contacts c ON c.id = x.contact_id
		  JOIN cv.accounts a ON a.id = c.account_id
		 WHERE x.expires_at < now() - make_interval(days => (SELECT min(codes_retention)
		                                                       FROM cv.accounts))
		   AND x.expires_at < now() - make_interval(days => a.codes_retention)
		   AND NOT EXISTS (SELECT 1 FROM cv.outbox o
		                    WHERE o.passcode_id = x.id AND o.status IN ('queued', 'sending'))
		 ORDER BY x.expires_at LIMIT p_batch
		   FOR UPDATE OF x SKIP LOCKED);
	GET DIAGNOSTICS codes = ROW_COUNT;
END
$$;
