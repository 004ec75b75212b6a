-- The team's voice: pulse surveys (see tutti_domain::pulse) and the org's
-- settings for them and for the workload view.
--
-- Anonymity is kept by the tables' shapes. A ballot says who has answered a
-- round; a response says what was answered, filed under a team. They share
-- no id and carry no time finer than the round, and a response's key is a
-- random id, so its place among the others says nothing about when it came
-- (WITHOUT ROWID: no hidden row number in order of arrival either).
ALTER TABLE orgs ADD COLUMN pulse_k INTEGER NOT NULL DEFAULT 5;
ALTER TABLE orgs ADD COLUMN load_open INTEGER NOT NULL DEFAULT 8;
ALTER TABLE orgs ADD COLUMN load_overdue INTEGER NOT NULL DEFAULT 2;
ALTER TABLE orgs ADD COLUMN load_queue_per_slot INTEGER NOT NULL DEFAULT 3;

CREATE TABLE pulse_surveys (
    id          BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL REFERENCES orgs(id),
    team_id     BLOB NOT NULL REFERENCES teams(id),
    title       TEXT NOT NULL,
    -- The questions as tutti_domain::pulse::Question serialises them (JSON).
    questions   TEXT NOT NULL,
    opens_on    TEXT NOT NULL,
    closes_on   TEXT NOT NULL,
    repeat      TEXT NOT NULL CHECK (repeat IN ('once', 'biweekly', 'monthly')),
    enps_drop   INTEGER NOT NULL,
    score_drop  REAL NOT NULL,
    created_by  BLOB NOT NULL REFERENCES members(id),
    created_at  TEXT NOT NULL
);
CREATE INDEX pulse_surveys_org ON pulse_surveys (org_id, id);

CREATE TABLE pulse_ballots (
    survey_id   BLOB NOT NULL REFERENCES pulse_surveys(id),
    round       INTEGER NOT NULL,
    member_id   BLOB NOT NULL REFERENCES members(id),
    PRIMARY KEY (survey_id, round, member_id)
) WITHOUT ROWID;

CREATE TABLE pulse_responses (
    id          BLOB PRIMARY KEY,
    survey_id   BLOB NOT NULL REFERENCES pulse_surveys(id),
    round       INTEGER NOT NULL,
    team_id     BLOB NOT NULL REFERENCES teams(id),
    -- The answers as tutti_domain::pulse::Answer serialises them (JSON).
    answers     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX pulse_responses_round ON pulse_responses (survey_id, round);
