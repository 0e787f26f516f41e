//! Who may start a plugin call now: one permit per pool slot for the
//! process, and at most [`CallGate::per_tenant`] of them for one tenant, so
//! a tenant running many slow calls at once cannot take every slot from the
//! others. A call waits for its permits (it does not fail); its deadline
//! starts once it has them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The permits a call holds while it runs; dropping them frees the slot.
#[derive(Debug)]
pub struct CallPermit {
    _tenant: OwnedSemaphorePermit,
    _slot: OwnedSemaphorePermit,
}

/// The process's pool slots, shared fairly between tenants.
#[derive(Debug)]
pub struct CallGate {
    slots: Arc<Semaphore>,
    per_tenant: usize,
    /// Lower ceilings the hosting operator set for some tenants.
    ceilings: Mutex<HashMap<String, usize>>,
    /// The permits of each tenant with calls running, and how many it has.
    tenants: Mutex<HashMap<String, (Arc<Semaphore>, usize)>>,
}

impl CallGate {
    /// `slots` calls at once in all, at most `per_tenant` of them (at least
    /// one) for any one tenant.
    pub fn new(slots: usize, per_tenant: usize) -> CallGate {
        CallGate {
            slots: Arc::new(Semaphore::new(slots)),
            per_tenant: per_tenant.clamp(1, slots.max(1)),
            ceilings: Mutex::new(HashMap::new()),
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// The most calls one tenant may run at once.
    pub fn per_tenant(&self) -> usize {
        self.per_tenant
    }

    /// Sets a lower ceiling for `tenant` (at most the process's own), or
    /// removes it. Calls already running keep their permits; the new ceiling
    /// holds once the tenant's running calls have ended.
    pub fn set_tenant_ceiling(&self, tenant: &str, ceiling: Option<usize>) {
        let mut ceilings = self.ceilings.lock().unwrap_or_else(|p| p.into_inner());
        match ceiling {
            Some(n) => ceilings.insert(tenant.to_string(), n.clamp(1, self.per_tenant)),
            None => ceilings.remove(tenant),
        };
    }

    /// The most calls `tenant` may run at once.
    pub fn ceiling_of(&self, tenant: &str) -> usize {
        let ceilings = self.ceilings.lock().unwrap_or_else(|p| p.into_inner());
        ceilings.get(tenant).copied().unwrap_or(self.per_tenant)
    }

    /// Waits for a permit for `tenant`, then for a pool slot. `None` when
    /// the runtime is shutting down.
    pub async fn enter(&self, tenant: &str) -> Option<CallPermit> {
        let ceiling = self.ceiling_of(tenant);
        let tenant_permits = {
            let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
            // Forget tenants with no call running (all their permits back),
            // so the map stays as small as the tenants that are busy.
            tenants.retain(|_, (s, size)| s.available_permits() < *size);
            tenants
                .entry(tenant.to_string())
                .or_insert_with(|| (Arc::new(Semaphore::new(ceiling)), ceiling))
                .0
                .clone()
        };
        // The tenant's own permit first: a tenant at its ceiling queues on
        // its own semaphore without holding a slot others could use.
        let tenant_permit = tenant_permits.acquire_owned().await.ok()?;
        let slot = self.slots.clone().acquire_owned().await.ok()?;
        Some(CallPermit {
            _tenant: tenant_permit,
            _slot: slot,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_busy_tenant_waits_at_its_ceiling_while_another_tenant_gets_a_slot() {
        let gate = Arc::new(CallGate::new(4, 2));
        let a1 = gate.enter("a").await.expect("a's first");
        let _a2 = gate.enter("a").await.expect("a's second");
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter("a").await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "a's third call waits at its ceiling of 2");
        let b = tokio::time::timeout(Duration::from_secs(1), gate.enter("b"))
            .await
            .expect("b is not held up by a");
        assert!(b.is_some());
        drop(a1);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("a's third call starts once one of a's calls ends")
            .expect("joined");
    }

    #[tokio::test]
    async fn a_tenant_with_a_lower_ceiling_waits_at_it() {
        let gate = Arc::new(CallGate::new(8, 4));
        gate.set_tenant_ceiling("small", Some(1));
        assert_eq!((gate.ceiling_of("small"), gate.ceiling_of("other")), (1, 4));
        let first = gate.enter("small").await.expect("first");
        let second = tokio::time::timeout(Duration::from_millis(50), gate.enter("small")).await;
        assert!(second.is_err(), "small's second call waits at its ceiling of 1");
        drop(first);
        gate.set_tenant_ceiling("small", Some(100));
        assert_eq!(gate.ceiling_of("small"), 4, "never above the process's own");
        gate.set_tenant_ceiling("small", None);
        assert_eq!(gate.ceiling_of("small"), 4);
    }

    #[tokio::test]
    async fn the_pool_bounds_all_tenants_together() {
        let gate = Arc::new(CallGate::new(2, 2));
        let _a = gate.enter("a").await.expect("a");
        let _b = gate.enter("b").await.expect("b");
        let c = tokio::time::timeout(Duration::from_millis(50), gate.enter("c")).await;
        assert!(c.is_err(), "no slot is left for c until one ends");
    }
}
