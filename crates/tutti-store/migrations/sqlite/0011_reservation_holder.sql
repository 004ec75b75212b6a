-- The process that holds an open gateway reservation. When that process
-- stops announcing itself (it crashed), any engine settles the reservation
-- at once instead of waiting for it to expire.
ALTER TABLE reservations ADD COLUMN holder TEXT;
