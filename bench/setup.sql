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
-- exactly what they and pgbench_send_min do.
CREATE ROLE cv_bench LOGIN;
GRANT USAGE ON SCHEMA cv, cv_bench TO cv_bench;
GRANT SELECT, INSERT ON cv_bench.hits TO cv_bench;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cv_bench TO cv_bench;
GRANT SELECT ON cv.api_keys, cv.accounts TO cv_bench;
GRANT SELECT, UPDATE ON cv.contacts TO cv_bench;
GRANT SELECT, INSERT ON cv.passcodes, cv.outbox, cv.events TO cv_bench;

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
COMMIT;

-- As pgbench -i does: a service's tables are not freshly bulk-loaded, so
-- the first requests should not pay for setting the hint bits of 100,000
-- new rows (measured: the first send run after loading cost 1.7 ms of
-- PostgreSQL CPU per send, the next ones 0.8 ms).
VACUUM (ANALYZE);
