//! Cursor pagination: `?limit=N&cursor=C`, answered with the items and the
//! cursor of the next page (`null` on the last one). A cursor is the last
//! id of the page before, so pages stay stable while rows are added.

use serde::{Deserialize, Serialize};

use super::problem::Problem;

/// Items per page when the request does not say.
pub const DEFAULT_LIMIT: usize = 50;
/// The most items a page may ask for.
pub const MAX_LIMIT: usize = 500;

/// The query of a list request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page (1..=500, default 50).
    pub limit: Option<usize>,
    /// Where the page starts: the `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// One page of a list.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Page<T> {
    /// The items, in id order.
    pub items: Vec<T>,
    /// The cursor of the next page; `null` when this is the last.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The page with every item mapped by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }

    /// The page of `rows`, fetched in id order after the cursor and up to
    /// `limit + 1` of them: a row past `limit` only says a next page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: usize, id: impl Fn(&T) -> i64) -> Page<T> {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = more.then(|| rows.last().map(|last| id(last).to_string())).flatten();
        Page {
            items: rows,
            next_cursor,
        }
    }
}

impl PageQuery {
    /// The page size and the id the page starts after (0: the first page).
    pub fn bounds(&self) -> Result<(usize, i64), Problem> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Problem::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match &self.cursor {
            None => 0,
            Some(cursor) => cursor
                .parse::<i64>()
                .map_err(|_| Problem::invalid_field("cursor", "is not a cursor this API gave out"))?,
        };
        Ok((limit, after))
    }

    /// The requested page of `items` (any order; sorted here by `id`).
    pub fn select<T>(&self, mut items: Vec<T>, id: impl Fn(&T) -> i64) -> Result<Page<T>, Problem> {
        let (limit, after) = self.bounds()?;
        items.sort_by_key(|item| id(item));
        let items: Vec<T> = items.into_iter().filter(|item| id(item) > after).collect();
        Ok(Page::from_rows(items, limit, id))
    }

    /// The requested page of `items` kept in their given order, paged by
    /// position (for rows without a numeric id).
    pub fn select_by_position<T>(&self, items: Vec<T>) -> Result<Page<T>, Problem> {
        let numbered: Vec<(i64, T)> = (1..).zip(items).collect();
        Ok(self.select(numbered, |(i, _)| *i)?.map(|(_, item)| item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_their_cursors_to_the_end() {
        let query = |limit, cursor: Option<&str>| PageQuery {
            limit: Some(limit),
            cursor: cursor.map(str::to_string),
        };
        let ids = vec![5_i64, 1, 3, 2, 4];
        let first = query(2, None).select(ids.clone(), |i| *i).unwrap();
        assert_eq!(
            (first.items.clone(), first.next_cursor.as_deref()),
            (vec![1, 2], Some("2"))
        );
        let second = query(2, Some("2")).select(ids.clone(), |i| *i).unwrap();
        assert_eq!(
            (second.items.clone(), second.next_cursor.as_deref()),
            (vec![3, 4], Some("4"))
        );
        let last = query(2, Some("4")).select(ids.clone(), |i| *i).unwrap();
        assert_eq!((last.items, last.next_cursor), (vec![5], None));
        assert!(query(0, None).select(ids.clone(), |i| *i).is_err());
        assert!(query(2, Some("abc")).select(ids, |i| *i).is_err());
    }
}
