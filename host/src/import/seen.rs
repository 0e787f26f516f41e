//! The in-file dedupe set, sized for files of millions of rows.
//!
//! It is the one thing an import keeps per row, so it stores a 128-bit
//! digest of each address (the first 16 bytes of its SHA-256) instead of the
//! address itself: about 25–50 bytes per distinct address (hash table slack
//! included) instead of about 150, so a million-row file needs tens of MB,
//! not hundreds. Two different addresses share a digest with probability
//! about n²/2¹²⁹ — for a billion rows, about 1 in 10²⁰ — so the set is exact
//! in practice.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// Addresses seen so far in one file, each with the line it first appeared on.
#[derive(Debug, Default)]
pub(crate) struct SeenAddresses {
    first_line: HashMap<[u8; 16], u64>,
}

impl SeenAddresses {
    /// Records `email` at `line`; returns `None` the first time, or the
    /// line it first appeared on.
    pub(crate) fn first_seen_at(&mut self, email: &str, line: u64) -> Option<u64> {
        let digest = Sha256::digest(email.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        match self.first_line.entry(key) {
            std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(line);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_address_points_at_its_first_line() {
        let mut seen = SeenAddresses::default();
        assert_eq!(seen.first_seen_at("a@b.com", 2), None);
        assert_eq!(seen.first_seen_at("c@b.com", 3), None);
        assert_eq!(seen.first_seen_at("a@b.com", 9), Some(2));
        assert_eq!(seen.first_seen_at("a@b.com", 12), Some(2));
    }
}
