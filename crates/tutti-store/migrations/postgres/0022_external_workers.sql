-- An AI worker whose runs an agent outside tutti claims (over MCP); the
-- engine never runs them.
ALTER TABLE members ADD COLUMN external BOOLEAN NOT NULL DEFAULT FALSE;

-- What an agent reports while it works on a run, oldest first.
CREATE TABLE run_notes (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES orgs(id),
    run_id      UUID NOT NULL REFERENCES runs(id),
    note        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX run_notes_run ON run_notes (run_id, id);
