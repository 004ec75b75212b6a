-- A key result's target moved during its period (the seeds' moving
-- target): the old target stays visible next to the new one.
CREATE TABLE target_moves (
    id             UUID PRIMARY KEY,
    org_id         UUID NOT NULL REFERENCES orgs(id),
    key_result_id  UUID NOT NULL REFERENCES key_results(id),
    from_target    DOUBLE PRECISION NOT NULL,
    to_target      DOUBLE PRECISION NOT NULL,
    reason         TEXT NOT NULL,
    author_id      UUID REFERENCES members(id),
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX target_moves_key_result ON target_moves (key_result_id, id);
