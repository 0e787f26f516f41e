//! The plugin's own settings from its manifest's `[config]` table. Needs
//! `config = true` in the manifest.
//!
//! The host hands TOML strings over as they are and every other value (numbers,
//! booleans, arrays, tables) as JSON text; [`get_json`] and [`load`] undo that.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;

/// A config key that is missing or does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key, or `[config]` for the whole table.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config `{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for String {
    fn from(error: ConfigError) -> Self {
        error.to_string()
    }
}

/// The raw value of `key`: TOML strings as they are, anything else as JSON text.
pub fn get(key: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::host::cam::plugin::config::get(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::config_get(key)
    }
}

/// Every key with its raw value.
pub fn all() -> Vec<(String, String)> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::host::cam::plugin::config::all()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::config_all()
    }
}

/// The value of `key`, or an error naming the key when it is not set.
pub fn require(key: &str) -> Result<String, ConfigError> {
    get(key).ok_or_else(|| ConfigError {
        key: key.to_owned(),
        message: "is not set in the manifest's [config] table".to_owned(),
    })
}

/// The value of `key` deserialized into `T`; `Ok(None)` when it is not set.
///
/// A value that is not JSON text is taken as a string, so `get_json::<String>`
/// reads TOML strings too.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, ConfigError> {
    let Some(raw) = get(key) else {
        return Ok(None);
    };
    from_raw(&raw).map(Some).map_err(|message| ConfigError {
        key: key.to_owned(),
        message,
    })
}

/// Like [`get_json`] but an unset key is an error.
pub fn require_json<T: DeserializeOwned>(key: &str) -> Result<T, ConfigError> {
    get_json(key)?.ok_or_else(|| ConfigError {
        key: key.to_owned(),
        message: "is not set in the manifest's [config] table".to_owned(),
    })
}

/// The whole `[config]` table as a JSON object, each value decoded as in
/// [`get_json`].
pub fn to_json() -> Value {
    Value::Object(
        all()
            .into_iter()
            .map(|(key, raw)| {
                let value = raw_to_value(&raw);
                (key, value)
            })
            .collect(),
    )
}

/// The whole `[config]` table deserialized into `T` (a struct with
/// `#[serde(default)]` fields is the usual shape).
pub fn load<T: DeserializeOwned>() -> Result<T, ConfigError> {
    T::deserialize(to_json()).map_err(|e| ConfigError {
        key: "[config]".to_owned(),
        message: e.to_string(),
    })
}

fn raw_to_value(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

fn from_raw<T: DeserializeOwned>(raw: &str) -> Result<T, String> {
    match serde_json::from_str::<T>(raw) {
        Ok(value) => Ok(value),
        // A TOML string such as `https://x` is not JSON: try it as a string.
        Err(json_error) => {
            T::deserialize(Value::String(raw.to_owned())).map_err(|_| format!("{json_error} (value: {raw:?})"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn strings_and_json_values_both_deserialize() {
        testing::reset();
        testing::set_config("url", "https://api.example.com");
        testing::set_config("size", "25");
        testing::set_config("tags", r#"["a","b"]"#);
        assert_eq!(
            get_json::<String>("url").unwrap().as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(get_json::<u32>("size").unwrap(), Some(25));
        assert_eq!(
            get_json::<Vec<String>>("tags").unwrap(),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(get_json::<u32>("missing").unwrap(), None);
    }

    #[test]
    fn a_badly_shaped_value_names_its_key() {
        testing::reset();
        testing::set_config("size", "lots");
        let error = get_json::<u32>("size").unwrap_err();
        assert_eq!(error.key, "size");
        assert!(String::from(error).contains("config `size`"));
    }

    #[test]
    fn load_reads_the_whole_table() {
        #[derive(serde::Deserialize)]
        struct Settings {
            base_url: String,
            page_size: u32,
        }
        testing::reset();
        testing::set_config("base_url", "http://127.0.0.1:1");
        testing::set_config("page_size", "50");
        let settings: Settings = load().unwrap();
        assert_eq!(settings.base_url, "http://127.0.0.1:1");
        assert_eq!(settings.page_size, 50);
    }
}
