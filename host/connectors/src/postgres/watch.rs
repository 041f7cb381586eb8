//! PostgreSQL: following changes by notification. A statement trigger on
//! each watched table calls `pg_notify` with the table's registry id and
//! the writer's origin; PostgreSQL delivers it when the writing transaction
//! commits and folds identical ones of a transaction into one, so a bulk
//! write costs one notification, not one per row. The triggers are added
//! by the first watch of a table (a table nobody follows pays nothing) and
//! removed with the table's other hubsync objects.

use std::collections::HashSet;

use hubsync_core::{ChangeWatch, ConnectorError};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};

use super::{D, db};

/// The channel every hubsync notification of a database goes to.
const CHANNEL: &str = "hubsync_changes";

/// The shared function the notify triggers call (argument: the table's id).
const FUNCTION: &str = "CREATE OR REPLACE FUNCTION hubsync.notify() RETURNS trigger LANGUAGE plpgsql AS \
     $hubsync$BEGIN PERFORM pg_notify('hubsync_changes', TG_ARGV[0] || ' ' || \
     coalesce(current_setting('hubsync.origin', true), '')); RETURN NULL; END$hubsync$";

/// The name of the notify trigger of the table registered as `id`.
pub(super) fn trigger_name(id: i64) -> String {
    D.quote(&format!("hubsync_notify_{id}"))
}

/// Statements adding the notify trigger to `base`, registered as `id`.
fn add_trigger(id: i64, base: &str) -> [String; 2] {
    let trigger = trigger_name(id);
    [
        format!("DROP TRIGGER IF EXISTS {trigger} ON {base}"),
        format!(
            "CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {base} \
             FOR EACH STATEMENT EXECUTE FUNCTION hubsync.notify('{id}')"
        ),
    ]
}

/// Add the notify triggers the tables registered as `ids` lack; one
/// transaction, so two watches starting at once do not both add them.
pub(super) async fn ensure_triggers(pool: &PgPool, ids: &[i64]) -> Result<(), ConnectorError> {
    let missing = sqlx::query(
        "SELECT r.id, format('%I.%I', r.namespace, r.name) FROM hubsync.tables r \
         WHERE r.id = ANY($1) AND NOT EXISTS (SELECT 1 FROM pg_trigger g \
         WHERE g.tgrelid = to_regclass(format('%I.%I', r.namespace, r.name)) AND g.tgname = 'hubsync_notify_' || r.id)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
    .map_err(db("looking for hubsync's notify triggers"))?;
    if missing.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await.map_err(db("adding notify triggers"))?;
    // Serialize with another process adding them (CREATE OR REPLACE of
    // one function from two transactions fails): a transaction-level
    // advisory lock on a constant hubsync picked.
    sqlx::query("SELECT pg_advisory_xact_lock(7068223517)")
        .execute(&mut *tx)
        .await
        .map_err(db("adding notify triggers"))?;
    let mut stmts = vec![FUNCTION.to_owned()];
    for r in &missing {
        stmts.extend(add_trigger(r.get(0), &r.get::<String, _>(1)));
    }
    for s in stmts {
        sqlx::query(AssertSqlSafe(s)).execute(&mut *tx).await.map_err(db("adding notify triggers"))?;
    }
    tx.commit().await.map_err(db("adding notify triggers"))
}

/// A watch listening on its own connection.
struct Listening {
    listener: PgListener,
    /// The watched tables' registry ids, as the payload spells them.
    ids: HashSet<String>,
    /// The asking group's origin prefix (`g/`).
    own: String,
}

/// Listen for the notifications of the tables registered as `ids` (their
/// triggers already added) that `own` did not cause. The listener has a
/// one-connection pool of its own, so it takes nothing from `pool`'s.
pub(super) async fn open(pool: &PgPool, ids: &[i64], own: &str) -> Result<Box<dyn ChangeWatch>, ConnectorError> {
    let own_pool = PgPoolOptions::new().max_connections(1).connect_lazy_with((*pool.connect_options()).clone());
    let mut listener = PgListener::connect_with(&own_pool).await.map_err(db("opening a connection to listen on"))?;
    listener.listen(CHANNEL).await.map_err(db("listening for hubsync's notifications"))?;
    let ids = ids.iter().map(|i| i.to_string()).collect();
    Ok(Box::new(Listening { listener, ids, own: own.to_owned() }))
}

impl Listening {
    /// Whether a notification's payload (`ID ORIGIN`) is for this watch.
    fn concerns(&self, payload: &str) -> bool {
        let (id, origin) = payload.split_once(' ').unwrap_or((payload, ""));
        self.ids.contains(id) && (origin.is_empty() || !origin.starts_with(&self.own))
    }
}

#[async_trait::async_trait]
impl ChangeWatch for Listening {
    async fn changed(&mut self) -> Result<(), ConnectorError> {
        loop {
            match self.listener.try_recv().await.map_err(db("waiting for hubsync's notifications"))? {
                Some(n) if self.concerns(n.payload()) => {
                    // What else already arrived folds into this return.
                    while self.listener.next_buffered().is_some() {}
                    return Ok(());
                }
                Some(_) => {}
                // The connection was lost and opened again: what was
                // notified meanwhile is gone, so say something changed.
                None => return Ok(()),
            }
        }
    }

    fn how(&self) -> String {
        "notifications".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notify_trigger_is_a_statement_trigger_naming_its_table() {
        let [drop, create] = add_trigger(7, "\"public\".\"orders\"");
        assert_eq!(drop, "DROP TRIGGER IF EXISTS \"hubsync_notify_7\" ON \"public\".\"orders\"");
        assert!(create.contains("FOR EACH STATEMENT EXECUTE FUNCTION hubsync.notify('7')"), "{create}");
        assert!(create.contains("OR TRUNCATE"), "{create}");
    }
}
