//! Azure SQL Data Sync's objects in a SQL Server database (see
//! `../shared/notes/datasync-objects.md` for what they are): reading
//! them (`inspect`), taking a table over from them without a re-copy
//! (`take_over`), and removing them by their exact names (`removal`,
//! `remove`).
//!
//! Names come from the scope configurations and the catalog, compared
//! without regard to case (SQL Server's default collations ignore it,
//! and Babelfish lowercases what its catalog shows).

mod config;
#[cfg(test)]
mod snapshots;
mod tsql;

use std::collections::HashSet;

use hubsync_core::datasync::{DsInspection, DsLeftover, DsRemoval, DsScope, DsTakeover, DsTracking, DsTrigger};
use hubsync_core::{Connector, ConnectorError, TableRef, TableSchema};

use super::tsql as base;
use super::{Mssql, batch, common, exec, int, registered, rows, text};
pub use tsql::Announce;
use tsql::{Drop, Removal};

/// A trigger row of the catalog.
#[derive(Debug, Clone)]
struct Trigger {
    schema: String,
    name: String,
    table: String,
    disabled: bool,
    parent_id: i64,
    body: Option<String>,
}

impl Trigger {
    fn full(&self) -> String {
        format!("{}.{}", base::quote(&self.schema), base::quote(&self.name))
    }

    /// The object id Data Sync baked into the body, if the server shows it.
    fn baked_id(&self) -> Option<i64> {
        let body = self.body.as_deref()?.to_ascii_lowercase();
        let at = body.find("[object_id] =")? + "[object_id] =".len();
        let digits: String = body[at..].trim_start().chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }
}

/// What the catalog holds of Data Sync.
#[derive(Debug, Clone, Default)]
struct Found {
    schema: bool,
    scopes: Vec<DsScope>,
    /// Objects in `DataSync`: name, kind (`U`, `P`, `TT`).
    objects: Vec<(String, String)>,
    triggers: Vec<Trigger>,
    /// User tables: schema, name, object id.
    tables: Vec<(String, String, i64)>,
    /// Markers: object id, owner scope.
    markers: Vec<(i64, i64)>,
    /// Tables hubsync captures: (schema, table), lowercase.
    captured: HashSet<(String, String)>,
    problems: Vec<String>,
}

fn low(s: &str) -> String {
    s.to_lowercase()
}

/// The last part of `[schema].[name]`, lowercase.
fn last(s: &str) -> String {
    low(&config::split_name(s).pop().unwrap_or_default())
}

impl Found {
    fn has_object(&self, name: &str, kind: &str) -> bool {
        let n = last(name);
        self.objects.iter().any(|(o, k)| k == kind && low(o) == n)
    }

    fn table_exists(&self, schema: &str, name: &str) -> bool {
        self.tables.iter().any(|(s, t, _)| low(s) == low(schema) && low(t) == low(name))
    }

    /// Every name the scopes other than `except` refer to, lowercase (last part only for `DataSync` objects).
    fn referenced(&self, except: &[i64]) -> HashSet<String> {
        let mut out = HashSet::new();
        for s in self.scopes.iter().filter(|s| !except.contains(&s.local_id)) {
            for t in &s.tables {
                out.insert(last(&t.tracking_table));
                out.extend(t.procedures.iter().map(|p| last(p)));
                out.extend(t.bulk_type.iter().map(|p| last(p)));
                for tr in &t.triggers {
                    let (sch, n) = config::schema_and_name(tr, &t.namespace);
                    out.insert(format!("{}.{}", low(&sch), low(&n)));
                }
            }
        }
        out
    }

