//! Listing instances from the secondary indexes, never by
//! scanning the instance rows.
//!
//! Without a status filter the walk is over `by_created`, a range bounded by
//! the created-time filter. With statuses, it is one `by_status` range per
//! status, merged by `(created, id)`. Either way the order is created time,
//! then instance ID, and a page ends after `top` matches. The ID prefix is
//! checked on the index key, so non-matching instances cost one key each and
//! their rows are never read.
//!
//! The continuation token is the `(created, id)` of the last instance of the
//! page; the next page starts strictly after it. Instances created or changed
//! between pages appear if they sort after the token, like any keyset paging.

use std::ops::Bound;

use redb::ReadableTable;
use weft_core::RuntimeStatus;

use crate::codec;
use crate::error::{During, StoreError};
use crate::records::{InstanceFilter, InstanceRecord};
use crate::store::Store;
use crate::tables::{StatusKey, read_table, status_code};

/// A position in `(created ms, instance ID)` order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cursor {
    pub(crate) created: u64,
    pub(crate) id: String,
}

impl Cursor {
    const VERSION: char = '1';

    /// `1`, 16 hex digits of the created time, then the ID's bytes in hex:
    /// opaque, URL-safe, and independent of which characters IDs may hold.
    pub(crate) fn encode(&self) -> String {
        let mut out = format!("{}{:016x}", Self::VERSION, self.created);
        for b in self.id.as_bytes() {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    pub(crate) fn decode(token: &str) -> Result<Cursor, StoreError> {
        let bad = || StoreError::BadContinuation(token.to_owned());
        let rest = token.strip_prefix(Self::VERSION).ok_or_else(bad)?;
        if rest.len() < 16 || rest.len() % 2 != 0 || !rest.is_ascii() {
            return Err(bad());
        }
        let created = u64::from_str_radix(&rest[..16], 16).map_err(|_| bad())?;
        let bytes = (16..rest.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&rest[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| bad())?;
        let id = String::from_utf8(bytes).map_err(|_| bad())?;
        Ok(Cursor { created, id })
    }
}

impl Store {
    /// Instances matching `filter`, ordered by created time then ID, at most
    /// `top` (at least 1) per page. Pass the returned continuation token to get
    /// the next page; `None` means this was the last page. An instance that
    /// matches the filter and keeps its created time and status through the
    /// whole listing is returned exactly once.
    ///
    /// Fails with [`StoreError::BadContinuation`] for a token this store did
    /// not issue.
    pub fn list_instances(
        &self,
        filter: &InstanceFilter,
        top: usize,
        continuation: Option<&str>,
    ) -> Result<(Vec<InstanceRecord>, Option<String>), StoreError> {
        const DURING: &str = "listing instances";
        // At least 1; never more than can be counted (`top + 1` below must not overflow).
        let top = top.clamp(1, usize::MAX - 1);
        let after = continuation.map(Cursor::decode).transpose()?;
        let from = filter.created_from.map_or(0, |t| t.0);
        let to = filter.created_to.map_or(u64::MAX, |t| t.0);
        if from > to {
            return Ok((Vec::new(), None));
        }
        let prefix = filter.id_prefix.as_deref().unwrap_or("");
        // Start strictly after the cursor, or at the start of the time range.
        let start = match &after {
            Some(c) if c.created >= from => Bound::Excluded((c.created, c.id.as_str())),
            _ => Bound::Included((from, "")),
        };

        let txn = self.read()?;
        let Some(rows) = read_table(&txn, self.names().instances())? else {
            return Ok((Vec::new(), None)); // the hub was deleted
        };
        // The component is not indexed: read the row of each candidate.
        let wanted = |id: &str| -> Result<bool, StoreError> {
            let Some(component) = filter.component.as_deref() else {
                return Ok(true);
            };
            Ok(match rows.get(id).during(DURING)? {
                Some(row) => codec::decode_instance(row.value(), id)?.component == component,
                None => false,
            })
        };
        // `top` is the caller's number: grow as rows come, never reserve by it.
        let mut keys: Vec<Cursor> = Vec::with_capacity(top.min(1024) + 1);
        if filter.statuses.is_empty() {
            let Some(table) = read_table(&txn, self.names().by_created())? else {
                return Ok((Vec::new(), None));
            };
            let end = match to.checked_add(1) {
                Some(next) => Bound::Excluded((next, "")),
                None => Bound::Unbounded,
            };
            for row in table.range::<(u64, &str)>((start, end)).during(DURING)? {
                let (k, _) = row.during(DURING)?;
                let (created, id) = k.value();
                if id.starts_with(prefix) && wanted(id)? {
                    keys.push(Cursor {
                        created,
                        id: id.to_owned(),
                    });
                    if keys.len() > top {
                        break;
                    }
                }
            }
        } else {
            let Some(table) = read_table(&txn, self.names().by_status())? else {
                return Ok((Vec::new(), None));
            };
            let mut merge = StatusMerge::new(&table, &filter.statuses, start, to, prefix)?;
            while keys.len() <= top {
                let Some(key) = merge.next()? else { break };
                if wanted(&key.cursor.id)? {
                    keys.push(key.cursor);
                }
            }
        }

        let more = keys.len() > top;
        keys.truncate(top);
        let mut records = Vec::with_capacity(keys.len());
        for key in &keys {
            let row = rows.get(key.id.as_str()).during(DURING)?.ok_or_else(|| {
                StoreError::corrupt(
                    format!("instance index entry '{}'", key.id),
                    "the index names an instance row that does not exist",
                )
            })?;
            records.push(codec::decode_instance(row.value(), &key.id)?);
        }
        let next = if more {
            keys.last().map(Cursor::encode)
        } else {
            None
        };
        Ok((records, next))
    }
}

/// A key of `by_status`, as the merge yields it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StatusEntry {
    /// Created time and instance ID (the order of the merge).
    cursor: Cursor,
    /// The status code.
    code: u8,
}

impl StatusEntry {
    /// The entry's key in `by_status`.
    pub(crate) fn key(&self) -> (u8, u64, &str) {
        (self.code, self.cursor.created, &self.cursor.id)
    }
}

/// The `by_status` entries of several statuses within a created-time range,
/// merged into `(created, id)` order: one range walk per status, never the
/// whole index. Works on a read or a write transaction's table.
pub(crate) struct StatusMerge<'t> {
    walks: Vec<StatusWalk<'t>>,
    prefix: &'t str,
}

impl<'t> StatusMerge<'t> {
    /// Entries of `statuses` (duplicates ignored) created in `start..=to`
    /// (`start` bounds `(created, id)`), whose ID starts with `prefix`.
    pub(crate) fn new(
        table: &'t impl ReadableTable<StatusKey, ()>,
        statuses: &[RuntimeStatus],
        start: Bound<(u64, &str)>,
        to: u64,
        prefix: &'t str,
    ) -> Result<StatusMerge<'t>, StoreError> {
        let mut codes: Vec<u8> = statuses.iter().map(|s| status_code(*s)).collect();
        codes.sort_unstable();
        codes.dedup();
        let walks = codes
            .into_iter()
            .map(|code| StatusWalk::new(table, code, &start, to, prefix))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StatusMerge { walks, prefix })
    }

    /// The next entry in `(created, id)` order, or `None` when all walks are done.
    pub(crate) fn next(&mut self) -> Result<Option<StatusEntry>, StoreError> {
        let next = self
            .walks
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.head.as_ref().map(|h| (h, i)))
            .min()
            .map(|(_, i)| i);
        let Some(i) = next else { return Ok(None) };
        let walk = &mut self.walks[i];
        let cursor = walk.head.take().expect("chosen walk has a head");
        let code = walk.code;
        walk.advance(self.prefix)?;
        Ok(Some(StatusEntry { cursor, code }))
    }
}

