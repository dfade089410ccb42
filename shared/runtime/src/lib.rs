//! The wiring: what each function builds once per cold start (configuration, AWS clients, the
//! secrets, the services over the real adapters) and the JSON logging every function starts with.

#![warn(missing_docs)]

pub mod cold_start;
pub mod config;
pub mod serve;
pub mod telemetry;