    fn leftovers(&self) -> Vec<DsLeftover> {
        let refs = self.referenced(&[]);
        let mut out = Vec::new();
        for tr in &self.triggers {
            if !refs.contains(&format!("{}.{}", low(&tr.schema), low(&tr.name))) {
                out.push(DsLeftover {
                    kind: "trigger".into(),
                    object: tr.full(),
                    reason: format!("no scope names it (it still fires on {}.{})", tr.schema, tr.table),
                    removable: true,
                });
            } else if let Some(id) = tr.baked_id().filter(|&id| id != tr.parent_id) {
                out.push(DsLeftover {
                    kind: "trigger".into(),
                    object: tr.full(),
                    reason: format!(
                        "it reads the provision marker of object id {id}, but its table's id is {}: the table was \
                         re-created after Data Sync provisioned it, so its tracking is broken",
                        tr.parent_id
                    ),
                    removable: true,
                });
            }
        }
        for (name, kind) in &self.objects {
            let n = low(name);
            let ds = n.contains("_dss_");
            if !ds || refs.contains(&n) || METADATA.contains(&n.as_str()) {
                continue;
            }
            let what = match kind.as_str() {
                "U" if n.ends_with("_dss_tracking") => "tracking table",
                "P" => "procedure",
                "TT" => "type",
                _ => continue,
            };
            out.push(DsLeftover {
                kind: what.into(),
                object: tsql::in_datasync(name),
                reason: "no scope names it".into(),
                removable: true,
            });
        }
        for (id, owner) in &self.markers {
            if !self.tables.iter().any(|(_, _, t)| t == id) {
                out.push(DsLeftover {
                    kind: "marker".into(),
                    object: format!("[DataSync].[provision_marker_dss] object_id {id} (scope {owner})"),
                    reason: "no table has this object id any more (dropped or re-created after provisioning)".into(),
                    removable: true,
                });
            }
        }
        // Tables named alike in two schemas share `DataSync.<name>_dss_tracking`.
        let mut seen = HashSet::new();
        for (s, t, _) in &self.tables {
            let alike: Vec<&String> =
                self.tables.iter().filter(|(_, u, _)| low(u) == low(t)).map(|(s2, _, _)| s2).collect();
            if alike.len() > 1 && self.has_object(&format!("{t}_dss_tracking"), "U") && seen.insert(low(t)) {
                out.push(DsLeftover {
                    kind: "shared tracking".into(),
                    object: tsql::in_datasync(&format!("{t}_dss_tracking")),
                    reason: format!(
                        "tables named {t} in schemas {} share this one tracking table: Data Sync documents this as \
                         corrupting data; sync only one of them (found while looking at {s}.{t})",
                        alike.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" and ")
                    ),
                    removable: false,
                });
            }
        }
        out
    }
}

/// Why `t` may not be provisioned the plain way, read on `c`: Data Sync
/// still captures it. A plain first provisioning announces every row, so
/// the first sync would hand each member change Data Sync had not synced
/// to the policy against the hub's older row (under hub-wins: lost).
pub(crate) async fn captured_by_data_sync(
    c: &mut super::conn::Conn,
    t: &TableRef,
    what: &str,
) -> Result<Option<String>, ConnectorError> {
    let n = rows(c, tsql::TRIGGERS_ON, &[&base::qualified(t).as_str()], what).await?;
    if n.first().map(|r| int(r, 0)).unwrap_or_default() == 0 {
        return Ok(None);
    }
    Ok(Some(
        "Azure SQL Data Sync's triggers are on it: a first sync now would compare every row and settle each change \
         Data Sync had not synced yet by the conflict policy (under hub-wins a member's change is lost). Take it over \
         with `hubsync datasync takeover` first (README: \"Moving from Azure SQL Data Sync\"), or remove Data Sync's \
         objects with `hubsync datasync remove` if its changes do not matter"
            .into(),
    ))
}

/// Data Sync's shared metadata tables, lowercase.
const METADATA: [&str; 4] = ["scope_info_dss", "scope_config_dss", "schema_info_dss", "provision_marker_dss"];

/// A SQL Server database as Data Sync left it.
pub struct DataSyncDb {
    db: Mssql,
}

/// `YYYY-MM-DDTHH:MM:SS[.f…]`, which the T-SQL embeds as a literal.
fn check_time(t: &str) -> Result<(), ConnectorError> {
    if hubsync_core::datasync::is_utc_time(t) {
        Ok(())
    } else {
        Err(ConnectorError::Invalid(format!("{t:?} is not a UTC time like 2026-12-03T10:00:00")))
    }
}

impl DataSyncDb {
    /// Connect (SQL Server, Azure SQL or Babelfish URL or connection string).
    pub async fn open(url: &str) -> Result<DataSyncDb, ConnectorError> {
        Ok(DataSyncDb { db: Mssql::open(url).await? })
    }

    /// The database as hubsync's connector.
    pub fn connector(&self) -> &dyn Connector {
        &self.db
    }

