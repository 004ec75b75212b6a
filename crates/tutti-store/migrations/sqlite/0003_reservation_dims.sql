-- What a reservation serves, kept on it so that settling it writes the
-- ledger without looking the run, item and teams up again.
ALTER TABLE reservations ADD COLUMN work_item_id BLOB;
ALTER TABLE reservations ADD COLUMN key_result_id BLOB;
ALTER TABLE reservations ADD COLUMN objective_id BLOB;
ALTER TABLE reservations ADD COLUMN team_id BLOB;
