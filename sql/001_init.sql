-- 001_init.sql - the first schema of contact-verify: accounts, API keys, user
-- apps, contacts, passcodes, the mail outbox and events, plus the functions
-- the responders call.  Each responder request is one call of one function
-- (one round trip, at most one commit).  Every name is schema-qualified and
-- every function pins search_path, so nothing depends on the caller's path.

CREATE SCHEMA IF NOT EXISTS cv;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cv_app') THEN
		CREATE ROLE cv_app LOGIN;
	END IF;
END
$$;

CREATE TABLE cv.accounts (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uuid         uuid NOT NULL UNIQUE DEFAULT pg_catalog.gen_random_uuid(),
	name         text NOT NULL,
	status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
	-- HMAC key of the contact auth tokens (its UTF-8 bytes).  It must be
	-- usable for signing, so it cannot be hashed; NULL or < 32 bytes -> 1053.
	token_secret text,
	token_ttl    integer NOT NULL DEFAULT 3600 CHECK (token_ttl BETWEEN 60 AND 86400 * 30),
	created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE cv.api_keys (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id  bigint NOT NULL REFERENCES cv.accounts (id) ON DELETE CASCADE,
	key_hash    bytea NOT NULL UNIQUE CHECK (pg_catalog.length(key_hash) = 32),  -- SHA-256
	name        text NOT NULL DEFAULT '',
	expires_at  timestamptz,
	revoked_at  timestamptz,
	created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE cv.user_apps (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id      bigint NOT NULL UNIQUE REFERENCES cv.accounts (id) ON DELETE CASCADE,
	name            text NOT NULL,
	portal_url      text,
	sender_name     text,
	sender_email    text,
	code_length     integer NOT NULL DEFAULT 6 CHECK (code_length BETWEEN 6 AND 10),
	login_ttl       integer NOT NULL DEFAULT 600 CHECK (login_ttl BETWEEN 60 AND 86400),
	verify_ttl      integer NOT NULL DEFAULT 86400 CHECK (verify_ttl BETWEEN 60 AND 86400 * 30),
	resend_cooldown integer NOT NULL DEFAULT 60 CHECK (resend_cooldown BETWEEN 0 AND 3600),
	created_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE cv.contacts (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uuid           uuid NOT NULL UNIQUE DEFAULT pg_catalog.gen_random_uuid(),
	account_id     bigint NOT NULL REFERENCES cv.accounts (id) ON DELETE CASCADE,
	email          text NOT NULL CHECK (pg_catalog.length(email) BETWEEN 3 AND 254),
	email_verified boolean NOT NULL DEFAULT false,
	status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending')),
	locale         text,
	created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at     timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE UNIQUE INDEX contacts_account_email ON cv.contacts (account_id, pg_catalog.lower(email));

CREATE TABLE cv.passcodes (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	contact_id bigint NOT NULL REFERENCES cv.contacts (id) ON DELETE CASCADE,
	purpose    text NOT NULL CHECK (purpose IN ('login', 'verify_email')),
	code_hash  bytea NOT NULL,          -- HMAC-SHA256(server secret, code)
	link_hash  bytea NOT NULL UNIQUE,   -- HMAC-SHA256(server secret, link token)
	expires_at timestamptz NOT NULL,
	attempts   integer NOT NULL DEFAULT 0,
	used_at    timestamptz,
	return_url text,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- The live code of a contact and purpose: at most one unused row.
CREATE INDEX passcodes_live ON cv.passcodes (contact_id, purpose) WHERE used_at IS NULL;

CREATE TABLE cv.outbox (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id      bigint NOT NULL REFERENCES cv.accounts (id) ON DELETE CASCADE,
	contact_id      bigint NOT NULL REFERENCES cv.contacts (id) ON DELETE CASCADE,
	passcode_id     bigint REFERENCES cv.passcodes (id) ON DELETE SET NULL,
	purpose         text NOT NULL,
	to_email        text NOT NULL,
	-- What the mailer needs to write the message.  The plaintext code and
	-- link live only here, only until delivery (wiped afterwards).
	code            text,
	link            text,
	app_name        text NOT NULL,
	sender_name     text,
	sender_email    text,
	locale          text,
	expires_at      timestamptz NOT NULL,
	message_id      text NOT NULL,
	status          text NOT NULL DEFAULT 'queued'
	                CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'expired')),
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_error      text,
	created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
	sent_at         timestamptz
);
CREATE INDEX outbox_due ON cv.outbox (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX outbox_contact_queued ON cv.outbox (contact_id) WHERE status = 'queued';

CREATE TABLE cv.events (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id    bigint REFERENCES cv.accounts (id) ON DELETE CASCADE,
	contact_id    bigint REFERENCES cv.contacts (id) ON DELETE SET NULL,
	event_code    text NOT NULL,
	event_id      integer NOT NULL,
	source_system text,
	request_id    text,
	detail        jsonb NOT NULL DEFAULT '{}',
	created_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX events_account_time ON cv.events (account_id, created_at);
CREATE INDEX events_contact ON cv.events (contact_id);

-- The event vocabulary (SPEC section 8): the Users Orchestrator ids and this
-- project's own 5xxx ids.
CREATE TABLE cv.event_types (
	event_id   integer PRIMARY KEY,
	event_code text NOT NULL UNIQUE
);
INSERT INTO cv.event_types VALUES
	(4000, 'SUBSCRIBE_USER_GET'),
	(4002, 'SUBSCRIBE_USER_CREATE'),
	(4003, 'SUBSCRIBE_USER_CREATEPENDING'),
	(4004, 'SUBSCRIBE_USER_UPDATE'),
	(5001, 'CODE_SENT'),
	(5002, 'CODE_VERIFIED'),
	(5003, 'VERIFY_FAILED'),
	(5004, 'CODE_LOCKED'),
	(5005, 'EMAIL_DELIVERED'),
	(5006, 'EMAIL_FAILED'),
	(5007, 'AUTH_TOKEN_ISSUED'),
	(5008, 'EMAIL_DEFERRED'),
	(5009, 'EMAIL_EXPIRED');

CREATE FUNCTION cv.log_event(p_account bigint, p_contact bigint, p_event_id integer,
                             p_source text, p_request text, p_detail jsonb)
RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	INSERT INTO cv.events (account_id, contact_id, event_code, event_id, source_system, request_id, detail)
	SELECT p_account, p_contact, t.event_code, t.event_id, p_source, p_request, COALESCE(p_detail, '{}')
	  FROM cv.event_types t WHERE t.event_id = p_event_id;
$$;

-- The account behind an API key (hex of its SHA-256).  result: 0, 1001
-- unknown or revoked, 3000 expired, 7002 account inactive.
CREATE FUNCTION cv.authenticate(p_key_hash text, OUT result integer, OUT account_id bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	k record;
BEGIN
	account_id := NULL;
	SELECT a.id, a.status, ak.expires_at, ak.revoked_at INTO k
	  FROM cv.api_keys ak JOIN cv.accounts a ON a.id = ak.account_id
	 WHERE ak.key_hash = decode(p_key_hash, 'hex');
	IF NOT FOUND OR k.revoked_at IS NOT NULL THEN
		result := 1001;
	ELSIF k.expires_at IS NOT NULL AND k.expires_at <= now() THEN
		result := 3000;
	ELSIF k.status <> 'active' THEN
		result := 7002;
	ELSE
		result := 0;
		account_id := k.id;
	END IF;
END
$$;

-- POST .../send.  p_code is 10 random digits; p_code_hashes[i] is the hex
-- HMAC of its first 5+i digits, so the code length of the user app is chosen
-- here without a second round trip.  result: 0, 1001, 3000, 7002, 55031,
-- 55032, 1029 (with retry_after seconds).
CREATE FUNCTION cv.api_send(p_key_hash text, p_email text, p_code text, p_code_hashes text[],
                            p_link_hash text, p_link_token text, p_public_url text,
                            p_request text,
                            OUT result integer, OUT retry_after integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	app cv.user_apps%ROWTYPE;
	ct cv.contacts%ROWTYPE;
	last_sent timestamptz;
	pc_id bigint;
	pc_expires timestamptz;
	code text;
BEGIN
	retry_after := NULL;
	auth := cv.authenticate(p_key_hash);
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
	-- clock_timestamp(), not now(): a send that held the contact's lock
	-- before us may have committed a created_at later than our start.
	SELECT max(p.created_at) INTO last_sent FROM cv.passcodes p
	 WHERE p.contact_id = ct.id AND p.purpose = 'login';
	IF app.resend_cooldown > 0 AND last_sent IS NOT NULL
	   AND last_sent + make_interval(secs => app.resend_cooldown) > clock_timestamp() THEN
		result := 1029;
		retry_after := greatest(1, ceil(extract(epoch FROM
			last_sent + make_interval(secs => app.resend_cooldown) - clock_timestamp()))::integer);
		RETURN;
	END IF;
	-- A new code replaces every earlier unused one of the same purpose, and
	-- mail still waiting to carry one of them is dropped.
	UPDATE cv.passcodes p SET used_at = now()
	 WHERE p.contact_id = ct.id AND p.purpose = 'login' AND p.used_at IS NULL;
	UPDATE cv.outbox o SET status = 'expired', code = NULL, link = NULL,
	       last_error = 'replaced by a newer code'
	 WHERE o.contact_id = ct.id AND o.purpose = 'login' AND o.status = 'queued';
	code := left(p_code, app.code_length);
	pc_expires := now() + make_interval(secs => app.login_ttl);
	INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at)
	VALUES (ct.id, 'login', decode(p_code_hashes[app.code_length - 5], 'hex'),
	        decode(p_link_hash, 'hex'), pc_expires)
	RETURNING id INTO pc_id;
	INSERT INTO cv.outbox (account_id, contact_id, passcode_id, purpose, to_email, code, link,
	                       app_name, sender_name, sender_email, locale, expires_at, message_id)
	VALUES (auth.account_id, ct.id, pc_id, 'login', ct.email, code,
	        p_public_url || '/login/confirm?token=' || p_link_token,
	        app.name, app.sender_name, app.sender_email, ct.locale, pc_expires,
	        '<' || gen_random_uuid() || '@contact-verify>');
	PERFORM cv.log_event(auth.account_id, ct.id, 5001, 'api', p_request,
	                     jsonb_build_object('purpose', 'login', 'passcode_id', pc_id));
	NOTIFY cv_outbox;
	result := 0;
END
$$;

-- POST .../verify.  p_code_hash is the hex HMAC of the submitted code.  The
-- live code row is locked, so of N concurrent correct submissions exactly one
-- finds used_at NULL.  result: 0 (with contact_uuid), 1001, 3000, 7002,
-- 55032, 13010.
CREATE FUNCTION cv.api_verify(p_key_hash text, p_email text, p_code_hash text, p_request text,
                              OUT result integer, OUT contact_uuid uuid)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	ct record;
	pc cv.passcodes%ROWTYPE;
	max_attempts CONSTANT integer := 5;
BEGIN
	contact_uuid := NULL;
	auth := cv.authenticate(p_key_hash);
	IF auth.result <> 0 THEN
		result := auth.result;
		RETURN;
	END IF;
	PERFORM 1 FROM cv.user_apps u WHERE u.account_id = auth.account_id;
	IF NOT FOUND THEN
		result := 55032;
		RETURN;
	END IF;
	result := 13010;
	SELECT c.id, c.uuid INTO ct FROM cv.contacts c
	 WHERE c.account_id = auth.account_id AND lower(c.email) = lower(p_email);
	IF NOT FOUND THEN
		RETURN;
	END IF;
	SELECT * INTO pc FROM cv.passcodes p
	 WHERE p.contact_id = ct.id AND p.purpose = 'login' AND p.used_at IS NULL
	 ORDER BY p.id DESC LIMIT 1
	   FOR UPDATE;
	IF NOT FOUND OR pc.used_at IS NOT NULL OR pc.expires_at <= now()
	   OR pc.attempts >= max_attempts THEN
		PERFORM cv.log_event(auth.account_id, ct.id, 5003, 'api', p_request,
		                     jsonb_build_object('reason', CASE
		                         WHEN pc.id IS NULL THEN 'no_live_code'
		                         WHEN pc.expires_at <= now() THEN 'expired'
		                         ELSE 'locked' END));
		RETURN;
	END IF;
	IF pc.code_hash <> decode(p_code_hash, 'hex') THEN
		UPDATE cv.passcodes SET attempts = attempts + 1 WHERE id = pc.id;
		PERFORM cv.log_event(auth.account_id, ct.id,
		                     CASE WHEN pc.attempts + 1 >= max_attempts THEN 5004 ELSE 5003 END,
		                     'api', p_request,
		                     jsonb_build_object('reason', 'wrong_code', 'attempts', pc.attempts + 1));
		RETURN;
	END IF;
	UPDATE cv.passcodes SET used_at = now() WHERE id = pc.id;
	UPDATE cv.contacts SET email_verified = true, status = 'active', updated_at = now()
	 WHERE id = ct.id;
	PERFORM cv.log_event(auth.account_id, ct.id, 5002, 'api', p_request,
	                     jsonb_build_object('purpose', 'login', 'passcode_id', pc.id));
	result := 0;
	contact_uuid := ct.uuid;
END
$$;

-- GET .../auth-token/{uuid}.  p_contact_uuid is NULL when the path did not
-- hold a well-formed uuid.  result: 0, 1001, 3000, 7002, 55031, 1053.
CREATE FUNCTION cv.api_auth_token(p_key_hash text, p_contact_uuid uuid, p_request text,
                                  OUT result integer, OUT account_uuid uuid,
                                  OUT token_secret text, OUT token_ttl integer,
                                  OUT contact_uuid uuid, OUT email text,
                                  OUT email_verified boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	acc cv.accounts%ROWTYPE;
	ct cv.contacts%ROWTYPE;
BEGIN
	auth := cv.authenticate(p_key_hash);
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

-- Mailer: claim up to p_limit due messages.  SKIP LOCKED lets several
-- mailers run at once; a claimed row is 'sending' with a lease, so a mailer
-- that dies mid-send leaves it to be claimed again when the lease runs out.
CREATE FUNCTION cv.outbox_claim(p_limit integer, p_lease_seconds integer)
RETURNS SETOF cv.outbox
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	WITH due AS (
		SELECT o.id FROM cv.outbox o
		 WHERE (o.status = 'queued' AND o.next_attempt_at <= now())
		    OR (o.status = 'sending' AND o.next_attempt_at <= now())
		 ORDER BY o.next_attempt_at
		 LIMIT p_limit
		   FOR UPDATE SKIP LOCKED
	)
	UPDATE cv.outbox o
	   SET status = 'sending', attempts = o.attempts + 1,
	       next_attempt_at = now() + make_interval(secs => p_lease_seconds)
	  FROM due WHERE o.id = due.id
	RETURNING o.*;
$$;

-- Mailer: record the outcome of one delivery attempt.  p_outcome is 'sent',
-- 'retry' (temporary failure; retried after p_retry_seconds unless the code
-- has expired by then) or 'failed' (permanent).  The plaintext code and link
-- are wiped once the row is final.
CREATE FUNCTION cv.outbox_record(p_id bigint, p_outcome text, p_error text, p_retry_seconds integer)
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
	ELSIF p_outcome = 'retry' THEN
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
	       code = CASE WHEN new_status = 'queued' THEN code END,
	       link = CASE WHEN new_status = 'queued' THEN link END
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

GRANT USAGE ON SCHEMA cv TO cv_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA cv TO cv_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cv TO cv_app;
