//! The statements of the PostgreSQL write path, prepared once per
//! connection (a prepared statement costs one round trip per call, an
//! unprepared one two).
//!
//! Reads that lock take rows `FOR UPDATE` in key order, so two hosts that
//! touch the same rows lock them in the same order. Writes are set-based:
//! one statement per table and kind of change, whatever the batch holds.

use postgres::{Client, Statement};

use super::Schema;

/// Every prepared statement of one hub's write path.
pub(crate) struct Sql {
    pub(crate) lock_instances: Statement,
    pub(crate) lock_activities: Statement,
    pub(crate) lock_timers: Statement,
    pub(crate) lock_partitions: Statement,
    pub(crate) lock_inbox: Statement,
    pub(crate) notify: Statement,
    pub(crate) inbox_seqs: Statement,
    pub(crate) activity_seqs: Statement,
    pub(crate) inbox_exists: Statement,
    pub(crate) empty_entities: Statement,
    pub(crate) purge_candidates: Statement,
    pub(crate) delete_activities_of: Statement,
    pub(crate) insert_instances: Statement,
    pub(crate) update_instances: Statement,
    pub(crate) delete_instances: Statement,
    pub(crate) clear_history: Statement,
    pub(crate) insert_history: Statement,
    pub(crate) clear_inbox: Statement,
    pub(crate) delete_inbox: Statement,
    pub(crate) insert_inbox: Statement,
    pub(crate) delete_activities: Statement,
    pub(crate) insert_activities: Statement,
    pub(crate) clear_timers: Statement,
    pub(crate) delete_timers: Statement,
    pub(crate) upsert_timers: Statement,
    pub(crate) upsert_entities: Statement,
    pub(crate) delete_entities: Statement,
    pub(crate) put_component_bytes: Statement,
    pub(crate) schema_alive: Statement,
}

/// The columns an instance row is written with, as `unnest` arrays.
const INSTANCE_COLUMNS: &str = "unnest($1::text[], $2::smallint[], $3::bigint[], $4::text[], \
                                $5::text[], $6::bigint[], $7::bytea[]) \
                                AS u(instance_id, status, created_at, component, execution_id, \
                                history_len, row)";

