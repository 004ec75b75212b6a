//! The model providers against the real embedded model and a real HTTP
//! server, one test binary.

mod embedded;
mod openai;
