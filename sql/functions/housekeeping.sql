-- housekeeping.sql - deleting the rows that can no longer mean anything
-- (README, Operations, Housekeeping).  cv-mailer, the one long-running
-- program, calls cv.housekeeping at start and then hourly when idle (with
-- --once, on every run).  Codes, mail and events are history and are kept.

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
