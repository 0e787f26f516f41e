//! API tokens, written once for both backends (included by `store/sqlite`
//! and `store/postgres`; see [`crate::store`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, DbStore};
use crate::domain::model::{ApiToken, NewApiToken, Role};
use crate::store::shared::{from_ms, ms};
use crate::store::{ApiTokens, StoreError, StoreResult};

const COLUMNS: &str =
    "id, tenant_id, role, name, secret_sha256, created_at, expires_at, revoked_at, last_used_at";

#[async_trait]
impl ApiTokens for DbStore {
    async fn insert_token(&self, token: &NewApiToken) -> StoreResult<ApiToken> {
        sqlx::query(
            "INSERT INTO api_tokens (id, tenant_id, role, name, secret_sha256, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&token.id)
        .bind(token.tenant_id.as_deref())
        .bind(token.role.as_str())
        .bind(&token.name)
        .bind(&token.secret_sha256)
        .bind(ms(Utc::now()))
        .bind(token.expires_at.map(ms))
        .execute(&self.pool)
        .await?;
        self.token_by_id(&token.id)
            .await?
            .ok_or_else(|| StoreError::not_found("token", &token.id))
    }

    async fn token_by_id(&self, id: &str) -> StoreResult<Option<ApiToken>> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(token_from_row)
            .transpose()
    }

    async fn list_tokens(&self, tenant: Option<&str>) -> StoreResult<Vec<ApiToken>> {
        let rows = match tenant {
            Some(tenant) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at DESC, id"
                ))
                .bind(tenant)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM api_tokens WHERE tenant_id IS NULL ORDER BY created_at DESC, id"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, id: &str) -> StoreResult<bool> {
        let revoked = sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(ms(Utc::now()))
            .execute(&self.pool)
            .await?;
        Ok(revoked.rows_affected() == 1)
    }

    async fn touch_token(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(ms(at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn token_from_row(row: &DbRow) -> StoreResult<ApiToken> {
    let instant = |column: &'static str| -> StoreResult<Option<DateTime<Utc>>> {
        let value: Option<i64> = row.try_get(column)?;
        value.map(|at| from_ms(column, at)).transpose()
    };
    let role: String = row.try_get("role")?;
    Ok(ApiToken {
        token: NewApiToken {
            id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
                what: "api_tokens.role",
                detail: format!("unknown role {role:?}"),
            })?,
            name: row.try_get("name")?,
            secret_sha256: row.try_get("secret_sha256")?,
            expires_at: instant("expires_at")?,
        },
        created_at: from_ms("api_tokens.created_at", row.try_get("created_at")?)?,
        revoked_at: instant("revoked_at")?,
        last_used_at: instant("last_used_at")?,
    })
}
