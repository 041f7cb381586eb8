//! One statement against the store: its SQL in the store's dialect, its
//! values, and the words that name it when it fails. Every query of the
//! store goes through [`MetaStore::statement`], so none repeats the
//! placeholder rewriting or the error mapping.

use hubsync_core::{ConnectorError, EngineKind};
use sqlx::any::{Any, AnyRow};
use sqlx::{Decode, Encode, Executor, Row, Type};

use super::MetaStore;

/// A statement being built: bind its values in placeholder order, then run it.
pub(crate) struct Statement {
    query: sqlx::query::Query<'static, Any, <Any as sqlx::Database>::Arguments>,
    engine: EngineKind,
    what: String,
}

impl MetaStore {
    /// `sql` (with `?` placeholders) as a statement of this store; `what`
    /// says in an error what the store was doing ("reading tokens").
    pub(crate) fn statement(&self, what: impl Into<String>, sql: &str) -> Statement {
        Statement { query: sqlx::query(self.sql(sql)), engine: self.engine, what: what.into() }
    }
}

impl Statement {
    /// Bind the next placeholder's value.
    pub(crate) fn bind<'t, T: Encode<'t, Any> + Type<Any>>(mut self, value: T) -> Statement {
        self.query = self.query.bind(value);
        self
    }

    fn error(&self) -> impl FnOnce(sqlx::Error) -> ConnectorError + use<> {
        crate::common::db_error(self.engine, self.what.clone())
    }

    /// Run it on `on` (the pool or a transaction); the rows it changed.
    pub(crate) async fn execute<'c, E: Executor<'c, Database = Any>>(self, on: E) -> Result<u64, ConnectorError> {
        let fail = self.error();
        self.query.execute(on).await.map(|r| r.rows_affected()).map_err(fail)
    }

    /// Every row it returns.
    pub(crate) async fn fetch_all<'c, E: Executor<'c, Database = Any>>(
        self,
        on: E,
    ) -> Result<Vec<AnyRow>, ConnectorError> {
        let fail = self.error();
        self.query.fetch_all(on).await.map_err(fail)
    }

    /// Its one row.
    pub(crate) async fn fetch_one<'c, E: Executor<'c, Database = Any>>(self, on: E) -> Result<AnyRow, ConnectorError> {
        let fail = self.error();
        self.query.fetch_one(on).await.map_err(fail)
    }

    /// Its first row, if any.
    pub(crate) async fn fetch_optional<'c, E: Executor<'c, Database = Any>>(
        self,
        on: E,
    ) -> Result<Option<AnyRow>, ConnectorError> {
        let fail = self.error();
        self.query.fetch_optional(on).await.map_err(fail)
    }

    /// The first column of its first row, if there is a row.
    pub(crate) async fn fetch_scalar<'c, T, E>(self, on: E) -> Result<Option<T>, ConnectorError>
    where
        T: for<'r> Decode<'r, Any> + Type<Any>,
        E: Executor<'c, Database = Any>,
    {
        let (fail, decoding) = (self.error(), self.error());
        match self.query.fetch_optional(on).await.map_err(fail)? {
            Some(row) => row.try_get(0).map(Some).map_err(decoding),
            None => Ok(None),
        }
    }
}