impl Sql {
    /// Prepares every statement for `schema` (a hub's) on `client`.
    pub(crate) fn prepare(client: &mut Client, schema: &Schema) -> Result<Sql, postgres::Error> {
        let s = schema.ident();
        let r = Schema::registry().ident();
        let seqs = |name: &str| {
            format!(
                "SELECT nextval('{}.{name}') FROM generate_series(1, $1::int)",
                s.replace('\'', "''")
            )
        };
        let mut p = |text: String| client.prepare(&text);
        Ok(Sql {
            lock_instances: p(format!(
                "SELECT instance_id, row FROM {s}.instances WHERE instance_id = ANY($1::text[]) \
                 ORDER BY instance_id FOR UPDATE"
            ))?,
            lock_activities: p(format!(
                "SELECT queue_seq, body FROM {s}.activities WHERE queue_seq = ANY($1::bigint[]) \
                 ORDER BY queue_seq FOR UPDATE"
            ))?,
            lock_timers: p(format!(
                "SELECT t.instance_id, t.timer_id, t.fire_at, t.execution_id FROM {s}.timers t \
                 JOIN unnest($1::text[], $2::bigint[]) AS k(instance_id, timer_id) \
                 USING (instance_id, timer_id) ORDER BY 1, 2 FOR UPDATE OF t"
            ))?,
            // FOR SHARE: a takeover (an UPDATE of the row) waits for the
            // commits in flight that checked a fence on it.
            lock_partitions: p(format!(
                "SELECT part, owner, epoch FROM {s}.partitions WHERE part = ANY($1::int[]) \
                 ORDER BY part FOR SHARE"
            ))?,
            lock_inbox: p(format!(
                "SELECT i.instance_id, i.msg_seq FROM {s}.inbox i \
                 JOIN unnest($1::text[], $2::bigint[]) AS k(instance_id, msg_seq) \
                 USING (instance_id, msg_seq) ORDER BY 1, 2 FOR UPDATE OF i"
            ))?,
            notify: p("SELECT pg_notify($1, $2)".to_owned())?,
            inbox_seqs: p(seqs("inbox_seq"))?,
            activity_seqs: p(seqs("activity_seq"))?,
            inbox_exists: p(format!(
                "SELECT EXISTS (SELECT 1 FROM {s}.inbox WHERE instance_id = $1)"
            ))?,
            empty_entities: p(format!(
                "SELECT entity_id, row FROM {s}.entities WHERE NOT has_state AND NOT locked \
                 ORDER BY entity_id LIMIT $1 FOR UPDATE"
            ))?,
            purge_candidates: p(format!(
                "SELECT instance_id, row FROM {s}.instances \
                 WHERE status = ANY($1::smallint[]) AND created_at BETWEEN $2 AND $3 \
                 AND starts_with(instance_id, $4) AND ($5::text IS NULL OR component = $5) \
                 ORDER BY created_at, instance_id LIMIT $6 FOR UPDATE"
            ))?,
            delete_activities_of: p(format!(
                "DELETE FROM {s}.activities WHERE instance_id = $1 RETURNING queue_seq"
            ))?,
            insert_instances: p(format!(
                "INSERT INTO {s}.instances (instance_id, status, created_at, component, \
                 execution_id, history_len, row) SELECT * FROM {INSTANCE_COLUMNS}"
            ))?,
            update_instances: p(format!(
                "UPDATE {s}.instances i SET status = u.status, created_at = u.created_at, \
                 component = u.component, execution_id = u.execution_id, \
                 history_len = u.history_len, row = u.row FROM {INSTANCE_COLUMNS} \
                 WHERE i.instance_id = u.instance_id"
            ))?,
            delete_instances: p(format!(
                "DELETE FROM {s}.instances WHERE instance_id = ANY($1::text[])"
            ))?,
            clear_history: p(format!(
                "DELETE FROM {s}.history WHERE instance_id = ANY($1::text[])"
            ))?,
            insert_history: p(format!(
                "INSERT INTO {s}.history (instance_id, seq, body) \
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])"
            ))?,
            clear_inbox: p(format!(
                "DELETE FROM {s}.inbox WHERE instance_id = ANY($1::text[])"
            ))?,
            delete_inbox: p(format!(
                "DELETE FROM {s}.inbox i USING unnest($1::text[], $2::bigint[]) \
                 AS d(instance_id, msg_seq) \
                 WHERE i.instance_id = d.instance_id AND i.msg_seq = d.msg_seq"
            ))?,
            insert_inbox: p(format!(
                "INSERT INTO {s}.inbox (instance_id, msg_seq, body) \
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])"
            ))?,
            delete_activities: p(format!(
                "DELETE FROM {s}.activities WHERE queue_seq = ANY($1::bigint[])"
            ))?,
            insert_activities: p(format!(
                "INSERT INTO {s}.activities (queue_seq, instance_id, body) \
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[])"
            ))?,
            clear_timers: p(format!(
                "DELETE FROM {s}.timers WHERE instance_id = ANY($1::text[])"
            ))?,
            delete_timers: p(format!(
                "DELETE FROM {s}.timers t USING unnest($1::text[], $2::bigint[]) \
                 AS d(instance_id, timer_id) \
                 WHERE t.instance_id = d.instance_id AND t.timer_id = d.timer_id"
            ))?,
            upsert_timers: p(format!(
                "INSERT INTO {s}.timers (instance_id, timer_id, fire_at, execution_id) \
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) \
                 ON CONFLICT (instance_id, timer_id) DO UPDATE \
                 SET fire_at = excluded.fire_at, execution_id = excluded.execution_id"
            ))?,
            upsert_entities: p(format!(
                "INSERT INTO {s}.entities (entity_id, last_operation, has_state, locked, row) \
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bool[], $4::bool[], \
                 $5::bytea[]) ON CONFLICT (entity_id) DO UPDATE \
                 SET last_operation = excluded.last_operation, has_state = excluded.has_state, \
                 locked = excluded.locked, row = excluded.row"
            ))?,
            delete_entities: p(format!(
                "DELETE FROM {s}.entities WHERE entity_id = ANY($1::text[])"
            ))?,
            put_component_bytes: p(format!(
                "INSERT INTO {r}.component_bytes (digest, bytes) VALUES ($1, $2) \
                 ON CONFLICT (digest) DO NOTHING"
            ))?,
            schema_alive: p("SELECT 1 FROM pg_namespace WHERE oid = $1".to_owned())?,
        })
    }
}
