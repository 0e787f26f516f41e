//! Who is calling: the bearer token checked against the store, with failed
//! attempts limited per client address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use super::ApiState;
use super::problem::Problem;
use crate::domain::model::Role;
use crate::tokens::{AuthError, Principal};

/// Failed authentications a client address may make per window before it
/// is refused outright: plenty for a mistyped token, far too few to guess.
pub const MAX_FAILURES: u32 = 20;
/// The window failed authentications are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Failed authentications per client address, in fixed windows.
#[derive(Debug, Default)]
pub struct FailureLimiter {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailureLimiter {
    /// Seconds to wait, when `client` has failed too often lately.
    fn blocked_for(&self, client: IpAddr, now: Instant) -> Option<u64> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (start, count) = failures.get(&client)?;
        let left = FAILURE_WINDOW
            .checked_sub(now.duration_since(*start))
            .filter(|left| !left.is_zero())?;
        (*count >= MAX_FAILURES).then(|| left.as_secs().max(1))
    }

    fn record_failure(&self, client: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Forget finished windows so the map stays as small as the attack.
        failures.retain(|_, (start, _)| now.duration_since(*start) < FAILURE_WINDOW);
        let entry = failures.entry(client).or_insert((now, 0));
        entry.1 += 1;
    }
}

/// The caller of a request, authenticated.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// The caller's tenant, when its role reaches inside tenants at least as
    /// far as `needed`; a problem otherwise.
    pub fn tenant(&self, needed: Role) -> Result<&str, Problem> {
        if !self.0.role.allows(needed) {
            return Err(Problem::forbidden(format!(
                "a {} token may not do this; it needs the {} role",
                self.0.role.as_str(),
                needed.as_str()
            )));
        }
        self.0
            .tenant
            .as_deref()
            .ok_or_else(|| Problem::forbidden("a hosting-operator token reaches no tenant's data"))
    }

    /// Checks the caller is the hosting operator.
    pub fn host(&self) -> Result<(), Problem> {
        if self.0.role == Role::Host {
            Ok(())
        } else {
            Err(Problem::forbidden(
                "only a hosting-operator token (`--role host`) manages tenants",
            ))
        }
    }

    /// Who did it, for status changes and other recorded actions.
    pub fn actor(&self) -> String {
        format!("api:{}", self.0.token_id)
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let now = Instant::now();
        if let Some(seconds) = client.and_then(|c| state.limiter.blocked_for(c, now)) {
            return Err(Problem {
                retry_after: Some(seconds),
                ..Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("too many failed authentications from this address; wait {seconds} s"),
                )
            });
        }
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let result = match token {
            Some(token) => crate::tokens::authenticate(state.store.as_ref(), token, chrono::Utc::now()).await,
            None => Err(AuthError::Malformed),
        };
        match result {
            Ok(principal) => Ok(Caller(principal)),
            Err(AuthError::Store(e)) => Err(Problem::internal(&e)),
            Err(_) => {
                if let Some(client) = client {
                    state.limiter.record_failure(client, now);
                }
                Err(Problem::unauthorized())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_too_many_failures_until_the_window_ends() {
        let limiter = FailureLimiter::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(limiter.blocked_for(a, start), None);
            limiter.record_failure(a, start);
        }
        assert!(limiter.blocked_for(a, start).is_some());
        assert_eq!(limiter.blocked_for(b, start), None, "other addresses are not affected");
        assert_eq!(limiter.blocked_for(a, start + FAILURE_WINDOW), None, "the window ends");
    }
}
