-- Flows with quality gates, cases moving through them, criteria checks,
-- verdicts (each a decision in the flow's space), and learnings that amend
-- gates and service products (see tutti_domain::service::flow, ::learning).
CREATE TABLE flows (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL REFERENCES orgs(id),
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    -- The stages in order, a JSON array of {name, team_id}.
    stages       TEXT NOT NULL,
    space_id     BLOB NOT NULL REFERENCES decision_spaces(id),
    created_at   TEXT NOT NULL
);
CREATE INDEX flows_org ON flows (org_id, id);

CREATE TABLE gates (
    id          BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL REFERENCES orgs(id),
    flow_id     BLOB NOT NULL REFERENCES flows(id),
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    -- The current criteria, a JSON array.
    criteria    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (flow_id, position)
);

-- Every version of a gate's criteria, and the learning that made it.
CREATE TABLE gate_versions (
    gate_id      BLOB NOT NULL REFERENCES gates(id),
    version      INTEGER NOT NULL,
    org_id       BLOB NOT NULL REFERENCES orgs(id),
    criteria     TEXT NOT NULL,
    learning_id  BLOB,
    changed_by   BLOB REFERENCES members(id),
    at           TEXT NOT NULL,
    PRIMARY KEY (gate_id, version)
);

CREATE TABLE cases (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL REFERENCES orgs(id),
    flow_id       BLOB NOT NULL REFERENCES flows(id),
    title         TEXT NOT NULL,
    customer      TEXT NOT NULL,
    work_item_id  BLOB REFERENCES work_items(id),
    stage         INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'on_hold', 'killed', 'completed')),
    round         INTEGER NOT NULL,
    stage_since   TEXT NOT NULL,
    hold_until    TEXT,
    hold_reason   TEXT NOT NULL,
    redo          TEXT NOT NULL,
    opened_by     BLOB NOT NULL REFERENCES members(id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX cases_org ON cases (org_id, id);
CREATE INDEX cases_status ON cases (org_id, status, hold_until);

CREATE TABLE criterion_checks (
    id              BLOB PRIMARY KEY,
    org_id          BLOB NOT NULL REFERENCES orgs(id),
    case_id         BLOB NOT NULL REFERENCES cases(id),
    gate_id         BLOB NOT NULL REFERENCES gates(id),
    criterion       TEXT NOT NULL,
    check_by        TEXT NOT NULL CHECK (check_by IN ('person', 'ai', 'rule')),
    round           INTEGER NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('passed', 'failed', 'pending', 'unchecked')),
    reason          TEXT NOT NULL,
    checked_by      BLOB NOT NULL REFERENCES members(id),
    requested_by    BLOB NOT NULL REFERENCES members(id),
    requested_at    TEXT NOT NULL,
    checked_at      TEXT,
    -- An engine answering an AI check holds it until then.
    drafting_until  TEXT
);
CREATE INDEX criterion_checks_case ON criterion_checks (case_id, gate_id);
CREATE INDEX criterion_checks_pending ON criterion_checks (outcome, drafting_until) WHERE outcome = 'pending';

CREATE TABLE gate_verdicts (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL REFERENCES orgs(id),
    case_id       BLOB NOT NULL REFERENCES cases(id),
    gate_id       BLOB NOT NULL REFERENCES gates(id),
    gate_version  INTEGER NOT NULL,
    proposed      TEXT NOT NULL,
    given         TEXT,
    verdict       TEXT,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'given', 'refused')),
    note          TEXT NOT NULL,
    snapshot      TEXT NOT NULL,
    decision_id   BLOB NOT NULL UNIQUE REFERENCES decisions(id),
    proposed_by   BLOB NOT NULL REFERENCES members(id),
    proposed_at   TEXT NOT NULL,
    settled_at    TEXT
);
CREATE INDEX gate_verdicts_case ON gate_verdicts (case_id, proposed_at);
CREATE INDEX gate_verdicts_gate ON gate_verdicts (org_id, gate_id, status, settled_at);

CREATE TABLE learnings (
    id                  BLOB PRIMARY KEY,
    org_id              BLOB NOT NULL REFERENCES orgs(id),
    title               TEXT NOT NULL,
    body                TEXT NOT NULL,
    team_id             BLOB REFERENCES teams(id),
    promise_id          BLOB REFERENCES promises(id),
    gate_id             BLOB REFERENCES gates(id),
    service_product_id  BLOB REFERENCES service_products(id),
    amendment           TEXT,
    status              TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'declined')),
    author_id           BLOB NOT NULL REFERENCES members(id),
    created_at          TEXT NOT NULL,
    answered_by         BLOB REFERENCES members(id),
    answered_at         TEXT,
    answer              TEXT NOT NULL,
    made_version        INTEGER
);
CREATE INDEX learnings_org ON learnings (org_id, status, created_at);
CREATE INDEX learnings_gate ON learnings (gate_id);

-- A service product's levels are versioned: an accepted learning makes a new one.
ALTER TABLE service_products ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
