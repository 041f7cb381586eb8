//! Scenarios every connector must pass, run against real databases. Each
//! engine's test file provides a [`TestDb`]: a fresh database plus a raw SQL
//! client standing in for the application's other users.

#![allow(dead_code)]

pub mod dbs;

/// The shared scenarios as `#[tokio::test]`s on a [`TestDb`] type with an
/// async `connect() -> Option<Self>` (`None` for a server that may be absent
/// and is not there: `connect` says so loudly, and the test does nothing).
#[macro_export]
macro_rules! scenario_tests {
    ($db:ty) => {
        $crate::scenario_tests!(@each $db; capture_and_deprovision, no_echo, failed_apply_changes_nothing,
            awkward_identifiers, refusals, type_round_trip, reprovision_backfills_new_columns,
            apply_updates_tracked_rows_and_lookup_sees_them, load_records_what_the_trigger_records,
            a_watch_sees_other_writers_and_not_its_group, deletes_are_recorded_with_their_cascades,
            writes_only_their_keys_unless_something_else_moves);
    };
    (@each $db:ty; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                if let Some(db) = <$db>::connect().await {
                    $crate::common::$name(&db).await;
                }
            }
        )*
    };
}

use hubsync_core::{
    Anchor, ApplyOp, CapturedChange, Column, ColumnType, Connector, ConnectorError, TableRef, TableSchema, Value,
};

/// A fresh database for one test, dropped afterwards.
#[async_trait::async_trait]
pub trait TestDb: Send + Sync {
    /// The connector under test.
    fn connector(&self) -> &dyn Connector;
    /// Run SQL as an outside client (not through hubsync).
    async fn exec(&self, sql: &str);
    /// The engine's SQL type for a column type, for test DDL.
    fn ty(&self, kind: ColumnType) -> &'static str;
    /// Quote an identifier for test SQL.
    fn q(&self, ident: &str) -> String;
    /// Every object in the database (tables, triggers, functions…), for before/after comparisons.
    async fn objects(&self) -> Vec<String>;
}

pub fn orders() -> TableSchema {
    let mut t = TableSchema::new("orders").key("id", ColumnType::Int).column("note", ColumnType::Text);
    t.columns.push(Column::new("amount", ColumnType::Decimal));
    t
}

pub async fn create_orders(db: &dyn TestDb) {
    db.exec(&format!(
        "CREATE TABLE orders (id {} PRIMARY KEY, note {}, amount {})",
        db.ty(ColumnType::Int),
        db.ty(ColumnType::Text),
        db.ty(ColumnType::Decimal)
    ))
    .await;
}

/// Read every change after `since` (in pages of 2, to exercise paging),
/// waiting while changes are pending behind other open transactions.
pub async fn read_all(c: &dyn Connector, t: &TableSchema, since: &Anchor) -> (Vec<CapturedChange>, Anchor) {
    read_paged(c, t, since, 2).await
}

/// [`read_all`] in pages of 5,000.
pub async fn read_all_fast(c: &dyn Connector, t: &TableSchema, since: &Anchor) -> (Vec<CapturedChange>, Anchor) {
    read_paged(c, t, since, 5000).await
}

async fn read_paged(c: &dyn Connector, t: &TableSchema, since: &Anchor, page: usize) -> (Vec<CapturedChange>, Anchor) {
    let mut anchor = since.clone();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let b = c.read_changes(t, &anchor, page).await.expect("read changes");
        out.extend(b.changes);
        anchor = b.next;
        if b.pending {
            assert!(std::time::Instant::now() < deadline, "changes stayed pending for 30 s");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        } else if !b.more {
            return (out, anchor);
        }
    }
}

fn ids(changes: &[CapturedChange]) -> Vec<(i64, bool)> {
    changes
        .iter()
        .map(|c| match c.key[0] {
            Value::Int(i) => (i, c.row.is_none()),
            ref other => panic!("unexpected key {other:?}"),
        })
        .collect()
}

