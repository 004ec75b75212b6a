-- A key result's target moved during its period (the seeds' moving
-- target): the old target stays visible next to the new one.
CREATE TABLE target_moves (
    id             BLOB PRIMARY KEY,
    org_id         BLOB NOT NULL REFERENCES orgs(id),
    key_result_id  BLOB NOT NULL REFERENCES key_results(id),
    from_target    REAL NOT NULL,
    to_target      REAL NOT NULL,
    reason         TEXT NOT NULL,
    author_id      BLOB REFERENCES members(id),
    created_at     TEXT NOT NULL
);
CREATE INDEX target_moves_key_result ON target_moves (key_result_id, id);
