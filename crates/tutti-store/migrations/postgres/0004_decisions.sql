-- Decision spaces (principles and a Cedar policy for a team or an objective),
-- decisions routed by that policy, and people's ballots on them.

CREATE TABLE decision_spaces (
    id                   UUID PRIMARY KEY,
    org_id               UUID NOT NULL REFERENCES orgs(id),
    name                 TEXT NOT NULL,
    team_id              UUID REFERENCES teams(id),
    objective_id         UUID REFERENCES objectives(id),
    -- JSON: an array of short texts.
    principles           TEXT NOT NULL,
    policy               TEXT NOT NULL,
    -- JSON: attribute name → "long" | "string" | "bool".
    attributes           TEXT NOT NULL,
    quorum               BIGINT NOT NULL CHECK (quorum BETWEEN 1 AND 9),
    escalate_after_secs  BIGINT,
    escalate_to          UUID REFERENCES members(id),
    version              BIGINT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX decision_spaces_name ON decision_spaces (org_id, name);
CREATE INDEX decision_spaces_team ON decision_spaces (team_id);
CREATE INDEX decision_spaces_objective ON decision_spaces (objective_id);

CREATE TABLE decisions (
    id              UUID PRIMARY KEY,
    org_id          UUID NOT NULL REFERENCES orgs(id),
    space_id        UUID NOT NULL REFERENCES decision_spaces(id),
    question        TEXT NOT NULL,
    context         TEXT NOT NULL,
    -- JSON: the facts the policy saw.
    facts           TEXT NOT NULL,
    -- JSON: an array of option texts.
    options         TEXT NOT NULL,
    requested_by    UUID NOT NULL REFERENCES members(id),
    assignee_id     UUID REFERENCES members(id),
    run_id          UUID REFERENCES runs(id),
    status          TEXT NOT NULL CHECK (status IN ('open', 'awaiting_approval', 'escalated', 'decided', 'rejected')),
    autonomy        TEXT NOT NULL CHECK (autonomy IN ('ai_decides', 'ai_prepares', 'human_only')),
    quorum          BIGINT NOT NULL,
    -- JSON: the routing verdicts and their explanation.
    routing         TEXT NOT NULL,
    space_version   BIGINT NOT NULL,
    -- JSON: the AI worker's proposal.
    recommendation  TEXT,
    choice          TEXT,
    decided_by      UUID REFERENCES members(id),
    reason          TEXT,
    decided_at      TIMESTAMPTZ,
    deadline        TIMESTAMPTZ,
    escalated_to    UUID REFERENCES members(id),
    escalated_at    TIMESTAMPTZ,
    -- JSON: the escalate verdict for escalated_to.
    escalation      TEXT,
    outcome         TEXT CHECK (outcome IN ('good', 'bad', 'unclear')),
    outcome_note    TEXT,
    outcome_by      UUID REFERENCES members(id),
    outcome_at      TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX decisions_org ON decisions (org_id, id);
CREATE INDEX decisions_space ON decisions (space_id, id);
CREATE INDEX decisions_waiting ON decisions (status, deadline);

CREATE TABLE decision_ballots (
    decision_id  UUID NOT NULL REFERENCES decisions(id),
    member_id    UUID NOT NULL REFERENCES members(id),
    org_id       UUID NOT NULL REFERENCES orgs(id),
    vote         TEXT NOT NULL CHECK (vote IN ('approve', 'reject')),
    option       TEXT,
    reason       TEXT NOT NULL,
    -- JSON: the approve verdict that let the member vote.
    verdict      TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    -- The same person never counts twice.
    PRIMARY KEY (decision_id, member_id)
);
