-- orchestrator.sql - the Users Orchestrator dialect (README, Users
-- Orchestrator API): tenants named by three header codes whose JWTs the
-- program checks, the registration code and link of
-- /v4/Users/VerificationCode and /VerifyEmail/Resend (cv.uo_send), the code
-- check of /v4/Users/Verification (cv.uo_verify) and the link
-- /v4/Users/VerifyEmail (cv.uo_link_state for GET and HEAD,
-- cv.uo_link_consume for POST).  Their result codes are rows of
-- lib/errors.def like every function's (1014 E400_14, 1015 E400_15, 1016
-- E400_16), which lib/response.c answers in this dialect's bodies.  No
-- decoy at verify: the documented answers tell an unregistered address
-- (E400_14) and a verified one (E400_16) apart anyway.

-- The tenant named by the three codes, with what the program needs to check
-- its JWT: the HS256 secret, the expected issuer and audience (when set),
-- the allowed returnUrl origins (space-separated) and whether the account is
-- active.  No row: unknown tenant.  now_epoch is the database clock in whole
-- seconds, truncated, never rounded: with it "exp + leeway <= now" and
-- "nbf - leeway > now" give the same answer as on the exact clock (rounding
-- made a token expire, and become valid, up to half a second early).
CREATE OR REPLACE FUNCTION cv.uo_tenant(p_client text, p_paper text, p_group text,
                                        OUT tenant_id bigint, OUT jwt_secret text,
                                        OUT jwt_issuer text, OUT jwt_audience text,
                                        OUT return_origins text, OUT account_active boolean,
                                        OUT now_epoch bigint)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT t.id, t.jwt_secret, t.jwt_issuer, t.jwt_audience,
	       array_to_string(t.return_origins, ' '), a.status = 'active',
	       floor(extract(epoch FROM now()))::bigint
	  FROM cv.tenants t JOIN cv.accounts a ON a.id = t.account_id
	 WHERE t.client_code = p_client AND t.paper_code = p_paper
	   AND t.client_group_code = p_group;
$$;

