-- The web cockpit: passwords and languages of people, sign-in sessions,
-- alerts raised from signals, and the webhooks they are sent to.

ALTER TABLE members ADD COLUMN password_hash TEXT;
ALTER TABLE members ADD COLUMN locale TEXT;

-- A signed-in browser. Only the SHA-256 of the cookie's token is kept.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES orgs(id),
    member_id    UUID NOT NULL REFERENCES members(id),
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_member ON sessions (member_id);

-- A signal that fired. At most one open alert per fingerprint (what fired,
-- about what); it is cleared when the signal no longer holds.
CREATE TABLE alerts (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES orgs(id),
    kind         TEXT NOT NULL,
    subject_id   UUID,
    fingerprint  TEXT NOT NULL,
    -- JSON: the figures the explanation is rendered from, in any language.
    params       TEXT NOT NULL,
    link         TEXT NOT NULL,
    raised_at    TIMESTAMPTZ NOT NULL,
    cleared_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX alerts_open ON alerts (org_id, fingerprint) WHERE cleared_at IS NULL;
CREATE INDEX alerts_org ON alerts (org_id, id);

CREATE TABLE webhooks (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES orgs(id),
    name         TEXT NOT NULL,
    format       TEXT NOT NULL CHECK (format IN ('slack', 'teams')),
    url          TEXT NOT NULL,
    -- The language its messages are written in.
    locale       TEXT NOT NULL CHECK (locale IN ('de', 'en')),
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (org_id, id);

-- One row per alert and webhook: what was sent, how often it was tried,
-- and how it ended.
CREATE TABLE webhook_deliveries (
    id               UUID PRIMARY KEY,
    org_id           UUID NOT NULL REFERENCES orgs(id),
    webhook_id       UUID NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    alert_id         UUID NOT NULL REFERENCES alerts(id),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_error       TEXT,
    delivered_at     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_org ON webhook_deliveries (org_id, id);

-- The cockpit's flow figures: counts by state and kind, and what reached
-- `done` lately, read from the index alone.
CREATE INDEX work_items_flow ON work_items (org_id, state, kind);
CREATE INDEX work_items_moved ON work_items (org_id, state, updated_at);
