-- How long a call waits on an OpenAI-compatible provider, in seconds. NULL
-- is the default of `CallLimits` (so providers made before keep working
-- and take the defaults).
ALTER TABLE providers ADD COLUMN connect_timeout_secs BIGINT;
ALTER TABLE providers ADD COLUMN first_byte_timeout_secs BIGINT;
ALTER TABLE providers ADD COLUMN idle_timeout_secs BIGINT;
ALTER TABLE providers ADD COLUMN deadline_secs BIGINT;