/// Provisioning records existing rows, is idempotent, and captures later
/// inserts, updates and deletes in order; deprovisioning leaves the
/// database as it was.
pub async fn capture_and_deprovision(db: &dyn TestDb) {
    let c = db.connector();
    create_orders(db).await;
    db.exec("INSERT INTO orders (id, note, amount) VALUES (1, 'one', '1.50'), (2, 'two', '2.00')").await;
    let before = db.objects().await;
    let t = orders();
    c.provision(&t).await.expect("provision");
    c.provision(&t).await.expect("provision again (idempotent)");
    let (mut changes, anchor) = read_all(c, &t, &Anchor::start()).await;
    changes.sort_by_key(|ch| int_key(&ch.key));
    assert_eq!(ids(&changes), [(1, false), (2, false)], "pre-existing rows are changes");
    assert_eq!(changes[0].row.as_ref().expect("row")[2], Value::Decimal("1.50".into()));
    assert_eq!(changes[0].origin, None);
    db.exec("INSERT INTO orders (id, note, amount) VALUES (3, 'three', '3.25')").await;
    db.exec("UPDATE orders SET note = 'uno' WHERE id = 1").await;
    db.exec("DELETE FROM orders WHERE id = 2").await;
    let (changes, anchor2) = read_all(c, &t, &anchor).await;
    assert_eq!(ids(&changes), [(3, false), (1, false), (2, true)]);
    assert_eq!(changes[1].row.as_ref().expect("row")[1], Value::Text("uno".into()));
    let (none, _) = read_all(c, &t, &anchor2).await;
    assert!(none.is_empty(), "nothing new: {none:?}");
    c.deprovision(&TableRef::of(&t)).await.expect("deprovision");
    c.deprovision_all().await.expect("deprovision all");
    assert_eq!(db.objects().await, before, "deprovision leaves the database as before");
    // Data is untouched.
    c.provision(&t).await.expect("provision again");
    let (changes, _) = read_all(c, &t, &Anchor::start()).await;
    let mut initial = ids(&changes);
    initial.sort();
    assert_eq!(initial, [(1, false), (3, false)], "rows present at provisioning, in any order");
    c.deprovision_all().await.expect("deprovision all");
}

/// A watch (`follow_changes`) returns for an application's write and for
/// another group's, not for its own group's; removing hubsync removes what
/// the watch added.
pub async fn a_watch_sees_other_writers_and_not_its_group(db: &dyn TestDb) {
    use std::time::Duration;
    let c = db.connector();
    create_orders(db).await;
    let before = db.objects().await;
    let t = orders();
    c.provision(&t).await.expect("provision");
    let mut w =
        c.watch(std::slice::from_ref(&t), "g/", Duration::from_millis(50)).await.expect("watch").expect("watched");
    let quiet = Duration::from_millis(700);
    let soon = Duration::from_secs(10);
    let row = |id: i64| ApplyOp::Upsert(vec![Value::Int(id), Value::Text("x".into()), Value::Null]);
    c.apply(&t, &[row(1), row(2)], "g/hub").await.expect("the group's own write");
    assert!(
        tokio::time::timeout(quiet, w.changed()).await.is_err(),
        "the group's own write is not a change ({})",
        w.how()
    );
    db.exec("INSERT INTO orders (id, note, amount) VALUES (10, 'app', '1.00')").await;
    tokio::time::timeout(soon, w.changed()).await.expect("an application's insert is seen").expect("watch");
    c.apply(&t, &[row(1)], "g/m1@abc").await.expect("the group's write from a member");
    assert!(tokio::time::timeout(quiet, w.changed()).await.is_err(), "still the group's own write");
    c.apply(&t, &[row(3)], "other/hub").await.expect("another group's write");
    tokio::time::timeout(soon, w.changed()).await.expect("another group's write is seen").expect("watch");
    db.exec("DELETE FROM orders WHERE id = 2").await;
    tokio::time::timeout(soon, w.changed()).await.expect("an application's delete is seen").expect("watch");
    assert!(tokio::time::timeout(quiet, w.changed()).await.is_err(), "nothing new: {}", w.how());
    // A table that is not provisioned cannot be watched, and says so.
    let other = TableSchema::new("nowhere").key("id", ColumnType::Int);
    let e = c.watch(&[other], "g/", Duration::from_millis(50)).await.err().expect("refused");
    assert!(e.to_string().contains("not provisioned"), "{e}");
    drop(w);
    c.deprovision(&TableRef::of(&t)).await.expect("deprovision");
    c.deprovision_all().await.expect("deprovision all");
    assert_eq!(db.objects().await, before, "deprovision leaves the database as before");
}

