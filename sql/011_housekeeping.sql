-- 011_housekeeping.sql - rows that can no longer mean anything are deleted:
-- rate-limit counters (cv.rate_counters) whose window ended, and login
-- tickets (cv.login_tickets) that expired.  Both grew without end: a
-- counter row for every client address that ever verified, asked the
-- portal for a code or failed to authenticate (an address per request is
-- cheap to come by, IPv6 above all), a ticket row for every portal login.
-- Deleting either changes no answer: a counter whose window has ended is
-- reset by its next use (cv.rate_take), and an expired ticket answers 1410
-- exactly like an unknown one.  cv-mailer, the one long-running program,
-- calls this at start and then hourly.
--
-- Every window is at most a day (auth_limits.window_seconds <= 86400; the
-- others are 3600 s or less), so a counter that started over a day ago has
-- ended.  No index on window_start: it would cost every rate_take (a window
-- reset would no longer be a HOT update) to spare an hourly scan of a table
-- that this keeps to about a day of rows.
--
-- Codes, mail and events are history and are kept (README, Operations).

CREATE FUNCTION cv.housekeeping(OUT counters bigint, OUT tickets bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM cv.rate_counters r WHERE r.window_start < now() - interval '1 day';
	GET DIAGNOSTICS counters = ROW_COUNT;
	DELETE FROM cv.login_tickets t WHERE t.expires_at < now() - interval '1 day';
	GET DIAGNOSTICS tickets = ROW_COUNT;
END
$$;

-- SECURITY DEFINER: the programs' role may not delete from either table.
REVOKE ALL ON FUNCTION cv.housekeeping() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cv.housekeeping() TO cv_app;
