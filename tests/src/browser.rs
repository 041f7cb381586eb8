//! A real browser for the dashboard's tests: Debian's `chromium`, headless,
//! driven through `chromedriver` (the W3C WebDriver protocol: JSON over
//! HTTP on loopback), and a plain HTTP/1.1 client for requests a browser
//! would not make (a forged cross-site post, a raw event stream). Nothing
//! is downloaded: when chromium or chromedriver is missing the tests say
//! SKIPPED (or fail under `HUBSYNC_REQUIRE_BROWSER=1`, as CI sets).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{free_port, wait_for};

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Header lines, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Answer {
    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request to `127.0.0.1:port` (`Connection: close`).
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    try_http(port, method, path, headers, body).unwrap_or_else(|e| panic!("{method} {path} on port {port}: {e}"))
}

/// [`http`], answering the connection's error instead of failing the test.
pub fn try_http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> std::io::Result<Answer> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes())?;
    // Read the head, then the body by its length (a server may keep the
    // connection open whatever the request said), chunks, or to the end.
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = s.read(&mut buf)?;
        raw.extend_from_slice(&buf[..n]);
        if n == 0 || complete(&raw) {
            break;
        }
    }
    Ok(parse(&raw))
}

/// Whether `raw` holds a whole answer.
fn complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let body = &raw[end + 4..];
    if let Some(len) = head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        return len.trim().parse::<usize>().is_ok_and(|n| body.len() >= n);
    }
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n");
    }
    let status = head.split(' ').nth(1).unwrap_or_default();
    status == "204" || status == "304" || status.starts_with('1')
}

fn parse(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { unchunk(body) } else { body.to_owned() };
    Answer { status, headers, body }
}

fn unchunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Where Debian puts the browser and its driver.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let chromium =
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().map(PathBuf::from).find(|p| p.exists())?;
    let driver = ["/usr/bin/chromedriver"].into_iter().map(PathBuf::from).find(|p| p.exists())?;
    Some((chromium, driver))
}

