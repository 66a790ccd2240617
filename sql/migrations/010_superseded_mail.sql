-- 010_superseded_mail.sql - a send no longer looks for the older mail its
-- new code replaces; the mailer drops such mail when it claims it.
--
-- Until now cv.queue_code expired the contact's queued mail of the purpose
-- with an UPDATE over the partial index outbox_contact_queued (status =
-- 'queued').  When the last ANALYZE had found no queued mail (the normal
-- state: the mailer keeps up), the planner took the other partial index
-- that status = 'queued' satisfies, outbox_due, believed to be just as
-- empty; once mail piled up (SMTP down) every send then read the whole
-- queue: 3,665 buffers and 3.3 ms per send over 6,284 queued mails, growing
-- with the backlog (found with tools/bench, whose stack runs no mailer).
-- The replaced code is already marked used by the send (its passcode row's
-- used_at), so the mail of a code that is no longer live is recognised at
-- the claim, by its passcode, and recorded as 'expired' (event 5009, the
-- reason in last_error) instead of sent.  The send path loses a statement,
-- and the outbox one index entry per mail.  Mail without a passcode (none
-- is queued today) is always sent.  The code: cv.queue_code
-- (sql/functions/codes.sql), cv.outbox_claim and cv.outbox_record
-- (outbox.sql).

DROP INDEX cv.outbox_contact_queued;

-- The claim answers the columns the mailer reads and superseded: a new
-- result type.
DROP FUNCTION IF EXISTS cv.outbox_claim(integer, integer);
