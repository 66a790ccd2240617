-- 007_performance.sql - what tools/bench found (README, Benchmarks).  No
-- behaviour changes except where noted: the same answers, events and
-- limits, with less work per request.  The functions it changed are in
-- sql/functions/: cv.log_event in PL/pgSQL (events.sql), the sends per hour
-- counted from the codes (cv.send_wait, limits.sql), the outbox NOTIFY only
-- for an idle mailer (cv.queue_code, codes.sql), auth-token's asynchronous
-- commit (cv.api_auth_token, api.sql).

-- Sends per address per hour are counted from the contact's own codes, not
-- in a cv.rate_counters row: a code is stored for every send that went
-- ahead, and the contact row is locked first, so the count is exact under
-- concurrency (as the counter was) and costs no write.  The window slides
-- (the last hour) instead of being fixed.  The same index answers the resend
-- cooldown, which read all of a contact's codes, and the ON DELETE CASCADE
-- from contacts.
CREATE INDEX passcodes_contact_time ON cv.passcodes (contact_id, created_at);

-- Every send, verify and auth token wrote an event (and a send an outbox
-- row) with a foreign key to cv.accounts, and each such check locks the
-- account row FOR KEY SHARE: all concurrent requests of an account shared
-- one locked row, which PostgreSQL tracks as a MultiXact per new locker.
-- Measured: 15-20 % of a send's database CPU.  The rows are only ever
-- written by these functions for an account they just authenticated, so
-- the keys hold by construction; what the constraints also did, delete an
-- account's events with it, a trigger does (the outbox rows go with their
-- contacts, which still cascade): cv.account_deleted and its trigger, in
-- sql/functions/events.sql.
ALTER TABLE cv.events DROP CONSTRAINT events_account_id_fkey;
ALTER TABLE cv.outbox DROP CONSTRAINT outbox_account_id_fkey;
