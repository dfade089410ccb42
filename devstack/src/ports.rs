//! Loopback ports for servers the tests start as separate processes (moto, the fake TikTok).
//!
//! A port the kernel hands out for `bind(0)` lies in its ephemeral range, the same range it
//! draws from for every outgoing connection: between our check and the server's own bind, any
//! connection made meanwhile (cargo, pip, the functions, another test) can take it. A port below
//! that range is never handed out implicitly, so once it is seen free only another explicit bind
//! can take it. The fixed ports of the scripts (`make dev`, e2e, contract, browser) all lie below
//! 30000; the ports here are drawn from [`POOL`] above them.

use std::net::TcpListener;
use std::ops::RangeInclusive;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where ports are drawn from: above every fixed port of the project's scripts, below Linux's
/// default ephemeral range (32768–60999).
pub const POOL: RangeInclusive<u16> = 30_000..=32_767;

/// Linux's default when `/proc/sys/net/ipv4/ip_local_port_range` cannot be read.
pub const DEFAULT_EPHEMERAL: RangeInclusive<u16> = 32_768..=60_999;

/// The kernel's ephemeral port range, as `/proc/sys/net/ipv4/ip_local_port_range` says.
pub fn ephemeral_range() -> RangeInclusive<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| parse_range(&text))
        .unwrap_or(DEFAULT_EPHEMERAL)
}

/// Parses the two numbers of `ip_local_port_range` ("32768\t60999\n").
pub fn parse_range(text: &str) -> Option<RangeInclusive<u16>> {
    let mut numbers = text.split_whitespace().map(str::parse::<u16>);
    let low = numbers.next()?.ok()?;
    let high = numbers.next()?.ok()?;
    (low <= high).then_some(low..=high)
}

/// A loopback port that is free now and outside the ephemeral range. Starts at a different place
/// in [`POOL`] for each process and call, so test binaries run side by side rarely probe the same
/// port. Falls back to one the kernel picks when the machine's ephemeral range covers the pool.
pub fn free_port() -> u16 {
    let ephemeral = ephemeral_range();
    let size = u32::from(POOL.end() - POOL.start()) + 1;
    let start = seed() % size;
    for step in 0..size {
        let port = POOL.start() + ((start + step) % size) as u16;
        if ephemeral.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or(0)
}

/// Varies per process and per call (no randomness crate needed for spreading probes).
fn seed() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos
        .wrapping_add(std::process::id().wrapping_mul(7919))
        .wrapping_add(CALLS.fetch_add(1, Ordering::Relaxed).wrapping_mul(104_729))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernels_format() {
        assert_eq!(parse_range("32768\t60999\n"), Some(32768..=60999));
        assert_eq!(parse_range("1024 65535"), Some(1024..=65535));
        assert_eq!(parse_range("60999 32768"), None);
        assert_eq!(parse_range(""), None);
    }

    #[test]
    fn a_free_port_is_outside_the_ephemeral_range_and_bindable() {
        let ephemeral = ephemeral_range();
        for _ in 0..20 {
            let port = free_port();
            assert!(port != 0);
            if !ephemeral.contains(POOL.start()) || !ephemeral.contains(POOL.end()) {
                assert!(!ephemeral.contains(&port), "{port} is in {ephemeral:?}");
            }
            assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
        }
    }

    #[test]
    fn a_port_held_by_someone_else_is_never_returned() {
        let held: Vec<TcpListener> = POOL
            .clone()
            .take(200)
            .filter_map(|port| TcpListener::bind(("127.0.0.1", port)).ok())
            .collect();
        let held_ports: Vec<u16> = held
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| a.port())
            .collect();
        for _ in 0..50 {
            assert!(!held_ports.contains(&free_port()));
        }
    }
}