/// Rows applied by hubsync carry their origin; an outside writer's rows do not.
pub async fn no_echo(db: &dyn TestDb) {
    let c = db.connector();
    create_orders(db).await;
    let t = orders();
    c.provision(&t).await.expect("provision");
    let row = |id: i64| vec![Value::Int(id), Value::Text(format!("n{id}")), Value::Decimal("9.99".into())];
    let ops = [ApplyOp::Upsert(row(10)), ApplyOp::Upsert(row(11)), ApplyOp::Delete(vec![Value::Int(11)])];
    let apply = c.apply(&t, &ops, "hub");
    let outside = db.exec("INSERT INTO orders (id, note, amount) VALUES (20, 'local', '1')");
    let (a, ()) = tokio::join!(apply, outside);
    a.expect("apply");
    let (changes, _) = read_all(c, &t, &Anchor::start()).await;
    let mut seen: Vec<(i64, bool, Option<String>)> =
        changes.iter().map(|ch| (ids(std::slice::from_ref(ch))[0].0, ch.row.is_none(), ch.origin.clone())).collect();
    seen.sort();
    assert_eq!(
        seen,
        [(10, false, Some("hub".into())), (11, true, Some("hub".into())), (20, false, None)],
        "hubsync's writes are marked, the outside writer's are local"
    );
    // The marker does not leak into later local writes.
    db.exec("UPDATE orders SET note = 'x' WHERE id = 10").await;
    let (changes, _) = read_all(c, &t, &Anchor::start()).await;
    let ten = changes.iter().find(|ch| ch.key[0] == Value::Int(10)).expect("10");
    assert_eq!(ten.origin, None);
    // A reader skipping "hub"'s echoes gets them without their rows, the
    // others whole, and the same anchor.
    c.apply(&t, &[ApplyOp::Upsert(row(12))], "hub").await.expect("apply");
    let (all, end) = read_all(c, &t, &Anchor::start()).await;
    let (mut skipping, mut anchor) = (Vec::new(), Anchor::start());
    loop {
        let b = c.read_changes_skipping(&t, &anchor, 1000, Some("hub")).await.expect("read changes");
        skipping.extend(b.changes);
        anchor = b.next;
        if !b.more && !b.pending {
            break;
        }
    }
    assert_eq!(anchor, end);
    // Every other change comes whole and in order; echoes come without
    // their rows, and a run of them may come as its last entry.
    let others = |v: &[CapturedChange]| -> Vec<CapturedChange> {
        v.iter().filter(|ch| ch.origin.as_deref() != Some("hub")).cloned().collect()
    };
    assert_eq!(others(&skipping), others(&all), "local changes are read whole");
    let mut echoes = all.iter().filter(|ch| ch.origin.as_deref() == Some("hub"));
    for s in skipping.iter().filter(|ch| ch.origin.as_deref() == Some("hub")) {
        assert!(echoes.any(|a| a.key == s.key), "an echo read is one of the echoes, in order: {s:?}");
        // SQL Server reads echoes whole still (the trait's default).
        if c.engine() != hubsync_core::EngineKind::Mssql {
            assert_eq!(s.row, None, "an echo's row is not read: {s:?}");
        }
    }
    assert!(skipping.iter().any(|s| s.origin.as_deref() == Some("hub")) && skipping.iter().any(|s| s.row.is_some()));

    // Long runs of echoes between local changes, read in small pages:
    // every local change comes, reads always move on, and they end where
    // a plain read ends.
    let many: Vec<ApplyOp> = (100..140).map(|i| ApplyOp::Upsert(row(i))).collect();
    c.apply(&t, &many[..20], "hub").await.expect("apply");
    db.exec("INSERT INTO orders (id, note, amount) VALUES (21, 'local', '1')").await;
    c.apply(&t, &many[20..], "hub").await.expect("apply");
    db.exec("INSERT INTO orders (id, note, amount) VALUES (22, 'local', '1')").await;
    let (all, end) = read_all(c, &t, &Anchor::start()).await;
    for page in [1, 2, 3, 7] {
        let (mut read, mut anchor, mut reads) = (Vec::new(), Anchor::start(), 0);
        loop {
            let b = c.read_changes_skipping(&t, &anchor, page, Some("hub")).await.expect("read changes");
            assert!(!b.changes.is_empty() || !b.more, "a read that says more moves on");
            read.extend(b.changes);
            anchor = b.next;
            reads += 1;
            assert!(reads < 200, "reads of {page} end");
            if !b.more && !b.pending {
                break;
            }
        }
        assert_eq!(anchor, end, "pages of {page}");
        assert_eq!(others(&read), others(&all), "pages of {page}");
        // PostgreSQL, SQLite and MySQL send a run of echoes as its last entry.
        if page == 7 && c.engine() != hubsync_core::EngineKind::Mssql {
            assert!(read.len() < all.len() / 2, "runs of echoes are not sent whole: {} of {}", read.len(), all.len());
        }
    }
}

