-- portal.sql - the browser-facing login portal (README, Login portal): the
-- hosted page /login/{public_id} (cgi-bin/portal-page.c) and the public
-- JSON endpoints /portal/v1/{public_id}/... (cgi-bin/portal-api.c), both
-- through lib/portal.c.  A user app is named by its public_id, which grants
-- nothing; its account must be active and a request's Origin, when it has
-- one, on the app's allow-list.  A login that succeeds ends in a login
-- ticket, which the business's backend exchanges (api.sql's
-- cv.api_login_ticket).  The send link of POST .../send (api.sql) leads to
-- the same page, so cv.portal_app and cv.portal_verify serve it too.
--
-- Enumeration safety: the portal answers alike for every address, so its
-- limits count per email address and per client address in
-- cv.rate_counters buckets whether or not a contact has that address, and
-- strangers get the same work as contacts (measured in README, "Login
-- portal" and "Timing at verify").

-- What every portal answer needs to know of app p_app: its page (name,
-- colour, frame ancestors, code length, cooldown) and its CORS policy.
CREATE OR REPLACE FUNCTION cv.portal_info(p_app cv.user_apps)
RETURNS cv.portal_app_info
LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT ROW(p_app.name, p_app.brand_color, p_app.frame_ancestors,
	           array_to_string(p_app.allowed_origins, ' '), p_app.allow_credentials,
	           p_app.portal_url, p_app.code_length, p_app.resend_cooldown)::cv.portal_app_info;
$$;

-- The user app of p_public_id when it may serve the portal now (its account
-- is active), else a row of NULLs.  Every portal function starts here, so a
-- disabled account's page, codes and links stop at once.
CREATE OR REPLACE FUNCTION cv.portal_app_row(p_public_id text)
RETURNS cv.user_apps
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT u.* FROM cv.user_apps u JOIN cv.accounts a ON a.id = u.account_id
	 WHERE u.public_id = p_public_id AND a.status = 'active';
$$;

-- Whether the result of a portal call for app p_app (from
-- cv.portal_app_row) and p_origin (NULL: the request had no Origin header)
-- is 1404 unknown app, 1403 origin refused or 0.
CREATE OR REPLACE FUNCTION cv.portal_gate(p_app cv.user_apps, p_origin text)
RETURNS integer
LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN p_app.id IS NULL THEN 1404  -- CV_ERR_NOT_FOUND
	            WHEN p_origin IS NOT NULL AND NOT p_origin = ANY (p_app.allowed_origins) THEN 1403  -- CV_ERR_ORIGIN_REFUSED
	            ELSE 0 END;
$$;

-- What a login link (p_link_hash, the hex HMAC of its token) of account
-- p_account says: 'valid', 'used', 'replaced' (a newer send), 'burned' (5
-- wrong codes), 'expired' or 'unknown' (no such link, or another
-- account's), for the page to say why a link cannot log in.  Reads only.
CREATE OR REPLACE FUNCTION cv.portal_link_state(p_account bigint, p_link_hash text)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	state text;
	max_attempts CONSTANT integer := 5;  -- as cv.check_code
BEGIN
	SELECT CASE WHEN p.replaced THEN 'replaced'
	            WHEN p.used_at IS NOT NULL THEN 'used'
	            WHEN p.attempts >= max_attempts THEN 'burned'
	            WHEN p.expires_at <= pg_catalog.now() THEN 'expired'
	            ELSE 'valid' END
	  INTO state
	  FROM cv.passcodes p JOIN cv.contacts c ON c.id = p.contact_id
	 WHERE p.link_hash = pg_catalog.decode(p_link_hash, 'hex') AND p.purpose = 'login'
	   AND c.account_id = p_account;
	RETURN COALESCE(state, 'unknown');
END
$$;

-- GET (and HEAD) of the hosted page and CORS preflights: result as
-- cv.portal_gate's, the app's info and, with a link token's HMAC
-- p_link_hash, the link's state (cv.portal_link_state); consumes nothing
-- (mail scanners open links).  For an app whose account is inactive the
-- result stays 1404, but info and link_state 'inactive' let the page say
-- that logging in is switched off (403) instead of a bare 404.
CREATE OR REPLACE FUNCTION cv.portal_app(p_public_id text, p_origin text, p_link_hash text,
                                         OUT result integer, OUT info cv.portal_app_info,
                                         OUT link_state text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	app cv.user_apps%ROWTYPE;
BEGIN
	app := cv.portal_app_row(p_public_id);
	result := cv.portal_gate(app, p_origin);
	IF app.id IS NULL THEN
		SELECT u.* INTO app FROM cv.user_apps u JOIN cv.accounts a ON a.id = u.account_id
		 WHERE u.public_id = p_public_id AND a.status <> 'active';
		IF FOUND THEN
			info := cv.portal_info(app);
			link_state := 'inactive';
		END IF;
		RETURN;
	END IF;
	info := cv.portal_info(app);
	IF result <> 0 OR p_link_hash IS NULL THEN
		RETURN;
	END IF;
	link_state := cv.portal_link_state(app.account_id, p_link_hash);
END
$$;

-- POST login/code (and the page's email step and resend): starts a login of
-- p_email, queuing a code and link (p_sealed, p_code_hashes, p_link_hash as
-- for codes.sql's cv.queue_code; the contact's locale, when it has none, is
-- p_lang).  result: 0 (also for an address that belongs to no contact:
-- nothing is queued then), 1404, 1403, 1029 (retry_after).  The limits come
-- first and are the same buckets for every address; a contact's own send
-- wait (codes it got through the API) only decides whether mail is queued,
-- never the answer.  info.resend_cooldown: seconds before the page offers a
-- resend.
CREATE OR REPLACE FUNCTION cv.portal_send(p_public_id text, p_email text, p_origin text,
                                          p_ip text, p_lang text, p_sealed text,
                                          p_code_hashes text[], p_link_hash text,
                                          p_public_url text, p_request text,
                                          OUT result integer, OUT retry_after integer,
                                          OUT info cv.portal_app_info)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
		result := 1029;  -- CV_ERR_TOO_MANY_ATTEMPTS
		RETURN;
	END IF;
	result := 0;
	-- Locked (the contact after its counters, lifecycle.sql's lock order):
	-- one erased meanwhile is a stranger's address.
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.account_id = acc.id AND lower(c.email) = v_email
	   FOR NO KEY UPDATE;
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

-- POST login/verify (and the hosted page's code step and its link button):
-- checks a code (p_code_hash, with p_email) or a link token (p_link_hash)
-- and on success marks the contact's email verified, logs CODE_VERIFIED
-- (source portal, "via" code or link) and stores the login ticket whose
-- SHA-256 is p_ticket_hash, living the app's ticket_ttl seconds.  A link is
-- used up only while its code is live: unused, unexpired and not burned by 5
-- wrong codes (code and link are one passcode: using either burns the
-- other); otherwise link_state says why (cv.portal_link_state).  result: 0
-- (ticket_ttl), 1404, 1403, 1029 (retry_after), 13010 (every kind of wrong:
-- unknown address, wrong, expired, used, replaced or burned code or link).
-- An address of no contact gets cv.check_code_decoy's work, as the API's
-- verify does.  Both paths lock the contact before its code (codes.sql,
-- lock order).
CREATE OR REPLACE FUNCTION cv.portal_verify(p_public_id text, p_email text, p_code_hash text,
                                            p_link_hash text, p_origin text, p_ip text,
                                            p_ticket_hash text, p_request text,
                                            OUT result integer, OUT retry_after integer,
                                            OUT ticket_ttl integer, OUT info cv.portal_app_info,
                                            OUT link_state text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	app cv.user_apps%ROWTYPE;
	acc cv.accounts%ROWTYPE;
	v_contact bigint;
	pc_id bigint;
	max_attempts CONSTANT integer := 5;  -- as cv.check_code
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
	result := 13010;  -- CV_ERR_PASSCODE_NOT_FOUND
	IF p_link_hash IS NOT NULL THEN
		-- A link token is 256 random bits: only the client address limit.
		retry_after := cv.rate_take('verify-ip:' || acc.id || ':' || COALESCE(p_ip, ''),
		                            acc.verifies_per_ip, 3600);
		IF retry_after IS NOT NULL THEN
			result := 1029;  -- CV_ERR_TOO_MANY_ATTEMPTS
			RETURN;
		END IF;
		-- The contact before its code (the lock order of codes.sql).
		PERFORM 1 FROM cv.contacts c JOIN cv.passcodes p ON p.contact_id = c.id
		 WHERE p.link_hash = decode(p_link_hash, 'hex') AND c.account_id = acc.id
		   FOR NO KEY UPDATE OF c;
		UPDATE cv.passcodes p SET used_at = now()
		  FROM cv.contacts c
		 WHERE p.link_hash = decode(p_link_hash, 'hex') AND p.purpose = 'login'
		   AND p.used_at IS NULL AND p.expires_at > now() AND p.attempts < max_attempts
		   AND c.id = p.contact_id AND c.account_id = acc.id
		RETURNING p.id, p.contact_id INTO pc_id, v_contact;
		IF pc_id IS NULL THEN
			link_state := cv.portal_link_state(acc.id, p_link_hash);
			PERFORM cv.log_event(acc.id, NULL, 5003, 'portal', p_request,
			                     jsonb_build_object('reason', 'bad_link', 'state', link_state));
			RETURN;
		END IF;
	ELSE
		retry_after := cv.verify_limits(acc.id, p_email, p_ip);
		IF retry_after IS NOT NULL THEN
			result := 1029;  -- CV_ERR_TOO_MANY_ATTEMPTS
			RETURN;
		END IF;
		SELECT c.id INTO v_contact FROM cv.contacts c
		 WHERE c.account_id = acc.id AND lower(c.email) = lower(p_email);
		IF v_contact IS NULL THEN
			PERFORM cv.check_code_decoy(acc.id, p_email, p_ip, 'login', p_code_hash, 'portal',
			                            p_request);
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
