//! Loopback ports for servers started as child processes (by the tests,
//! the dev stack's tools and the launch crate).
//!
//! A child process (the router, `nats-server`) is told its port on the
//! command line, so the port must be chosen before the child binds it, and
//! something else can take it in between. Asking the kernel for a free port
//! (binding port 0 and closing the socket again) makes that likely under
//! load: the kernel hands out the same ephemeral range to every other
//! `bind(0)` and to the local end of every outgoing connection, so the port
//! just released is soon given to someone else. The ports chosen here come
//! from below the ephemeral range, which the kernel never hands out by
//! itself; only a process that asks for the same port by number can take it,
//! and the picks are random across thousands of ports. Callers that start a
//! child still retry with a fresh port when the child reports that its port
//! was taken.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::ops::Range;

use rand::Rng;

/// Where the kernel's ephemeral range is described.
const EPHEMERAL_RANGE_FILE: &str = "/proc/sys/net/ipv4/ip_local_port_range";

/// The lowest port picked: below it lie the well-known and registered
/// ports that services on a developer's machine commonly listen on.
const LOWEST_PICKED_PORT: u16 = 10_000;

/// A range smaller than this leaves too few ports to pick from at random;
/// the kernel's own choice is used instead.
const SMALLEST_USEFUL_RANGE: u16 = 1_000;

/// How many random ports are tried before falling back to the kernel.
const ATTEMPTS: usize = 64;

/// A loopback address whose port nothing listens on now, from outside the
/// kernel's ephemeral range where the machine's range allows it.
pub fn unused_loopback_address() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, unused_loopback_port()))
}

/// A loopback port nothing listens on now; see [`unused_loopback_address`].
pub fn unused_loopback_port() -> u16 {
    let candidates = ports_outside_the_ephemeral_range(ephemeral_range());
    if let Some(candidates) = candidates {
        let mut random = rand::thread_rng();
        for _ in 0..ATTEMPTS {
            let port = random.gen_range(candidates.clone());
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return port;
            }
        }
    }
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("the kernel has a free loopback port")
}

/// The kernel's ephemeral range, or Linux's default when it cannot be read
/// (another operating system, or a sandbox without `/proc`).
fn ephemeral_range() -> Range<u16> {
    std::fs::read_to_string(EPHEMERAL_RANGE_FILE)
        .ok()
        .and_then(|text| parse_ephemeral_range(&text))
        .unwrap_or(32_768..61_000)
}

/// Reads "low<TAB>high" (both inclusive) into a half-open range.
fn parse_ephemeral_range(text: &str) -> Option<Range<u16>> {
    let mut bounds = text.split_whitespace().map(str::parse::<u16>);
    let low = bounds.next()?.ok()?;
    let high = bounds.next()?.ok()?;
    (low <= high).then(|| low..high.saturating_add(1))
}

/// The ports to pick from: below the ephemeral range if enough lie between
/// [`LOWEST_PICKED_PORT`] and it, else above it; `None` when the range
/// leaves too few on either side.
fn ports_outside_the_ephemeral_range(ephemeral: Range<u16>) -> Option<Range<u16>> {
    let below = LOWEST_PICKED_PORT..ephemeral.start;
    let above = ephemeral.end.max(LOWEST_PICKED_PORT)..u16::MAX;
    [below, above]
        .into_iter()
        .find(|range| range.end.saturating_sub(range.start) >= SMALLEST_USEFUL_RANGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_range_is_read_with_both_ends_included() {
        assert_eq!(
            parse_ephemeral_range("32768\t60999\n"),
            Some(32_768..61_000)
        );
        assert_eq!(parse_ephemeral_range("1024 65535"), Some(1_024..u16::MAX));
        assert_eq!(parse_ephemeral_range("60999 32768"), None);
        assert_eq!(parse_ephemeral_range("32768"), None);
        assert_eq!(parse_ephemeral_range("a b"), None);
    }

    #[test]
    fn ports_are_picked_below_the_ephemeral_range_or_else_above_it() {
        assert_eq!(
            ports_outside_the_ephemeral_range(32_768..61_000),
            Some(10_000..32_768)
        );
        // A range that starts low leaves room only above it.
        assert_eq!(
            ports_outside_the_ephemeral_range(1_024..50_000),
            Some(50_000..u16::MAX)
        );
        // A range that covers nearly every port leaves the kernel to choose.
        assert_eq!(ports_outside_the_ephemeral_range(1_024..u16::MAX), None);
    }

    #[test]
    fn a_picked_port_is_outside_this_machines_ephemeral_range_and_can_be_bound() {
        let ephemeral = ephemeral_range();
        for _ in 0..20 {
            let port = unused_loopback_port();
            if ports_outside_the_ephemeral_range(ephemeral.clone()).is_some() {
                assert!(!ephemeral.contains(&port), "{port} is in {ephemeral:?}");
            }
            TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                .unwrap_or_else(|error| panic!("port {port} cannot be bound: {error}"));
        }
    }
}
