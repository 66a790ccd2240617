-- 009_portal.sql - the browser-facing login portal (issue 8, README "Login
-- portal"): each user app gets a public identifier and the settings of its
-- hosted page and public JSON endpoints; a login that succeeds there ends in
-- a short-lived, single-use login ticket that the business's backend
-- exchanges, with its API key, for the contact's uuid and auth token.
--
-- Enumeration safety: the portal's send answers alike for every address.
-- So its limits count per email address and per client address in
-- cv.rate_counters buckets -- whether or not a contact has that address --
-- and a known contact's own send wait (codes it got through the API) only
-- decides whether mail is queued, never the answer.  The functions are in
-- sql/functions/portal.sql, the ticket exchange in api.sql.

ALTER TABLE cv.user_apps
	-- Published in page URLs and in the business's JavaScript; it names the
	-- app and grants nothing.
	ADD COLUMN public_id text NOT NULL UNIQUE
		DEFAULT 'pa_' || replace(pg_catalog.gen_random_uuid()::text, '-', '')
		CHECK (public_id ~ '^[A-Za-z0-9_-]{8,64}$'),
	-- Exact origins ("https://shop.example.com") whose JavaScript may call
	-- /portal/v1/{public_id}/...; empty: none.
	ADD COLUMN allowed_origins text[] NOT NULL DEFAULT '{}',
	-- Access-Control-Allow-Credentials for those origins (no cookies are
	-- used by the endpoints, so off unless a deployment needs it).
	ADD COLUMN allow_credentials boolean NOT NULL DEFAULT false,
	-- CSP frame-ancestors of the hosted page: space-separated sources, or
	-- NULL for 'none' (the page cannot be framed).
	ADD COLUMN frame_ancestors text
		CHECK (frame_ancestors ~ '^[A-Za-z0-9:/.*_''-]+( [A-Za-z0-9:/.*_''-]+)*$'),
	ADD COLUMN brand_color text CHECK (brand_color ~ '^#[0-9a-fA-F]{6}$'),
	-- Lifetime of a login ticket, seconds (at most 5 minutes).
	ADD COLUMN ticket_ttl integer NOT NULL DEFAULT 120 CHECK (ticket_ttl BETWEEN 10 AND 300);

-- Login tickets: only the SHA-256 of the ticket is stored (it is a 256-bit
-- random value, so a keyed hash adds nothing).
CREATE TABLE cv.login_tickets (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_hash bytea NOT NULL UNIQUE CHECK (pg_catalog.length(ticket_hash) = 32),
	account_id  bigint NOT NULL REFERENCES cv.accounts (id) ON DELETE CASCADE,
	contact_id  bigint NOT NULL REFERENCES cv.contacts (id) ON DELETE CASCADE,
	expires_at  timestamptz NOT NULL,
	used_at     timestamptz,
	created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX login_tickets_expires ON cv.login_tickets (expires_at);

INSERT INTO cv.event_types VALUES
	(5010, 'PORTAL_LOGIN'),
	(5011, 'TICKET_EXCHANGED');

-- What every portal answer needs to know of the app: its page (name,
-- colour, frame ancestors, code length, cooldown) and its CORS policy.
CREATE TYPE cv.portal_app_info AS (
	app_name          text,
	brand_color       text,
	frame_ancestors   text,
	allowed_origins   text,     -- space-separated
	allow_credentials boolean,
	portal_url        text,
	code_length       integer,
	resend_cooldown   integer
);

GRANT SELECT, INSERT, UPDATE ON cv.login_tickets TO cv_app;
GRANT USAGE ON TYPE cv.portal_app_info TO cv_app;
