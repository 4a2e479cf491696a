//! Memory bounds under hostile input: the per-peer rate limiter and the size accounting
//! ([`Footprint`]) the tests use to show that what a node stores stays bounded.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A deterministic account of what a core stores, independent of the allocator: the numbers
/// the limits of [`Limits`](crate::Limits) bound. Returned by
/// [`Core::footprint`](crate::Core::footprint).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footprint {
    /// Node states in the view (the node itself included).
    pub nodes: usize,
    /// Forgotten records.
    pub forgotten: usize,
    /// Entries (values and tombstones) over all node states.
    pub entries: usize,
    /// Largest number of entries held for one node.
    pub max_entries_per_node: usize,
    /// Bytes of keys, values and node names held (ids of nodes and forgotten records included).
    pub bytes: usize,
    /// Source addresses tracked by the rate limiter.
    pub tracked_peers: usize,
    /// Datagrams and events queued (drained by `poll_transmit` / `poll_event`).
    pub queued: usize,
}

/// One micro-token: a token is 1,000,000 of them, so that refills are exact integers.
const MICRO: u128 = 1_000_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Micro-tokens available.
    tokens: u128,
    /// When `tokens` was last refilled.
    at: Duration,
}

/// Token bucket per source address, in a table of bounded size (see
/// [`Limits::max_datagrams_per_peer_per_sec`](crate::Limits::max_datagrams_per_peer_per_sec)).
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: BTreeMap<SocketAddr, Bucket>,
}

impl RateLimiter {
    pub(crate) fn len(&self) -> usize {
        self.buckets.len()
    }

    fn refill(b: &mut Bucket, rate: u32, now: Duration) {
        let cap = u128::from(rate) * MICRO;
        let elapsed = now.saturating_sub(b.at).as_micros();
        b.tokens = b
            .tokens
            .saturating_add(elapsed.saturating_mul(u128::from(rate)))
            .min(cap);
        b.at = b.at.max(now);
    }

    /// Whether a datagram from `src` at `now` is within the limit (spends a token if so).
    pub(crate) fn admit(
        &mut self,
        src: SocketAddr,
        now: Duration,
        rate: u32,
        max_peers: usize,
    ) -> bool {
        if rate == 0 {
            return true;
        }
        let cap = u128::from(rate) * MICRO;
        if !self.buckets.contains_key(&src) {
            if self.buckets.len() >= max_peers {
                // Evict every source whose bucket has refilled completely: forgetting it loses
                // nothing (a new bucket starts full).
                self.buckets.retain(|_, b| {
                    Self::refill(b, rate, now);
                    b.tokens < cap
                });
                if self.buckets.len() >= max_peers {
                    return false;
                }
            }
            self.buckets.insert(
                src,
                Bucket {
                    tokens: cap,
                    at: now,
                },
            );
        }
        let b = self.buckets.get_mut(&src).expect("inserted above");
        Self::refill(b, rate, now);
        if b.tokens >= MICRO {
            b.tokens -= MICRO;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(last: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, last], 7000))
    }

    fn ms(m: u64) -> Duration {
        Duration::from_millis(m)
    }

    #[test]
    fn a_bucket_admits_a_burst_of_rate_datagrams_then_one_per_refilled_token() {
        let mut l = RateLimiter::default();
        for i in 0..10 {
            assert!(l.admit(src(1), ms(0), 10, 4), "datagram {i} of the burst");
        }
        assert!(!l.admit(src(1), ms(0), 10, 4), "the burst is spent");
        assert!(
            !l.admit(src(1), ms(99), 10, 4),
            "99 ms refill less than a token"
        );
        assert!(l.admit(src(1), ms(100), 10, 4), "100 ms refill one token");
        assert!(!l.admit(src(1), ms(100), 10, 4));
        // A refill never exceeds the burst size.
        for i in 0..10 {
            assert!(
                l.admit(src(1), ms(60_000), 10, 4),
                "datagram {i} after a long idle"
            );
        }
        assert!(!l.admit(src(1), ms(60_000), 10, 4));
    }

    #[test]
    fn a_rate_of_zero_admits_everything_and_tracks_nobody() {
        let mut l = RateLimiter::default();
        for i in 0..100 {
            assert!(l.admit(src(i), ms(0), 0, 1));
        }
        assert_eq!(l.len(), 0);
    }

    #[test]
    fn a_full_table_refuses_a_new_source_until_a_tracked_bucket_has_refilled_completely() {
        let mut l = RateLimiter::default();
        assert!(l.admit(src(1), ms(0), 10, 2));
        assert!(l.admit(src(2), ms(0), 10, 2));
        assert_eq!(l.len(), 2);
        // Both tracked buckets are short of a token: neither may be evicted.
        assert!(!l.admit(src(3), ms(50), 10, 2));
        assert_eq!(l.len(), 2);
        // Source 2 spends more, source 1 refills completely by 100 ms and is evicted.
        assert!(l.admit(src(2), ms(60), 10, 2));
        assert!(l.admit(src(3), ms(100), 10, 2));
        assert_eq!(l.len(), 2);
        // Source 1 was forgotten: it comes back with a full bucket, once the tracked buckets
        // (sources 2 and 3) have refilled completely and are evicted.
        assert!(!l.admit(src(1), ms(150), 10, 2));
        assert!(l.admit(src(1), ms(200), 10, 2));
        for _ in 0..9 {
            assert!(l.admit(src(1), ms(200), 10, 2));
        }
        assert!(!l.admit(src(1), ms(200), 10, 2));
    }
}
