//! The wiring: what each function builds once per cold start (configuration, AWS clients, the
//! secrets, the adapters, the token keeper), the one way a function runs (`serve`), and the
//! logging every function starts with (JSON under Lambda's JSON log format). Each function crate
//! wires its own services from these parts.

#![warn(missing_docs)]

pub mod cold_start;
pub mod config;
pub mod serve;
pub mod telemetry;
