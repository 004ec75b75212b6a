-- The work that arrived per week, by kind and team (Figures::load_by_week):
-- read from the index alone, in the range of weeks asked for.
CREATE INDEX work_items_arrived ON work_items (org_id, created_at, kind, team_id);