/// A bulk load ([`Connector::load`]) records the tracking entries the
/// trigger records for the same writes: of two tables of one shape, one
/// written by `apply` and one by `load` read the same changes. Writes
/// after the load (an application's, hubsync's own `apply`) are captured
/// by the trigger again, and a table with a trigger of its own that
/// writes more rows of it has those captured too.
pub async fn load_records_what_the_trigger_records(db: &dyn TestDb) {
    use hubsync_core::EngineKind;
    let c = db.connector();
    let schema = |name: &str| {
        let mut t = orders();
        t.name = name.into();
        t
    };
    let mut anchors = Vec::new();
    for name in ["applied", "loaded"] {
        db.exec(&format!(
            "CREATE TABLE {name} (id {} PRIMARY KEY, note {}, amount {})",
            db.ty(ColumnType::Int),
            db.ty(ColumnType::Text),
            db.ty(ColumnType::Decimal)
        ))
        .await;
        db.exec(&format!("INSERT INTO {name} (id, note, amount) VALUES (1, 'before', '1')")).await;
        c.provision(&schema(name)).await.expect("provision");
        anchors.push(read_all_fast(c, &schema(name), &Anchor::start()).await.1);
    }
    let row = |id: i64, note: &str| vec![Value::Int(id), Value::Text(note.into()), Value::Decimal("2.50".into())];
    // New keys only (more rows than one statement of any engine holds),
    // then keys that are there (a fresh insert fails on them: upserts).
    let fresh: Vec<ApplyOp> = (2..=1500).map(|i| ApplyOp::Upsert(row(i, "new"))).collect();
    let again = [ApplyOp::Upsert(row(1, "updated")), ApplyOp::Upsert(row(2, "again"))];
    for ops in [&fresh[..], &again[..]] {
        c.apply(&schema("applied"), ops, "hub").await.expect("apply");
        c.load(&schema("loaded"), ops, "hub").await.expect("load");
    }
    let seen = |changes: Vec<CapturedChange>| {
        let mut v: Vec<(i64, Option<Vec<Value>>, Option<String>)> =
            changes.into_iter().map(|ch| (int_key(&ch.key), ch.row, ch.origin)).collect();
        v.sort_by_key(|x| x.0);
        v
    };
    let applied = seen(read_all_fast(c, &schema("applied"), &anchors[0]).await.0);
    let (loaded, after) = read_all_fast(c, &schema("loaded"), &anchors[1]).await;
    let loaded = seen(loaded);
    assert_eq!(loaded.len(), 1500);
    assert_eq!(loaded, applied, "a load records what the trigger records");
    assert!(loaded.iter().all(|(_, _, origin)| origin.as_deref() == Some("hub")));

    // The trigger captures what follows: an application's write and
    // hubsync's own apply (on the connection the load used).
    db.exec("UPDATE loaded SET note = 'app' WHERE id = 2").await;
    c.apply(&schema("loaded"), &[ApplyOp::Upsert(row(3000, "applied"))], "m").await.expect("apply");
    let next = seen(read_all_fast(c, &schema("loaded"), &after).await.0);
    assert_eq!(next.iter().map(|(k, _, o)| (*k, o.clone())).collect::<Vec<_>>(), [(2, None), (3000, Some("m".into()))]);

    // A table with a trigger of its own writing more rows of it.
    let own = match c.engine() {
        EngineKind::Sqlite => vec![
            "CREATE TRIGGER own AFTER INSERT ON loaded WHEN NEW.id = 5000 BEGIN \
             INSERT INTO loaded (id, note, amount) VALUES (5001, 'cascade', '1'); END"
                .to_owned(),
        ],
        EngineKind::Postgres => vec![
            "CREATE FUNCTION own() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             INSERT INTO loaded (id, note, amount) VALUES (5001, 'cascade', 1); RETURN NULL; END $$"
                .to_owned(),
            "CREATE TRIGGER own AFTER INSERT ON loaded FOR EACH ROW WHEN (NEW.id = 5000) EXECUTE FUNCTION own()"
                .to_owned(),
        ],
        // MySQL refuses a trigger writing its own table; SQL Server loads through `apply`.
        _ => return,
    };
    for s in &own {
        db.exec(s).await;
    }
    let (_, before) = read_all_fast(c, &schema("loaded"), &Anchor::start()).await;
    c.load(&schema("loaded"), &[ApplyOp::Upsert(row(5000, "loaded"))], "hub").await.expect("load");
    let cascade = seen(read_all_fast(c, &schema("loaded"), &before).await.0);
    assert_eq!(
        cascade.iter().map(|(k, _, o)| (*k, o.clone())).collect::<Vec<_>>(),
        [(5000, Some("hub".into())), (5001, Some("hub".into()))],
        "the row the table's own trigger wrote is captured"
    );
}

