-- 021_passcodes_live_newest.sql - the live code of a contact by one index
-- that also gives the newest first (issue 22).  cv.check_code and
-- cv.check_code_decoy read "WHERE contact_id = $1 AND purpose = $2 AND
-- used_at IS NULL ORDER BY id DESC LIMIT 1"; passcodes_live (contact_id,
-- purpose) answered the WHERE but not the ORDER BY (an index scan, then a
-- sort), so the planner weighed it against a backward scan of the primary
-- key filtered row by row, a choice that statistics (when autovacuum last
-- analyzed cv.passcodes) decide.  With id in the index the plan is one
-- probe and no sort whatever the statistics say.  It serves every other
-- reader of passcodes_live (a contact's unused codes of a purpose) as well,
-- so that one goes.
CREATE INDEX passcodes_live_newest ON cv.passcodes (contact_id, purpose, id DESC)
	WHERE used_at IS NULL;
DROP INDEX cv.passcodes_live;
