//! Connections to SQL Server: URLs and ADO.NET connection strings, TLS,
//! a small pool, and what the server's errors mean for hubsync.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hubsync_core::{ConnectOptions, ConnectorError, EngineKind};
use tiberius::{AuthMethod, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

const ENGINE: EngineKind = EngineKind::Mssql;

/// A tiberius client over tokio.
pub(crate) type Client = tiberius::Client<Compat<TcpStream>>;

/// A connection to the server.
pub(crate) struct Conn {
    /// The tiberius client.
    pub(crate) client: Client,
    /// Whether the connection may be out of step with the server (an I/O
    /// error or a timeout mid-response): it is closed, never reused.
    pub(crate) spent: bool,
}

impl Conn {
    /// Classify `e` (see [`error`]), marking the connection spent unless the
    /// server answered with an error of its own (the connection is then in step).
    pub(crate) fn fail(&mut self, what: &str, e: tiberius::error::Error) -> ConnectorError {
        if !matches!(e, tiberius::error::Error::Server(_)) {
            self.spent = true;
        }
        classify(what.to_owned(), e)
    }
}

/// Percent-decoding of a URL part (user names and passwords may hold `@`, `:`, `/`).
fn decode(part: &str) -> Result<String, String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = part.get(i + 1..i + 3).ok_or("a % escape is cut short")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("%{hex} is not a % escape"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "a % escape does not decode to UTF-8".into())
}

/// A tiberius configuration from `mssql://USER:PASSWORD@HOST[:PORT]/DB?…`
/// (also `sqlserver://`) or from an ADO.NET connection string.
pub(crate) fn config(url: &str) -> Result<Config, ConnectorError> {
    let shown = crate::redact(url);
    let bad = |why: String| ConnectorError::BadUrl(format!("{shown} is not a SQL Server connection string: {why}"));
    if crate::is_ado(url) {
        let mut c = Config::from_ado_string(url).map_err(|e| bad(e.to_string()))?;
        c.application_name("hubsync");
        return Ok(c);
    }
    let rest = url
        .strip_prefix("mssql://")
        .or_else(|| url.strip_prefix("sqlserver://"))
        .ok_or_else(|| bad("it must start with mssql://".into()))?;
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, db) = main.split_once('/').unwrap_or((main, ""));
    let (userinfo, hostport) = authority
        .rsplit_once('@')
        .ok_or_else(|| bad("it names no user; SQL Server logins need mssql://USER:PASSWORD@HOST/DB".into()))?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad(format!("port {p:?} is not a number")))?),
        None => (hostport, 1433),
    };
    if host.is_empty() {
        return Err(bad("it names no host".into()));
    }
    let mut c = Config::new();
    c.host(host.trim_start_matches('[').trim_end_matches(']'));
    c.port(port);
    c.application_name("hubsync");
    c.authentication(AuthMethod::sql_server(decode(user).map_err(&bad)?, decode(password).map_err(&bad)?));
    let db = decode(db).map_err(&bad)?;
    if !db.is_empty() {
        c.database(db);
    }
    // Like the ADO.NET driver: encryption required unless asked otherwise,
    // the certificate checked unless trusted explicitly.
    c.encryption(EncryptionLevel::Required);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, "true"));
        let v = v.to_ascii_lowercase();
        let yes = || match v.as_str() {
            "true" | "yes" | "1" | "on" => Ok(true),
            "false" | "no" | "0" | "off" => Ok(false),
            _ => Err(bad(format!("{k}={v} is neither true nor false"))),
        };
        match k.to_ascii_lowercase().replace('-', "_").as_str() {
            "encrypt" => c.encryption(match v.as_str() {
                "required" | "mandatory" | "true" | "yes" => EncryptionLevel::Required,
                "optional" | "on" => EncryptionLevel::On,
                "off" | "false" | "no" => EncryptionLevel::NotSupported,
                "strict" => EncryptionLevel::Strict,
                _ => return Err(bad(format!("encrypt={v}: use required, optional, strict or off"))),
            }),
            "trust_server_certificate" | "trustservercertificate" => {
                if yes()? {
                    c.trust_cert();
                }
            }
            "trust_server_certificate_ca" => c.trust_cert_ca(v),
            "application_name" => c.application_name(v),
            "instance" => c.instance_name(v),
            _ => {
                return Err(bad(format!(
                    "unknown option {k:?}; known: encrypt, trust_server_certificate, trust_server_certificate_ca, \
                     application_name, instance"
                )));
            }
        }
    }
    Ok(c)
}

