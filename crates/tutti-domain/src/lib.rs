//! tutti's domain: the entities a hybrid team works with and the rules that hold
//! between them.
//!
//! Nothing here does I/O, reads a clock or draws random numbers: time comes in as
//! `now`, ids are made by the caller. That keeps every rule deterministic and lets
//! the property tests in each module pin the invariants down (progress stays in
//! `0..=1`, a roll-up equals the mean of its parts, illegal state moves are refused,
//! a tampered audit chain is found).

pub mod access;
pub mod audit;
pub mod decision;
pub mod guard;
pub mod import;
pub mod labour;
pub mod org;
pub mod pulse;
pub mod refused;
pub mod routine;
pub mod service;
pub mod sheet;
pub mod signal;
pub mod signin;
pub mod strategy;
pub mod transfer;
pub mod validate;
pub mod work;
pub mod workload;
pub mod zone;

pub use refused::{Refused, RuleResult};
pub use validate::{Invalid, ValidationResult};
