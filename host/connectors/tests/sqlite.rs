//! The connector contract on SQLite (embedded; each test gets its own file).

mod common;

scenario_tests!(Db);

use common::dbs::SqliteDb as Db;
