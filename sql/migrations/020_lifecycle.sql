-- 020_lifecycle.sql - a contact's data can be erased and exported, and
-- history expires (issue 21; README "Erasure, export, retention" and
-- "Housekeeping").
--
-- cv.erased_contacts remembers that a contact was erased, so that a
-- repeated DELETE answers as the first did (200 erased) while an unknown
-- uuid answers 55031: only the SHA-256 of "<account id>:<uuid>", the
-- account and the time, nothing that names the person (the uuid cannot be
-- read back from it, and the hash of a uuid alone matches no other row).
-- Its rows go with the account.
--
-- Retention per account, in days: events (default 90), ended codes (used,
-- expired, replaced, burned; 30) and ended mail (sent, failed, expired; 30).
-- cv.expire_history (sql/functions/housekeeping.sql) deletes in batches
-- through the indexes below, each batch a short transaction of its own.
--
--   passcodes_expires   ended codes by time: a code has ended by its
--                       expires_at at the latest, so "expires_at < cutoff"
--                       finds only ended ones, in order.
--   outbox_passcode     deleting a code sets the outbox's passcode_id to
--                       NULL (ON DELETE SET NULL): without an index that
--                       was a scan of the outbox per deleted code; also
--                       what the expiry's "no mail in flight" check uses.
--   outbox_ended        ended mail by account and time, partial, so the
--                       queue itself (outbox_due) is untouched.
--   events_account_time (migration 001) serves the events.
--   login_tickets_contact, passcodes_contact_time (007), events_contact
--                       (001), outbox_contact: what an erasure finds by
--                       contact.
CREATE TABLE cv.erased_contacts (
	uuid_hash  bytea PRIMARY KEY CHECK (pg_catalog.length(uuid_hash) = 32),
	account_id bigint NOT NULL REFERENCES cv.accounts (id) ON DELETE CASCADE,
	erased_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX erased_contacts_account ON cv.erased_contacts (account_id);

ALTER TABLE cv.accounts
	ADD COLUMN events_retention integer NOT NULL DEFAULT 90
		CHECK (events_retention BETWEEN 1 AND 36500),
	ADD COLUMN codes_retention integer NOT NULL DEFAULT 30
		CHECK (codes_retention BETWEEN 1 AND 36500),
	ADD COLUMN mail_retention integer NOT NULL DEFAULT 30
		CHECK (mail_retention BETWEEN 1 AND 36500);

CREATE INDEX passcodes_expires ON cv.passcodes (expires_at);
CREATE INDEX outbox_passcode ON cv.outbox (passcode_id);
CREATE INDEX outbox_contact ON cv.outbox (contact_id);
CREATE INDEX outbox_ended ON cv.outbox (account_id, created_at)
	WHERE status IN ('sent', 'failed', 'expired');
CREATE INDEX login_tickets_contact ON cv.login_tickets (contact_id);

INSERT INTO cv.event_types VALUES (5012, 'CONTACT_ERASED');
