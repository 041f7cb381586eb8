//! Every supported type across every ordered pair of engines: rows written
//! on one engine, captured there, applied to another and captured again
//! come out as they went in. SQL Server joins when one runs (Babelfish
//! here; skipped loudly otherwise).

mod common;

use common::dbs::{MssqlDb, MysqlDb, PgDb, SqliteDb};
use common::{TestDb, all_types, assert_same_rows, write_and_capture};

async fn engine(n: usize) -> Box<dyn TestDb> {
    match n {
        0 => Box::new(SqliteDb::new().await),
        1 => Box::new(PgDb::new().await),
        2 => Box::new(MysqlDb::new().await),
        _ => Box::new(MssqlDb::connect().await.expect("checked by the caller")),
    }
}

#[tokio::test]
async fn every_type_crosses_every_engine_pair() {
    let (t, rows) = all_types();
    let engines = if common::dbs::mssql_available().await { 4 } else { 3 };
    for from in 0..engines {
        for to in 0..engines {
            let (a, b) = (engine(from).await, engine(to).await);
            let captured = write_and_capture(a.connector(), &t, &rows, "test").await;
            let there = write_and_capture(b.connector(), &t, &captured, "peer").await;
            eprintln!("{} -> {}", a.connector().engine(), b.connector().engine());
            assert_same_rows(&t, &there, &rows);
        }
    }
}