    /// The catalog's Data Sync objects; with `check_columns`, each scope's
    /// tables cross-checked with their columns (one query per table).
    async fn found(&self, check_columns: bool) -> Result<Found, ConnectorError> {
        let what = "reading Data Sync's objects";
        let mut lease = self.db.pool.get().await?;
        let c = lease.conn();
        let mut f = Found { schema: int(&rows(c, tsql::SCHEMA, &[], what).await?[0], 0) == 1, ..Default::default() };
        for r in rows(c, tsql::SCOPES, &[], what).await? {
            let name = text(&r, 1).unwrap_or_default();
            let tables = match text(&r, 3) {
                Some(xml) => config::parse(&xml).unwrap_or_else(|e| {
                    f.problems.push(format!("scope {name}: {e}"));
                    Vec::new()
                }),
                None => {
                    f.problems.push(format!("scope {name}: its configuration row is missing"));
                    Vec::new()
                }
            };
            f.scopes.push(DsScope {
                local_id: int(&r, 0),
                name,
                config_id: text(&r, 2).unwrap_or_default(),
                status: text(&r, 4).map(|s| s.trim().to_owned()),
                tables,
            });
        }
        if f.schema {
            f.objects = rows(c, tsql::OBJECTS, &[], what)
                .await?
                .iter()
                .map(|r| (text(r, 0).unwrap_or_default(), text(r, 1).unwrap_or_default()))
                .collect();
        }
        f.triggers = rows(c, tsql::TRIGGERS, &[], what)
            .await?
            .iter()
            .map(|r| Trigger {
                schema: text(r, 0).unwrap_or_default(),
                name: text(r, 1).unwrap_or_default(),
                table: text(r, 2).unwrap_or_default(),
                disabled: int(r, 3) != 0,
                parent_id: int(r, 4),
                body: text(r, 5),
            })
            .collect();
        f.tables = rows(c, tsql::TABLES, &[], what)
            .await?
            .iter()
            .map(|r| (text(r, 0).unwrap_or_default(), text(r, 1).unwrap_or_default(), int(r, 2)))
            .collect();
        f.markers = rows(c, tsql::MARKERS, &[], what).await?.iter().map(|r| (int(r, 0), int(r, 1))).collect();
        let captured = "SELECT CAST(s.name AS nvarchar(128)), CAST(o.name AS nvarchar(128)) FROM sys.triggers tr \
                        JOIN sys.objects o ON o.object_id = tr.parent_id JOIN sys.schemas s ON s.schema_id = o.schema_id \
                        WHERE tr.name LIKE N'hubsync\\_capture\\_%' ESCAPE N'\\'";
        f.captured = rows(c, captured, &[], what)
            .await?
            .iter()
            .map(|r| (low(&text(r, 0).unwrap_or_default()), low(&text(r, 1).unwrap_or_default())))
            .collect();
        drop(lease);
        if !check_columns {
            return Ok(f);
        }
        // Cross-check each scope's tables with the catalog.
        for s in &mut f.scopes {
            for t in &mut s.tables {
                let r =
                    TableRef { namespace: (t.namespace != "dbo").then(|| t.namespace.clone()), name: t.name.clone() };
                t.exists = f.tables.iter().any(|(a, b, _)| low(a) == low(&t.namespace) && low(b) == low(&t.name));
                if !t.exists {
                    f.problems
                        .push(format!("scope {}: table {r} is in its configuration but not in the database", s.name));
                    continue;
                }
                let mut lease = self.db.pool.get().await?;
                let cols = self.db.columns(lease.conn(), Some(&r)).await?;
                for (_, col) in &cols {
                    let in_scope = t.columns.iter().any(|c| low(&c.name) == low(&col.name));
                    if !in_scope && !col.nullable && !col.computed {
                        t.left_out_not_null.push(col.name.clone());
                    }
                }
                for c in &t.columns {
                    if !cols.iter().any(|(_, d)| low(&d.name) == low(&c.name)) {
                        f.problems.push(format!(
                            "scope {}: column {} of {r} is in its configuration but not in the table",
                            s.name, c.name
                        ));
                    }
                }
                if !t.left_out_not_null.is_empty() {
                    f.problems.push(format!(
                        "scope {}: {r} has NOT NULL columns the scope leaves out ({}): a row inserted elsewhere \
                         cannot be written here unless they have defaults",
                        s.name,
                        t.left_out_not_null.join(", ")
                    ));
                }
            }
        }
        Ok(f)
    }

