-- 005_sealed_outbox.sql - the outbox keeps no plaintext code or link
-- (issue "Mail delivery you can trust", protection at rest).  The responder
-- seals "<10 code digits><link token>" with AES-256-GCM under the server's
-- outbox key (derived from code_secret) before it reaches the database;
-- only the mailer opens it.  The non-secret part of the link (link_base)
-- and the code length the user app wants are stored beside it.  The sealed
-- value is wiped once the message is sent, failed or expired.  The send
-- functions take the sealed value instead of the code and link, and the
-- mailer's claim answers it (new argument and result types: the old ones
-- are dropped here; the code is in sql/functions/codes.sql and outbox.sql).

DROP FUNCTION IF EXISTS cv.api_send(text, text, text, text[], text, text, text, text);
DROP FUNCTION IF EXISTS cv.uo_send(bigint, text, text, text, text[], text, text, text, text, text);
DROP FUNCTION IF EXISTS cv.outbox_claim(integer, integer);

ALTER TABLE cv.outbox
	DROP COLUMN code,
	DROP COLUMN link,
	ADD COLUMN sealed bytea,
	ADD COLUMN code_length integer NOT NULL DEFAULT 6 CHECK (code_length BETWEEN 6 AND 10),
	ADD COLUMN link_base text NOT NULL DEFAULT '';
