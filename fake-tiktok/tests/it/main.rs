//! Integration tests over real HTTP: one binary, one module per concept.

mod authorize;
mod common;
mod control;
mod display;
mod faults;
mod latency;
mod mint;
mod moderation;
mod photo;
mod posting;
mod receiver;
mod token;
mod webhooks;
