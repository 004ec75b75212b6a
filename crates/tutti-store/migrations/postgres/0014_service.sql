-- Service quality: the service catalogue, and promises made to customers
-- across hand-overs (see tutti_domain::service).
CREATE TABLE service_products (
    id              UUID PRIMARY KEY,
    org_id          UUID NOT NULL REFERENCES orgs(id),
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    customer_group  TEXT NOT NULL,
    owner_id        UUID REFERENCES members(id),
    kind            TEXT NOT NULL CHECK (kind IN ('preventive', 'reactive')),
    -- The promised service levels, a JSON array of texts.
    levels          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_products_org ON service_products (org_id, id);

CREATE TABLE promises (
    id                  UUID PRIMARY KEY,
    org_id              UUID NOT NULL REFERENCES orgs(id),
    title               TEXT NOT NULL,
    customer            TEXT NOT NULL,
    service_product_id  UUID REFERENCES service_products(id),
    work_item_id        UUID REFERENCES work_items(id),
    made_by_team_id     UUID REFERENCES teams(id),
    keeper_team_id      UUID REFERENCES teams(id),
    promised_by         UUID NOT NULL REFERENCES members(id),
    made_at             TIMESTAMPTZ NOT NULL,
    due_at              TIMESTAMPTZ NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('open', 'paused', 'kept', 'broken')),
    paused_since        TIMESTAMPTZ,
    paused_secs         BIGINT NOT NULL DEFAULT 0,
    feasibility         TEXT NOT NULL CHECK (feasibility IN ('pending', 'feasible', 'not_feasible')),
    feasibility_by      UUID REFERENCES members(id),
    feasibility_note    TEXT NOT NULL,
    closed_at           TIMESTAMPTZ,
    close_note          TEXT NOT NULL
);
CREATE INDEX promises_org ON promises (org_id, id);
CREATE INDEX promises_state ON promises (org_id, state, due_at);
CREATE INDEX promises_product ON promises (org_id, service_product_id, id);
