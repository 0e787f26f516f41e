//! Loading a campaign's working set into a scratch SQLite store (a dry run's
//! copy): rows inserted as read, ids kept, in one transaction.

use super::SqliteStore;
use crate::store::StoreResult;
use crate::store::snapshots::{CellValue, WorkingSet};

impl SqliteStore {
    /// Inserts every row of `set` (read by
    /// [`Snapshots::campaign_working_set`](crate::store::snapshots::Snapshots::campaign_working_set)
    /// from either backend) into this store, which should be empty.
    pub async fn load_working_set(&self, set: &WorkingSet) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for table in &set.tables {
            if table.rows.is_empty() {
                continue;
            }
            let columns = table.columns.join(", ");
            let marks = (1..=table.columns.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("INSERT INTO {} ({columns}) VALUES ({marks})", table.table);
            for row in &table.rows {
                let mut query = sqlx::query(&sql);
                for cell in row {
                    query = match cell {
                        CellValue::Null => query.bind(Option::<i64>::None),
                        CellValue::Int(v) => query.bind(*v),
                        CellValue::Real(v) => query.bind(*v),
                        CellValue::Text(v) => query.bind(v.clone()),
                        CellValue::Bytes(v) => query.bind(v.clone()),
                    };
                }
                query.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
