//! Typed plugin failures. Every failure names the plugin and its version.

use std::fmt;

/// What went wrong in one plugin call or load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The call ran past its wall-clock deadline (a loop, a sleep, a slow HTTP call).
    Timeout,
    /// The plugin tried to grow its memory past its cap.
    MemoryLimit,
    /// The plugin overflowed its stack (unbounded recursion).
    StackOverflow,
    /// The plugin trapped: a panic, an `unreachable`, an out-of-bounds access.
    Trap,
    /// The plugin returned more data than the host accepts.
    OutputTooLarge,
    /// The host refused to send this much data into the plugin in one call.
    InputTooLarge,
    /// The plugin used a host capability its manifest does not grant.
    CapabilityDenied,
    /// The file is not a loadable component (corrupt, truncated, not wasm).
    InvalidComponent,
    /// The component does not implement the world its manifest declares.
    WrongWorld,
    /// The manifest beside the component is missing or wrong.
    InvalidManifest,
    /// The plugin ran fine and returned an error value of its own.
    PluginError,
    /// The plugin failed too often in a row and is not called until released.
    Quarantined,
    /// The host could not run the call (no free instance slot, an internal error).
    Host,
}

impl FailureKind {
    /// A stable, kebab-case name for logs, metrics and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::MemoryLimit => "memory-limit",
            FailureKind::StackOverflow => "stack-overflow",
            FailureKind::Trap => "trap",
            FailureKind::OutputTooLarge => "output-too-large",
            FailureKind::InputTooLarge => "input-too-large",
            FailureKind::CapabilityDenied => "capability-denied",
            FailureKind::InvalidComponent => "invalid-component",
            FailureKind::WrongWorld => "wrong-world",
            FailureKind::InvalidManifest => "invalid-manifest",
            FailureKind::PluginError => "plugin-error",
            FailureKind::Quarantined => "quarantined",
            FailureKind::Host => "host",
        }
    }

    /// Whether this failure counts towards quarantine. Host-side problems and
    /// calls refused because of quarantine do not.
    pub fn counts_against_plugin(self) -> bool {
        !matches!(
            self,
            FailureKind::Quarantined | FailureKind::Host | FailureKind::InputTooLarge
        )
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed plugin load or call.
///
/// `message` is the host's account. Whatever the plugin itself wrote to
/// stderr never stands in for it: a summary of it (escaped, cut short) is
/// kept apart in `plugin_stderr` and appended to `message` behind the label
/// `plugin stderr:`, always last, so nothing a plugin prints reads as the
/// host's words.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin {plugin}@{version}: {kind}: {message}")]
pub struct PluginError {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The plugin's name.
    pub plugin: String,
    /// The plugin's version: the first 12 hex digits of its sha256.
    pub version: String,
    /// What happened, for a human.
    pub message: String,
    /// For an output that breaks the contract (a `plugin-error`): the field
    /// it names, under the export's name (`classify.confidence`, `score[2].value`).
    pub field: Option<Box<str>>,
    /// What the plugin wrote to stderr, as far as it explains the failure:
    /// escaped (no control characters) and cut short. Also at the end of
    /// `message`, behind `plugin stderr:`. (Both are boxed to keep the
    /// error small: it is the `Err` of every call.)
    pub plugin_stderr: Option<Box<str>>,
}

impl PluginError {
    /// A failure of `kind` for the plugin `plugin` at `version`.
    pub fn new(kind: FailureKind, plugin: &str, version: &str, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            plugin: plugin.to_string(),
            version: version.to_string(),
            message: message.into(),
            field: None,
            plugin_stderr: None,
        }
    }
}

/// Raised inside a host import when the plugin uses a capability it was not
/// granted; turned into [`FailureKind::CapabilityDenied`] by the call guard.
#[derive(Debug, thiserror::Error)]
#[error(
    "capability `{0}` is not granted in the plugin's manifest; add `{0} = true` under [capabilities] if it should be"
)]
pub struct CapabilityDenied(pub &'static str);
