-- The key of work brought in from elsewhere (a Jira issue's `ABC-12`): a
-- second import of the same file updates instead of duplicating.
ALTER TABLE work_items ADD COLUMN external_key TEXT;
CREATE UNIQUE INDEX work_items_external_key ON work_items (org_id, external_key) WHERE external_key IS NOT NULL;
