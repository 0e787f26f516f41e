//! The in-file dedupe set, sized for files of millions of rows.
//!
//! Used by [`super::LeadImport`] on its own and by dry runs; a real import
//! turns it off and lets the database catch repeats
//! ([`super::into_store`]). It is the one thing the reader keeps per row, so it stores a 96-bit
//! digest of each address (the first 12 bytes of its SHA-256) and the line
//! as a `u32` — 16 bytes a slot, about 17–34 per distinct address with the
//! hash table's slack — instead of the address itself (about 150 bytes with
//! its allocation). Two different addresses share a digest with
//! probability about n²/2⁹⁷: for a billion rows, about 1 in 10¹⁰, so the
//! set is exact in practice.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// Addresses seen so far in one file, each with the line it first appeared on.
#[derive(Debug, Default)]
pub(crate) struct SeenAddresses {
    first_line: HashMap<[u8; 12], u32>,
}

impl SeenAddresses {
    /// Records `email` at `line`; returns `None` the first time, or the
    /// line it first appeared on.
    pub(crate) fn first_seen_at(&mut self, email: &str, line: u64) -> Option<u64> {
        let digest = Sha256::digest(email.as_bytes());
        let mut key = [0u8; 12];
        key.copy_from_slice(&digest[..12]);
        match self.first_line.entry(key) {
            std::collections::hash_map::Entry::Occupied(first) => Some(u64::from(*first.get())),
            std::collections::hash_map::Entry::Vacant(slot) => {
                // A file of more than 4 billion lines (hundreds of GB) would
                // point its duplicates at line 4294967295; they are still caught.
                slot.insert(u32::try_from(line).unwrap_or(u32::MAX));
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
