//! Names that become keys, paths or URL segments (tenant ids): lowercase
//! letters, digits, `-` and `_`, starting with a letter or digit, at most
//! [`MAX_NAME_LEN`] characters.

/// The longest name accepted.
pub const MAX_NAME_LEN: usize = 40;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Empty.
    #[error("the {what} is empty")]
    Empty {
        /// What was being named (`tenant id`).
        what: &'static str,
    },
    /// Too long.
    #[error("the {what} {name:?} is longer than {MAX_NAME_LEN} characters")]
    TooLong {
        /// What was being named.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A character outside `[a-z0-9_-]`, or a leading `-`/`_`.
    #[error("the {what} {name:?} may hold only a-z, 0-9, '-' and '_', and must start with a letter or digit")]
    Invalid {
        /// What was being named.
        what: &'static str,
        /// The name.
        name: String,
    },
}

/// Checks `name` as a `what` (used in the error).
pub fn validate(what: &'static str, name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty { what });
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            what,
            name: name.to_string(),
        });
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !first_ok || !name.chars().all(allowed) {
        return Err(NameError::Invalid {
            what,
            name: name.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_lowercase_names_pass() {
        for good in ["acme", "acme-2", "a_b", "0x"] {
            assert_eq!(validate("tenant id", good), Ok(()), "{good}");
        }
        for bad in ["", "Acme", "../x", "a b", "-a", "_a", "a/b", "é", &"a".repeat(41)] {
            assert!(validate("tenant id", bad).is_err(), "{bad:?}");
        }
        assert!(
            validate("tenant id", "../x")
                .unwrap_err()
                .to_string()
                .contains("\"../x\"")
        );
    }
}
