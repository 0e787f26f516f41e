//! One throwaway PostgreSQL database for tests and benchmarks: the store's
//! conformance suite, the end-to-end tests and the import bench all take
//! theirs from [`PostgresDatabase`]. Not part of the API.
//!
//! The server is `CAM_TEST_POSTGRES_URL` (default the local one, trust
//! auth). When it is unreachable, [`PostgresDatabase::create`] fails the
//! test if `CI` is set and otherwise prints a note and returns `None`, so a
//! laptop without PostgreSQL still runs everything else.

use rand::Rng as _;
use sqlx::Connection as _;

/// The server used when `CAM_TEST_POSTGRES_URL` is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh database, dropped (`WITH (FORCE)`) when this value is dropped,
/// also when the test panics.
#[derive(Debug)]
pub struct PostgresDatabase {
    admin_url: String,
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl PostgresDatabase {
    /// The test server's URL: `CAM_TEST_POSTGRES_URL` or the default.
    pub fn admin_url() -> String {
        std::env::var("CAM_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
    }

    /// Creates `<prefix>_<random>`, or says why it could not.
    pub async fn try_create(prefix: &str) -> Result<PostgresDatabase, String> {
        let admin_url = Self::admin_url();
        let where_ = super::redact(&admin_url);
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .map_err(|e| format!("PostgreSQL is unreachable at {where_} ({e})"))?;
        let name = format!("{prefix}_{:016x}", rand::thread_rng().r#gen::<u64>());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .map_err(|e| format!("cannot create a database at {where_}: {e}"))?;
        let mut url = url::Url::parse(&admin_url).map_err(|e| format!("CAM_TEST_POSTGRES_URL: {e}"))?;
        url.set_path(&name);
        Ok(PostgresDatabase {
            admin_url,
            name,
            url: url.to_string(),
        })
    }

    /// Creates `<prefix>_<random>`. `None` (after a note) when the server is
    /// unreachable outside CI; with `CI` set, that fails the test.
    pub async fn create(prefix: &str) -> Option<PostgresDatabase> {
        match Self::try_create(prefix).await {
            Ok(database) => Some(database),
            Err(why) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{why} and CI is set: the PostgreSQL tests must run in CI. \
                     Start PostgreSQL or set CAM_TEST_POSTGRES_URL."
                );
                eprintln!("note: skipping a PostgreSQL test: {why}; set CAM_TEST_POSTGRES_URL to run it");
                None
            }
        }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Usually dropped inside a test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}
