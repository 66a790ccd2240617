-- api.sql - the Contact Verification API (README, API): one function per
-- endpoint under /api/v3/oauth/clients/contact-verification, each called
-- once per request by its responder (cgi-bin/send.c, verify.c,
-- auth-token.c, login-ticket.c through lib/).  Each authenticates the bearer
-- credential from the client address (auth.sql's cv.authenticate_from) and
-- answers a result code the responder maps to its HTTP answer (a row of
-- lib/errors.def, named by a "-- CV_ERR_<NAME>" comment where it is set):
-- 0 success, 1001 unknown or revoked credential, 3000 expired, 7002 account
-- inactive, 1029 a limit (with retry_after seconds), and the endpoint's own.

-- POST .../send: a new login code and link for the contact of the caller's
-- account whose address is p_email (case-insensitive), replacing its
-- earlier ones (codes.sql's cv.queue_code; p_sealed, p_code_hashes and
-- p_link_hash as there).  The link leads to the hosted login page of the
-- account's user app, p_public_url || '/login/' || public_id || '?token=',
-- the same page and SQL (portal.sql) as a login started there.  result: 0,
-- 1001, 3000, 7002, 55031 no such contact, 55032 no user app, 1029 (the
-- address is blocked, the resend cooldown or the sends per hour:
-- retry_after).  The contact is locked first (codes.sql, lock order), FOR NO
-- KEY UPDATE, which lets a mailer's FOR KEY SHARE of it (outbox.sql's
-- cv.outbox_hold, across an SMTP exchange) pass.
CREATE OR REPLACE FUNCTION cv.api_send(p_key_hash text, p_email text, p_sealed text,
                                       p_code_hashes text[], p_link_hash text,
                                       p_public_url text, p_request text, p_ip text,
                                       OUT result integer, OUT retry_after integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	r record;
	app cv.user_apps%ROWTYPE;
	ct cv.contacts%ROWTYPE;
BEGIN
	auth := cv.authenticate_from(p_key_hash, p_ip);
	retry_after := auth.retry_after;
	IF auth.result <> 0 THEN
		result := auth.result;
		RETURN;
	END IF;
	SELECT c AS ct, u AS app INTO r
	  FROM cv.contacts c LEFT JOIN cv.user_apps u ON u.account_id = c.account_id
	 WHERE c.account_id = auth.account_id AND lower(c.email) = lower(p_email)
	   FOR NO KEY UPDATE OF c;
	IF NOT FOUND THEN
		result := 55031;  -- CV_ERR_CONTACT_NOT_FOUND
		RETURN;
	END IF;
	ct := r.ct;
	app := r.app;
	IF app.id IS NULL THEN
		result := 55032;  -- CV_ERR_USER_APP_NOT_FOUND
		RETURN;
	END IF;
	retry_after := cv.send_wait(ct.id, 'login', app.resend_cooldown);
	IF retry_after IS NOT NULL THEN
		result := 1029;  -- CV_ERR_TOO_MANY_ATTEMPTS
		RETURN;
	END IF;
	PERFORM cv.queue_code(auth.account_id, ct, app, 'login', app.login_ttl, p_code_hashes,
	                      p_link_hash, p_sealed,
	                      p_public_url || '/login/' || app.public_id || '?token=', NULL,
	                      'api', p_request);
	result := 0;
END
$$;

-- POST .../verify: p_code_hash (hex HMAC of the submitted code) against the
-- live login code of the contact whose address is p_email; on success the
-- code is used up, the contact's email verified, CODE_VERIFIED logged, and
-- contact_uuid returned.  result: 0, 1001, 3000, 7002, 55032 no user app,
-- 1029 (the address is blocked or a verify limit, limits.sql:
-- retry_after), 13010 for every kind of wrong: an unknown address and a
-- wrong, expired, used, replaced or burned code answer alike, and take
-- alike (cv.check_code_decoy for the address of no contact).
CREATE OR REPLACE FUNCTION cv.api_verify(p_key_hash text, p_email text, p_code_hash text,
                                         p_ip text, p_request text,
                                         OUT result integer, OUT contact_uuid uuid,
                                         OUT retry_after integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
	-- The app and the contact in one read (the contact is locked later, by
	-- cv.check_code, after the limits).
	SELECT c.id, c.uuid INTO ct
	  FROM cv.user_apps u LEFT JOIN cv.contacts c
	    ON c.account_id = u.account_id AND lower(c.email) = lower(p_email)
	 WHERE u.account_id = auth.account_id;
	IF NOT FOUND THEN
		result := 55032;  -- CV_ERR_USER_APP_NOT_FOUND
		RETURN;
	END IF;
	retry_after := cv.verify_limits(auth.account_id, p_email, p_ip);
	IF retry_after IS NOT NULL THEN
		result := 1029;  -- CV_ERR_TOO_MANY_ATTEMPTS
		RETURN;
	END IF;
	result := 13010;  -- CV_ERR_PASSCODE_NOT_FOUND
	IF ct.id IS NULL THEN
		PERFORM cv.check_code_decoy(auth.account_id, p_email, p_ip, 'login', p_code_hash, 'api',
		                            p_request);
		RETURN;
	END IF;
	pc_id := cv.check_code(auth.account_id, ct.id, 'login', p_code_hash, 'api', p_request);
	IF pc_id IS NULL THEN
		RETURN;
	END IF;
	-- The contact updated only when it changes anything: a contact that logs
	-- in again is verified and active already, and rewriting its row (a new
	-- tuple, its index entries, WAL) bought nothing.  With its event, one
	-- statement.
	WITH verified AS (
	       UPDATE cv.contacts c SET email_verified = true, status = 'active', updated_at = now()
	        WHERE c.id = ct.id AND (NOT c.email_verified OR c.status <> 'active'))
	INSERT INTO cv.events (account_id, contact_id, event_code, event_id, source_system,
	                       request_id, detail)
	SELECT auth.account_id, ct.id, t.event_code, t.event_id, 'api', p_request,
	       jsonb_build_object('purpose', 'login', 'passcode_id', pc_id)
	  FROM cv.event_types t WHERE t.event_id = 5002;  -- CODE_VERIFIED
	result := 0;
	contact_uuid := ct.uuid;
END
$$;

-- GET .../auth-token/{uuid}: what the program needs to sign the auth token
-- of contact p_contact_uuid (NULL when the path held no well-formed uuid) of
-- the caller's account: the account's uuid (aud), its signing key (the
-- active row of cv.signing_keys: kid, alg and the sealed private key; else
-- the implicit HS256 key, its token_secret, under cv.secret_kid) and token
-- lifetime, the contact's uuid, email and email_verified, and the
-- account's auth_token_format ('object' or 'string'), which the program
-- applies to the answer.  result: 0, 1001, 3000, 7002, 1029 (the address is
-- blocked: retry_after), 55031 no such contact, 1053 no active key and no
-- contact-token secret or one shorter than 32 bytes.  Its one write is the AUTH_TOKEN_ISSUED
-- event, an audit record of which a crash may lose the last few, so the
-- commit does not wait for the WAL flush (which doubled the latency).
CREATE OR REPLACE FUNCTION cv.api_auth_token(p_key_hash text, p_contact_uuid uuid, p_request text,
                                             p_ip text,
                                             OUT result integer, OUT account_uuid uuid,
                                             OUT token_secret text, OUT token_ttl integer,
                                             OUT contact_uuid uuid, OUT email text,
                                             OUT email_verified boolean, OUT retry_after integer,
                                             OUT key_kid text, OUT key_alg text,
                                             OUT key_sealed text, OUT token_format text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	auth record;
	r record;
BEGIN
	auth := cv.authenticate_from(p_key_hash, p_ip);
	retry_after := auth.retry_after;
	IF auth.result <> 0 THEN
		result := auth.result;
		RETURN;
	END IF;
	-- The contact, its account and the account's active signing key
	-- (keys.sql), one read.  FOR KEY SHARE: an erasure of the contact
	-- (lifecycle.sql) under way is waited for, and then the contact is not
	-- found.
	SELECT c.id, c.uuid, c.email, c.email_verified, a.id AS account_id, a.uuid AS account_uuid,
	       a.token_ttl, a.token_secret, a.auth_token_format, k.kid, k.alg,
	       encode(k.sealed, 'hex') AS sealed
	  INTO r
	  FROM cv.contacts c JOIN cv.accounts a ON a.id = c.account_id
	  LEFT JOIN cv.signing_keys k ON k.account_id = a.id AND k.state = 'active'
	 WHERE c.uuid = p_contact_uuid AND c.account_id = auth.account_id
	   FOR KEY SHARE OF c;
	IF NOT FOUND THEN
		result := 55031;  -- CV_ERR_CONTACT_NOT_FOUND
		RETURN;
	END IF;
	key_kid := r.kid;
	key_alg := r.alg;
	key_sealed := r.sealed;
	-- Else its token_secret.
	IF key_kid IS NULL THEN
		IF r.token_secret IS NULL OR octet_length(r.token_secret) < 32 THEN
			result := 1053;  -- CV_ERR_ACCOUNT_SECRET
			RETURN;
		END IF;
		key_kid := cv.secret_kid(r.account_uuid);
		key_alg := 'HS256';
		token_secret := r.token_secret;
	END IF;
	-- The event is the only write, an audit record: no wait for the WAL
	-- flush.  (Local: to the end of the transaction; the function's own SET
	-- clause restores only search_path.)
	PERFORM set_config('synchronous_commit', 'off', true);
	INSERT INTO cv.events (account_id, contact_id, event_code, event_id, source_system,
	                       request_id, detail)
	SELECT r.account_id, r.id, t.event_code, t.event_id, 'api', p_request, '{}'
	  FROM cv.event_types t WHERE t.event_id = 5007;  -- AUTH_TOKEN_ISSUED
	result := 0;
	account_uuid := r.account_uuid;
	token_ttl := r.token_ttl;
	contact_uuid := r.uuid;
	email := r.email;
	email_verified := r.email_verified;
	token_format := r.auth_token_format;
END
$$;

-- POST .../login-ticket: the business's backend, from client address p_ip,
-- exchanges a login ticket of its own account (p_ticket_hash, the hex
-- SHA-256 of the ticket the portal issued: portal.sql's cv.portal_verify),
-- once, before it expires, for what cv.api_auth_token gives for the
-- ticket's contact (the same columns, so the program signs the token the
-- same way; auth_token_format does not apply).  result: 0, 1001, 3000,
-- 7002, 1029 (the address is blocked: retry_after), 1410 (unknown, used,
-- expired or another account's ticket), 1053 (the ticket stays unused).
CREATE OR REPLACE FUNCTION cv.api_login_ticket(p_key_hash text, p_ticket_hash text, p_request text,
                                               p_ip text,
                                               OUT result integer, OUT account_uuid uuid,
                                               OUT token_secret text, OUT token_ttl integer,
                                               OUT contact_uuid uuid, OUT email text,
                                               OUT email_verified boolean, OUT retry_after integer,
                                               OUT key_kid text, OUT key_alg text,
                                               OUT key_sealed text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
	-- The ticket's contact before the ticket (lifecycle.sql's lock order).
	PERFORM 1 FROM cv.contacts c JOIN cv.login_tickets lt ON lt.contact_id = c.id
	 WHERE lt.ticket_hash = decode(p_ticket_hash, 'hex')
	   FOR KEY SHARE OF c;
	UPDATE cv.login_tickets lt SET used_at = now()
	 WHERE lt.ticket_hash = decode(p_ticket_hash, 'hex') AND lt.account_id = auth.account_id
	   AND lt.used_at IS NULL AND lt.expires_at > now()
	RETURNING * INTO t;
	IF t.id IS NULL THEN
		result := 1410;  -- CV_ERR_TICKET_INVALID
		RETURN;
	END IF;
	SELECT a.result, a.account_uuid, a.token_secret, a.token_ttl, a.contact_uuid, a.email,
	       a.email_verified, a.key_kid, a.key_alg, a.key_sealed
	  INTO result, account_uuid, token_secret, token_ttl, contact_uuid, email, email_verified,
	       key_kid, key_alg, key_sealed
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
