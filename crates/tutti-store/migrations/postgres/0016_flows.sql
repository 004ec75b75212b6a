-- Flows with quality gates, cases moving through them, criteria checks,
-- verdicts (each a decision in the flow's space), and learnings that amend
-- gates and service products (see tutti_domain::service::flow, ::learning).
CREATE TABLE flows (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES orgs(id),
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    -- The stages in order, a JSON array of {name, team_id}.
    stages       TEXT NOT NULL,
    space_id     UUID NOT NULL REFERENCES decision_spaces(id),
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX flows_org ON flows (org_id, id);

CREATE TABLE gates (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES orgs(id),
    flow_id     UUID NOT NULL REFERENCES flows(id),
    position    BIGINT NOT NULL,
    name        TEXT NOT NULL,
    -- The current criteria, a JSON array.
    criteria    TEXT NOT NULL,
    version     BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (flow_id, position)
);

-- Every version of a gate's criteria, and the learning that made it.
CREATE TABLE gate_versions (
    gate_id      UUID NOT NULL REFERENCES gates(id),
    version      BIGINT NOT NULL,
    org_id       UUID NOT NULL REFERENCES orgs(id),
    criteria     TEXT NOT NULL,
    learning_id  UUID,
    changed_by   UUID REFERENCES members(id),
    at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (gate_id, version)
);

CREATE TABLE cases (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES orgs(id),
    flow_id       UUID NOT NULL REFERENCES flows(id),
    title         TEXT NOT NULL,
    customer      TEXT NOT NULL,
    work_item_id  UUID REFERENCES work_items(id),
    stage         BIGINT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'on_hold', 'killed', 'completed')),
    round         BIGINT NOT NULL,
    stage_since   TIMESTAMPTZ NOT NULL,
    hold_until    TIMESTAMPTZ,
    hold_reason   TEXT NOT NULL,
    redo          TEXT NOT NULL,
    opened_by     UUID NOT NULL REFERENCES members(id),
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX cases_org ON cases (org_id, id);
CREATE INDEX cases_status ON cases (org_id, status, hold_until);

CREATE TABLE criterion_checks (
    id              UUID PRIMARY KEY,
    org_id          UUID NOT NULL REFERENCES orgs(id),
    case_id         UUID NOT NULL REFERENCES cases(id),
    gate_id         UUID NOT NULL REFERENCES gates(id),
    criterion       TEXT NOT NULL,
    check_by        TEXT NOT NULL CHECK (check_by IN ('person', 'ai', 'rule')),
    round           BIGINT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('passed', 'failed', 'pending', 'unchecked')),
    reason          TEXT NOT NULL,
    checked_by      UUID NOT NULL REFERENCES members(id),
    requested_by    UUID NOT NULL REFERENCES members(id),
    requested_at    TIMESTAMPTZ NOT NULL,
    checked_at      TIMESTAMPTZ,
    -- An engine answering an AI check holds it until then.
    drafting_until  TIMESTAMPTZ
);
CREATE INDEX criterion_checks_case ON criterion_checks (case_id, gate_id);
CREATE INDEX criterion_checks_pending ON criterion_checks (outcome, drafting_until) WHERE outcome = 'pending';

CREATE TABLE gate_verdicts (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES orgs(id),
    case_id       UUID NOT NULL REFERENCES cases(id),
    gate_id       UUID NOT NULL REFERENCES gates(id),
    gate_version  BIGINT NOT NULL,
    proposed      TEXT NOT NULL,
    given         TEXT,
    verdict       TEXT,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'given', 'refused')),
    note          TEXT NOT NULL,
    snapshot      TEXT NOT NULL,
    decision_id   UUID NOT NULL UNIQUE REFERENCES decisions(id),
    proposed_by   UUID NOT NULL REFERENCES members(id),
    proposed_at   TIMESTAMPTZ NOT NULL,
    settled_at    TIMESTAMPTZ
);
CREATE INDEX gate_verdicts_case ON gate_verdicts (case_id, proposed_at);
CREATE INDEX gate_verdicts_gate ON gate_verdicts (org_id, gate_id, status, settled_at);

CREATE TABLE learnings (
    id                  UUID PRIMARY KEY,
    org_id              UUID NOT NULL REFERENCES orgs(id),
    title               TEXT NOT NULL,
    body                TEXT NOT NULL,
    team_id             UUID REFERENCES teams(id),
    promise_id          UUID REFERENCES promises(id),
    gate_id             UUID REFERENCES gates(id),
    service_product_id  UUID REFERENCES service_products(id),
    amendment           TEXT,
    status              TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'declined')),
    author_id           UUID NOT NULL REFERENCES members(id),
    created_at          TIMESTAMPTZ NOT NULL,
    answered_by         UUID REFERENCES members(id),
    answered_at         TIMESTAMPTZ,
    answer              TEXT NOT NULL,
    made_version        BIGINT
);
CREATE INDEX learnings_org ON learnings (org_id, status, created_at);
CREATE INDEX learnings_gate ON learnings (gate_id);

-- A service product's levels are versioned: an accepted learning makes a new one.
ALTER TABLE service_products ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
