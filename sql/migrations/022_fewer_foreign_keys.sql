-- 022_fewer_foreign_keys.sql - the rows every request writes are checked
-- by no foreign key (issue 22).  A foreign key's check runs a query per
-- inserted row, and the check of cv.outbox.passcode_id locked the code the
-- same statement had just inserted (FOR KEY SHARE: a heap write and a WAL
-- record, its page's full image after each checkpoint): a send paid four
-- such checks (its code's contact, its mail's contact and code, its event's
-- contact), a verify and an auth token one each.  Every writer holds the
-- contact's lock while it writes these rows (sql/functions/codes.sql, the
-- lock order), so the contact exists; what the keys did on delete is done by
-- the triggers of sql/functions/lifecycle.sql (cv.contact_deleted: the
-- contact's codes and mail go, its events are kept without it;
-- cv.passcode_deleted: mail keeps no deleted code's id), as
-- cv.account_deleted does for 007's events.account_id.  Measured with
-- tools/bench (BENCH_SQL dropping them): PostgreSQL CPU per send 0.58 ->
-- 0.48 ms, auth_token 0.23 -> 0.20 (README Benchmarks).
ALTER TABLE cv.passcodes DROP CONSTRAINT passcodes_contact_id_fkey;
ALTER TABLE cv.outbox DROP CONSTRAINT outbox_contact_id_fkey,
                      DROP CONSTRAINT outbox_passcode_id_fkey;
ALTER TABLE cv.events DROP CONSTRAINT events_contact_id_fkey;
