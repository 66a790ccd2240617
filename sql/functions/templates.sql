-- templates.sql - a user app's own email templates (cv.templates: subject,
-- text and HTML body per purpose and locale, with the placeholders of
-- src/templates.h): which stored template a message gets.  cvctl template
-- show calls cv.template_for (as cv_admin), the mailer cv.outbox_template
-- (as cv_mailer); when the app has none that fits, the mailer uses the
-- built-in template of the closest built-in language.
--
-- cv.outbox_template is LANGUAGE sql and calls cv.template_for, which must
-- therefore be defined before it: a SQL function's body is checked when it
-- is created.

-- The stored template of user app p_user_app for p_purpose that fits
-- p_locale best: the one whose locale equals it or is the longest prefix of
-- it ending at a subtag ('de' fits 'de-AT'), else the app's default (''); no
-- row when the app has none of these.  Case does not matter, '_' counts as
-- '-'.
CREATE OR REPLACE FUNCTION cv.template_for(p_user_app bigint, p_purpose text, p_locale text)
RETURNS SETOF cv.templates
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT t.* FROM cv.templates t
	 WHERE t.user_app_id = p_user_app AND t.purpose = p_purpose
	   AND (t.locale = ''
	        OR t.locale = replace(lower(p_locale), '_', '-')
	        OR replace(lower(p_locale), '_', '-') LIKE t.locale || '-%')
	 ORDER BY length(t.locale) DESC
	 LIMIT 1;
$$;

-- For the mailer: the contact's locale of outbox row p_id and its user
-- app's template (cv.template_for; template_locale '' for the app's
-- default).  The template columns are NULL when the app has none that fits,
-- and there is no row at all when the outbox row is gone.
CREATE OR REPLACE FUNCTION cv.outbox_template(p_id bigint, OUT locale text,
                                              OUT template_locale text, OUT subject text,
                                              OUT text_body text, OUT html_body text)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT o.locale, t.locale, t.subject, t.text_body, t.html_body
	  FROM cv.outbox o
	  LEFT JOIN cv.user_apps u ON u.account_id = o.account_id
	  LEFT JOIN LATERAL cv.template_for(u.id, o.purpose, o.locale) t ON true
	 WHERE o.id = p_id;
$$;
