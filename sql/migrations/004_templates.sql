-- 004_templates.sql - a user app's own email templates (README "Email templates"):
-- subject, text and HTML body per purpose and locale, with placeholders
-- {{code}}, {{link}}, {{app_name}}, {{expiry_minutes}} and {{expiry}} (see
-- src/templates.h).  The mailer looks one up per message with
-- cv.outbox_template (sql/functions/templates.sql); when the app has none for the contact's locale it
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

GRANT SELECT, INSERT, UPDATE, DELETE ON cv.templates TO cv_app;
