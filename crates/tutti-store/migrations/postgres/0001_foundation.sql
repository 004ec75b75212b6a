-- The foundation: orgs, people, strategy, work, tokens, idempotency, audit.
-- Ids are UUIDv7, so ordering by id is ordering by time.

CREATE TABLE orgs (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    currency    TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    -- Head of the org's audit chain: last sequence number and its hash.
    audit_seq   BIGINT NOT NULL DEFAULT 0,
    audit_hash  TEXT NOT NULL
);

CREATE TABLE members (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES orgs(id),
    kind        TEXT NOT NULL CHECK (kind IN ('human', 'ai')),
    name        TEXT NOT NULL,
    email       TEXT,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'lead', 'member', 'viewer')),
    role_card   TEXT,
    provider    TEXT,
    model       TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX members_email ON members (org_id, email) WHERE email IS NOT NULL;
CREATE INDEX members_org ON members (org_id, id);

CREATE TABLE teams (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    parent_id   UUID REFERENCES teams(id),
    lead_id     UUID REFERENCES members(id),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX teams_org ON teams (org_id, id);
CREATE INDEX teams_lead ON teams (org_id, lead_id);
CREATE INDEX teams_parent ON teams (parent_id);

CREATE TABLE team_members (
    team_id     UUID NOT NULL REFERENCES teams(id),
    member_id   UUID NOT NULL REFERENCES members(id),
    org_id      UUID NOT NULL REFERENCES orgs(id),
    PRIMARY KEY (team_id, member_id)
);
CREATE INDEX team_members_member ON team_members (member_id);

CREATE TABLE api_tokens (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES orgs(id),
    member_id   UUID NOT NULL REFERENCES members(id),
    label       TEXT NOT NULL,
    -- SHA-256 of the token; the token itself is never stored.
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE objectives (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES orgs(id),
    title         TEXT NOT NULL,
    why           TEXT NOT NULL,
    owner_id      UUID REFERENCES members(id),
    team_id       UUID REFERENCES teams(id),
    period_start  DATE NOT NULL,
    period_end    DATE NOT NULL,
    parent_id     UUID REFERENCES objectives(id),
    status        TEXT NOT NULL CHECK (status IN ('active', 'achieved', 'dropped')),
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX objectives_org ON objectives (org_id, id);
CREATE INDEX objectives_parent ON objectives (parent_id);

CREATE TABLE key_results (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES orgs(id),
    objective_id  UUID NOT NULL REFERENCES objectives(id),
    title         TEXT NOT NULL,
    baseline      DOUBLE PRECISION NOT NULL,
    target        DOUBLE PRECISION NOT NULL,
    current       DOUBLE PRECISION NOT NULL,
    unit          TEXT NOT NULL,
    confidence    BIGINT NOT NULL CHECK (confidence BETWEEN 0 AND 10),
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX key_results_objective ON key_results (objective_id);
CREATE INDEX key_results_org ON key_results (org_id, id);

CREATE TABLE check_ins (
    id             UUID PRIMARY KEY,
    org_id         UUID NOT NULL REFERENCES orgs(id),
    key_result_id  UUID NOT NULL REFERENCES key_results(id),
    value          DOUBLE PRECISION NOT NULL,
    confidence     BIGINT NOT NULL CHECK (confidence BETWEEN 0 AND 10),
    note           TEXT NOT NULL,
    author_id      UUID NOT NULL REFERENCES members(id),
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX check_ins_key_result ON check_ins (key_result_id, id);

CREATE TABLE work_items (
    id             UUID PRIMARY KEY,
    org_id         UUID NOT NULL REFERENCES orgs(id),
    title          TEXT NOT NULL,
    description    TEXT NOT NULL,
    team_id        UUID REFERENCES teams(id),
    assignee_id    UUID REFERENCES members(id),
    state          TEXT NOT NULL CHECK (state IN ('backlog', 'ready', 'running', 'in_review', 'done', 'blocked', 'cancelled')),
    kind           TEXT NOT NULL CHECK (kind IN ('planned', 'unplanned')),
    priority       TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    due            DATE,
    parent_id      UUID REFERENCES work_items(id),
    key_result_id  UUID REFERENCES key_results(id),
    created_by     UUID NOT NULL REFERENCES members(id),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX work_items_org ON work_items (org_id, id);
CREATE INDEX work_items_key_result ON work_items (org_id, key_result_id, id);
CREATE INDEX work_items_assignee ON work_items (org_id, assignee_id, id);
CREATE INDEX work_items_state ON work_items (org_id, state, id);

CREATE TABLE idempotency_keys (
    org_id        UUID NOT NULL,
    member_id     UUID NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        BIGINT NOT NULL,
    body          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, member_id, key)
);

-- Append-only; the application never updates or deletes a row here.
CREATE TABLE events (
    org_id        UUID NOT NULL REFERENCES orgs(id),
    seq           BIGINT NOT NULL,
    id            UUID NOT NULL UNIQUE,
    at            TIMESTAMPTZ NOT NULL,
    actor_id      UUID,
    action        TEXT NOT NULL,
    subject_type  TEXT NOT NULL,
    subject_id    UUID,
    payload       TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
