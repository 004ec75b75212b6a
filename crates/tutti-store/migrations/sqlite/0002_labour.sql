-- AI labour: providers and their priced models, runs of work orders with
-- leases, the append-only token ledger, budgets and their use, reviews.

-- How many runs of one AI worker may run at once.
ALTER TABLE members ADD COLUMN concurrency INTEGER NOT NULL DEFAULT 2;

CREATE TABLE providers (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL REFERENCES orgs(id),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('embedded', 'openai')),
    base_url     TEXT,
    -- The key comes from this environment variable, or from api_key, which
    -- is never returned by the API.
    api_key_env  TEXT,
    api_key      TEXT,
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX providers_name ON providers (org_id, name);

CREATE TABLE models (
    id                  BLOB PRIMARY KEY,
    org_id              BLOB NOT NULL REFERENCES orgs(id),
    provider_id         BLOB NOT NULL REFERENCES providers(id),
    name                TEXT NOT NULL,
    -- Micro-units of the org's currency per million tokens.
    input_price         INTEGER NOT NULL,
    cached_input_price  INTEGER NOT NULL,
    output_price        INTEGER NOT NULL,
    created_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX models_name ON models (provider_id, name);

CREATE TABLE runs (
    id                   BLOB PRIMARY KEY,
    org_id               BLOB NOT NULL REFERENCES orgs(id),
    work_item_id         BLOB NOT NULL REFERENCES work_items(id),
    worker_id            BLOB NOT NULL REFERENCES members(id),
    iteration            INTEGER NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    role_card            TEXT NOT NULL,
    work_order           TEXT NOT NULL,
    output               TEXT NOT NULL,
    provider             TEXT,
    model                TEXT,
    attempts             INTEGER NOT NULL,
    max_attempts         INTEGER NOT NULL,
    max_tokens           INTEGER NOT NULL,
    lease_owner          TEXT,
    lease_expires_at     TEXT,
    cancel_requested     BOOLEAN NOT NULL,
    -- The reservation of the attempt in flight, if any.
    reservation_id       BLOB,
    input_tokens         INTEGER NOT NULL,
    cached_input_tokens  INTEGER NOT NULL,
    output_tokens        INTEGER NOT NULL,
    cost                 INTEGER NOT NULL,
    error                TEXT,
    created_by           BLOB REFERENCES members(id),
    created_at           TEXT NOT NULL,
    started_at           TEXT,
    finished_at          TEXT
);
CREATE INDEX runs_org ON runs (org_id, id);
CREATE INDEX runs_item ON runs (work_item_id, iteration);
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_worker ON runs (worker_id, status);

-- Append-only; the application never updates or deletes a row here. For
-- every reservation, reserve = settle + release, in tokens and in cost.
CREATE TABLE ledger_entries (
    id                   BLOB PRIMARY KEY,
    org_id               BLOB NOT NULL REFERENCES orgs(id),
    reservation_id       BLOB NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('reserve', 'settle', 'release', 'adjust')),
    worker_id            BLOB NOT NULL REFERENCES members(id),
    run_id               BLOB REFERENCES runs(id),
    -- What the call served, copied here so roll-ups need no joins.
    work_item_id         BLOB,
    key_result_id        BLOB,
    objective_id         BLOB,
    team_id              BLOB,
    provider             TEXT NOT NULL,
    model                TEXT NOT NULL,
    input_tokens         INTEGER NOT NULL,
    cached_input_tokens  INTEGER NOT NULL,
    output_tokens        INTEGER NOT NULL,
    cost                 INTEGER NOT NULL,
    at                   TEXT NOT NULL
);
CREATE INDEX ledger_org ON ledger_entries (org_id, id);
-- At most one reserve, one settle and one release per reservation: nothing
-- is ever charged twice.
CREATE UNIQUE INDEX ledger_once ON ledger_entries (reservation_id, kind);

-- A reservation: the worst case of one call, held against every budget that
-- applies until it is settled. `open` until settled exactly once.
CREATE TABLE reservations (
    id                  BLOB PRIMARY KEY,
    org_id              BLOB NOT NULL REFERENCES orgs(id),
    worker_id           BLOB NOT NULL REFERENCES members(id),
    run_id              BLOB REFERENCES runs(id),
    provider            TEXT NOT NULL,
    model               TEXT NOT NULL,
    input_price         INTEGER NOT NULL,
    cached_input_price  INTEGER NOT NULL,
    output_price        INTEGER NOT NULL,
    input_tokens        INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    cost                INTEGER NOT NULL,
    -- Output seen at the last heartbeat: what a crash is charged.
    seen_output_tokens  INTEGER NOT NULL,
    is_open             BOOLEAN NOT NULL,
    -- When an open reservation is presumed abandoned by a crashed process.
    expires_at          TEXT NOT NULL,
    created_at          TEXT NOT NULL
);
CREATE INDEX reservations_open ON reservations (is_open, expires_at);

CREATE TABLE budgets (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL REFERENCES orgs(id),
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('org', 'team', 'objective', 'worker')),
    scope_id      BLOB,
    period        TEXT NOT NULL CHECK (period IN ('month', 'quarter', 'lifetime')),
    token_limit   INTEGER,
    cost_limit    INTEGER,
    warn_percent  INTEGER NOT NULL,
    hard          BOOLEAN NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX budgets_org ON budgets (org_id, scope, scope_id);

-- A budget's use in one window: settled use plus open reservations. A hard
-- budget's row is only ever raised by a conditional update that keeps it
-- within the limit, which is what makes the limit hold under concurrency.
CREATE TABLE budget_usage (
    budget_id     BLOB NOT NULL REFERENCES budgets(id),
    window_start  TEXT NOT NULL,
    tokens        INTEGER NOT NULL,
    cost          INTEGER NOT NULL,
    warned        BOOLEAN NOT NULL,
    PRIMARY KEY (budget_id, window_start)
);

-- Which budget windows a reservation counts against, so that settling it
-- gives back to exactly those, even if budgets changed in between.
CREATE TABLE budget_holds (
    reservation_id  BLOB NOT NULL,
    budget_id       BLOB NOT NULL REFERENCES budgets(id),
    window_start    TEXT NOT NULL,
    PRIMARY KEY (reservation_id, budget_id)
);

CREATE TABLE reviews (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL REFERENCES orgs(id),
    run_id        BLOB NOT NULL UNIQUE REFERENCES runs(id),
    work_item_id  BLOB NOT NULL REFERENCES work_items(id),
    worker_id     BLOB NOT NULL REFERENCES members(id),
    reviewer_id   BLOB NOT NULL REFERENCES members(id),
    verdict       TEXT NOT NULL CHECK (verdict IN ('accept', 'revise', 'reject')),
    feedback      TEXT NOT NULL,
    rating        INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    created_at    TEXT NOT NULL
);
CREATE INDEX reviews_worker ON reviews (worker_id);
