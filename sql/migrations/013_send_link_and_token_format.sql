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
--
-- The functions: cv.queue_code (sql/functions/codes.sql), cv.api_send and
-- cv.api_auth_token (api.sql), cv.portal_link_state, cv.portal_app and
-- cv.portal_verify (portal.sql).

ALTER TABLE cv.accounts
	ADD COLUMN auth_token_format text NOT NULL DEFAULT 'object'
		CHECK (auth_token_format IN ('object', 'string'));

-- true when a newer send replaced the code (used_at is then the time of
-- that send); false for a code used by a verify, a link or not at all.
ALTER TABLE cv.passcodes ADD COLUMN replaced boolean NOT NULL DEFAULT false;

-- New result types: cv.portal_verify answers link_state, cv.api_auth_token
-- token_format.
DROP FUNCTION IF EXISTS cv.portal_verify(text, text, text, text, text, text, text, text);
DROP FUNCTION IF EXISTS cv.api_auth_token(text, uuid, text, text);
