-- 016_inactive_account_links.sql - the Users Orchestrator's verification
-- link is a credential of its account like every other (SPEC 4.5, issue 17
-- finding 2): once the account is disabled (cvctl account disable), GET
-- and HEAD of /v4/Users/VerifyEmail?token= no longer show the confirm
-- button and POST no longer verifies the address and redirects to the
-- returnUrl.  The link then reads as 'unknown' (404 "This link is not
-- valid", without the app's name), as the login portal answers an inactive
-- account's page 404.  Nothing is used up: enabled again, a link still
-- within its lifetime works.  Every other credential already stopped (API
-- keys, access tokens and login tickets in cv.authenticate, tenant JWTs in
-- cv.uo_tenant, the portal's codes and links in cv.portal_app_row;
-- tests/integration/test_disabled_account.py tries each).  Otherwise as in
-- 003 and 008; PL/pgSQL, whose plan the session keeps (007).

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

CREATE OR REPLACE FUNCTION cv.uo_link_consume(p_link_hash text, p_request text,
                                              OUT state text, OUT return_url text,
                                              OUT app_name text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pc cv.passcodes%ROWTYPE;
BEGIN
	-- The contact before its code (008's lock order).
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

CALL cv.apply_privileges();