-- Sends (or resends) a registration code and link to p_email for tenant
-- p_tenant, creating a pending contact when the address has none (events
-- SUBSCRIBE_USER_GET 4000 for the lookup, SUBSCRIBE_USER_CREATEPENDING 4003
-- for a new contact, then CODE_SENT 5001).  The link is p_public_url ||
-- '/v4/Users/VerifyEmail?token=' and leads back to p_return_url once used.
-- p_sealed, p_code_hashes and p_link_hash as for codes.sql's
-- cv.queue_code.  result: 0; 55032 the account has no user app; 1016 the address
-- is verified already; 1029 the resend cooldown or the sends per hour
-- (retry_after).
CREATE OR REPLACE FUNCTION cv.uo_send(p_tenant bigint, p_email text, p_return_url text,
                                      p_sealed text, p_code_hashes text[], p_link_hash text,
                                      p_public_url text, p_source text, p_request text,
                                      OUT result integer, OUT retry_after integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	acc bigint;
	app cv.user_apps%ROWTYPE;
	ct cv.contacts%ROWTYPE;
BEGIN
	retry_after := NULL;
	SELECT t.account_id INTO acc FROM cv.tenants t WHERE t.id = p_tenant;
	SELECT * INTO app FROM cv.user_apps u WHERE u.account_id = acc;
	IF NOT FOUND THEN
		result := 55032;  -- CV_ERR_USER_APP_NOT_FOUND
		RETURN;
	END IF;
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.account_id = acc AND lower(c.email) = lower(p_email) FOR NO KEY UPDATE;
	PERFORM cv.log_event(acc, ct.id, 4000, p_source, p_request,
	                     jsonb_build_object('found', ct.id IS NOT NULL));
	IF ct.id IS NULL THEN
		INSERT INTO cv.contacts (account_id, email, status) VALUES (acc, p_email, 'pending')
		ON CONFLICT DO NOTHING;
		SELECT * INTO ct FROM cv.contacts c
		 WHERE c.account_id = acc AND lower(c.email) = lower(p_email) FOR NO KEY UPDATE;
		PERFORM cv.log_event(acc, ct.id, 4003, p_source, p_request, '{}');
	END IF;
	IF ct.email_verified THEN
		result := 1016;  -- CV_ERR_ALREADY_VERIFIED
		RETURN;
	END IF;
	retry_after := cv.send_wait(ct.id, 'verify_email', app.resend_cooldown);
	IF retry_after IS NOT NULL THEN
		result := 1029;  -- CV_ERR_TOO_MANY_ATTEMPTS
		RETURN;
	END IF;
	PERFORM cv.queue_code(acc, ct, app, 'verify_email', app.verify_ttl, p_code_hashes,
	                      p_link_hash, p_sealed, p_public_url || '/v4/Users/VerifyEmail?token=',
	                      p_return_url, p_source, p_request);
	result := 0;
END
$$;

-- Marks contact p_contact verified after its code or link (p_via 'code' or
-- 'link') of passcode p_passcode was accepted: status active, email
-- verified, events SUBSCRIBE_USER_UPDATE 4004 and CODE_VERIFIED 5002.
CREATE OR REPLACE FUNCTION cv.uo_mark_verified(p_contact bigint, p_passcode bigint, p_via text,
                                               p_source text, p_request text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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

-- POST /v4/Users/Verification: p_code_hash against the live registration
-- code of p_email (codes.sql's cv.check_code), counted against the verify
-- limits first.  result: 0; 1014 not registered; 1015 invalid (wrong,
-- expired, used, replaced, burned); 1016 already verified; 1029 a verify limit
-- (retry_after).
CREATE OR REPLACE FUNCTION cv.uo_verify(p_tenant bigint, p_email text, p_code_hash text,
                                        p_ip text, p_source text, p_request text,
                                        OUT result integer, OUT retry_after integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	acc bigint;
	ct cv.contacts%ROWTYPE;
	pc_id bigint;
BEGIN
	SELECT t.account_id INTO acc FROM cv.tenants t WHERE t.id = p_tenant;
	retry_after := cv.verify_limits(acc, p_email, p_ip);
	IF retry_after IS NOT NULL THEN
		result := 1029;  -- CV_ERR_TOO_MANY_ATTEMPTS
		RETURN;
	END IF;
	-- Locked (after the counters, lifecycle.sql's lock order): its event
	-- cannot name a contact an erasure has just deleted.
	SELECT * INTO ct FROM cv.contacts c
	 WHERE c.account_id = acc AND lower(c.email) = lower(p_email) FOR NO KEY UPDATE;
	PERFORM cv.log_event(acc, ct.id, 4000, p_source, p_request,
	                     jsonb_build_object('found', ct.id IS NOT NULL));
	IF ct.id IS NULL THEN
		result := 1014;  -- CV_ERR_NOT_REGISTERED
		RETURN;
	END IF;
	IF ct.email_verified THEN
		result := 1016;  -- CV_ERR_ALREADY_VERIFIED
		RETURN;
	END IF;
	pc_id := cv.check_code(acc, ct.id, 'verify_email', p_code_hash, p_source, p_request);
	IF pc_id IS NULL THEN
		result := 1015;  -- CV_ERR_CODE_INVALID
		RETURN;
	END IF;
	PERFORM cv.uo_mark_verified(ct.id, pc_id, 'code', p_source, p_request);
	result := 0;
END
$$;

-- GET and HEAD of the link: what the page should say, without consuming
-- anything (mail scanners open links).  state: 'valid', 'used', 'expired'
-- or 'unknown', with the user app's name.  The link is a credential of its
-- account like every other: once the account is disabled it reads as
-- 'unknown' (without the app's name), and nothing is used up, so enabled
-- again a link still within its lifetime works.  Reads only.
CREATE OR REPLACE FUNCTION cv.uo_link_state(p_link_hash text, OUT state text, OUT app_name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	SELECT CASE WHEN p.used_at IS NOT NULL THEN 'used'
	            WHEN p.expires_at <= now() THEN 'expired'
	            ELSE 'valid' END,
	       u.name
	  INTO state, app_name
	  FROM cv.passcodes p
	  JOIN cv.contacts c ON c.id = p.contact_id
	  JOIN cv.accounts a ON a.id = c.account_id
	  LEFT JOIN cv.user_apps u ON u.account_id = c.account_id
	 WHERE p.link_hash = decode(p_link_hash, 'hex') AND p.purpose = 'verify_email'
	   AND a.status = 'active';
	state := COALESCE(state, 'unknown');
END
$$;

-- POST of the link: uses it up atomically (of concurrent POSTs exactly one
-- wins) and marks the contact verified.  state: 'verified' (with
-- return_url, possibly NULL), else what cv.uo_link_state says ('used',
-- 'expired', 'unknown'; a disabled account's link is 'unknown' and stays
-- unused).  Locks the contact before its code (codes.sql, lock order).
CREATE OR REPLACE FUNCTION cv.uo_link_consume(p_link_hash text, p_request text,
                                              OUT state text, OUT return_url text,
                                              OUT app_name text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc cv.passcodes%ROWTYPE;
BEGIN
	-- The contact before its code (the lock order of codes.sql).
	PERFORM 1 FROM cv.contacts c JOIN cv.passcodes p ON p.contact_id = c.id
	 WHERE p.link_hash = decode(p_link_hash, 'hex')
	   FOR NO KEY UPDATE OF c;
	UPDATE cv.passcodes p SET used_at = now()
	  FROM cv.contacts c, cv.accounts a
	 WHERE p.link_hash = decode(p_link_hash, 'hex') AND p.purpose = 'verify_email'
	   AND p.used_at IS NULL AND p.expires_at > now()
	   AND c.id = p.contact_id AND a.id = c.account_id AND a.status = 'active'
	RETURNING p.* INTO pc;
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
