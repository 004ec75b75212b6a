-- Routines: planned, recurring work (see tutti_domain::routine). A routine
-- is fired under its row lock; each occurrence is recorded once, keyed by
-- the routine and the instant it fell due, in the transaction that makes
-- its work item, so no node and no restart makes it twice.
CREATE TABLE routines (
    id                  BLOB PRIMARY KEY,
    org_id              BLOB NOT NULL REFERENCES orgs(id),
    name                TEXT NOT NULL,
    description         TEXT NOT NULL,
    customer            TEXT NOT NULL,
    -- The schedule as tutti_domain::routine::Schedule serialises it (JSON).
    schedule            TEXT NOT NULL,
    time_zone           TEXT,
    catch_up            TEXT NOT NULL CHECK (catch_up IN ('all', 'latest', 'none')),
    team_id             BLOB REFERENCES teams(id),
    assignee_id         BLOB REFERENCES members(id),
    key_result_id       BLOB REFERENCES key_results(id),
    service_product_id  BLOB REFERENCES service_products(id),
    priority            TEXT NOT NULL,
    paused              INTEGER NOT NULL,
    owner_id            BLOB NOT NULL REFERENCES members(id),
    handled_until       TEXT NOT NULL,
    next_due            TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX routines_org ON routines (org_id, id);
-- What the engine looks for at each tick: routines due, across orgs.
CREATE INDEX routines_due ON routines (next_due) WHERE next_due IS NOT NULL;
CREATE INDEX routines_product ON routines (org_id, service_product_id);

CREATE TABLE routine_occurrences (
    routine_id      BLOB NOT NULL REFERENCES routines(id),
    due_at          TEXT NOT NULL,
    org_id          BLOB NOT NULL REFERENCES orgs(id),
    outcome         TEXT NOT NULL CHECK (outcome IN ('created', 'skipped')),
    reason          TEXT CHECK (reason IN ('missed', 'superseded', 'refused')),
    detail          TEXT NOT NULL,
    work_item_id    BLOB REFERENCES work_items(id),
    recorded_at     TEXT NOT NULL,
    PRIMARY KEY (routine_id, due_at)
);
CREATE INDEX routine_occurrences_work ON routine_occurrences (work_item_id);