/// hubsync's own deletes are recorded as its deletes, and so are the rows
/// a foreign key of the table onto itself removes with them (engines that
/// record hubsync's writes set-wise write such a table through the
/// trigger, which sees the cascade).
pub async fn deletes_are_recorded_with_their_cascades(db: &dyn TestDb) {
    use hubsync_core::EngineKind;
    let c = db.connector();
    // MySQL/MariaDB fire no trigger for rows a cascade removes (README),
    // and SQL Server refuses a cascade onto the table itself.
    if matches!(c.engine(), EngineKind::Mysql | EngineKind::Mssql) {
        return;
    }
    let int = db.ty(ColumnType::Int);
    for (name, fk) in [("flat", ""), ("tree", ", FOREIGN KEY (parent) REFERENCES tree (id) ON DELETE CASCADE")] {
        db.exec(&format!("CREATE TABLE {name} (id {int} PRIMARY KEY, parent {int} NULL{fk})")).await;
        db.exec(&format!("INSERT INTO {name} (id, parent) VALUES (1, NULL), (2, 1), (3, 2), (4, NULL)")).await;
        let t = TableSchema::new(name).key("id", ColumnType::Int).column("parent", ColumnType::Int);
        c.provision(&t).await.expect("provision");
        let (_, start) = read_all(c, &t, &Anchor::start()).await;
        let ops = [ApplyOp::Delete(vec![Value::Int(1)]), ApplyOp::Delete(vec![Value::Int(4)])];
        c.apply(&t, &ops, "g/x/hub").await.expect("apply");
        let (changes, _) = read_all(c, &t, &start).await;
        let mut seen: Vec<(i64, bool, Option<String>)> =
            changes.iter().map(|ch| (int_key(&ch.key), ch.row.is_none(), ch.origin.clone())).collect();
        seen.sort_by_key(|s| s.0);
        let gone = |ids: &[i64]| ids.iter().map(|&i| (i, true, Some("g/x/hub".to_owned()))).collect::<Vec<_>>();
        let expected = if name == "tree" { gone(&[1, 2, 3, 4]) } else { gone(&[1, 4]) };
        assert_eq!(seen, expected, "{name}: every deleted row is recorded as hubsync's delete");
    }
}

/// `writes_only_their_keys`: true for a plain table with an exact key,
/// false where a write moves other rows (a foreign key onto the table
/// itself that cascades) or lands on another key's row (a key compared
/// without regard to case). SQL Server keeps the default, false.
pub async fn writes_only_their_keys_unless_something_else_moves(db: &dyn TestDb) {
    use hubsync_core::EngineKind;
    let c = db.connector();
    let engine = c.engine();
    let int = db.ty(ColumnType::Int);
    let plain = TableSchema::new("plain").key("id", ColumnType::Int).column("note", ColumnType::Text);
    db.exec(&format!("CREATE TABLE plain (id {int} PRIMARY KEY, note {})", db.ty(ColumnType::Text))).await;
    assert!(!c.writes_only_their_keys(&plain).await.expect("ask"), "{engine}: not provisioned, not known");
    c.provision(&plain).await.expect("provision");
    let exact = engine != EngineKind::Mssql;
    assert_eq!(c.writes_only_their_keys(&plain).await.expect("ask"), exact, "{engine}: a plain table");
    if engine == EngineKind::Mssql {
        return;
    }
    db.exec(&format!(
        "CREATE TABLE tree (id {int} PRIMARY KEY, parent {int} NULL, FOREIGN KEY (parent) REFERENCES tree (id) \
         ON DELETE CASCADE)"
    ))
    .await;
    let tree = TableSchema::new("tree").key("id", ColumnType::Int).column("parent", ColumnType::Int);
    c.provision(&tree).await.expect("provision");
    assert!(!c.writes_only_their_keys(&tree).await.expect("ask"), "{engine}: a cascade onto itself");
    let loose = match engine {
        EngineKind::Sqlite => "CREATE TABLE loose (code TEXT COLLATE NOCASE PRIMARY KEY, note TEXT)".to_owned(),
        EngineKind::Mysql => "CREATE TABLE loose (code varchar(20) PRIMARY KEY, note text); \
                              CREATE TABLE exact (code varchar(20) COLLATE utf8mb4_nopad_bin PRIMARY KEY, note text)"
            .to_owned(),
        _ => "CREATE COLLATION hubsync_test_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false); \
              CREATE TABLE loose (code text COLLATE hubsync_test_ci PRIMARY KEY, note text)"
            .to_owned(),
    };
    db.exec(&loose).await;
    let loose = TableSchema::new("loose").key("code", ColumnType::Text).column("note", ColumnType::Text);
    c.provision(&loose).await.expect("provision");
    assert!(!c.writes_only_their_keys(&loose).await.expect("ask"), "{engine}: a key compared without case");
    if engine == EngineKind::Mysql {
        let exact = TableSchema::new("exact").key("code", ColumnType::Text).column("note", ColumnType::Text);
        c.provision(&exact).await.expect("provision");
        assert!(c.writes_only_their_keys(&exact).await.expect("ask"), "{engine}: a key collated binary, no pad");
    }
}

