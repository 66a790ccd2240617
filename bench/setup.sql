-- bench/setup.sql - the dataset of tools/bench, loaded by psql (as the
-- superuser) into the throwaway cluster of one benchmark run, never into a
-- real database.  Variables: api_key, token_secret, contacts, portal.
--
-- One account with an API key and a user app whose limits are raised (no
-- resend cooldown, day-long codes, the highest rate limits) so that a flood
-- of requests from one address measures the work and not the 429 path, and :contacts contacts bench000001@example.com, ...
-- whose ids are 1..:contacts (the cluster is new).  Also what the floors and
-- the code preparation need: a table for the fcgi_insert floor and pgcrypto
-- (for HMAC), both in schema cv_bench, and the floors' role cv_bench.

\set ON_ERROR_STOP 1
BEGIN;
CREATE SCHEMA cv_bench;
CREATE EXTENSION pgcrypto WITH SCHEMA cv_bench;

-- The fcgi_insert and pgbench_insert floors write here.
CREATE TABLE cv_bench.hits (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	request_id text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- The floors' own role: the service's roles may not touch a table
-- (sql/014), and the floors measure a bare SELECT and INSERT.  It may do
-- exactly what they and the pgbench_*_min floors do.
CREATE ROLE cv_bench LOGIN;
GRANT USAGE ON SCHEMA cv, cv_bench TO cv_bench;
GRANT SELECT, INSERT ON cv_bench.hits TO cv_bench;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cv_bench TO cv_bench;
GRANT SELECT ON cv.api_keys, cv.accounts TO cv_bench;
GRANT SELECT, UPDATE ON cv.contacts TO cv_bench;
GRANT SELECT, INSERT ON cv.passcodes, cv.outbox, cv.events TO cv_bench;
-- pgbench_verify_min and pgbench_verify_wrong_min.
GRANT UPDATE ON cv.passcodes TO cv_bench;
GRANT SELECT, INSERT, UPDATE ON cv.rate_counters TO cv_bench;

-- The plaintext of the codes tools/bench prepares for the verify runs.
CREATE TABLE cv_bench.codes (
	contact_id bigint PRIMARY KEY,
	email      text NOT NULL,
	code       text NOT NULL
);

WITH account AS (
	INSERT INTO cv.accounts (name, token_secret, sends_per_hour, verifies_per_email, verifies_per_ip)
	VALUES ('Bench', :'token_secret', 1000000, 1000000, 1000000)
	RETURNING id
), api_key AS (
	INSERT INTO cv.api_keys (account_id, key_hash, name)
	SELECT id, pg_catalog.sha256(pg_catalog.convert_to(:'api_key', 'UTF8')), 'bench' FROM account
), user_app AS (
	INSERT INTO cv.user_apps (account_id, name, portal_url, sender_email, login_ttl, resend_cooldown)
	SELECT id, 'Bench Portal', :'portal', 'no-reply@example.com', 86400, 0 FROM account
)
INSERT INTO cv.contacts (account_id, email)
SELECT account.id, 'bench' || pg_catalog.lpad(i::text, 6, '0') || '@example.com'
  FROM account, pg_catalog.generate_series(1, :contacts) AS i
 ORDER BY i;

DO $$
BEGIN
	IF (SELECT pg_catalog.max(id) FROM cv.contacts) <> (SELECT pg_catalog.count(*) FROM cv.contacts) THEN
		RAISE 'the bench cluster was not empty: contact ids are not 1..n';
	END IF;
END
$$;

-- cv_bench.prepare_codes(secret, first, last): a new live login code for
-- each contact with an id in first..last, as POST .../send would leave it
-- (earlier unused codes replaced, attempts 0), and its plaintext in
-- cv_bench.codes.  The hash is the one lib/verification.c makes:
-- HMAC-SHA256(code_secret, "c:" || code).  Codes are 100000..999999, so
-- "000000" is always wrong.
CREATE FUNCTION cv_bench.prepare_codes(p_secret bytea, p_first bigint, p_last bigint)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n bigint;
BEGIN
	UPDATE cv.passcodes SET used_at = now()
	 WHERE contact_id BETWEEN p_first AND p_last AND purpose = 'login' AND used_at IS NULL;
	DELETE FROM cv_bench.codes WHERE contact_id BETWEEN p_first AND p_last;
	INSERT INTO cv_bench.codes (contact_id, email, code)
	SELECT c.id, c.email, (100000 + floor(random() * 900000))::integer::text
	  FROM cv.contacts c WHERE c.id BETWEEN p_first AND p_last;
	INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at)
	SELECT k.contact_id, 'login',
	       cv_bench.hmac(convert_to('c:' || k.code, 'UTF8'), p_secret, 'sha256'),
	       cv_bench.gen_random_bytes(32), now() + interval '1 day'
	  FROM cv_bench.codes k WHERE k.contact_id BETWEEN p_first AND p_last
	 ORDER BY k.contact_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- cv_bench.preload_history(n): what months of service leave behind, for a
-- BENCH_HISTORY run (cost must not grow with history): n used codes of the
-- bench account's contacts (round robin, created a day and more ago, so no
-- hourly send limit counts them), their n mails (sent), n events and n
-- rate-counter rows of windows long gone (other addresses).
CREATE FUNCTION cv_bench.preload_history(p_rows bigint)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	acc bigint := (SELECT id FROM cv.accounts WHERE name = 'Bench');
	n_contacts bigint := (SELECT count(*) FROM cv.contacts WHERE account_id = acc);
BEGIN
	CREATE TEMP TABLE h ON COMMIT DROP AS
	SELECT i, (i - 1) % n_contacts + 1 AS contact_id,
	       now() - interval '1 day' - i * interval '1 second' AS t
	  FROM generate_series(1, p_rows) AS i;
	WITH p AS (
		INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at, attempts,
		                          used_at, created_at)
		SELECT h.contact_id, 'login', cv_bench.gen_random_bytes(32), cv_bench.gen_random_bytes(32),
		       h.t + interval '10 minutes', 0, h.t + interval '1 minute', h.t
		  FROM h ORDER BY h.i
		RETURNING id, contact_id, created_at)
	INSERT INTO cv.outbox (account_id, contact_id, passcode_id, purpose, to_email, sealed,
	                       code_length, link_base, app_name, expires_at, message_id, status,
	                       next_attempt_at, created_at)
	SELECT acc, p.contact_id, p.id, 'login', c.email, cv_bench.gen_random_bytes(60), 6,
	       'https://example.com/login/confirm?token=', 'Bench Portal',
	       p.created_at + interval '10 minutes', '<' || gen_random_uuid() || '@contact-verify>',
	       'sent', p.created_at, p.created_at
	  FROM p JOIN cv.contacts c ON c.id = p.contact_id;
	INSERT INTO cv.events (account_id, contact_id, event_code, event_id, source_system,
	                       request_id, detail, created_at)
	SELECT acc, h.contact_id, 'CODE_SENT', 5001, 'api', 'history', '{"purpose": "login"}', h.t
	  FROM h ORDER BY h.i;
	INSERT INTO cv.rate_counters (bucket, window_start, hits)
	SELECT 'verify-ip:' || acc || ':history-' || h.i, h.t, 1 FROM h
	ON CONFLICT DO NOTHING;
END
$$;
COMMIT;

-- As pgbench -i does: a service's tables are not freshly bulk-loaded, so
-- the first requests should not pay for setting the hint bits of 100,000
-- new rows (measured: the first send run after loading cost 1.7 ms of
-- PostgreSQL CPU per send, the next ones 0.8 ms).
VACUUM (ANALYZE);