/// One connection to `url` outside any pool (plain clients), with no
/// statement timeout.
pub(crate) async fn connect_url(url: &str) -> Result<Conn, ConnectorError> {
    let mut c = config(url)?;
    c.command_timeout(None);
    connect(&c, url, ConnectOptions::DEFAULT_CONNECT_TIMEOUT).await
}

/// Open one connection, following Azure SQL's gateway redirect.
async fn connect(config: &Config, url: &str, timeout: Duration) -> Result<Conn, ConnectorError> {
    let mut config = config.clone();
    for _ in 0..3 {
        let attempt = async {
            let tcp = TcpStream::connect(config.get_addr()).await.map_err(tiberius::error::Error::from)?;
            tcp.set_nodelay(true).map_err(tiberius::error::Error::from)?;
            tiberius::Client::connect(config.clone(), tcp.compat_write()).await
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(client)) => return Ok(Conn { client, spent: false }),
            Ok(Err(tiberius::error::Error::Routing { host, port })) => {
                config.host(host);
                config.port(port);
            }
            Ok(Err(e)) => return Err(connect_error(url, &config, e)),
            Err(_) => {
                return Err(ConnectorError::Connect {
                    url: crate::redact(url),
                    cause: format!(
                        "no answer from {} within {} s; check the host and port, and that no firewall drops \
                         the connection (connect_timeout_seconds raises the limit)",
                        config.get_addr(),
                        timeout.as_secs_f64()
                    ),
                });
            }
        }
    }
    Err(ConnectorError::Connect { url: crate::redact(url), cause: "the server redirected the login in a loop".into() })
}

fn connect_error(url: &str, config: &Config, e: tiberius::error::Error) -> ConnectorError {
    use tiberius::error::Error as E;
    let addr = config.get_addr();
    let cause = match &e {
        E::Io { kind: std::io::ErrorKind::ConnectionRefused, .. } => format!(
            "connection refused: nothing is listening at {addr}; check that SQL Server is running, that TCP/IP \
             is enabled and that the host and port are right"
        ),
        E::Io { message, .. } if message.contains("lookup") || message.contains("resolve") => {
            format!("the host in {addr} cannot be resolved ({message}); check its spelling and your DNS")
        }
        E::Tls(m) => format!(
            "the TLS handshake failed: {m}; check the server's certificate, or add trust_server_certificate=true \
             (TrustServerCertificate=True) for a self-signed one, or encrypt=off"
        ),
        E::Server(t) if t.code() == 18456 => format!(
            "the server refused the login: {}; check the user name and password (SQL authentication)",
            t.message()
        ),
        E::Server(t) if t.code() == 4060 => {
            format!("{}; create the database first, or fix its name", t.message())
        }
        other => other.to_string(),
    };
    ConnectorError::Connect { url: crate::redact(url), cause }
}

/// A few connections, made when needed and reused. A clone shares them.
#[derive(Clone)]
pub(crate) struct Pool {
    config: Config,
    url: String,
    timeout: Duration,
    idle: Arc<Mutex<Vec<Conn>>>,
    slots: Arc<Semaphore>,
}

/// A connection taken from the [`Pool`]; it goes back when dropped unless
/// [`Lease::discard`]ed or errors marked it spent.
pub(crate) struct Lease {
    conn: Option<Conn>,
    idle: Arc<Mutex<Vec<Conn>>>,
    _slot: OwnedSemaphorePermit,
}

impl Lease {
    /// The connection.
    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("a lease holds its connection until dropped")
    }

    /// Close the connection instead of returning it (its session state is
    /// unknown after an error).
    pub(crate) fn discard(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            c.spent = true;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let (Some(c), Ok(mut idle)) = (self.conn.take(), self.idle.lock())
            && !c.spent
        {
            idle.push(c);
        }
    }
}

impl Pool {
    /// A pool of up to `size` connections; one is opened now, so a server
    /// that cannot be reached is reported at once.
    pub(crate) async fn open(url: &str, o: &ConnectOptions, size: usize) -> Result<(Pool, Conn), ConnectorError> {
        let mut config = config(url)?;
        // tiberius gives up on a server that does not answer for 30 s by
        // default; hubsync keeps the server's own limits unless
        // statement_timeout_seconds says otherwise (a connection that timed
        // out is closed: it is out of step with the server).
        config.command_timeout(o.statement_timeout);
        let first = connect(&config, url, o.connect_timeout).await?;
        let pool = Pool {
            config,
            url: url.to_owned(),
            timeout: o.connect_timeout,
            idle: Arc::new(Mutex::new(Vec::new())),
            slots: Arc::new(Semaphore::new(size)),
        };
        Ok((pool, first))
    }