/// Upserts over rows that are already tracked update them (and their
/// tracking), and `lookup` reports rows and who changed them after an anchor.
pub async fn apply_updates_tracked_rows_and_lookup_sees_them(db: &dyn TestDb) {
    let c = db.connector();
    create_orders(db).await;
    let t = orders();
    assert!(c.is_empty(&TableRef::of(&t)).await.expect("is_empty"));
    db.exec("INSERT INTO orders (id, note, amount) VALUES (1, 'a', '1'), (2, 'b', '2'), (3, 'c', '3')").await;
    assert!(!c.is_empty(&TableRef::of(&t)).await.expect("is_empty"));
    c.provision(&t).await.expect("provision");
    // The rows there before count as changes; the count stops at its cap.
    assert_eq!(c.pending(&t, &Anchor::start(), 1000).await.expect("pending"), Some(3));
    assert_eq!(c.pending(&t, &Anchor::start(), 2).await.expect("pending"), Some(2));
    let (_, a0) = read_all(c, &t, &Anchor::start()).await;
    assert_eq!(c.pending(&t, &a0, 1000).await.expect("pending"), Some(0));
    let row = |id: i64, note: &str| vec![Value::Int(id), Value::Text(note.into()), Value::Decimal("9.5".into())];
    let ops =
        [ApplyOp::Upsert(row(1, "updated")), ApplyOp::Upsert(row(4, "new")), ApplyOp::Delete(vec![Value::Int(2)])];
    c.apply(&t, &ops, "g/hub").await.expect("upserts over tracked rows");
    c.apply(&t, &[ApplyOp::Upsert(row(1, "again"))], "g/hub").await.expect("second update");
    let waiting = c.pending(&t, &a0, 1000).await.expect("pending");
    assert_eq!(waiting, Some(read_all(c, &t, &a0).await.0.len() as u64), "what a read after a0 finds");
    // Several tables in one call: the same counts, capped alike, and no
    // count for a table hubsync does not track.
    let mut untracked = t.clone();
    untracked.name = "not_tracked".into();
    let all = c.pending(&t, &Anchor::start(), 1000).await.expect("pending");
    let asks = [(&t, &Anchor::start()), (&untracked, &a0), (&t, &a0)];
    assert_eq!(c.pending_many(&asks, 1000).await.expect("pending_many"), vec![all, None, waiting]);
    assert_eq!(c.pending_many(&asks, 1).await.expect("pending_many"), vec![Some(1), None, Some(1)]);
    assert_eq!(c.pending_many(&[], 1000).await.expect("pending_many"), Vec::<Option<u64>>::new());
    let keys: Vec<Vec<Value>> = (1..=5).map(|i| vec![Value::Int(i)]).collect();
    let mut found = c.lookup(&t, &a0, &keys).await.expect("lookup");
    found.sort_by_key(|s| int_key(&s.key));
    let summary: Vec<(i64, Option<String>, Option<Option<String>>)> = found
        .iter()
        .map(|s| {
            let note = s.row.as_ref().map(|r| match &r[1] {
                Value::Text(n) => n.clone(),
                other => format!("{other:?}"),
            });
            (int_key(&s.key), note, s.change.as_ref().map(|m| m.origin.clone()))
        })
        .collect();
    let hub = Some(Some("g/hub".to_owned()));
    assert_eq!(
        summary,
        [
            (1, Some("again".into()), hub.clone()),
            (2, None, hub.clone()),
            (3, Some("c".into()), None),
            (4, Some("new".into()), hub.clone()),
        ],
        "key 5 is neither present nor changed, so it is left out"
    );
    db.exec("UPDATE orders SET note = 'local' WHERE id = 3").await;
    let three = c.lookup(&t, &a0, &[vec![Value::Int(3)]]).await.expect("lookup");
    assert_eq!(three.len(), 1);
    assert_eq!(three[0].change.as_ref().map(|m| m.origin.clone()), Some(None), "a local change");
    let (_, latest) = read_all(c, &t, &Anchor::start()).await;
    let none = c.lookup(&t, &latest, &keys).await.expect("lookup");
    assert!(none.iter().all(|s| s.change.is_none()), "nothing changed after the latest anchor");
}

