-- limits.sql - every limit on how often something may happen (README,
-- Limits): the fixed-window counters of cv.rate_counters (cv.rate_take),
-- failed authentications per client address (cv.auth_wait,
-- cv.auth_failed; settings in the one row of cv.auth_limits), the verify
-- attempts per email address and per client address (cv.verify_limits), and
-- a contact's resend cooldown and sends per hour (cv.send_wait).  Counting is
-- one atomic statement per limit, so parallel requests cannot slip past it.
--
-- The buckets of cv.rate_counters are named "<kind>:<account>:<key>":
-- verify (per email address, 15 minutes), verify-ip (per client address, an
-- hour), portal-send-ip, portal-cooldown and portal-send (portal.sql's
-- cv.portal_send), and "auth:<address>" (global: a failed authentication has
-- no account).  An address is what lib/client_addr.c names: IPv4, or an IPv6
-- /64.  Every window is at most a day (housekeeping.sql relies on it).

-- Takes one unit from bucket p_bucket's allowance of p_limit per p_window
-- seconds.  NULL: taken.  Otherwise the seconds until the window ends, and
-- nothing is taken (a refused request does not extend the wait).  One
-- conditional upsert: of N parallel takers exactly the allowance's worth
-- get NULL.  clock_timestamp(), not now(): a transaction that waited for the
-- row's lock must see the window as it is when it gets it.  No sequential
-- scan, as for cv.auth_wait.
CREATE OR REPLACE FUNCTION cv.rate_take(p_bucket text, p_limit integer, p_window integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off AS $$
DECLARE
	taken integer;
	wait integer;
BEGIN
	INSERT INTO cv.rate_counters AS r (bucket, window_start, hits)
	VALUES (p_bucket, clock_timestamp(), 1)
	ON CONFLICT (bucket) DO UPDATE
	   SET window_start = CASE WHEN r.window_start + make_interval(secs => p_window)
	                                <= clock_timestamp()
	                           THEN clock_timestamp() ELSE r.window_start END,
	       hits = CASE WHEN r.window_start + make_interval(secs => p_window) <= clock_timestamp()
	                   THEN 1 ELSE r.hits + 1 END
	 WHERE r.window_start + make_interval(secs => p_window) <= clock_timestamp()
	    OR r.hits < p_limit
	RETURNING hits INTO taken;
	IF taken IS NOT NULL THEN
		RETURN NULL;
	END IF;
	SELECT greatest(1, ceil(extract(epoch FROM
	           r.window_start + make_interval(secs => p_window) - clock_timestamp())))::integer
	  INTO wait FROM cv.rate_counters r WHERE r.bucket = p_bucket;
	RETURN COALESCE(wait, 1);
END
$$;

-- Seconds the address p_addr must still wait because it has used up its
-- allowance of failed authentications (cv.auth_limits), as one row, or no
-- row when it is not blocked.  Reads only, on every authenticated request
-- (auth.sql's cv.authenticate_from, cv.oauth_client).  Inline (auth.sql,
-- "Inline functions"): no SECURITY DEFINER, no SET (cv.apply_privileges).
--
-- One plan whatever the statistics: every function that joins it plans with
-- enable_seqscan off, so the lookup is always the primary key's index.  A
-- responder keeps the generic plan of a PL/pgSQL statement for its
-- lifetime, until the table's statistics change; one planned while
-- cv.rate_counters was (nearly) empty -- a new install, a night after
-- housekeeping -- was a Seq Scan, and stayed one while the verify counters
-- grew the table to 40,000 rows (3 MB).  tools/bench with auto_explain: 1,002
-- calls of this lookup over 3 ms in one run, all Seq Scans; PostgreSQL CPU
-- per request verify_wrong 1.17-1.33 ms, verify 0.86-0.97, send 0.74-0.83
-- before; 0.53, 0.60, 0.67 after.  (l.singleton: the settings row's index
-- too, for a disabled Seq Scan's cost, 1e10, would have the statement
-- JIT-compiled, 0.5 s.)  now(), not clock_timestamp(): it is the
-- first read of a request, and an inline function must not be more
-- volatile than it is declared.
CREATE OR REPLACE FUNCTION cv.auth_wait(p_addr text)
RETURNS TABLE (wait integer)
LANGUAGE sql STABLE AS $$
	SELECT greatest(1, pg_catalog.ceil(extract(epoch FROM
	           r.window_start + pg_catalog.make_interval(secs => l.window_seconds)
	           - pg_catalog.now())))::integer
	  FROM cv.auth_limits l JOIN cv.rate_counters r
	    ON r.bucket = 'auth:' || COALESCE(p_addr, '')
	 WHERE l.singleton AND r.hits >= l.max_failures
	   AND r.window_start + pg_catalog.make_interval(secs => l.window_seconds) > pg_catalog.now()
$$;

-- Counts one failed authentication from the address.  NULL: counted, the
-- caller answers 401; else the seconds to wait (the allowance was used up,
-- nothing is counted, the caller answers 429).
CREATE OR REPLACE FUNCTION cv.auth_failed(p_addr text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	lim cv.auth_limits%ROWTYPE;
BEGIN
	SELECT * INTO lim FROM cv.auth_limits;
	RETURN cv.rate_take('auth:' || COALESCE(p_addr, ''), lim.max_failures, lim.window_seconds);
END
$$;

-- The verify limits of account p_account for one email address and one
-- client address: NULL when this attempt may go on (it is counted against
-- both), else the seconds to wait.  They count per address, not per code:
-- asking for a new code buys no new guesses.  Whether a contact has the
-- address does not matter: the buckets are the same for strangers.
CREATE OR REPLACE FUNCTION cv.verify_limits(p_account bigint, p_email text, p_ip text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN (SELECT COALESCE(
	            cv.rate_take('verify:' || p_account || ':' || lower(p_email), a.verifies_per_email,
	                         900),
	            cv.rate_take('verify-ip:' || p_account || ':' || COALESCE(p_ip, ''),
	                         a.verifies_per_ip, 3600))
	          FROM cv.accounts a WHERE a.id = p_account);
END
$$;

-- Seconds until contact p_contact may be sent another code of p_purpose, or
-- NULL when it may now: the user app's resend cooldown p_cooldown (per
-- purpose, at most an hour: cv.user_apps), then the account's sends per
-- address per hour (all purposes).  The caller holds the contact's lock (FOR
-- NO KEY UPDATE: codes.sql's lock order) and queues under it, and this is a
-- statement of its own after that lock (a snapshot that sees the codes of
-- whoever held it before).
--
-- Sends per hour are counted from the contact's own codes, not in a
-- cv.rate_counters row: a code is stored for every send that went ahead and
-- the contact row is locked first, so the count is exact under concurrency
-- and costs no write.  The window slides (the last hour) instead of being
-- fixed; one scan of the index passcodes_contact_time answers both.
-- clock_timestamp() for the wait: a send that held the contact's lock
-- before us may have committed a created_at later than our transaction's
-- start.
CREATE OR REPLACE FUNCTION cv.send_wait(p_contact bigint, p_purpose text, p_cooldown integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN (SELECT CASE
	            WHEN s.last_of_purpose IS NOT NULL THEN
	                greatest(1, ceil(extract(epoch FROM s.last_of_purpose
	                    + make_interval(secs => p_cooldown) - clock_timestamp())))::integer
	            WHEN s.n >= a.sends_per_hour THEN
	                greatest(1, ceil(extract(epoch FROM
	                    s.first + interval '1 hour' - clock_timestamp())))::integer
	            END
	          FROM cv.contacts c JOIN cv.accounts a ON a.id = c.account_id,
	               LATERAL (SELECT count(*) FILTER (WHERE p.created_at > now() - interval '1 hour') AS n,
	                               min(p.created_at) FILTER (WHERE p.created_at > now() - interval '1 hour')
	                                   AS first,
	                               max(p.created_at) FILTER (WHERE p_cooldown > 0
	                                   AND p.purpose = p_purpose
	                                   AND p.created_at > now() - make_interval(secs => p_cooldown))
	                                   AS last_of_purpose
	                          FROM cv.passcodes p
	                         WHERE p.contact_id = c.id
	                           AND p.created_at > now() - greatest(interval '1 hour',
	                                                               make_interval(secs => p_cooldown))) s
	         WHERE c.id = p_contact);
END
$$;
