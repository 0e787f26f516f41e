//! A small key-value store per tenant and plugin, kept in the host's
//! database. Needs `kv = { quota_bytes = N }` in the manifest; writes past
//! the quota fail with [`Error::QuotaExceeded`].

pub use crate::bindings::host::cam::plugin::kv::Error;

impl From<Error> for String {
    fn from(error: Error) -> Self {
        match error {
            Error::Denied => "kv: not granted by the plugin's manifest".to_owned(),
            Error::QuotaExceeded(message) => format!("kv: quota exceeded: {message}"),
            Error::Storage(message) => format!("kv: storage failed (try again later): {message}"),
        }
    }
}

/// The bytes stored under `key`, if any.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, Error> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::host::cam::plugin::kv::get(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::kv_get(key)
    }
}

/// Stores `value` under `key`, replacing what was there.
pub fn set(key: &str, value: &[u8]) -> Result<(), Error> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::host::cam::plugin::kv::set(key, value)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::kv_set(key, value)
    }
}

/// Removes `key` (nothing happens when it is absent).
pub fn delete(key: &str) -> Result<(), Error> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::host::cam::plugin::kv::delete(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::kv_delete(key)
    }
}

/// The UTF-8 text stored under `key`; bytes that are not UTF-8 are replaced.
pub fn get_string(key: &str) -> Result<Option<String>, Error> {
    Ok(get(key)?.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// Stores `value` as UTF-8 under `key`.
pub fn set_string(key: &str, value: &str) -> Result<(), Error> {
    set(key, value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_value_reads_back_until_deleted() {
        crate::testing::reset();
        set_string("cursor", "42").unwrap();
        assert_eq!(get_string("cursor").unwrap().as_deref(), Some("42"));
        delete("cursor").unwrap();
        assert_eq!(get("cursor").unwrap(), None);
    }
}
