-- 004_templates.sql - a user app's own email templates (SPEC section 6):
-- subject, text and HTML body per purpose and locale, with placeholders
-- {{code}}, {{link}}, {{app_name}}, {{expiry_minutes}} and {{expiry}} (see
-- src/templates.h).  The mailer looks one up per message with
-- cv.outbox_template; when the app has none for the contact's locale it
-- uses the built-in template of the closest built-in language.  cvctl
-- checks a template before it stores it; the constraints here repeat the
-- checks that keep a message well-formed.

CREATE TABLE cv.templates (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_app_id bigint NOT NULL REFERENCES cv.user_apps (id) ON DELETE CASCADE,
	purpose     text NOT NULL CHECK (purpose IN ('login', 'verify_email')),
	-- A lower-case language tag ('de', 'de-at'), or '' for the app's default.
	locale      text NOT NULL DEFAULT ''
	            CHECK (locale = '' OR locale ~ '^[a-z]{2,8}(-[a-z0-9]{1,8})*$'),
	subject     text NOT NULL
	            CHECK (pg_catalog.octet_length(subject) BETWEEN 1 AND 500
	                   AND subject !~ '[\x01-\x1f\x7f]'),
	text_body   text NOT NULL
	            CHECK (pg_catalog.octet_length(text_body) BETWEEN 1 AND 65536
	                   AND text_body !~ '[\x01-\x08\x0b-\x1f\x7f]'),
	html_body   text NOT NULL
	            CHECK (pg_catalog.octet_length(html_body) BETWEEN 1 AND 65536
	                   AND html_body !~ '[\x01-\x08\x0b-\x1f\x7f]'),
	created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (user_app_id, purpose, locale),
	-- Every "{{" starts a known placeholder (the grammar of templates.c).
	CONSTRAINT templates_placeholders CHECK (
		subject ~ '^([^{]|\{(?!\{)|\{\{ *(code|link|app_name|expiry_minutes|expiry) *\}\})*$'
		AND text_body ~ '^([^{]|\{(?!\{)|\{\{ *(code|link|app_name|expiry_minutes|expiry) *\}\})*$'
		AND html_body ~ '^([^{]|\{(?!\{)|\{\{ *(code|link|app_name|expiry_minutes|expiry) *\}\})*$')
);

-- The stored template of a user app for purpose that fits locale best: the
-- one whose locale equals it or is the longest prefix of it ending at a
-- subtag ('de' fits 'de-AT'), else the app's default (''); no row when the
-- app has none of these.  Case does not matter, '_' counts as '-'.
CREATE FUNCTION cv.template_for(p_user_app bigint, p_purpose text, p_locale text)
RETURNS SETOF cv.templates
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT t.* FROM cv.templates t
	 WHERE t.user_app_id = p_user_app AND t.purpose = p_purpose
	   AND (t.locale = ''
	        OR t.locale = replace(lower(p_locale), '_', '-')
	        OR replace(lower(p_locale), '_', '-') LIKE t.locale || '-%')
	 ORDER BY length(t.locale) DESC
	 LIMIT 1;
$$;

-- Mailer: the contact's locale of outbox row p_id and its user app's
-- template (template_locale '' for the app's default); the template
-- columns are NULL when the app has none that fits, and no row at all when
-- the outbox row is gone.
CREATE FUNCTION cv.outbox_template(p_id bigint, OUT locale text, OUT template_locale text,
                                   OUT subject text, OUT text_body text, OUT html_body text)
RETURNS SETOF record
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT o.locale, t.locale, t.subject, t.text_body, t.html_body
	  FROM cv.outbox o
	  LEFT JOIN cv.user_apps u ON u.account_id = o.account_id
	  LEFT JOIN LATERAL cv.template_for(u.id, o.purpose, o.locale) t ON true
	 WHERE o.id = p_id;
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON cv.templates TO cv_app;
GRANT EXECUTE ON FUNCTION cv.template_for(bigint, text, text) TO cv_app;
GRANT EXECUTE ON FUNCTION cv.outbox_template(bigint) TO cv_app;
