-- 008_hardening.sql - failed authentications per client address (SPEC
-- section 7): API keys, access tokens and OAuth client secrets share one
-- allowance per address, counted in cv.rate_counters under "auth:<addr>"
-- (the address as lib/client_addr.c names it: IPv4, or an IPv6 /64).  The
-- limit is global, not per account: a failure has no account to belong to.
-- Replaces 002's cv.auth_failures and its fixed cv.auth_failure_limit().
--
-- An address that has used up its allowance is refused with 1029 even when
-- it presents a valid key: answering a valid key normally would tell the
-- guesser which of its guesses was right, which is what the limit is for.
--
-- The failure is counted in the same transaction that found the credential
-- wrong, with cv.rate_take's conditional upsert: of N parallel wrong guesses
-- exactly the allowance's worth get 401 and the rest 429.  A valid key only
-- reads the counter (no write, no lock on the hot path).

-- The one row of settings: max_failures per window_seconds per address.
CREATE TABLE cv.auth_limits (
	singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	max_failures   integer NOT NULL DEFAULT 10 CHECK (max_failures BETWEEN 1 AND 1000000),
	window_seconds integer NOT NULL DEFAULT 900 CHECK (window_seconds BETWEEN 1 AND 86400)
);
INSERT INTO cv.auth_limits DEFAULT VALUES;

-- Seconds the address must still wait, or NULL when it is not blocked.
-- Reads only.
CREATE FUNCTION cv.auth_blocked(p_addr text)
RETURNS integer
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	lim cv.auth_limits%ROWTYPE;
	wait integer;
BEGIN
	SELECT * INTO lim FROM cv.auth_limits;
	SELECT greatest(1, ceil(extract(epoch FROM
	           r.window_start + make_interval(secs => lim.window_seconds) - clock_timestamp())))::integer
	  INTO wait
	  FROM cv.rate_counters r
	 WHERE r.bucket = 'auth:' || COALESCE(p_addr, '') AND r.hits >= lim.max_failures
	   AND r.window_start + make_interval(secs => lim.window_seconds) > clock_timestamp();
	RETURN wait;
END
$$;

-- Counts one failed authentication from the address.  NULL: counted, the
-- caller answers 401; else the seconds to wait (the allowance was used up,
-- nothing is counted, the caller answers 429).
CREATE FUNCTION cv.auth_failed(p_addr text)
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	lim cv.auth_limits%ROWTYPE;
BEGIN
	SELECT * INTO lim FROM cv.auth_limits;
	RETURN cv.rate_take('auth:' || COALESCE(p_addr, ''), lim.max_failures, lim.window_seconds);
END
$$;

