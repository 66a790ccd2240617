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
-- decides whether mail is queued, never the answer.

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

CREATE FUNCTION cv.portal_info(p_app cv.user_apps)
RETURNS cv.portal_app_info
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT ROW(p_app.name, p_app.brand_color, p_app.frame_ancestors,
	           array_to_string(p_app.allowed_origins, ' '), p_app.allow_credentials,
	           p_app.portal_url, p_app.code_length, p_app.resend_cooldown)::cv.portal_app_info;
$$;

-- The user app of p_public_id when it may serve the portal now (its account
-- is active), else a row of NULLs.
CREATE FUNCTION cv.portal_app_row(p_public_id text)
RETURNS cv.user_apps
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT u.* FROM cv.user_apps u JOIN cv.accounts a ON a.id = u.account_id
	 WHERE u.public_id = p_public_id AND a.status = 'active';
$$;

-- Whether the result of a portal call for app and p_origin (NULL: the
-- request had no Origin header) is 1404 unknown app, 1403 origin refused
-- or 0.
CREATE FUNCTION cv.portal_gate(p_app cv.user_apps, p_origin text)
RETURNS integer
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN p_app.id IS NULL THEN 1404
	            WHEN p_origin IS NOT NULL AND NOT p_origin = ANY (p_app.allowed_origins) THEN 1403
	            ELSE 0 END;
$$;