    /// What Data Sync left here. `since_utc` (`YYYY-MM-DDTHH:MM:SS`) also
    /// counts the local changes after it. Reads only.
    pub async fn inspect(&self, since_utc: Option<&str>) -> Result<DsInspection, ConnectorError> {
        if let Some(s) = since_utc {
            check_time(s)?;
        }
        let f = self.found(true).await?;
        let mut tracking = Vec::new();
        for (name, kind) in &f.objects {
            if kind != "U" || !low(name).ends_with("_dss_tracking") {
                continue;
            }
            let mut lease = self.db.pool.get().await?;
            let r = rows(lease.conn(), &tsql::tracking_counts(name, since_utc), &[], "counting tracking rows").await?;
            let r = &r[0];
            tracking.push(DsTracking {
                name: name.clone(),
                rows: int(r, 0),
                tombstones: int(r, 1),
                local_changes: int(r, 2),
                local_since: since_utc.map(|_| int(r, 3)),
                restore_timestamp: int(r, 4) == 1,
            });
        }
        Ok(DsInspection {
            server: if self.db.is_babelfish() { "babelfish" } else { "sqlserver" }.into(),
            schema: f.schema,
            leftovers: f.leftovers(),
            triggers: f
                .triggers
                .iter()
                .map(|t| DsTrigger {
                    namespace: t.schema.clone(),
                    name: t.name.clone(),
                    table: t.table.clone(),
                    enabled: !t.disabled,
                })
                .collect(),
            scopes: f.scopes,
            tracking,
            problems: f.problems,
        })
    }

    /// The removal of one scope (by name or local id) or of all, with the
    /// leftovers when `leftovers` (always when all scopes go). Refused,
    /// saying why, while Data Sync still looks in charge, unless `force`.
    pub async fn removal(
        &self,
        scope: Option<&str>,
        leftovers: bool,
        force: bool,
    ) -> Result<DsRemoval, ConnectorError> {
        let f = self.found(false).await?;
        if f.scopes.is_empty() && !f.found_anything() {
            return Ok(DsRemoval::default());
        }
        let (r, reasons) = plan_removal(&f, scope, leftovers)?;
        if !reasons.is_empty() && !force {
            return Err(ConnectorError::Invalid(format!(
                "Data Sync's triggers on {} are enabled and hubsync does not capture those tables, so Data Sync may \
                 still sync this database: removing its objects under a live sync group breaks that group (and Data \
                 Sync would re-create them). Remove the member or the group on the Azure side first (or run \
                 `hubsync datasync takeover`), then run this again; --force removes them anyway",
                reasons.join(", ")
            )));
        }
        Ok(DsRemoval { statements: tsql::removal(&r), applied: false })
    }

    /// The scopes and their tables, without counting anything (what a
    /// takeover needs to pair hub and member scopes).
    pub async fn scopes(&self) -> Result<Vec<DsScope>, ConnectorError> {
        Ok(self.found(false).await?.scopes)
    }

    /// Run a removal's statements in one transaction.
    pub async fn remove(&self, removal: &mut DsRemoval) -> Result<(), ConnectorError> {
        let what = "removing Data Sync's objects";
        let mut lease = self.db.pool.get().await?;
        let result = async {
            let c = lease.conn();
            batch(c, "SET XACT_ABORT ON; BEGIN TRANSACTION", what).await?;
            for s in &removal.statements {
                batch(c, s, what).await?;
            }
            batch(c, "COMMIT TRANSACTION", what).await
        }
        .await;
        if result.is_err() {
            lease.discard();
        }
        result?;
        removal.applied = true;
        Ok(())
    }

