-- A pulse survey can be ended: no round opens after its last day
-- (tutti_domain::pulse::Survey::end).
ALTER TABLE pulse_surveys ADD COLUMN ended_on TEXT;
