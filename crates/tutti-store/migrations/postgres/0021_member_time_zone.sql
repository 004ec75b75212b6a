-- A person may read times in a zone of their own (a colleague abroad);
-- NULL follows the org's.
ALTER TABLE members ADD COLUMN time_zone TEXT;
