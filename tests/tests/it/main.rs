//! The integration tests, as one test binary: one link instead of eleven, and one pool of test
//! threads for all of them. The fault-injection tests (`tests/tests/faults.rs`) stay a binary of
//! their own: their margins (an AWS call delayed to 700 ms against a 1 s attempt timeout) hold on
//! a machine that is not also running a hundred other tests.
//!
//! Each module is one subject (`cargo test -p integration-tests --test it connect::` runs one).
//! The modules share one process: the captured logs (`integration_tests::logs`) hold every test's
//! lines, so each test checks its own stack's secrets against all of them.

mod app_events;
mod aws_round_trips;
mod connect;
mod docs;
mod envelope;
mod events;
mod least_privilege;
mod local_stack;
mod profile_item;
mod publish;
mod refresh_job;
mod scheduled;
mod security;
mod use_connection;
mod webhook;
