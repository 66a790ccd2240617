-- 003_orchestrator.sql - the Users Orchestrator dialect (SPEC section 3):
-- tenants named by three header codes, and the functions behind
-- /v4/Users/VerificationCode, /VerifyEmail/Resend, /v4/Users/Verification
-- and the verification link /v4/Users/VerifyEmail.

CREATE TABLE cv.tenants (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id        bigint NOT NULL REFERENCES cv.accounts (id) ON DELETE CASCADE,
	client_code       text NOT NULL CHECK (client_code ~ '^[A-Za-z0-9._-]{1,64}$'),
	paper_code        text NOT NULL CHECK (paper_code ~ '^[A-Za-z0-9._-]{1,64}$'),
	client_group_code text NOT NULL CHECK (client_group_code ~ '^[A-Za-z0-9._-]{1,64}$'),
	-- HS256 key of the tenant's JWTs (its UTF-8 bytes); at least 256 bits.
	jwt_secret        text NOT NULL CHECK (pg_catalog.octet_length(jwt_secret) >= 32),
	jwt_issuer        text,   -- expected "iss", when set
	jwt_audience      text,   -- expected "aud", when set
	-- Origins ("https://shop.example.com[:port]") a returnUrl may lead to.
	return_origins    text[] NOT NULL DEFAULT '{}',
	created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (client_code, paper_code, client_group_code)
);

-- The tenant named by the three codes, with what the program needs to check
-- its JWT (on the database clock).  No row: unknown tenant.
CREATE FUNCTION cv.uo_tenant(p_client text, p_paper text, p_group text,
                             OUT tenant_id bigint, OUT jwt_secret text, OUT jwt_issuer text,
                             OUT jwt_audience text, OUT return_origins text,
                             OUT account_active boolean, OUT now_epoch bigint)
RETURNS SETOF record
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT t.id, t.jwt_secret, t.jwt_issuer, t.jwt_audience,
	       array_to_string(t.return_origins, ' '), a.status = 'active',
	       extract(epoch FROM now())::bigint
	  FROM cv.tenants t JOIN cv.accounts a ON a.id = t.account_id
	 WHERE t.client_code = p_client AND t.paper_code = p_paper
	   AND t.client_group_code = p_group;
$$;

-- Send (or resend) a registration code and link.  Like cv.api_send, p_code
-- holds 10 digits and p_code_hashes the HMACs of its 6..10-digit prefixes.
-- result: 0; 14 no user app; 16 already verified; 1029 cooldown
-- (retry_after).  Events: 4000 lookup, 4003 pending user created, 5001 sent.
CREATE FUNCTION cv.uo_send(p_tenant bigint, p_email text, p_return_url text, p_code text,
                           p_code_hashes text[], p_link_hash text, p_link_token text,
                           p_public_url text, p_source text, p_request text,
                           OUT result integer, OUT retry_after integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	acc bigint;
	app cv.user_apps%ROWTYPE;
	ct cv.contacts%ROWTYPE;
	last_sent timestamptz;
	pc_id bigint;
	pc_expires timestamptz;
BEGIN
	retry_after := NULL;
	SELECT t.account_id INTO acc FROM cv.tenants t WHERE t.id = p_tenant;
	SELECT * INTO app FROM cv.user_apps u WHERE u.account_id = acc;
	IF NOT FOUND THEN
		result := 14;
		RETURN;
	END IF;
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.account_id = acc AND lower(c.email) = lower(p_email) FOR UPDATE;
	PERFORM cv.log_event(acc, ct.id, 4000, p_source, p_request,
	                     jsonb_build_object('found', ct.id IS NOT NULL));
	IF ct.id IS NULL THEN
		INSERT INTO cv.contacts (account_id, email, status) VALUES (acc, p_email, 'pending')
		ON CONFLICT DO NOTHING;
		SELECT * INTO ct FROM cv.contacts c
		 WHERE c.account_id = acc AND lower(c.email) = lower(p_email) FOR UPDATE;
		PERFORM cv.log_event(acc, ct.id, 4003, p_source, p_request, '{}');
	END IF;
	IF ct.email_verified THEN
		result := 16;
		RETURN;
	END IF;
	SELECT max(p.created_at) INTO last_sent FROM cv.passcodes p
	 WHERE p.contact_id = ct.id AND p.purpose = 'verify_email';
	IF app.resend_cooldown > 0 AND last_sent IS NOT NULL
	   AND last_sent + make_interval(secs => app.resend_cooldown) > clock_timestamp() THEN
		result := 1029;
		retry_after := greatest(1, ceil(extract(epoch FROM
			last_sent + make_interval(secs => app.resend_cooldown) - clock_timestamp()))::integer);
		RETURN;
	END IF;
	UPDATE cv.passcodes p SET used_at = now()
	 WHERE p.contact_id = ct.id AND p.purpose = 'verify_email' AND p.used_at IS NULL;
	UPDATE cv.outbox o SET status = 'expired', code = NULL, link = NULL,
	       last_error = 'replaced by a newer code'
	 WHERE o.contact_id = ct.id AND o.purpose = 'verify_email' AND o.status = 'queued';
	pc_expires := now() + make_interval(secs => app.verify_ttl);
	INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at, return_url)
	VALUES (ct.id, 'verify_email', decode(p_code_hashes[app.code_length - 5], 'hex'),
	        decode(p_link_hash, 'hex'), pc_expires, p_return_url)
	RETURNING id INTO pc_id;
	INSERT INTO cv.outbox (account_id, contact_id, passcode_id, purpose, to_email, code, link,
	                       app_name, sender_name, sender_email, locale, expires_at, message_id)
	VALUES (acc, ct.id, pc_id, 'verify_email', ct.email, left(p_code, app.code_length),
	        p_public_url || '/v4/Users/VerifyEmail?token=' || p_link_token,
	        app.name, app.sender_name, app.sender_email, ct.locale, pc_expires,
	        '<' || gen_random_uuid() || '@contact-verify>');
	PERFORM cv.log_event(acc, ct.id, 5001, p_source, p_request,
	                     jsonb_build_object('purpose', 'verify_email', 'passcode_id', pc_id));
	NOTIFY cv_outbox;
	result := 0;
