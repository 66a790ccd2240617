-- 001_init.sql - the first schema of contact-verify: accounts, API keys, user
-- apps, contacts, passcodes, the mail outbox and events.  Each responder
-- request is one call of one function (one round trip, at most one commit);
-- the functions are in sql/functions/ (sql/README.md).  Every name is
-- schema-qualified, so nothing depends on the caller's path.

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

-- The event vocabulary (README "Operations, Logs, schema, events"): the Users Orchestrator ids and this
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

GRANT USAGE ON SCHEMA cv TO cv_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA cv TO cv_app;
