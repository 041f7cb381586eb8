//! Every supported type across every ordered pair of engines: rows written
//! on one engine, captured there, applied to another and captured again
//! come out as they went in.

mod common;

use common::dbs::{MysqlDb, PgDb, SqliteDb};
use common::{TestDb, all_types, assert_same_rows, write_and_capture};

async fn engine(n: usize) -> Box<dyn TestDb> {
    match n {
        0 => Box::new(SqliteDb::new().await),
        1 => Box::new(PgDb::new().await),
        _ => Box::new(MysqlDb::new().await),
    }
}

#[tokio::test]
async fn every_type_crosses_every_engine_pair() {
    let (t, rows) = all_types();
    for from in 0..3 {
        for to in 0..3 {
            let (a, b) = (engine(from).await, engine(to).await);
            let captured = write_and_capture(a.connector(), &t, &rows, "test").await;
            let there = write_and_capture(b.connector(), &t, &captured, "peer").await;
            eprintln!("{} -> {}", a.connector().engine(), b.connector().engine());
            assert_same_rows(&t, &there, &rows);
        }
    }
}
