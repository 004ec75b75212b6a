-- Whom an alert concerns: the team its subject sits in and the person it is
-- about. Each reader's cockpit leads with the alerts about them and their
-- teams; the evaluation keeps both in step while the alert is open.
ALTER TABLE alerts ADD COLUMN team_id UUID REFERENCES teams(id);
ALTER TABLE alerts ADD COLUMN person_id UUID REFERENCES members(id);