-- GET of the hosted page and CORS preflights: the app and, with a link
-- token's HMAC, the token's state ('valid', 'used', 'expired', 'unknown').
CREATE FUNCTION cv.portal_app(p_public_id text, p_origin text, p_link_hash text,
                              OUT result integer, OUT info cv.portal_app_info,
                              OUT link_state text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	app cv.user_apps%ROWTYPE;
BEGIN
	app := cv.portal_app_row(p_public_id);
	result := cv.portal_gate(app, p_origin);
	IF app.id IS NOT NULL THEN
		info := cv.portal_info(app);
	END IF;
	IF result <> 0 OR p_link_hash IS NULL THEN
		RETURN;
	END IF;
	SELECT CASE WHEN p.used_at IS NOT NULL THEN 'used'
	            WHEN p.expires_at <= now() THEN 'expired' ELSE 'valid' END
	  INTO link_state
	  FROM cv.passcodes p JOIN cv.contacts c ON c.id = p.contact_id
	 WHERE p.link_hash = decode(p_link_hash, 'hex') AND p.purpose = 'login'
	   AND c.account_id = app.account_id;
	link_state := COALESCE(link_state, 'unknown');
END
$$;

-- POST login/code (and the page's email step and resend): start a login.
-- result: 0 (also for an address that belongs to no contact: nothing is
-- queued then), 1404, 1403, 1029 (retry_after).  cooldown: seconds before
-- the page offers a resend.
CREATE FUNCTION cv.portal_send(p_public_id text, p_email text, p_origin text, p_ip text,
                               p_lang text, p_sealed text, p_code_hashes text[],
                               p_link_hash text, p_public_url text, p_request text,
                               OUT result integer, OUT retry_after integer,
                               OUT info cv.portal_app_info)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	app cv.user_apps%ROWTYPE;
	acc cv.accounts%ROWTYPE;
	ct cv.contacts%ROWTYPE;
	v_email text := lower(p_email);
BEGIN
	app := cv.portal_app_row(p_public_id);
	result := cv.portal_gate(app, p_origin);
	IF app.id IS NOT NULL THEN
		info := cv.portal_info(app);
	END IF;
	IF result <> 0 THEN
		RETURN;
	END IF;
	SELECT * INTO acc FROM cv.accounts a WHERE a.id = app.account_id;
	-- The same buckets for every address: the answer cannot tell contacts
	-- from strangers.  The client address first, so one address cannot use
	-- up a victim's allowance.
	retry_after := COALESCE(
		cv.rate_take('portal-send-ip:' || acc.id || ':' || COALESCE(p_ip, ''),
		             acc.verifies_per_ip, 3600),
		CASE WHEN app.resend_cooldown > 0
		     THEN cv.rate_take('portal-cooldown:' || acc.id || ':' || v_email, 1,
		                       app.resend_cooldown) END,
		cv.rate_take('portal-send:' || acc.id || ':' || v_email, acc.sends_per_hour, 3600));
	IF retry_after IS NOT NULL THEN
		result := 1029;
		RETURN;
	END IF;
	result := 0;
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.account_id = acc.id AND lower(c.email) = v_email;
	IF ct.id IS NULL THEN
		-- The same work as for a contact, undone: a stranger's answer takes
		-- as long as a contact's (README, "Login portal", measured there).
		-- Rolling back the subtransaction also drops its NOTIFY.
		BEGIN
			INSERT INTO cv.contacts (account_id, email, status, locale)
			VALUES (acc.id, p_email, 'pending', p_lang) RETURNING * INTO ct;
			PERFORM cv.send_wait(ct.id, 'login', app.resend_cooldown);
			PERFORM cv.queue_code(acc.id, ct, app, 'login', app.login_ttl, p_code_hashes,
			                      p_link_hash, p_sealed, p_public_url, NULL, 'portal', p_request);
			RAISE SQLSTATE 'CV001';
		EXCEPTION WHEN SQLSTATE 'CV001' OR unique_violation THEN
			NULL;
		END;
		PERFORM cv.log_event(acc.id, NULL, 5010, 'portal', p_request,
		                     jsonb_build_object('step', 'code', 'known', false));
		RETURN;
	END IF;
	-- Codes sent through the API count too: when one is still cooling
	-- down the contact has a live code, and nothing more is sent.
	IF cv.send_wait(ct.id, 'login', app.resend_cooldown) IS NOT NULL THEN
		PERFORM cv.log_event(acc.id, ct.id, 5010, 'portal', p_request,
		                     jsonb_build_object('step', 'code', 'known', true, 'queued', false));
		RETURN;
	END IF;
	ct.locale := COALESCE(ct.locale, p_lang);
	PERFORM cv.queue_code(acc.id, ct, app, 'login', app.login_ttl, p_code_hashes,
	                      p_link_hash, p_sealed,
	                      p_public_url || '/login/' || app.public_id || '?token=', NULL,
	                      'portal', p_request);
END
$$;

-- POST login/verify (and the page's code step and link confirmation):
-- checks a code (p_code_hash, with p_email) or a link token (p_link_hash)
-- and on success stores the login ticket whose SHA-256 is p_ticket_hash.
-- result: 0 (ticket_ttl), 1404, 1403, 1029 (retry_after), 13010 (every kind
-- of wrong: unknown address, wrong, expired, used or burned code or link).
CREATE FUNCTION cv.portal_verify(p_public_id text, p_email text, p_code_hash text,
                                 p_link_hash text, p_origin text, p_ip text,
                                 p_ticket_hash text, p_request text,
                                 OUT result integer, OUT retry_after integer,
                                 OUT ticket_ttl integer, OUT info cv.portal_app_info)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	app cv.user_apps%ROWTYPE;
	acc cv.accounts%ROWTYPE;
	v_contact bigint;
	pc_id bigint;
BEGIN
	app := cv.portal_app_row(p_public_id);
	result := cv.portal_gate(app, p_origin);
	IF app.id IS NOT NULL THEN
		info := cv.portal_info(app);
	END IF;
	IF result <> 0 THEN
		RETURN;
	END IF;
	SELECT * INTO acc FROM cv.accounts a WHERE a.id = app.account_id;
	result := 13010;
	IF p_link_hash IS NOT NULL THEN
		-- A link token is 256 random bits: only the client address limit.
		retry_after := cv.rate_take('verify-ip:' || acc.id || ':' || COALESCE(p_ip, ''),
		                            acc.verifies_per_ip, 3600);
		IF retry_after IS NOT NULL THEN
			result := 1029;
			RETURN;
		END IF;
		UPDATE cv.passcodes p SET used_at = now()
		  FROM cv.contacts c
		 WHERE p.link_hash = decode(p_link_hash, 'hex') AND p.purpose = 'login'
		   AND p.used_at IS NULL AND p.expires_at > now()
		   AND c.id = p.contact_id AND c.account_id = acc.id
		RETURNING p.id, p.contact_id INTO pc_id, v_contact;
		IF pc_id IS NULL THEN
			PERFORM cv.log_event(acc.id, NULL, 5003, 'portal', p_request,
			                     jsonb_build_object('reason', 'bad_link'));
			RETURN;
		END IF;
	ELSE
		retry_after := cv.verify_limits(acc.id, p_email, p_ip);
		IF retry_after IS NOT NULL THEN
			result := 1029;
			RETURN;
		END IF;
		SELECT c.id INTO v_contact FROM cv.contacts c
		 WHERE c.account_id = acc.id AND lower(c.email) = lower(p_email);
		IF v_contact IS NULL THEN
			RETURN;
		END IF;
		pc_id := cv.check_code(acc.id, v_contact, 'login', p_code_hash, 'portal', p_request);
		IF pc_id IS NULL THEN
			RETURN;
		END IF;
	END IF;
	UPDATE cv.contacts SET email_verified = true, status = 'active', updated_at = now()
	 WHERE id = v_contact;
	PERFORM cv.log_event(acc.id, v_contact, 5002, 'portal', p_request,
	                     jsonb_build_object('purpose', 'login', 'passcode_id', pc_id,
	                                        'via', CASE WHEN p_link_hash IS NULL THEN 'code'
	                                                    ELSE 'link' END));
	INSERT INTO cv.login_tickets (ticket_hash, account_id, contact_id, expires_at)
	VALUES (decode(p_ticket_hash, 'hex'), acc.id, v_contact,
	        now() + make_interval(secs => app.ticket_ttl));
	PERFORM cv.log_event(acc.id, v_contact, 5010, 'portal', p_request,
	                     jsonb_build_object('step', 'ticket'));
	result := 0;
	ticket_ttl := app.ticket_ttl;
END
$$;

-- POST .../login-ticket: the business's backend, from client address p_ip,
-- exchanges a ticket of its own account, once, before it expires, for what
-- cv.api_auth_token gives for the ticket's contact (the same columns, so the
-- program signs the token the same way).  result: 0, 1001, 3000, 7002, 1029
-- (the address is blocked: 008's failed authentications; retry_after),
-- 1410 (unknown, used, expired or another account's ticket), 1053 (the
-- ticket stays unused).
CREATE FUNCTION cv.api_login_ticket(p_key_hash text, p_ticket_hash text, p_request text,
                                    p_ip text,
                                    OUT result integer, OUT account_uuid uuid,
                                    OUT token_secret text, OUT token_ttl integer,
                                    OUT contact_uuid uuid, OUT email text,
                                    OUT email_verified boolean, OUT retry_after integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	t cv.login_tickets%ROWTYPE;
BEGIN
	auth := cv.authenticate_from(p_key_hash, p_ip);
	retry_after := auth.retry_after;
	IF auth.result <> 0 THEN
		result := auth.result;
		RETURN;
	END IF;
	UPDATE cv.login_tickets lt SET used_at = now()
	 WHERE lt.ticket_hash = decode(p_ticket_hash, 'hex') AND lt.account_id = auth.account_id
	   AND lt.used_at IS NULL AND lt.expires_at > now()
	RETURNING * INTO t;
	IF t.id IS NULL THEN
		result := 1410;
		RETURN;
	END IF;
	SELECT a.result, a.account_uuid, a.token_secret, a.token_ttl, a.contact_uuid, a.email,
	       a.email_verified
	  INTO result, account_uuid, token_secret, token_ttl, contact_uuid, email, email_verified
	  FROM cv.contacts c, cv.api_auth_token(p_key_hash, c.uuid, p_request, p_ip) a
	 WHERE c.id = t.contact_id;
	-- api_auth_token relaxes the commit for its audit event; spending a
	-- ticket must survive a crash.
	SET LOCAL synchronous_commit = on;
	IF result <> 0 THEN
		UPDATE cv.login_tickets SET used_at = NULL WHERE id = t.id;
		RETURN;
	END IF;
	PERFORM cv.log_event(auth.account_id, t.contact_id, 5011, 'api', p_request,
	                     jsonb_build_object('ticket_id', t.id));
END
$$;

GRANT SELECT, INSERT, UPDATE ON cv.login_tickets TO cv_app;
GRANT USAGE ON TYPE cv.portal_app_info TO cv_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cv TO cv_app;
