//! The binary's end-to-end tests, one test binary: the compiled `tutti` driven
//! as a user would, by the CLI, headless Chromium, schemathesis and the
//! openai client. One binary rather than one per file: each links the whole
//! stack with llama.cpp.

mod common;

mod cli;
mod cockpit;
mod contract;
mod imports;
mod labour;
mod mcp;
mod pulse;
mod transfer;