    /// Give a connection made outside [`Pool::get`] to the pool.
    pub(crate) fn put(&self, c: Conn) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(c);
        }
    }

    /// A connection: an idle one, or a new one.
    pub(crate) async fn get(&self) -> Result<Lease, ConnectorError> {
        let slot = self.slots.clone().acquire_owned().await.map_err(|_| ConnectorError::Database {
            engine: ENGINE,
            operation: "taking a connection".into(),
            cause: "the connection pool was closed".into(),
        })?;
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => connect(&self.config, &self.url, self.timeout).await?,
        };
        Ok(Lease { conn: Some(conn), idle: self.idle.clone(), _slot: slot })
    }
}

/// What a failed statement means: data the server refused (quarantined by
/// the engine), a lock lost to another transaction (retried), or a
/// failure of the connection or the SQL.
pub(crate) fn error(operation: impl Into<String>) -> impl FnOnce(tiberius::error::Error) -> ConnectorError {
    let operation = operation.into();
    move |e| classify(operation, e)
}

fn classify(operation: String, e: tiberius::error::Error) -> ConnectorError {
    let tiberius::error::Error::Server(t) = &e else {
        return ConnectorError::Database { engine: ENGINE, operation, cause: e.to_string() };
    };
    let (code, message) = (t.code(), t.message().to_owned());
    let lower = message.to_ascii_lowercase();
    // SQL Server: deadlock victim, lock timeout, snapshot update conflict.
    // Babelfish reports PostgreSQL's errors under 33557097 with its text.
    if matches!(code, 1205 | 1222 | 3960)
        || lower.contains("deadlock detected")
        || lower.contains("could not serialize")
        || lower.contains("lock timeout")
    {
        return ConnectorError::LockConflict { engine: ENGINE, operation, cause: message };
    }
    let foreign_key = (code == 547 && lower.contains("foreign key")) || lower.contains("violates foreign key");
    let rejects = matches!(
        code,
        // unique key, unique index, constraint, NULL, truncation, overflow, conversion, JSON
        2627 | 2601
            | 547
            | 515
            | 8152
            | 2628
            | 8115
            | 220
            | 232
            | 244
            | 248
            | 8114
            | 245
            | 241
            | 242
            | 293
            | 295
            | 296
            | 298
            | 517
            | 8023
            | 13609
            | 9420
            | 9455
    ) || [
        "violates",
        "duplicate key",
        "value too long",
        "out of range",
        "invalid input syntax",
        "null value in column",
        "overflow",
    ]
    .iter()
    .any(|m| lower.contains(m));
    if rejects {
        let column = column_in(&message);
        return ConnectorError::Rejected { engine: ENGINE, operation, cause: message, column, foreign_key };
    }
    ConnectorError::Database { engine: ENGINE, operation, cause: format!("{message} (error {code})") }
}

/// The column a server message names: SQL Server `column 'x'`, PostgreSQL `column "x"`.
fn column_in(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let i = lower.find("column ")?;
    let rest = &message[i + 7..];
    let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    rest[1..].split(quote).next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_connection_strings_parse_and_hide_passwords() {
        let c =
            config("mssql://sa:p%40ss@db.example:1444/sales?encrypt=off&trust_server_certificate=true").expect("url");
        assert_eq!(c.get_addr(), "db.example:1444");
        assert!(config("mssql://sa:x@h/db?colour=blue").expect_err("unknown option").to_string().contains("colour"));
        assert!(config("mssql://h/db").expect_err("no user").to_string().contains("USER:PASSWORD"));
        let ado = "Server=tcp:x,1433;User ID=app;Password=plain;Encrypt=True";
        assert!(crate::is_ado(ado) && !crate::is_ado("mssql://a:b@c/d"));
        assert_eq!(crate::redact_ado(ado), "Server=tcp:x,1433;User ID=app;Password=***;Encrypt=True");
        assert_eq!(crate::redact_ado("Pwd='a;''b';x=1"), "Pwd=***;x=1");
        let ok = "Server=tcp:x.database.windows.net,1433;Initial Catalog=sales;User ID=app;Password={s3cr;et};\
                  Encrypt=True;TrustServerCertificate=False";
        assert_eq!(config(ok).expect("ado").get_addr(), "x.database.windows.net:1433");
        assert!(!crate::redact(ok).contains("s3cr") && !crate::redact(ok).contains("et}"), "{}", crate::redact(ok));
        assert!(!crate::redact("mssql://sa:topsecret@h/db").contains("topsecret"));
    }

    #[test]
    fn server_errors_are_classified() {
        assert_eq!(column_in("Cannot insert the value NULL into column 'note', table 't'"), Some("note".into()));
        assert_eq!(column_in("null value in column \"n\" violates"), Some("n".into()));
    }
}
