-- The AI workforce, steered (tutti_domain::guard, labour::template,
-- labour::capacity, strategy's evidence).

-- Guard-rail checks a decision space applies to every AI output in its
-- scope (tutti_domain::guard::GuardCheck as JSON), and what they found on a
-- run: a run whose output failed went back to its worker (sent_back).
ALTER TABLE decision_spaces ADD COLUMN guards TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN findings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN sent_back BOOLEAN NOT NULL DEFAULT FALSE;

-- The org's cap on AI runs running at once, across all its workers and
-- every process (none: only each worker's own concurrency).
ALTER TABLE orgs ADD COLUMN ai_concurrency INTEGER;

-- Work-order templates, the org's prompt library. A version is never
-- changed; a new one is added. Versions in use take new work in turns.
CREATE TABLE templates (
    id          BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    created_by  BLOB NOT NULL REFERENCES members(id),
    created_at  TEXT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE template_versions (
    id          BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL REFERENCES orgs(id),
    template_id BLOB NOT NULL REFERENCES templates(id),
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    criteria    TEXT NOT NULL,
    note        TEXT NOT NULL,
    in_use      BOOLEAN NOT NULL,
    created_by  BLOB NOT NULL REFERENCES members(id),
    created_at  TEXT NOT NULL,
    UNIQUE (template_id, version)
);

ALTER TABLE work_items ADD COLUMN template_version_id BLOB REFERENCES template_versions(id);
ALTER TABLE runs ADD COLUMN template_version_id BLOB REFERENCES template_versions(id);
CREATE INDEX work_items_template_version ON work_items (template_version_id) WHERE template_version_id IS NOT NULL;

-- Evidence behind a check-in: done work, or an accepted run of it.
CREATE TABLE check_in_evidence (
    check_in_id  BLOB NOT NULL REFERENCES check_ins(id),
    work_item_id BLOB NOT NULL REFERENCES work_items(id),
    org_id       BLOB NOT NULL REFERENCES orgs(id),
    run_id       BLOB REFERENCES runs(id),
    attached_by  BLOB NOT NULL REFERENCES members(id),
    attached_at  TEXT NOT NULL,
    PRIMARY KEY (check_in_id, work_item_id)
);
CREATE INDEX check_in_evidence_item ON check_in_evidence (work_item_id);
