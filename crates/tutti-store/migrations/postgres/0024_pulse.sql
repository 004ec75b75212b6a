-- The team's voice: pulse surveys (see tutti_domain::pulse) and the org's
-- settings for them and for the workload view.
--
-- Anonymity is kept by the tables' shapes. A ballot says who has answered a
-- round; a response says what was answered, filed under a team. They share
-- no id and carry no time finer than the round, and a response's key is a
-- random id, so its place in the key says nothing about when it came.
-- PostgreSQL's own row bookkeeping (the xmin and ctid system columns) is
-- below what tutti reads or shows; docs/architecture.md says what that
-- means for whoever runs the database.
ALTER TABLE orgs ADD COLUMN pulse_k BIGINT NOT NULL DEFAULT 5;
ALTER TABLE orgs ADD COLUMN load_open BIGINT NOT NULL DEFAULT 8;
ALTER TABLE orgs ADD COLUMN load_overdue BIGINT NOT NULL DEFAULT 2;
ALTER TABLE orgs ADD COLUMN load_queue_per_slot BIGINT NOT NULL DEFAULT 3;

CREATE TABLE pulse_surveys (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES orgs(id),
    team_id     UUID NOT NULL REFERENCES teams(id),
    title       TEXT NOT NULL,
    -- The questions as tutti_domain::pulse::Question serialises them (JSON).
    questions   TEXT NOT NULL,
    opens_on    DATE NOT NULL,
    closes_on   DATE NOT NULL,
    repeat      TEXT NOT NULL CHECK (repeat IN ('once', 'biweekly', 'monthly')),
    enps_drop   BIGINT NOT NULL,
    score_drop  DOUBLE PRECISION NOT NULL,
    created_by  UUID NOT NULL REFERENCES members(id),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX pulse_surveys_org ON pulse_surveys (org_id, id);

CREATE TABLE pulse_ballots (
    survey_id   UUID NOT NULL REFERENCES pulse_surveys(id),
    round       BIGINT NOT NULL,
    member_id   UUID NOT NULL REFERENCES members(id),
    PRIMARY KEY (survey_id, round, member_id)
);

CREATE TABLE pulse_responses (
    id          UUID PRIMARY KEY,
    survey_id   UUID NOT NULL REFERENCES pulse_surveys(id),
    round       BIGINT NOT NULL,
    team_id     UUID NOT NULL REFERENCES teams(id),
    -- The answers as tutti_domain::pulse::Answer serialises them (JSON).
    answers     TEXT NOT NULL
);
CREATE INDEX pulse_responses_round ON pulse_responses (survey_id, round);
