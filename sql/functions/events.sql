-- events.sql - the audit trail: cv.log_event, through which every function
-- records a step (the vocabulary is the table cv.event_types: CODE_SENT
-- 5001, VERIFY_FAILED 5003, ...; README, Operations), and the trigger that
-- deletes an account's events with the account.

-- Records event p_event_id for account p_account and contact p_contact
-- (either may be NULL) with the source system, the request id and a detail
-- without secrets; an id that cv.event_types does not have records nothing.
-- PL/pgSQL rather than LANGUAGE sql: a SQL function with a SET clause is
-- never inlined, and PostgreSQL 15 parses and plans its body on every call,
-- which was half the time of the functions that log an event; PL/pgSQL
-- keeps the plan for the session.
CREATE OR REPLACE FUNCTION cv.log_event(p_account bigint, p_contact bigint, p_event_id integer,
                                        p_source text, p_request text, p_detail jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO cv.events (account_id, contact_id, event_code, event_id, source_system, request_id, detail)
	SELECT p_account, p_contact, t.event_code, t.event_id, p_source, p_request, COALESCE(p_detail, '{}')
	  FROM cv.event_types t WHERE t.event_id = p_event_id;
END
$$;

-- What a foreign key with ON DELETE CASCADE would do: an account's events go
-- with it.  cv.events has no foreign key to cv.accounts because checking it
-- locked the account row FOR KEY SHARE on every event, and all concurrent
-- requests of an account then shared that one row (migration
-- 007_performance says how much it cost).  As with a cascade, whoever may
-- delete an account need not be allowed to delete events.
CREATE OR REPLACE FUNCTION cv.account_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM cv.events e WHERE e.account_id = OLD.id;
	RETURN NULL;
END
$$;

-- A trigger is defined with its function, here: on a fresh database the
-- migrations run before any function exists.  CREATE OR REPLACE TRIGGER
-- (PostgreSQL 14) lets this file be applied again; removing the trigger
-- takes a DROP TRIGGER in a migration.
CREATE OR REPLACE TRIGGER account_deleted AFTER DELETE ON cv.accounts
	FOR EACH ROW EXECUTE FUNCTION cv.account_deleted();
