-- Decision spaces (principles and a Cedar policy for a team or an objective),
-- decisions routed by that policy, and people's ballots on them.

CREATE TABLE decision_spaces (
    id                   BLOB PRIMARY KEY,
    org_id               BLOB NOT NULL REFERENCES orgs(id),
    name                 TEXT NOT NULL,
    team_id              BLOB REFERENCES teams(id),
    objective_id         BLOB REFERENCES objectives(id),
    -- JSON: an array of short texts.
    principles           TEXT NOT NULL,
    policy               TEXT NOT NULL,
    -- JSON: attribute name → "long" | "string" | "bool".
    attributes           TEXT NOT NULL,
    quorum               INTEGER NOT NULL CHECK (quorum BETWEEN 1 AND 9),
    escalate_after_secs  INTEGER,
    escalate_to          BLOB REFERENCES members(id),
    version              INTEGER NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX decision_spaces_name ON decision_spaces (org_id, name);
CREATE INDEX decision_spaces_team ON decision_spaces (team_id);
CREATE INDEX decision_spaces_objective ON decision_spaces (objective_id);

CREATE TABLE decisions (
    id              BLOB PRIMARY KEY,
    org_id          BLOB NOT NULL REFERENCES orgs(id),
    space_id        BLOB NOT NULL REFERENCES decision_spaces(id),
    question        TEXT NOT NULL,
    context         TEXT NOT NULL,
    -- JSON: the facts the policy saw.
    facts           TEXT NOT NULL,
    -- JSON: an array of option texts.
    options         TEXT NOT NULL,
    requested_by    BLOB NOT NULL REFERENCES members(id),
    assignee_id     BLOB REFERENCES members(id),
    run_id          BLOB REFERENCES runs(id),
    status          TEXT NOT NULL CHECK (status IN ('open', 'awaiting_approval', 'escalated', 'decided', 'rejected')),
    autonomy        TEXT NOT NULL CHECK (autonomy IN ('ai_decides', 'ai_prepares', 'human_only')),
    quorum          INTEGER NOT NULL,
    -- JSON: the routing verdicts and their explanation.
    routing         TEXT NOT NULL,
    space_version   INTEGER NOT NULL,
    -- JSON: the AI worker's proposal.
    recommendation  TEXT,
    choice          TEXT,
    decided_by      BLOB REFERENCES members(id),
    reason          TEXT,
    decided_at      TEXT,
    deadline        TEXT,
    escalated_to    BLOB REFERENCES members(id),
    escalated_at    TEXT,
    -- JSON: the escalate verdict for escalated_to.
    escalation      TEXT,
    outcome         TEXT CHECK (outcome IN ('good', 'bad', 'unclear')),
    outcome_note    TEXT,
    outcome_by      BLOB REFERENCES members(id),
    outcome_at      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX decisions_org ON decisions (org_id, id);
CREATE INDEX decisions_space ON decisions (space_id, id);
CREATE INDEX decisions_waiting ON decisions (status, deadline);

CREATE TABLE decision_ballots (
    decision_id  BLOB NOT NULL REFERENCES decisions(id),
    member_id    BLOB NOT NULL REFERENCES members(id),
    org_id       BLOB NOT NULL REFERENCES orgs(id),
    vote         TEXT NOT NULL CHECK (vote IN ('approve', 'reject')),
    option       TEXT,
    reason       TEXT NOT NULL,
    -- JSON: the approve verdict that let the member vote.
    verdict      TEXT NOT NULL,
    at           TEXT NOT NULL,
    -- The same person never counts twice.
    PRIMARY KEY (decision_id, member_id)
);