END
$$;

-- Marks a contact verified after its code or link was accepted: status
-- active, email verified, event 4004 and 5002.
CREATE FUNCTION cv.uo_mark_verified(p_contact bigint, p_passcode bigint, p_via text,
                                    p_source text, p_request text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	acc bigint;
BEGIN
	UPDATE cv.contacts SET email_verified = true, status = 'active', updated_at = now()
	 WHERE id = p_contact RETURNING account_id INTO acc;
	PERFORM cv.log_event(acc, p_contact, 4004, p_source, p_request,
	                     jsonb_build_object('status', 'active', 'via', p_via));
	PERFORM cv.log_event(acc, p_contact, 5002, p_source, p_request,
	                     jsonb_build_object('purpose', 'verify_email', 'passcode_id', p_passcode,
	                                        'via', p_via));
END
$$;

-- POST /v4/Users/Verification.  result: 0; 14 not registered; 15 invalid
-- (wrong, expired, used, burned); 16 already verified.
CREATE FUNCTION cv.uo_verify(p_tenant bigint, p_email text, p_code_hash text, p_source text,
                             p_request text, OUT result integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	acc bigint;
	ct cv.contacts%ROWTYPE;
	pc cv.passcodes%ROWTYPE;
	max_attempts CONSTANT integer := 5;
BEGIN
	SELECT t.account_id INTO acc FROM cv.tenants t WHERE t.id = p_tenant;
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.account_id = acc AND lower(c.email) = lower(p_email);
	PERFORM cv.log_event(acc, ct.id, 4000, p_source, p_request,
	                     jsonb_build_object('found', ct.id IS NOT NULL));
	IF ct.id IS NULL THEN
		result := 14;
		RETURN;
	END IF;
	IF ct.email_verified THEN
		result := 16;
		RETURN;
	END IF;
	SELECT * INTO pc FROM cv.passcodes p
	 WHERE p.contact_id = ct.id AND p.purpose = 'verify_email' AND p.used_at IS NULL
	 ORDER BY p.id DESC LIMIT 1 FOR UPDATE;
	IF pc.id IS NULL OR pc.expires_at <= now() OR pc.attempts >= max_attempts THEN
		PERFORM cv.log_event(acc, ct.id, 5003, p_source, p_request,
		                     jsonb_build_object('reason', CASE WHEN pc.id IS NULL THEN 'no_live_code'
		                         WHEN pc.expires_at <= now() THEN 'expired' ELSE 'locked' END));
		result := 15;
		RETURN;
	END IF;
	IF pc.code_hash <> decode(p_code_hash, 'hex') THEN
		UPDATE cv.passcodes SET attempts = attempts + 1 WHERE id = pc.id;
		PERFORM cv.log_event(acc, ct.id,
		                     CASE WHEN pc.attempts + 1 >= max_attempts THEN 5004 ELSE 5003 END,
		                     p_source, p_request,
		                     jsonb_build_object('reason', 'wrong_code', 'attempts', pc.attempts + 1));
		result := 15;
		RETURN;
	END IF;
	UPDATE cv.passcodes SET used_at = now() WHERE id = pc.id;
	PERFORM cv.uo_mark_verified(ct.id, pc.id, 'code', p_source, p_request);
	result := 0;
END
$$;

-- GET/HEAD of the link: what the page should say, without consuming it.
-- state: 'valid', 'used', 'expired' or 'unknown'.
CREATE FUNCTION cv.uo_link_state(p_link_hash text, OUT state text, OUT app_name text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT COALESCE((SELECT CASE WHEN p.used_at IS NOT NULL THEN 'used'
	                             WHEN p.expires_at <= now() THEN 'expired'
	                             ELSE 'valid' END
	                   FROM cv.passcodes p
	                  WHERE p.link_hash = decode(p_link_hash, 'hex')
	                    AND p.purpose = 'verify_email'), 'unknown'),
	       (SELECT u.name FROM cv.passcodes p
	          JOIN cv.contacts c ON c.id = p.contact_id
	          JOIN cv.user_apps u ON u.account_id = c.account_id
	         WHERE p.link_hash = decode(p_link_hash, 'hex'));
$$;

-- POST of the link: consumes it atomically (one of concurrent POSTs wins).
-- state: 'verified' (with return_url, possibly NULL), 'used', 'expired' or
-- 'unknown'.
CREATE FUNCTION cv.uo_link_consume(p_link_hash text, p_request text,
                                   OUT state text, OUT return_url text, OUT app_name text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc cv.passcodes%ROWTYPE;
BEGIN
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

GRANT SELECT, INSERT, UPDATE ON cv.tenants TO cv_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cv TO cv_app;
