-- 018_portal_verify_decoy.sql - the portal's POST login/verify (and the
-- hosted page's code step) takes as long for an address that belongs to no
-- contact as for a contact's wrong code, as 017 made the API's verify
-- (issue 17 finding 6).  A stranger's code ended after the contact lookup;
-- a contact's went on through cv.check_code.  Measured through nginx, 300
-- interleaved pairs: +0.31 ms of 1.8 ms before, the contact slower in 88 %
-- of the pairs (test_portal_verify_time_does_not_reveal_contacts).  As in
-- 013 otherwise.

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

CALL cv.apply_privileges();
