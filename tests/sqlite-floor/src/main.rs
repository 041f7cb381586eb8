//! `sqlite-floor DB`: runs the SQL read from stdin against DB with the
//! bundled SQLite 3.31.1, as an application on that version would, and
//! prints result rows as `a|b|c` lines. `sqlite-floor --version` prints the
//! library version. Exits 1 with SQLite's message on the first error.

use std::ffi::{CStr, CString};
use std::io::Read;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use libsqlite3_sys as ffi;

extern "C" fn print_row(_: *mut c_void, n: c_int, values: *mut *mut c_char, _: *mut *mut c_char) -> c_int {
    let mut cells = Vec::with_capacity(n as usize);
    for i in 0..n as isize {
        // SAFETY: SQLite passes `n` valid pointers, each NULL or a C string.
        let v = unsafe { *values.offset(i) };
        cells.push(if v.is_null() { String::new() } else { unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned() });
    }
    println!("{}", cells.join("|"));
    0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // SAFETY: sqlite3_libversion returns a static C string.
    let version = unsafe { CStr::from_ptr(ffi::sqlite3_libversion()) }.to_string_lossy().into_owned();
    if args.get(1).map(String::as_str) == Some("--version") {
        println!("{version}");
        return;
    }
    let Some(path) = args.get(1) else {
        eprintln!("usage: sqlite-floor DB < script.sql");
        std::process::exit(2);
    };
    let mut sql = String::new();
    std::io::stdin().read_to_string(&mut sql).expect("read stdin");
    let path = CString::new(path.as_str()).expect("path");
    let sql = CString::new(sql).expect("sql");
    let mut db: *mut ffi::sqlite3 = ptr::null_mut();
    // SAFETY: plain use of the C API with valid, NUL-terminated arguments.
    unsafe {
        if ffi::sqlite3_open(path.as_ptr(), &mut db) != ffi::SQLITE_OK {
            eprintln!("cannot open: {}", CStr::from_ptr(ffi::sqlite3_errmsg(db)).to_string_lossy());
            std::process::exit(1);
        }
        ffi::sqlite3_busy_timeout(db, 30_000);
        let mut err: *mut c_char = ptr::null_mut();
        if ffi::sqlite3_exec(db, sql.as_ptr(), Some(print_row), ptr::null_mut(), &mut err) != ffi::SQLITE_OK {
            let msg = if err.is_null() { "unknown error".into() } else { CStr::from_ptr(err).to_string_lossy() };
            eprintln!("Error (SQLite {version}): {msg}");
            std::process::exit(1);
        }
        ffi::sqlite3_close(db);
    }
}