/// A batch that fails half-way leaves the destination exactly as before.
pub async fn failed_apply_changes_nothing(db: &dyn TestDb) {
    let c = db.connector();
    db.exec(&format!(
        "CREATE TABLE orders (id {} PRIMARY KEY, note {} NOT NULL, amount {})",
        db.ty(ColumnType::Int),
        db.ty(ColumnType::Text),
        db.ty(ColumnType::Decimal)
    ))
    .await;
    let t = orders();
    c.provision(&t).await.expect("provision");
    c.apply(&t, &[ApplyOp::Upsert(vec![Value::Int(1), Value::Text("keep".into()), Value::Null])], "hub")
        .await
        .expect("first apply");
    let (_, anchor) = read_all(c, &t, &Anchor::start()).await;
    let bad = [
        ApplyOp::Upsert(vec![Value::Int(1), Value::Text("changed".into()), Value::Null]),
        ApplyOp::Upsert(vec![Value::Int(2), Value::Text("new".into()), Value::Null]),
        ApplyOp::Upsert(vec![Value::Int(3), Value::Null, Value::Null]), // NOT NULL violation
    ];
    let err = c.apply(&t, &bad, "hub").await.expect_err("must fail");
    // The data is at fault, so the engine can narrow it down to the row; the column is named.
    assert!(matches!(&err, ConnectorError::Rejected { column: Some(c), .. } if c == "note"), "{err:?}");
    let (changes, _) = read_all(c, &t, &anchor).await;
    assert!(changes.is_empty(), "nothing changed: {changes:?}");
    let (all, _) = read_all(c, &t, &Anchor::start()).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].row.as_ref().expect("row")[1], Value::Text("keep".into()));
}

/// Awkward identifiers work and cannot inject SQL.
pub async fn awkward_identifiers(db: &dyn TestDb) {
    let c = db.connector();
    let table = "we\"ird `tab'le ü; DROP TABLE x";
    let col = "select";
    db.exec(&format!(
        "CREATE TABLE {} ({} {} PRIMARY KEY, {} {})",
        db.q(table),
        db.q("key col"),
        db.ty(ColumnType::Int),
        db.q(col),
        db.ty(ColumnType::Text)
    ))
    .await;
    let t = TableSchema::new(table).key("key col", ColumnType::Int).column(col, ColumnType::Text);
    c.provision(&t).await.expect("provision");
    c.apply(&t, &[ApplyOp::Upsert(vec![Value::Int(1), Value::Text("it's \"fine\"".into())])], "hub")
        .await
        .expect("apply");
    let (changes, _) = read_all(c, &t, &Anchor::start()).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].row.as_ref().expect("row")[1], Value::Text("it's \"fine\"".into()));
    let found = c.introspect().await.expect("introspect");
    // Exactly as created; only Babelfish's catalog shows SQL Server names lower-cased.
    let same = |a: &str| a == table || (c.engine() == hubsync_core::EngineKind::Mssql && a == table.to_lowercase());
    assert!(found.iter().any(|i| same(&i.schema.name)), "introspection lists it");
    c.deprovision_all().await.expect("deprovision");
}

/// Tables without a key, selections without the key, unsupported types: refused with what to do.
pub async fn refusals(db: &dyn TestDb) {
    let c = db.connector();
    db.exec(&format!("CREATE TABLE nokey (a {}, b {})", db.ty(ColumnType::Int), db.ty(ColumnType::Text))).await;
    let info = c.introspect().await.expect("introspect");
    let nokey = info.iter().find(|i| i.schema.name == "nokey").expect("listed");
    assert!(nokey.schema.primary_key.is_empty());
    let err = c.provision(&nokey.schema).await.expect_err("no key").to_string();
    assert!(err.contains("primary key"), "{err}");
    create_orders(db).await;
    let no_key_selected = TableSchema::new("orders").column("note", ColumnType::Text);
    let err = c.provision(&no_key_selected).await.expect_err("key not selected").to_string();
    assert!(err.contains("select every key column"), "{err}");
}

