-- 013_send_link_and_token_format.sql - the link in the email of POST
-- .../send logs the contact in (issue 16), and the shape of auth-token's
-- answer is a per-account setting.
--
-- The link.  Until now the send's email linked to public_url ||
-- '/login/confirm?token=', which no page serves.  It now leads to the hosted
-- login page of the account's user app, /login/{public_id}?token=, exactly
-- as a login started on the portal does: one implementation
-- (lib/portal_page.c, cv.portal_app, cv.portal_verify) for both.  GET and
-- HEAD show one button and consume nothing; its POST uses up the passcode
-- row that holds both the code and the link (so using one burns the other)
-- and ends in a login ticket.
--
-- What a link that no longer works says: the page tells used, replaced (a
-- newer send), expired, burned (5 wrong codes) and unknown links apart.
-- A replaced code was marked used like a used one, so cv.queue_code now
-- also sets cv.passcodes.replaced.  A burned code's link logged in until
-- now (cv.portal_verify did not look at attempts); it no longer does.  An
-- inactive account's app is named as such (link_state 'inactive') for the
-- page, which says that logging in is switched off (403) instead of a bare
-- 404; every portal call still refuses it (1404).
--
-- auth_token_format: 'object' (default) answers auth-token with
-- {"data":{"auth_token":"..."}}, 'string' with {"data":"..."}, the shape the
-- public PHP SDK's typed getAuthToken() reads.  The login-ticket exchange
-- keeps its object ({"uuid","auth_token"}) whatever the setting.

ALTER TABLE cv.accounts
	ADD COLUMN auth_token_format text NOT NULL DEFAULT 'object'
		CHECK (auth_token_format IN ('object', 'string'));

-- true when a newer send replaced the code (used_at is then the time of
-- that send); false for a code used by a verify, a link or not at all.
ALTER TABLE cv.passcodes ADD COLUMN replaced boolean NOT NULL DEFAULT false;

-- The code of a send, as in 010, marking the codes it replaces as replaced.
CREATE OR REPLACE FUNCTION cv.queue_code(p_account bigint, p_contact cv.contacts, p_app cv.user_apps,
                              p_purpose text, p_ttl integer, p_code_hashes text[],
                              p_link_hash text, p_sealed text, p_link_base text,
                              p_return_url text, p_source text, p_request text)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc_id bigint;
	pc_expires timestamptz := now() + make_interval(secs => p_ttl);
	ob_id bigint;
BEGIN
	-- The mail of a replaced code, if still queued, is dropped by the
	-- mailer when it claims it (cv.outbox_claim: superseded).
	UPDATE cv.passcodes p SET used_at = now(), replaced = true
	 WHERE p.contact_id = p_contact.id AND p.purpose = p_purpose AND p.used_at IS NULL;
	INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at, return_url)
	VALUES (p_contact.id, p_purpose, decode(p_code_hashes[p_app.code_length - 5], 'hex'),
	        decode(p_link_hash, 'hex'), pc_expires, p_return_url)
	RETURNING id INTO pc_id;
	INSERT INTO cv.outbox (account_id, contact_id, passcode_id, purpose, to_email, sealed,
	                       code_length, link_base, app_name, sender_name, sender_email, locale,
	                       expires_at, message_id)
	VALUES (p_account, p_contact.id, pc_id, p_purpose, p_contact.email, decode(p_sealed, 'hex'),
	        p_app.code_length, p_link_base, p_app.name, p_app.sender_name, p_app.sender_email,
	        p_contact.locale, pc_expires, '<' || gen_random_uuid() || '@contact-verify>')
	RETURNING id INTO ob_id;
	PERFORM cv.log_event(p_account, p_contact.id, 5001, p_source, p_request,
	                     jsonb_build_object('purpose', p_purpose, 'passcode_id', pc_id));
	-- As in 007: only an idle mailer needs waking.
	IF NOT EXISTS (SELECT 1 FROM cv.outbox o
	                WHERE o.status = 'queued' AND o.next_attempt_at <= now() AND o.id <> ob_id) THEN
		NOTIFY cv_outbox;
	END IF;
	RETURN pc_id;
END
$$;

-- POST .../send (as in 008), its link to the hosted page of the user app.
CREATE OR REPLACE FUNCTION cv.api_send(p_key_hash text, p_email text, p_sealed text,
                                       p_code_hashes text[], p_link_hash text,
                                       p_public_url text, p_request text, p_ip text,
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
	                      p_link_hash, p_sealed,
	                      p_public_url || '/login/' || app.public_id || '?token=', NULL,
	                      'api', p_request);
	result := 0;
END
$$;

-- What a login link of account p_account says: 'valid', 'used', 'replaced'
-- (a newer send), 'burned' (5 wrong codes), 'expired' or 'unknown' (no such
-- link, or another account's).  Reads only.
CREATE FUNCTION cv.portal_link_state(p_account bigint, p_link_hash text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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

-- GET of the hosted page and CORS preflights (as in 009): the app and, with
-- a link token's HMAC, the token's state (cv.portal_link_state).  For an
-- app whose account is inactive the result stays 1404, but info and
-- link_state 'inactive' let the page say so.
CREATE OR REPLACE FUNCTION cv.portal_app(p_public_id text, p_origin text, p_link_hash text,
                                         OUT result integer, OUT info cv.portal_app_info,
                                         OUT link_state text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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

-- POST login/verify and the hosted page's code step and link confirmation
-- (as in 012).  The link is used up only while its code is live: unused,
-- unexpired and not burned by 5 wrong codes; otherwise link_state says why
-- (cv.portal_link_state).  result: 0 (ticket_ttl), 1404, 1403, 1029
-- (retry_after), 13010.
DROP FUNCTION cv.portal_verify(text, text, text, text, text, text, text, text);
CREATE FUNCTION cv.portal_verify(p_public_id text, p_email text, p_code_hash text,
                                 p_link_hash text, p_origin text, p_ip text,
                                 p_ticket_hash text, p_request text,
                                 OUT result integer, OUT retry_after integer,
                                 OUT ticket_ttl integer, OUT info cv.portal_app_info,
                                 OUT link_state text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
	result := 13010;
	IF p_link_hash IS NOT NULL THEN
		-- A link token is 256 random bits: only the client address limit.
		retry_after := cv.rate_take('verify-ip:' || acc.id || ':' || COALESCE(p_ip, ''),
		                            acc.verifies_per_ip, 3600);
		IF retry_after IS NOT NULL THEN
			result := 1029;
			RETURN;
		END IF;
		-- The contact before its code, as 008 ordered every other path.
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

-- GET .../auth-token/{uuid} (as in 008), with the account's
-- auth_token_format, which the program applies to the answer.
DROP FUNCTION cv.api_auth_token(text, uuid, text, text);
CREATE FUNCTION cv.api_auth_token(p_key_hash text, p_contact_uuid uuid, p_request text,
                                  p_ip text,
                                  OUT result integer, OUT account_uuid uuid,
                                  OUT token_secret text, OUT token_ttl integer,
                                  OUT contact_uuid uuid, OUT email text,
                                  OUT email_verified boolean, OUT retry_after integer,
                                  OUT token_format text)
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
	token_format := acc.auth_token_format;
END
$$;

GRANT EXECUTE ON FUNCTION cv.portal_link_state(bigint, text) TO cv_app;
GRANT EXECUTE ON FUNCTION cv.portal_verify(text, text, text, text, text, text, text, text) TO cv_app;
GRANT EXECUTE ON FUNCTION cv.api_auth_token(text, uuid, text, text) TO cv_app;
