//! Consecutive-failure tracking and quarantine for one plugin version.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::runtime::FailureKind;

/// The last failure of a plugin version, for `cam plugins status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LastFailure {
    /// Its kind.
    pub kind: FailureKind,
    /// What happened.
    pub message: String,
}

/// Health of one loaded plugin version. A version that fails
/// `quarantine_after` calls in a row is quarantined: it is not called again
/// until an operator releases it or a new version replaces it.
#[derive(Debug, Default)]
pub struct Health {
    consecutive_failures: AtomicU32,
    quarantined: AtomicBool,
    calls: AtomicU64,
    failures: AtomicU64,
    last_failure: Mutex<Option<LastFailure>>,
}

/// A point-in-time copy of [`Health`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct HealthSnapshot {
    /// Calls made.
    pub calls: u64,
    /// Calls that failed.
    pub failures: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Whether calls are refused.
    pub quarantined: bool,
    /// The most recent failure.
    pub last_failure: Option<LastFailure>,
}

impl Health {
    /// Whether calls are refused.
    pub fn is_quarantined(&self) -> bool {
        self.quarantined.load(Ordering::Acquire)
    }

    /// Records a successful call.
    pub fn record_success(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.consecutive_failures.store(0, Ordering::Release);
    }

    /// Records a failed call; returns true when this failure quarantined the version.
    pub fn record_failure(&self, kind: FailureKind, message: &str, quarantine_after: u32) -> bool {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_failure.lock() {
            *last = Some(LastFailure {
                kind,
                message: message.to_string(),
            });
        }
        if !kind.counts_against_plugin() {
            return false;
        }
        let failures = self.consecutive_failures.fetch_add(1, Ordering::AcqRel) + 1;
        failures >= quarantine_after && !self.quarantined.swap(true, Ordering::AcqRel)
    }

    /// Lifts a quarantine (an operator's decision).
    pub fn release(&self) {
        self.consecutive_failures.store(0, Ordering::Release);
        self.quarantined.store(false, Ordering::Release);
    }

    /// A copy for reporting.
    pub fn snapshot(&self) -> HealthSnapshot {
        HealthSnapshot {
            calls: self.calls.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            consecutive_failures: self.consecutive_failures.load(Ordering::Relaxed),
            quarantined: self.is_quarantined(),
            last_failure: self.last_failure.lock().ok().and_then(|l| l.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_quarantined_after_n_failures_in_a_row_and_released_by_an_operator() {
        let health = Health::default();
        assert!(!health.record_failure(FailureKind::Timeout, "slow", 3));
        health.record_success();
        assert!(!health.record_failure(FailureKind::Trap, "boom", 3));
        assert!(!health.record_failure(FailureKind::Trap, "boom", 3));
        assert!(!health.is_quarantined());
        assert!(health.record_failure(FailureKind::Trap, "boom", 3));
        assert!(health.is_quarantined());
        health.release();
        assert!(!health.is_quarantined());
    }

    #[test]
    fn host_side_failures_do_not_count_towards_quarantine() {
        let health = Health::default();
        for _ in 0..10 {
            health.record_failure(FailureKind::Host, "pool exhausted", 2);
        }
        assert!(!health.is_quarantined());
    }
}
