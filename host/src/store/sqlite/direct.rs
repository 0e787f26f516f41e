//! Direct SQLite calls for the bulk paths: lead pages, batch inserts and
//! batch updates.
//!
//! sqlx runs each statement on its connection's worker thread and hands
//! every row and every argument across as owned values. For the cycle's
//! 1,000-lead pages that hand-off costs more than SQLite itself: reading a
//! 23-column lead row takes about 11 µs through sqlx and under 2 µs here
//! (docs/BENCHMARKS.md, "Cycle"). So these paths check a connection out of
//! the same pool, park its worker with `lock_handle`, and run against the
//! same `sqlite3*` through rusqlite on a blocking thread. The pragmas (WAL,
//! busy timeout, foreign keys) and the pool's limits are the ones every
//! other query gets.

#![allow(
    unsafe_code,
    reason = "one FFI hand-over: a parked sqlx connection's handle, wrapped by rusqlite"
)]

use sqlx::SqlitePool;

use crate::store::{StoreError, StoreResult};

/// Runs `work` on a pooled connection's handle, on a blocking thread, and
/// returns its result. A transaction `work` opens must end inside it (a
/// rusqlite `Transaction` rolls back when dropped, also on a panic).
pub(super) async fn run<T, F>(pool: &SqlitePool, work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut rusqlite::Connection) -> StoreResult<T> + Send + 'static,
{
    let mut pooled = pool.acquire().await?;
    let joined = tokio::task::spawn_blocking(move || {
        let result = with_handle(&mut pooled, work);
        // The connection goes back to the pool from the async side.
        (pooled, result)
    })
    .await;
    match joined {
        Ok((pooled, result)) => {
            drop(pooled);
            result
        }
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(StoreError::Blocking(e.to_string())),
    }
}

fn with_handle<T>(
    connection: &mut sqlx::SqliteConnection,
    work: impl FnOnce(&mut rusqlite::Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    // Waits until the worker thread has parked; it stays parked (making no
    // SQLite call on this handle or its statements) while `locked` lives.
    let mut locked = futures::executor::block_on(connection.lock_handle())?;
    // SAFETY: the handle is open (the connection owns it and outlives this
    // call), and `locked` guarantees no other thread uses it until it is
    // dropped, after `db`. `from_handle` never closes the handle, and
    // dropping `db` finalizes only the statements it prepared itself.
    let mut db = unsafe { rusqlite::Connection::from_handle(locked.as_raw_handle().as_ptr()) }?;
    let result = work(&mut db);
    drop(db);
    drop(locked);
    result
}

/// Column `i` of `row` as a `T`, with the column named in the error.
pub(super) fn column<T: rusqlite::types::FromSql>(
    row: &rusqlite::Row<'_>,
    i: usize,
    what: &'static str,
) -> StoreResult<T> {
    row.get(i).map_err(|e| StoreError::corrupt(what, e))
}
