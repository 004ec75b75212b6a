-- A webhook may be for one team (its channel): it receives the alerts in
-- that team and the teams below it. Without a team it receives every alert.
ALTER TABLE webhooks ADD COLUMN team_id BLOB REFERENCES teams(id);