/// One status's range of `by_status`, with its next matching key.
struct StatusWalk<'t> {
    code: u8,
    range: redb::Range<'t, StatusKey, ()>,
    head: Option<Cursor>,
}

impl<'t> StatusWalk<'t> {
    fn new(
        table: &'t impl ReadableTable<StatusKey, ()>,
        code: u8,
        start: &Bound<(u64, &str)>,
        to: u64,
        prefix: &str,
    ) -> Result<StatusWalk<'t>, StoreError> {
        let lower = match *start {
            Bound::Included((created, id)) => Bound::Included((code, created, id)),
            Bound::Excluded((created, id)) => Bound::Excluded((code, created, id)),
            Bound::Unbounded => Bound::Included((code, 0, "")),
        };
        let upper = match to.checked_add(1) {
            Some(next) => Bound::Excluded((code, next, "")),
            None => Bound::Excluded((code + 1, 0, "")),
        };
        let range = table
            .range::<(u8, u64, &str)>((lower, upper))
            .during("walking the status index")?;
        let mut walk = StatusWalk {
            code,
            range,
            head: None,
        };
        walk.advance(prefix)?;
        Ok(walk)
    }

    /// Moves `head` to the next key whose ID starts with `prefix`.
    fn advance(&mut self, prefix: &str) -> Result<(), StoreError> {
        self.head = None;
        for row in self.range.by_ref() {
            let (k, _) = row.during("walking the status index")?;
            let (_, created, id) = k.value();
            if id.starts_with(prefix) {
                self.head = Some(Cursor {
                    created,
                    id: id.to_owned(),
                });
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        for id in ["a", "order 42:é", "x".repeat(256).as_str()] {
            let c = Cursor {
                created: 1_700_000_000_123,
                id: id.to_owned(),
            };
            let token = c.encode();
            assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
            assert_eq!(Cursor::decode(&token).unwrap(), c);
        }
        for bad in [
            "",
            "2000",
            "1zz",
            "10000000000000000f",
            "1000000000000000g00",
            "10000000000000000ff",
        ] {
            assert!(
                matches!(Cursor::decode(bad), Err(StoreError::BadContinuation(_))),
                "{bad}"
            );
        }
    }
}
