//! The storage contract on a real SQLite file and a real PostgreSQL server,
//! one test binary for all its stories.

mod labour;
mod routines;
mod story;