    /// Take `table` over from Data Sync: in one transaction, hubsync's
    /// capture replaces Data Sync's triggers, every present row is
    /// recorded, and the changes Data Sync had not synced (`announce`) are
    /// numbered after the returned anchor, from which this database's
    /// pairs start. A table taken over before answers its anchor again.
    pub async fn take_over(&self, table: &TableSchema, announce: &Announce) -> Result<DsTakeover, ConnectorError> {
        check_time(&announce.since_utc)?;
        let t = TableRef::of(table);
        let schema = base::schema_of(&t).to_owned();
        common::check_selection(table)?;
        let f = self.found(false).await?;
        let refused = |reason: String| ConnectorError::Refused { table: t.clone(), reason };
        if !f.table_exists(&schema, &t.name) {
            return Err(refused("there is no such table".into()));
        }
        let alike = f.tables.iter().filter(|(_, n, _)| low(n) == low(&t.name)).count();
        if alike > 1 {
            return Err(refused(format!(
                "tables named {} in {alike} schemas share Data Sync's one tracking table, so which rows changed \
                 cannot be told apart: take this table over with a full compare instead (leave it out of the \
                 takeover; its first sync compares every row)",
                t.name
            )));
        }
        let triggers: Vec<String> = f
            .triggers
            .iter()
            .filter(|tr| low(&tr.schema) == low(&schema) && low(&tr.table) == low(&t.name))
            .map(Trigger::full)
            .collect();
        let tracking = f
            .scopes
            .iter()
            .flat_map(|s| &s.tables)
            .find(|x| low(&x.namespace) == low(&schema) && low(&x.name) == low(&t.name))
            .map(|x| config::split_name(&x.tracking_table).pop().unwrap_or_default())
            .unwrap_or_else(|| format!("{}_dss_tracking", t.name));
        let (shape, _) = self.db.shape(table, true).await?;
        let columns = common::fingerprint(table);
        let what = format!("taking {t} over from Data Sync");
        let mut lease = self.db.pool.get().await?;
        let result = async {
            let c = lease.conn();
            for s in base::ensure_meta() {
                batch(c, &s, "creating hubsync's schema").await?;
            }
            batch(c, tsql::ADOPTED_TABLE, &what).await?;
            batch(c, "SET XACT_ABORT ON; BEGIN TRANSACTION", &what).await?;
            exec(c, "EXEC sp_getapplock @Resource = N'hubsync.provision', @LockMode = N'Exclusive'", &[], &what)
                .await?;
            if let Some(e) = registered(c, &t, &what).await? {
                let adopted = rows(c, tsql::ADOPTED, &[&e.id], &what).await?;
                batch(c, "COMMIT TRANSACTION", &what).await?;
                return match adopted.first().and_then(|r| text(r, 0)) {
                    Some(anchor) if e.columns == columns && triggers.is_empty() => {
                        Ok(DsTakeover { table: t.to_string(), anchor, already: true, ..Default::default() })
                    }
                    Some(_) => Err(refused(
                        "it was taken over with another column selection, or Data Sync's triggers came back; \
                         start it over with `hubsync reinit`"
                            .into(),
                    )),
                    None => Err(refused(
                        "hubsync already tracks it (provisioned without a takeover, so every row is announced): a \
                         takeover cannot tell Data Sync's un-synced changes any more; deprovision it (`hubsync db \
                         deprovision`) before the first sync and run the takeover again"
                            .into(),
                    )),
                };
            }
            if !f.has_object(&tracking, "U") {
                batch(c, "ROLLBACK TRANSACTION", &what).await?;
                return Err(refused(format!(
                    "Data Sync does not track it here (no [DataSync].[{tracking}]): leave it out of the takeover; its \
                     first sync compares every row"
                )));
            }
            let r = rows(
                c,
                base::REGISTER,
                &[&schema.as_str(), &t.name.as_str(), &(common::FORMAT as i32), &columns.as_str()],
                &what,
            )
            .await?;
            let id = r.first().map(|r| int(r, 0)).unwrap_or_default();
            let plan = tsql::takeover(self.db.flavor, &shape, id, &triggers, &tracking, announce);
            for s in &plan.setup {
                batch(c, s, &what).await?;
            }
            let anchor = match rows(c, &plan.anchor, &[], &what).await?.first() {
                Some(r) => format!("{}:{}", int(r, 0), int(r, 1)),
                None => "0:0".to_owned(),
            };
            let mut announced = 0;
            for s in &plan.announce {
                announced += exec(c, s, &[], &what).await?;
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or_default();
            exec(c, tsql::ADOPT, &[&id, &anchor.as_str(), &now], &what).await?;
            batch(c, "COMMIT TRANSACTION", &what).await?;
            Ok(DsTakeover {
                table: t.to_string(),
                triggers_dropped: triggers.clone(),
                announced,
                anchor,
                already: false,
            })
        }
        .await;
        if result.is_err() {
            lease.discard();
        }
        result
    }
}

impl Found {
    fn found_anything(&self) -> bool {
        self.schema || !self.triggers.is_empty()
    }
}

/// Which objects and scope rows a removal takes, and the tables that make
/// Data Sync look still in charge (its triggers enabled, hubsync not
/// capturing them).
fn plan_removal(f: &Found, scope: Option<&str>, leftovers: bool) -> Result<(Removal, Vec<String>), ConnectorError> {
    let gone: Vec<&DsScope> = match scope {
        Some(s) => {
            let found: Vec<&DsScope> =
                f.scopes.iter().filter(|x| x.name.eq_ignore_ascii_case(s) || x.local_id.to_string() == s).collect();
            if found.is_empty() {
                return Err(ConnectorError::Invalid(format!(
                    "there is no Data Sync scope {s:?} here; scopes: {}",
                    if f.scopes.is_empty() {
                        "none".to_owned()
                    } else {
                        f.scopes.iter().map(|x| format!("{} ({})", x.name, x.local_id)).collect::<Vec<_>>().join(", ")
                    }
                )));
            }
            found
        }
        None => f.scopes.iter().collect(),
    };
    let ids: Vec<i64> = gone.iter().map(|s| s.local_id).collect();
    let everything = ids.len() == f.scopes.len();
    let kept = f.referenced(&ids);
    let mut r = Removal { everything, ..Default::default() };
    let mut reasons = Vec::new();
    for s in &gone {
        r.scopes.push((s.local_id, s.config_id.clone()));
        for t in &s.tables {
            let live = f
                .triggers
                .iter()
                .any(|tr| !tr.disabled && low(&tr.schema) == low(&t.namespace) && low(&tr.table) == low(&t.name));
            if live && !f.captured.contains(&(low(&t.namespace), low(&t.name))) {
                reasons.push(format!("{}.{}", t.namespace, t.name));
            }
            for tr in &t.triggers {
                let (sch, n) = config::schema_and_name(tr, &t.namespace);
                let exists = f.triggers.iter().any(|x| low(&x.schema) == low(&sch) && low(&x.name) == low(&n));
                if exists && !kept.contains(&format!("{}.{}", low(&sch), low(&n))) {
                    r.objects.push(Drop::Trigger(format!("{}.{}", base::quote(&sch), base::quote(&n))));
                }
            }
            let mut add = |name: &str, kind: &str, d: fn(String) -> Drop| {
                let n = config::split_name(name).pop().unwrap_or_default();
                if f.has_object(&n, kind) && !kept.contains(&low(&n)) {
                    r.objects.push(d(n));
                }
            };
            for p in &t.procedures {
                add(p, "P", Drop::Procedure);
            }
            if let Some(b) = &t.bulk_type {
                add(b, "TT", Drop::Type);
            }
            add(&t.tracking_table, "U", Drop::Table);
        }
    }
    if leftovers || everything {
        let found_left = f.leftovers();
        for tr in &f.triggers {
            if !kept.contains(&format!("{}.{}", low(&tr.schema), low(&tr.name)))
                && !r.objects.contains(&Drop::Trigger(tr.full()))
                && (everything || found_left.iter().any(|l| l.object == tr.full()))
            {
                r.objects.push(Drop::Trigger(tr.full()));
            }
        }
        for l in found_left.iter().filter(|l| l.removable) {
            let n = config::split_name(&l.object).pop().unwrap_or_default();
            match l.kind.as_str() {
                "procedure" => r.objects.push(Drop::Procedure(n)),
                "type" => r.objects.push(Drop::Type(n)),
                "tracking table" => r.objects.push(Drop::Table(n)),
                _ => {}
            }
        }
        r.stale_markers =
            f.markers.iter().filter(|(id, _)| !f.tables.iter().any(|(_, _, t)| t == id)).map(|m| m.0).collect();
    }
    // The same object named in two spellings (case) once.
    let mut seen = HashSet::new();
    r.objects.retain(|o| seen.insert(low(&format!("{o:?}"))));
    Ok((r, reasons))
}
