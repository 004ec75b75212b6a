-- The engine drafts the AI worker's proposal for a decision a person asked
-- for; while it does, the decision is claimed until this time, so another
-- engine leaves it alone, and a claim whose engine died lapses.
ALTER TABLE decisions ADD COLUMN drafting_until TEXT;
CREATE INDEX decisions_to_draft ON decisions (status, drafting_until) WHERE status = 'open';
