//! The server's integration tests, one binary: each module is one capability
//! through the router, on SQLite and PostgreSQL. One binary rather than one
//! per file because each links the whole stack with llama.cpp: nine links
//! cost CI minutes and gigabytes for nothing.

mod support;

mod agents;
mod cockpit;
mod contract;
mod decisions;
mod flows;
mod labour;
mod people;
mod pulse;
mod routines;
mod service;
mod strategy;
mod work;
mod workforce;
