-- bench/peer/setup.sql - the peer's dataset, loaded by psql (as the
-- superuser) into database peer of tools/bench's throwaway cluster after
-- `node server.mjs migrate` made better-auth's schema.  Variables: users.
--
-- :users users bench000001@example.com, ... (ids u000001, ...), the same
-- addresses as the service's contacts, and peer_prepare(), which makes the
-- codes the verify runs use, as POST /email-otp/send-verification-otp
-- would leave them (better-auth's default storeOTP "plain": the value is
-- "code:attempts" under identifier "sign-in-otp-EMAIL"), and sessions for
-- the token run.
\set ON_ERROR_STOP 1
BEGIN;
INSERT INTO "user" (id, name, email, "emailVerified")
SELECT 'u' || lpad(i::text, 6, '0'), 'Bench ' || i, 'bench' || lpad(i::text, 6, '0') || '@example.com', true
  FROM generate_series(1, :users) AS i;

-- peer_prepare(first, last): a fresh sign-in code for users first..last,
-- returned as "email code" (codes are 100000..999999, so 000000 is wrong).
CREATE FUNCTION peer_prepare(p_first integer, p_last integer) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM verification
	 WHERE identifier IN (SELECT 'sign-in-otp-bench' || lpad(i::text, 6, '0') || '@example.com'
	                        FROM generate_series(p_first, p_last) AS i);
	RETURN QUERY
	WITH c AS (SELECT i, 'bench' || lpad(i::text, 6, '0') || '@example.com' AS email,
	                  (100000 + floor(random() * 900000))::integer::text AS code
	             FROM generate_series(p_first, p_last) AS i),
	ins AS (INSERT INTO verification (id, identifier, value, "expiresAt")
	        SELECT gen_random_uuid()::text, 'sign-in-otp-' || c.email, c.code || ':0',
	               now() + interval '1 day' FROM c)
	SELECT c.email || ' ' || c.code FROM c ORDER BY c.i;
END
$$;

-- Sessions of users first..last for the token run (the bearer plugin takes
-- the session token as a Bearer token), returned as the tokens.
CREATE FUNCTION peer_sessions(p_first integer, p_last integer) RETURNS SETOF text
LANGUAGE sql AS $$
	INSERT INTO session (id, "expiresAt", token, "updatedAt", "userId")
	SELECT gen_random_uuid()::text, now() + interval '1 day', md5(random()::text) || md5(random()::text),
	       now(), 'u' || lpad(i::text, 6, '0')
	  FROM generate_series(p_first, p_last) AS i
	RETURNING token
$$;
COMMIT;
VACUUM (ANALYZE);