/// A table with every column type, and rows with extreme values.
pub fn all_types() -> (TableSchema, Vec<Vec<Value>>) {
    let mut t = TableSchema::new("all_types").key("id", ColumnType::Int);
    for (name, kind) in [
        ("b", ColumnType::Bool),
        ("i", ColumnType::Int),
        ("f", ColumnType::Float),
        ("d", ColumnType::Decimal),
        ("t", ColumnType::Text),
        ("by", ColumnType::Bytes),
        ("da", ColumnType::Date),
        ("ti", ColumnType::Time),
        ("ts", ColumnType::Timestamp),
        ("tz", ColumnType::TimestampTz),
        ("u", ColumnType::Uuid),
        ("j", ColumnType::Json),
    ] {
        t = t.column(name, kind);
    }
    let rows = vec![
        vec![
            Value::Int(1),
            Value::Bool(true),
            Value::Int(i64::MAX),
            Value::Float(1.5e300),
            Value::Decimal("12345678901234567890.123456789".into()),
            Value::Text("héllo 🌍 \"quoted\" 'single' \\ back".into()),
            Value::Bytes(vec![0, 1, 127, 128, 255]),
            Value::Date(-719_162),
            Value::Time(86_399_999_999),
            Value::Timestamp(1_767_225_600_123_456),
            Value::TimestampTz(-1),
            Value::Uuid(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
            Value::Json(r#"{"a":[1,2,{"b":null}]}"#.into()),
        ],
        vec![
            Value::Int(2),
            Value::Bool(false),
            Value::Int(i64::MIN),
            Value::Float(-0.1),
            Value::Decimal("-0.000001".into()),
            Value::Text(String::new()),
            Value::Bytes(Vec::new()),
            Value::Date(2_932_896),
            Value::Time(0),
            Value::Timestamp(-62_135_596_800_000_000),
            Value::TimestampTz(253_402_300_799_999_999),
            Value::Uuid(u128::MAX),
            Value::Json("[]".into()),
        ],
        std::iter::once(Value::Int(3)).chain(std::iter::repeat_n(Value::Null, 12)).collect(),
    ];
    (t, rows)
}

/// Every type survives create table, apply and read back exactly.
pub async fn type_round_trip(db: &dyn TestDb) {
    let (t, rows) = all_types();
    let got = write_and_capture(db.connector(), &t, &rows, "hub").await;
    assert_same_rows(&t, &got, &rows);
}

/// Create `t`, provision it, apply `rows` from `origin`, and return the
/// rows as captured (sorted by key).
pub async fn write_and_capture(
    c: &dyn Connector,
    t: &TableSchema,
    rows: &[Vec<Value>],
    origin: &str,
) -> Vec<Vec<Value>> {
    c.create_table(t, &[]).await.expect("create table");
    c.provision(t).await.expect("provision");
    let ops: Vec<ApplyOp> = rows.iter().cloned().map(ApplyOp::Upsert).collect();
    c.apply(t, &ops, origin).await.expect("apply");
    let (mut changes, _) = read_all(c, t, &Anchor::start()).await;
    changes.sort_by_key(|ch| int_key(&ch.key));
    changes.into_iter().map(|ch| ch.row.expect("a row, not a delete")).collect()
}

/// Rows equal value by value (JSON compared as documents: engines may
/// normalise spacing; decimals by value: the scale follows the column).
pub fn assert_same_rows(t: &TableSchema, got: &[Vec<Value>], want: &[Vec<Value>]) {
    assert_eq!(got.len(), want.len());
    for (got, want) in got.iter().zip(want) {
        for ((col, g), w) in t.columns.iter().zip(got).zip(want) {
            match (g, w) {
                (Value::Json(a), Value::Json(b)) => assert_eq!(
                    serde_json::from_str::<serde_json::Value>(a).expect("json"),
                    serde_json::from_str::<serde_json::Value>(b).expect("json"),
                    "column {}",
                    col.name
                ),
                // Equal in value; the scale follows the destination column.
                (Value::Decimal(a), Value::Decimal(b)) => {
                    assert_eq!(trim_scale(a), trim_scale(b), "column {}", col.name)
                }
                _ => assert_eq!(g, w, "column {}", col.name),
            }
        }
    }
}

/// The integer key the test tables use, for sorting.
pub fn int_key(key: &[Value]) -> i64 {
    match key.first() {
        Some(Value::Int(i)) => *i,
        other => panic!("test tables have an int key, got {other:?}"),
    }
}

fn trim_scale(d: &str) -> &str {
    if d.contains('.') { d.trim_end_matches('0').trim_end_matches('.') } else { d }
}

/// Adding a column to the selection re-announces every tracked row (so the
/// column is backfilled) and keeps deletes that were still pending.
pub async fn reprovision_backfills_new_columns(db: &dyn TestDb) {
    let c = db.connector();
    create_orders(db).await;
    db.exec("INSERT INTO orders (id, note, amount) VALUES (1, 'one', '1.00'), (2, 'two', '2.00')").await;
    let narrow = TableSchema::new("orders").key("id", ColumnType::Int).column("note", ColumnType::Text);
    c.provision(&narrow).await.expect("provision");
    let (_, anchor) = read_all(c, &narrow, &Anchor::start()).await;
    db.exec("DELETE FROM orders WHERE id = 2").await;
    let wide = orders();
    c.provision(&wide).await.expect("re-provision with a new column");
    c.provision(&wide).await.expect("again (idempotent)");
    let (changes, _) = read_all(c, &wide, &anchor).await;
    let mut seen: Vec<(i64, Option<Value>)> =
        changes.iter().map(|ch| (int_key(&ch.key), ch.row.as_ref().map(|r| r[2].clone()))).collect();
    seen.sort_by_key(|(id, _)| *id);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0, 1);
    assert!(matches!(&seen[0].1, Some(Value::Decimal(d)) if d.starts_with("1.0")), "backfilled amount: {seen:?}");
    assert_eq!(seen[1], (2, None), "the pending delete survives");
    db.exec("INSERT INTO orders (id, note, amount) VALUES (3, 'three', '3.00')").await;
    let (after, _) = read_all(c, &wide, &Anchor::start()).await;
    assert!(after.iter().any(|ch| int_key(&ch.key) == 3), "triggers capture after re-provisioning");
}
