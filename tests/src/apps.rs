//! Applications on SQLite, each linking its own SQLite library: the system
//! `sqlite3` client, Python's `sqlite3` module and `sqlite-floor` (3.31.1).
//! hubsync's triggers run inside whichever the application uses.

use std::path::Path;
use std::process::Command;

/// An application that writes a SQLite file with its own SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteApp {
    /// The system `sqlite3` command-line client (Debian 12: 3.40).
    Cli,
    /// Python's standard `sqlite3` module (CPython 3.11 here: 3.40).
    Python,
    /// An application on SQLite 3.31.1, the oldest hubsync supports.
    Floor,
}

/// Every SQLite application the tests use.
pub const SQLITE_APPS: [SqliteApp; 3] = [SqliteApp::Cli, SqliteApp::Python, SqliteApp::Floor];

const PYTHON: &str = "import sqlite3, sys
if sys.argv[1] == '--version':
    print(sqlite3.sqlite_version); sys.exit(0)
c = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
c.executescript(sys.stdin.read())
c.close()
";

impl SqliteApp {
    fn command(self, arg: &str) -> Command {
        match self {
            SqliteApp::Cli => {
                let mut c = Command::new("sqlite3");
                if arg == "--version" {
                    c.arg("--version");
                } else {
                    c.args(["-batch", "-bail", "-cmd", ".timeout 10000", arg]);
                }
                c
            }
            SqliteApp::Python => {
                let mut c = Command::new("python3");
                c.args(["-c", PYTHON, arg]);
                c
            }
            SqliteApp::Floor => {
                let mut c = Command::new(crate::sqlite_floor());
                c.arg(arg);
                c
            }
        }
    }

    /// The SQLite version this application links.
    pub fn version(self) -> String {
        let out = self.command("--version").output().expect("run the application");
        String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_owned()
    }

    /// Run a script on the file as this application; its output or its error.
    pub fn exec(self, db: &Path, sql: &str) -> Result<String, String> {
        super::run_client(self.command(db.to_str().expect("utf-8 path")), sql)
    }
}
