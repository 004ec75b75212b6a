-- When a work item entered its current state. "Blocked for more than five
-- days" and "done in week 47" used the last change of any field, so an edit
-- to a blocked item's title restarted its clock. Items that exist keep their
-- last change as the best guess. (SQLite cannot add a NOT NULL column
-- without a constant default; every write sets it.)
ALTER TABLE work_items ADD COLUMN state_since TEXT;
UPDATE work_items SET state_since = updated_at;
DROP INDEX work_items_moved;
CREATE INDEX work_items_moved ON work_items (org_id, state, state_since);