-- cv.authenticate from a client address: result as cv.authenticate's, or
-- 1029 with retry_after when the address is blocked (valid key or not).
-- Only 1001 (unknown, revoked or malformed credential) counts as a failure:
-- an expired key or an inactive account was not a guess.
CREATE FUNCTION cv.authenticate_from(p_key_hash text, p_addr text,
                                     OUT result integer, OUT account_id bigint,
                                     OUT retry_after integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
BEGIN
	auth := cv.authenticate(p_key_hash);
	result := auth.result;
	account_id := auth.account_id;
	IF auth.result = 1001 THEN
		retry_after := cv.auth_failed(p_addr);
	ELSE
		retry_after := cv.auth_blocked(p_addr);
	END IF;
	IF retry_after IS NOT NULL THEN
		result := 1029;
		account_id := NULL;
	END IF;
END
$$;

DROP FUNCTION cv.api_send(text, text, text, text[], text, text, text);
DROP FUNCTION cv.api_auth_token(text, uuid, text);
DROP FUNCTION cv.oauth_client(bigint, text);
DROP FUNCTION cv.oauth_client_failed(text);
DROP FUNCTION cv.auth_failure_limit();
DROP TABLE cv.auth_failures;

-- POST .../send (as in 005) from client address p_ip.  result: 0, 1001,
-- 3000, 7002, 55031, 55032, 1029 (with retry_after seconds).
CREATE FUNCTION cv.api_send(p_key_hash text, p_email text, p_sealed text, p_code_hashes text[],
                            p_link_hash text, p_public_url text, p_request text, p_ip text,
                            OUT result integer, OUT retry_after integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	app cv.user_apps%ROWTYPE;
	ct cv.contacts%ROWTYPE;
BEGIN
	auth := cv.authenticate_from(p_key_hash, p_ip);
	retry_after := auth.retry_after;
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

-- POST .../verify (as in 006; p_ip was already its client address).
CREATE OR REPLACE FUNCTION cv.api_verify(p_key_hash text, p_email text, p_code_hash text,
                                         p_ip text, p_request text,
                                         OUT result integer, OUT contact_uuid uuid,
                                         OUT retry_after integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	ct record;
	pc_id bigint;
BEGIN
	contact_uuid := NULL;
	auth := cv.authenticate_from(p_key_hash, p_ip);
	retry_after := auth.retry_after;
	IF auth.result <> 0 THEN
		result := auth.result;
		RETURN;
	END IF;
	PERFORM 1 FROM cv.user_apps u WHERE u.account_id = auth.account_id;
	IF NOT FOUND THEN
		result := 55032;
		RETURN;
	END IF;
	retry_after := cv.verify_limits(auth.account_id, p_email, p_ip);
	IF retry_after IS NOT NULL THEN
		result := 1029;
		RETURN;
	END IF;
	result := 13010;
	SELECT c.id, c.uuid INTO ct FROM cv.contacts c
	 WHERE c.account_id = auth.account_id AND lower(c.email) = lower(p_email);
	IF NOT FOUND THEN
		RETURN;
	END IF;
	pc_id := cv.check_code(auth.account_id, ct.id, 'login', p_code_hash, 'api', p_request);
	IF pc_id IS NULL THEN
		RETURN;
	END IF;
	UPDATE cv.contacts SET email_verified = true, status = 'active', updated_at = now()
	 WHERE id = ct.id;
	PERFORM cv.log_event(auth.account_id, ct.id, 5002, 'api', p_request,
	                     jsonb_build_object('purpose', 'login', 'passcode_id', pc_id));
	result := 0;
	contact_uuid := ct.uuid;
END
$$;

-- GET .../auth-token/{uuid} (as in 007) from client address p_ip; 1029
-- with retry_after when the address is blocked.
CREATE FUNCTION cv.api_auth_token(p_key_hash text, p_contact_uuid uuid, p_request text,
                                  p_ip text,
                                  OUT result integer, OUT account_uuid uuid,
                                  OUT token_secret text, OUT token_ttl integer,
                                  OUT contact_uuid uuid, OUT email text,
                                  OUT email_verified boolean, OUT retry_after integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	acc cv.accounts%ROWTYPE;
	ct cv.contacts%ROWTYPE;
BEGIN
	auth := cv.authenticate_from(p_key_hash, p_ip);
	retry_after := auth.retry_after;
	IF auth.result <> 0 THEN
		result := auth.result;
		RETURN;
	END IF;
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.uuid = p_contact_uuid AND c.account_id = auth.account_id;
	IF NOT FOUND THEN
		result := 55031;
		RETURN;
	END IF;
	SELECT * INTO acc FROM cv.accounts a WHERE a.id = auth.account_id;
	IF acc.token_secret IS NULL OR octet_length(acc.token_secret) < 32 THEN
		result := 1053;
		RETURN;
	END IF;
	-- As in 007: the event is the only write, an audit record.
	SET LOCAL synchronous_commit = off;
	PERFORM cv.log_event(acc.id, ct.id, 5007, 'api', p_request, '{}');
	result := 0;
	account_uuid := acc.uuid;
	token_secret := acc.token_secret;
	token_ttl := acc.token_ttl;
	contact_uuid := ct.uuid;
	email := ct.email;
	email_verified := ct.email_verified;
END
$$;

-- POST /oauth/token, read-only part (as in 002): the client, and whether
-- the address is blocked (blocked_for seconds, 0 when not).  The secret is
-- compared in the program (constant time).
CREATE FUNCTION cv.oauth_client(p_client_id bigint, p_ip text,
                                OUT client_found boolean, OUT secret_hash text, OUT token_ttl integer,
                                OUT usable boolean, OUT blocked_for integer, OUT now_epoch bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	now_epoch := extract(epoch FROM now())::bigint;
	blocked_for := COALESCE(cv.auth_blocked(p_ip), 0);
	SELECT encode(c.secret_hash, 'hex'), c.token_ttl,
	       c.revoked_at IS NULL AND a.status = 'active'
	  INTO secret_hash, token_ttl, usable
	  FROM cv.oauth_clients c JOIN cv.accounts a ON a.id = c.account_id
	 WHERE c.id = p_client_id;
	client_found := FOUND;
END
$$;

-- Lock order, contact before its codes.  A send locks the contact, then
-- replaces its live code; a verify locked the live code, then (logging its
-- event, whose foreign key locks the contact FOR KEY SHARE, or marking the
-- contact verified) waited for the contact: a send and a verify of one
-- contact could deadlock, and one of them answered 500 (found by
-- tools/valgrind's load).  The code check and the link now lock the
-- contact first (FOR NO KEY UPDATE: the foreign keys of other rows still
-- pass).  Otherwise as in 006 and 003.
CREATE OR REPLACE FUNCTION cv.check_code(p_account bigint, p_contact bigint, p_purpose text,
                                         p_code_hash text, p_source text, p_request text)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc cv.passcodes%ROWTYPE;
	max_attempts CONSTANT integer := 5;
BEGIN
	PERFORM 1 FROM cv.contacts c WHERE c.id = p_contact FOR NO KEY UPDATE;
	SELECT * INTO pc FROM cv.passcodes p
	 WHERE p.contact_id = p_contact AND p.purpose = p_purpose AND p.used_at IS NULL
	 ORDER BY p.id DESC LIMIT 1
	   FOR UPDATE;
	IF pc.id IS NULL OR pc.expires_at <= now() OR pc.attempts >= max_attempts THEN
		PERFORM cv.log_event(p_account, p_contact, 5003, p_source, p_request,
		                     jsonb_build_object('reason', CASE
		                         WHEN pc.id IS NULL THEN 'no_live_code'
		                         WHEN pc.expires_at <= now() THEN 'expired'
		                         ELSE 'locked' END));
		RETURN NULL;
	END IF;
	IF pc.code_hash <> decode(p_code_hash, 'hex') THEN
		UPDATE cv.passcodes SET attempts = attempts + 1 WHERE id = pc.id;
		PERFORM cv.log_event(p_account, p_contact,
		                     CASE WHEN pc.attempts + 1 >= max_attempts THEN 5004 ELSE 5003 END,
		                     p_source, p_request,
		                     jsonb_build_object('reason', 'wrong_code', 'attempts', pc.attempts + 1));
		RETURN NULL;
	END IF;
	UPDATE cv.passcodes SET used_at = now() WHERE id = pc.id;
	RETURN pc.id;
END
$$;

CREATE OR REPLACE FUNCTION cv.uo_link_consume(p_link_hash text, p_request text,
                                              OUT state text, OUT return_url text,
                                              OUT app_name text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc cv.passcodes%ROWTYPE;
BEGIN
	PERFORM 1 FROM cv.contacts c JOIN cv.passcodes p ON p.contact_id = c.id
	 WHERE p.link_hash = decode(p_link_hash, 'hex')
	   FOR NO KEY UPDATE OF c;
	UPDATE cv.passcodes p SET used_at = now()
	 WHERE p.link_hash = decode(p_link_hash, 'hex') AND p.purpose = 'verify_email'
	   AND p.used_at IS NULL AND p.expires_at > now()
	RETURNING * INTO pc;
	IF pc.id IS NULL THEN
		SELECT s.state, s.app_name INTO state, app_name FROM cv.uo_link_state(p_link_hash) s;
		RETURN;
	END IF;
	PERFORM cv.uo_mark_verified(pc.contact_id, pc.id, 'link', 'link', p_request);
	state := 'verified';
	return_url := pc.return_url;
	SELECT u.name INTO app_name FROM cv.contacts c JOIN cv.user_apps u ON u.account_id = c.account_id
	 WHERE c.id = pc.contact_id;
END
$$;

GRANT SELECT ON cv.auth_limits TO cv_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cv TO cv_app;
