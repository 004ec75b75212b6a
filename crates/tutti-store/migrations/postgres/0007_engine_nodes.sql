-- Each engine process says here, every few seconds, that it is alive and
-- whether it has the embedded model. A process without the model leaves the
-- work of AI workers on the embedded provider to a live process that has it;
-- it takes that work only when no such process is alive (and fails it,
-- saying why). A row nobody renews is dropped after a day.
CREATE TABLE engine_nodes (
    name            TEXT PRIMARY KEY,
    embedded_model  BOOLEAN NOT NULL,
    seen_until      TIMESTAMPTZ NOT NULL
);
