//! The store's error type: what callers can act on, with the cause kept.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist for this tenant.
    #[error("{entity} {key} not found")]
    NotFound {
        /// What was looked for (`lead`, `campaign`...).
        entity: &'static str,
        /// Its id or name.
        key: String,
    },
    /// A unique key is already taken (e.g. a campaign name within a tenant).
    #[error("{entity} {key} already exists")]
    Duplicate {
        /// What was inserted.
        entity: &'static str,
        /// The key that clashed.
        key: String,
    },
    /// The row is not in the state the operation requires (e.g. marking an
    /// email SENT that is not SENDING, or a lead whose state moved meanwhile).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The lifecycle has no such edge (see `domain::lifecycle::transition`).
    #[error(transparent)]
    IllegalTransition(#[from] crate::domain::lifecycle::IllegalTransition),
    /// A plugin's key-value data would exceed its byte quota.
    #[error("plugin kv quota exceeded: {used} bytes used, this write needs {requested}, the limit is {limit}")]
    QuotaExceeded {
        /// Bytes the (tenant, plugin) uses now, not counting the key being written.
        used: u64,
        /// Bytes the write would add (key plus value).
        requested: u64,
        /// The quota.
        limit: u64,
    },
    /// The database URL is not one the store understands.
    #[error("unsupported database url {url:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl {
        /// The URL given, with any password removed.
        url: String,
    },
    /// A value read from the database does not parse (a bug or manual edit).
    #[error("corrupt {what} in the database: {detail}")]
    Corrupt {
        /// Which column.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// Applying migrations failed.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error. The cause is in the message (not a
    /// `source`), so a step report's one-line failure says what it was.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A database error on a bulk path (those call SQLite directly).
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    /// The blocking task running a bulk operation did not finish (the
    /// runtime is shutting down).
    #[error("the database task was stopped: {0}")]
    Blocking(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A [`StoreError::NotFound`] for `entity` keyed by `key`.
    pub fn not_found(entity: &'static str, key: impl ToString) -> Self {
        StoreError::NotFound {
            entity,
            key: key.to_string(),
        }
    }

    /// A [`StoreError::Corrupt`] for column `what`.
    pub fn corrupt(what: &'static str, detail: impl ToString) -> Self {
        StoreError::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Whether `err` is a unique-constraint violation (either backend).
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
