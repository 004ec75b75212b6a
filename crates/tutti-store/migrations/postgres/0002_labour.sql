-- AI labour: providers and their priced models, runs of work orders with
-- leases, the append-only token ledger, budgets and their use, reviews.

-- How many runs of one AI worker may run at once.
ALTER TABLE members ADD COLUMN concurrency BIGINT NOT NULL DEFAULT 2;

CREATE TABLE providers (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES orgs(id),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('embedded', 'openai')),
    base_url     TEXT,
    -- The key comes from this environment variable, or from api_key, which
    -- is never returned by the API.
    api_key_env  TEXT,
    api_key      TEXT,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX providers_name ON providers (org_id, name);

CREATE TABLE models (
    id                  UUID PRIMARY KEY,
    org_id              UUID NOT NULL REFERENCES orgs(id),
    provider_id         UUID NOT NULL REFERENCES providers(id),
    name                TEXT NOT NULL,
    -- Micro-units of the org's currency per million tokens.
    input_price         BIGINT NOT NULL,
    cached_input_price  BIGINT NOT NULL,
    output_price        BIGINT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX models_name ON models (provider_id, name);

CREATE TABLE runs (
    id                   UUID PRIMARY KEY,
    org_id               UUID NOT NULL REFERENCES orgs(id),
    work_item_id         UUID NOT NULL REFERENCES work_items(id),
    worker_id            UUID NOT NULL REFERENCES members(id),
    iteration            BIGINT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    role_card            TEXT NOT NULL,
    work_order           TEXT NOT NULL,
    output               TEXT NOT NULL,
    provider             TEXT,
    model                TEXT,
    attempts             BIGINT NOT NULL,
    max_attempts         BIGINT NOT NULL,
    max_tokens           BIGINT NOT NULL,
    lease_owner          TEXT,
    lease_expires_at     TIMESTAMPTZ,
    cancel_requested     BOOLEAN NOT NULL,
    -- The reservation of the attempt in flight, if any.
    reservation_id       UUID,
    input_tokens         BIGINT NOT NULL,
    cached_input_tokens  BIGINT NOT NULL,
    output_tokens        BIGINT NOT NULL,
    cost                 BIGINT NOT NULL,
    error                TEXT,
    created_by           UUID REFERENCES members(id),
    created_at           TIMESTAMPTZ NOT NULL,
    started_at           TIMESTAMPTZ,
    finished_at          TIMESTAMPTZ
);
CREATE INDEX runs_org ON runs (org_id, id);
CREATE INDEX runs_item ON runs (work_item_id, iteration);
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_worker ON runs (worker_id, status);

-- Append-only; the application never updates or deletes a row here. For
-- every reservation, reserve = settle + release, in tokens and in cost.
CREATE TABLE ledger_entries (
    id                   UUID PRIMARY KEY,
    org_id               UUID NOT NULL REFERENCES orgs(id),
    reservation_id       UUID NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('reserve', 'settle', 'release', 'adjust')),
    worker_id            UUID NOT NULL REFERENCES members(id),
    run_id               UUID REFERENCES runs(id),
    -- What the call served, copied here so roll-ups need no joins.
    work_item_id         UUID,
    key_result_id        UUID,
    objective_id         UUID,
    team_id              UUID,
    provider             TEXT NOT NULL,
    model                TEXT NOT NULL,
    input_tokens         BIGINT NOT NULL,
    cached_input_tokens  BIGINT NOT NULL,
    output_tokens        BIGINT NOT NULL,
    cost                 BIGINT NOT NULL,
    at                   TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_org ON ledger_entries (org_id, id);
-- At most one reserve, one settle and one release per reservation: nothing
-- is ever charged twice.
CREATE UNIQUE INDEX ledger_once ON ledger_entries (reservation_id, kind);

-- A reservation: the worst case of one call, held against every budget that
-- applies until it is settled. `open` until settled exactly once.
CREATE TABLE reservations (
    id                  UUID PRIMARY KEY,
    org_id              UUID NOT NULL REFERENCES orgs(id),
    worker_id           UUID NOT NULL REFERENCES members(id),
    run_id              UUID REFERENCES runs(id),
    provider            TEXT NOT NULL,
    model               TEXT NOT NULL,
    input_price         BIGINT NOT NULL,
    cached_input_price  BIGINT NOT NULL,
    output_price        BIGINT NOT NULL,
    input_tokens        BIGINT NOT NULL,
    output_tokens       BIGINT NOT NULL,
    cost                BIGINT NOT NULL,
    -- Output seen at the last heartbeat: what a crash is charged.
    seen_output_tokens  BIGINT NOT NULL,
    is_open             BOOLEAN NOT NULL,
    -- When an open reservation is presumed abandoned by a crashed process.
    expires_at          TIMESTAMPTZ NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX reservations_open ON reservations (is_open, expires_at);

CREATE TABLE budgets (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES orgs(id),
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('org', 'team', 'objective', 'worker')),
    scope_id      UUID,
    period        TEXT NOT NULL CHECK (period IN ('month', 'quarter', 'lifetime')),
    token_limit   BIGINT,
    cost_limit    BIGINT,
    warn_percent  BIGINT NOT NULL,
    hard          BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX budgets_org ON budgets (org_id, scope, scope_id);

-- A budget's use in one window: settled use plus open reservations. A hard
-- budget's row is only ever raised by a conditional update that keeps it
-- within the limit, which is what makes the limit hold under concurrency.
CREATE TABLE budget_usage (
    budget_id     UUID NOT NULL REFERENCES budgets(id),
    window_start  DATE NOT NULL,
    tokens        BIGINT NOT NULL,
    cost          BIGINT NOT NULL,
    warned        BOOLEAN NOT NULL,
    PRIMARY KEY (budget_id, window_start)
);

-- Which budget windows a reservation counts against, so that settling it
-- gives back to exactly those, even if budgets changed in between.
CREATE TABLE budget_holds (
    reservation_id  UUID NOT NULL,
    budget_id       UUID NOT NULL REFERENCES budgets(id),
    window_start    DATE NOT NULL,
    PRIMARY KEY (reservation_id, budget_id)
);

CREATE TABLE reviews (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES orgs(id),
    run_id        UUID NOT NULL UNIQUE REFERENCES runs(id),
    work_item_id  UUID NOT NULL REFERENCES work_items(id),
    worker_id     UUID NOT NULL REFERENCES members(id),
    reviewer_id   UUID NOT NULL REFERENCES members(id),
    verdict       TEXT NOT NULL CHECK (verdict IN ('accept', 'revise', 'reject')),
    feedback      TEXT NOT NULL,
    rating        BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX reviews_worker ON reviews (worker_id);
