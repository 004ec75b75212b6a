-- Each org reads its times in its own IANA time zone (the cockpit's times,
-- and routines' schedules); UTC until an admin sets one.
ALTER TABLE orgs ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