/// A headless chromium session, ended (and its driver stopped) when dropped.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A new browser at 1280×800, or `None` (SKIPPED printed) when chromium
    /// or chromedriver is not installed and `HUBSYNC_REQUIRE_BROWSER` is unset.
    pub fn start(test: &str) -> Option<Browser> {
        let Some((chromium, driver)) = tools() else {
            assert!(
                std::env::var_os("HUBSYNC_REQUIRE_BROWSER").is_none(),
                "HUBSYNC_REQUIRE_BROWSER is set but chromium or chromedriver is missing: apt-get install chromium chromium-driver"
            );
            println!("*** SKIPPED: no chromium/chromedriver (apt-get install chromium chromium-driver): {test}");
            return None;
        };
        // A driver that resets its first connection (its port taken
        // between `free_port` and its start, by tests running beside this
        // one) is started again on another port, with a fresh profile.
        let mut failures = Vec::new();
        for _ in 0..3 {
            let profile = tempfile::tempdir().expect("profile dir");
            let args = [
                "--headless=new".to_owned(),
                "--no-sandbox".into(),
                "--disable-gpu".into(),
                "--disable-quic".into(),
                "--no-first-run".into(),
                "--disable-background-networking".into(),
                "--disable-component-update".into(),
                "--disable-sync".into(),
                "--disable-dev-shm-usage".into(),
                "--window-size=1280,800".into(),
                format!("--user-data-dir={}", profile.path().display()),
            ];
            let caps = json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "unhandledPromptBehavior": "ignore",
                "goog:chromeOptions": {"binary": chromium, "args": args}
            }}});
            let port = free_port();
            let child = Command::new(&driver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver");
            // Dropped on failure: the driver is stopped.
            let mut b = Browser { driver: child, port, session: String::new(), _profile: profile };
            if !wait_for(Duration::from_secs(20), || TcpStream::connect(("127.0.0.1", port)).is_ok()) {
                failures.push(format!("chromedriver did not listen on port {port}"));
                continue;
            }
            let headers = [("Content-Type", "application/json")];
            match try_http(port, "POST", "/session", &headers, &caps.to_string()) {
                Ok(a) if a.status == 200 => {
                    let v: Value = serde_json::from_str(&a.body).expect("session answer");
                    b.session = v["value"]["sessionId"].as_str().expect("session id").to_owned();
                    return Some(b);
                }
                Ok(a) => failures.push(format!("no session: {} {}", a.status, a.body)),
                Err(e) => failures.push(format!("no session: {e}")),
            }
        }
        panic!("no browser session in 3 tries: {failures:?}")
    }

    /// One WebDriver command; its `value`, or the driver's error.
    fn wd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let a = http(self.port, method, path, &[("Content-Type", "application/json")], &body);
        let v: Value = serde_json::from_str(&a.body).map_err(|e| format!("{e}: {}", a.body))?;
        if a.status != 200 {
            return Err(format!("{}: {}", v["value"]["error"], v["value"]["message"]));
        }
        Ok(v["value"].clone())
    }

    fn cmd(&self, method: &str, what: &str, body: Option<Value>) -> Result<Value, String> {
        self.wd(method, &format!("/session/{}{what}", self.session), body)
    }

    /// Open `url` and wait for it to load.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url}))).unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The page's URL now.
    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None).expect("url").as_str().unwrap_or_default().to_owned()
    }

    /// Run `script` in the page (its `arguments` are `args`); what it returns.
    pub fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    fn element(&self, css: &str) -> Option<String> {
        let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css}))).ok()?;
        v.as_object()?.values().next()?.as_str().map(str::to_owned)
    }

    /// Wait (up to 20 s) for an element matching `css`; its id.
    fn wait_element(&self, css: &str) -> String {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(e) = self.element(css) {
                return e;
            }
            assert!(Instant::now() < end, "no element {css:?} on {}\n{}", self.url(), self.text("body"));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether an element matches `css` now.
    pub fn has(&self, css: &str) -> bool {
        self.element(css).is_some()
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> usize {
        self.js("return document.querySelectorAll(arguments[0]).length", vec![json!(css)]).as_u64().unwrap_or(0)
            as usize
    }

    /// Click the element matching `css` (waiting for it).
    pub fn click(&self, css: &str) {
        let e = self.wait_element(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})))
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    /// Clear the field matching `css` and type `text` into it, as keys.
    pub fn fill(&self, css: &str, text: &str) {
        let e = self.wait_element(css);
        let _ = self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({})));
        self.cmd("POST", &format!("/element/{e}/value"), Some(json!({"text": text})))
            .unwrap_or_else(|err| panic!("type into {css}: {err}"));
    }

    /// The visible text of the first element matching `css` (empty if none).
    pub fn text(&self, css: &str) -> String {
        self.js("const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", vec![json!(css)])
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The value of an input matching `css`.
    pub fn value(&self, css: &str) -> String {
        self.js("const e = document.querySelector(arguments[0]); return e ? e.value : ''", vec![json!(css)])
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Wait (up to `secs`) until the page's text contains `needle`.
    pub fn wait_text(&self, css: &str, needle: &str, secs: u64) {
        let ok = wait_for(Duration::from_secs(secs), || self.text(css).contains(needle));
        assert!(ok, "{css} never showed {needle:?} on {}; the page shows:\n{}", self.url(), self.text("body"));
    }

    /// The text of an open dialog (`alert`, `confirm`), if one is open.
    pub fn dialog(&self) -> Option<String> {
        self.cmd("GET", "/alert/text", None).ok().map(|v| v.as_str().unwrap_or_default().to_owned())
    }

    /// Accept the open dialog.
    pub fn accept_dialog(&self) {
        self.cmd("POST", "/alert/accept", Some(json!({}))).expect("accept the dialog");
    }

    /// Set the window size (CSS pixels).
    pub fn size(&self, width: u32, height: u32) {
        self.cmd("POST", "/window/rect", Some(json!({"width": width, "height": height}))).expect("resize");
    }

    /// Show pages as a system in dark mode would (`prefers-color-scheme: dark`).
    pub fn dark(&self) {
        let params = json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]});
        self.cmd("POST", "/goog/cdp/execute", Some(json!({"cmd": "Emulation.setEmulatedMedia", "params": params})))
            .expect("emulate dark mode");
    }

    /// Save a PNG of the page to `path`.
    pub fn screenshot(&self, path: &Path) {
        let v = self.cmd("GET", "/screenshot", None).expect("screenshot");
        let png = base64(v.as_str().unwrap_or_default());
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.wd("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where screenshots go: `target/screenshots/` (kept as test artifacts).
pub fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").join("target"));
    target.join("screenshots")
}

fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let Some(v) = val(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A server-sent-events stream read as a client reads it.
pub struct EventStream {
    socket: TcpStream,
    /// Bytes of the body not yet un-chunked.
    raw: Vec<u8>,
    /// Body text not yet split into events.
    text: String,
    /// The status of the answer.
    pub status: u16,
}

/// One event: its id (if any), name and data.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// The `id:` field.
    pub id: Option<String>,
    /// The `event:` field.
    pub name: String,
    /// The `data:` field.
    pub data: String,
}

impl EventStream {
    /// `GET path` on `127.0.0.1:port` with `headers`, kept open.
    pub fn open(port: u16, path: &str, headers: &[(&str, &str)]) -> EventStream {
        let mut socket = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n");
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str("\r\n");
        socket.write_all(req.as_bytes()).expect("send");
        socket.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
        let mut s = EventStream { socket, raw: Vec::new(), text: String::new(), status: 0 };
        let end = Instant::now() + Duration::from_secs(20);
        while s.status == 0 && Instant::now() < end {
            s.fill();
            if let Some(i) = s.raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&s.raw[..i]).into_owned();
                s.status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
                s.raw.drain(..i + 4);
            }
        }
        s
    }

    fn fill(&mut self) -> bool {
        let mut buf = [0u8; 16384];
        match self.socket.read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                self.raw.extend_from_slice(&buf[..n]);
                true
            }
            Err(_) => true,
        }
    }

    /// Move whole chunks from `raw` to `text`.
    fn unchunk(&mut self) {
        loop {
            let Some(i) = self.raw.windows(2).position(|w| w == b"\r\n") else { return };
            let size = String::from_utf8_lossy(&self.raw[..i]).trim().to_owned();
            let Ok(n) = usize::from_str_radix(&size, 16) else { return };
            if self.raw.len() < i + 2 + n + 2 {
                return;
            }
            self.text.push_str(&String::from_utf8_lossy(&self.raw[i + 2..i + 2 + n]));
            self.raw.drain(..i + 2 + n + 2);
        }
    }

    /// The next event within `timeout` (comments and keep-alives skipped).
    pub fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let end = Instant::now() + timeout;
        loop {
            self.unchunk();
            while let Some(i) = self.text.find("\n\n") {
                let block: String = self.text.drain(..i + 2).collect();
                let mut e = SseEvent { id: None, name: String::new(), data: String::new() };
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        e.id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        e.name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        e.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if !e.name.is_empty() {
                    return Some(e);
                }
            }
            if Instant::now() > end || !self.fill() {
                return None;
            }
        }
    }

    /// Events until one satisfies `pred` (or `timeout` passes); all read.
    pub fn until(&mut self, timeout: Duration, pred: impl Fn(&SseEvent) -> bool) -> (Vec<SseEvent>, bool) {
        let end = Instant::now() + timeout;
        let mut seen = Vec::new();
        while Instant::now() < end {
            if let Some(e) = self.next(Duration::from_millis(500)) {
                let hit = pred(&e);
                seen.push(e);
                if hit {
                    return (seen, true);
                }
            }
        }
        (seen, false)
    }
}
