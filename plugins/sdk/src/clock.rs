//! The cycle's clock, supplied by the host so a cycle can be replayed.
//! Needs `clock = true` in the manifest.

/// Unix time in milliseconds, as the host's cycle clock says.
pub fn now() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::host::cam::plugin::clock::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::now_ms()
    }
}

/// Unix time in whole seconds.
pub fn now_secs() -> i64 {
    now().div_euclid(1000)
}
