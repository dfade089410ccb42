//! Test harness: a moto server per test binary, a fake TikTok per test, fresh AWS resources per
//! test, captured logs, and helpers that drive the connect flow like a browser would.

pub mod api;
pub mod aws_calls;
pub mod aws_faults;
pub mod flow;
pub mod job;
pub mod logs;
pub mod moto;
pub mod posting;
pub mod stack;

pub use flow::{ConsentChoice, api_event};
pub use stack::{Stack, StackOptions};
