-- When a work item entered its current state. "Blocked for more than five
-- days" and "done in week 47" used the last change of any field, so an edit
-- to a blocked item's title restarted its clock. Items that exist keep their
-- last change as the best guess.
ALTER TABLE work_items ADD COLUMN state_since TIMESTAMPTZ;
UPDATE work_items SET state_since = updated_at;
ALTER TABLE work_items ALTER COLUMN state_since SET NOT NULL;
DROP INDEX work_items_moved;
CREATE INDEX work_items_moved ON work_items (org_id, state, state_since);
