//! A headless-Chromium harness for tests: render a local HTML file and learn what a
//! reader's browser would do with it.
//!
//! - `render(file)`: the DOM after load (`--dump-dom`), every network request the page
//!   attempted other than its own `file://` URL (read from Chromium's NetLog,
//!   `--log-net-log`, told apart from what Chromium fetches for itself), and its console
//!   messages (Chromium's own log on stderr, `--enable-logging=stderr --v=0`, lines
//!   tagged `CONSOLE`; every one counts as an error, see `Page::console_errors`).
//! - `print_pdf(file)`: the page printed to PDF (`--print-to-pdf`, no header or footer)
//!   and the PDF's text (`pdftotext -layout`), page count and page size (`pdfinfo`).
//!
//! Chromium (`/usr/bin/chromium`) and `pdftotext` are Debian's `chromium` and
//! `poppler-utils`. When missing they are installed with `apt-get install -y` if the
//! tests run as root (CI and this machine do), else the test FAILS with the exact
//! command to run; never a skip. Every run gets a fresh profile (`--user-data-dir` in a
//! temporary folder) and the flags that keep Chromium from calling home, so a request
//! in the NetLog is the page's own. A run that takes longer than `TIMEOUT` is killed
//! and fails the test.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const PDFTOTEXT: &str = "/usr/bin/pdftotext";
/// From poppler-utils too.
pub const PDFINFO: &str = "/usr/bin/pdfinfo";
/// The Debian packages that provide them, in the order of `PROGRAMS`.
const PROGRAMS: [(&str, &str); 3] = [
    (CHROMIUM, "chromium"),
    (PDFTOTEXT, "poppler-utils"),
    (PDFINFO, "poppler-utils"),
];
/// Longest a single Chromium run may take (a cold start on a busy machine takes seconds).
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The flags every run uses: headless, no sandbox (containers run as root), no GPU, and
/// nothing Chromium would fetch on its own (QUIC probes, first-run pages, background
/// networking, component updates, sync).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
];

/// A console message: its level as Chromium logs it (`INFO`, `WARNING`, `ERROR`, ...)
/// and the line Chromium wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleMessage {
    pub level: String,
    pub line: String,
}

/// What one headless load of a page gave.
#[derive(Debug)]
pub struct Page {
    /// The DOM after the load event, serialized (`--dump-dom`).
    pub dom: String,
    /// Every URL the page asked the network stack for, other than its own file URL,
    /// in the order first seen (each once); `dns:HOST` for a lookup. `data:` URLs are
    /// not requests. See `netlog_requests` for how a request is known to be the page's.
    pub requests: Vec<String>,
    /// What Chromium fetched for itself during the run (not the page's), for the record.
    pub browser_requests: Vec<String>,
    /// Every console message, with the level Chromium logged.
    pub console: Vec<ConsoleMessage>,
    /// Every console message's text. Chromium logs a web page's console messages all
    /// at INFO whatever their level (observed on Chromium 148: an uncaught exception,
    /// a CSP violation, `console.log` and `console.warn` alike; only its own built-in
    /// pages keep the level), so no level can be told apart and every message counts:
    /// a page that needs no JavaScript has none.
    pub console_errors: Vec<String>,
    /// How long Chromium ran.
    pub elapsed: Duration,
}

/// A page printed to PDF.
#[derive(Debug)]
pub struct Pdf {
    pub bytes: Vec<u8>,
    /// The text `pdftotext -layout` extracts from it.
    pub text: String,
    /// Pages, as `pdfinfo` counts them.
    pub pages: usize,
    /// The first page's size as `pdfinfo` gives it, e.g. `594.96 x 841.92 pts (A4)`.
    /// Chromium prints on Letter unless the page asks otherwise (`@page { size: A4 }`).
    pub page_size: String,
    /// How long Chromium ran (printing only, not `pdftotext`).
    pub elapsed: Duration,
}

/// Chromium's path, installing Chromium and poppler-utils first when they are missing.
pub fn chromium() -> PathBuf {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = READY.get_or_init(ensure_installed) {
        panic!("{e}");
    }
    PathBuf::from(CHROMIUM)
}

fn ensure_installed() -> Result<(), String> {
    let mut missing: Vec<&str> = PROGRAMS
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(_, package)| *package)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!(
        "apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    if !is_root() {
        return Err(format!(
            "{} missing and the tests do not run as root, so they cannot install it; \
             hint: run `sudo apt-get update && sudo {install}`",
            missing.join(" and ")
        ));
    }
    eprintln!("browser harness: installing {}", missing.join(" "));
    // Another test binary may be installing at the same moment: wait for dpkg's lock.
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
    };
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(&missing);
    let mut out = apt(&args).map_err(|e| format!("cannot run apt-get: {e}; hint: {install}"))?;
    if !out.status.success() {
        // Stale package lists name versions the mirror no longer has.
        let _ = apt(&["update"]);
        out = apt(&args).map_err(|e| format!("cannot run apt-get: {e}; hint: {install}"))?;
    }
    let still: Vec<&str> = PROGRAMS
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(path, _)| *path)
        .collect();
    if !out.status.success() || !still.is_empty() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
        return Err(format!(
            "`{install}` failed (still missing: {still:?}): {}\nhint: run `apt-get update && {install}` and read its error",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    Ok(())
}

fn is_root() -> bool {
    // The effective uid from the kernel; no libc call needed.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// The `file://` URL of a local file (absolute, percent-encoding what a URL may not hold).
pub fn file_url(path: &Path) -> String {
    let abs = std::fs::canonicalize(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut url = String::from("file://");
    for b in abs.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(b as char)
            }
            _ => url.push_str(&format!("%{b:02X}")),
        }
    }
    url
}

/// The site a NetLog isolation key names for a page: `file://` for a local file, else
/// `SCHEME://HOST`.
fn site(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            format!("{scheme}://{host}")
        }
        None => url.to_string(),
    }
}

/// Output of one Chromium run.
struct Run {
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs Chromium with the common flags, a fresh profile, `extra` flags and the page.
fn run_chromium(profile: &Path, extra: &[String], url: &str) -> Run {
    let chromium = chromium();
    let started = Instant::now();
    let mut child = Command::new(&chromium)
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    // Drain both pipes on threads so a chatty Chromium never blocks on a full pipe.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out_pipe.read_to_end(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err_pipe.read_to_end(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium took more than {TIMEOUT:?} on {url}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
    assert!(
        status.success(),
        "chromium failed on {url} ({status}):\n{stderr}"
    );
    Run {
        stdout,
        stderr,
        elapsed,
    }
}

/// Loads `html` headless and returns its DOM, the requests it made and its console.
pub fn render(html: &Path) -> Page {
    let url = file_url(html);
    let dir = tempfile::tempdir().unwrap();
    let netlog = dir.path().join("netlog.json");
    let extra = vec![
        "--dump-dom".to_string(),
        format!("--log-net-log={}", netlog.display()),
        "--enable-logging=stderr".to_string(),
        "--v=0".to_string(),
    ];
    let run = run_chromium(&dir.path().join("profile"), &extra, &url);
    let text = std::fs::read_to_string(&netlog)
        .unwrap_or_else(|e| panic!("chromium wrote no NetLog at {}: {e}", netlog.display()));
    let (page, browser_requests) = netlog_requests(&text, &site(&url));
    let requests = page.into_iter().filter(|u| *u != url).collect();
    let console = console_messages(&run.stderr);
    let console_errors = console.iter().map(|m| m.line.clone()).collect();
    Page {
        dom: run.stdout,
        requests,
        browser_requests,
        console,
        console_errors,
        elapsed: run.elapsed,
    }
}

/// Prints `html` to PDF (A4 comes from the page's own `@page` rule; Chromium's default
/// is Letter) without header or footer, and extracts its text.
pub fn print_pdf(html: &Path) -> Pdf {
    let url = file_url(html);
    let dir = tempfile::tempdir().unwrap();
    let pdf_path = dir.path().join("page.pdf");
    let extra = vec![
        format!("--print-to-pdf={}", pdf_path.display()),
        "--no-pdf-header-footer".to_string(),
    ];
    let run = run_chromium(&dir.path().join("profile"), &extra, &url);
    let bytes = std::fs::read(&pdf_path)
        .unwrap_or_else(|e| panic!("chromium wrote no PDF for {url}: {e}\n{}", run.stderr));
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF: {url}");
    let out = Command::new(PDFTOTEXT)
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&pdf_path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PDFTOTEXT}: {e}"));
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let info = Command::new(PDFINFO)
        .arg(&pdf_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PDFINFO}: {e}"));
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("pdfinfo gave no {name} for {url}: {info}"))
    };
    let pages = field("Pages:").parse().expect("pdfinfo's page count");
    Pdf {
        bytes,
        text,
        pages,
        page_size: field("Page size:"),
        elapsed: run.elapsed,
    }
}

/// Every URL the page asked the network stack for, read from a NetLog: the `url` of
/// each `URL_REQUEST_START_JOB` (every request, redirects included) and the host of each
/// DNS resolution (`HOST_RESOLVER_MANAGER_REQUEST`, as `dns:HOST`, so a lookup made
/// outside a URL request, a preconnect say, is seen too), when the page made it.
///
/// Chromium fetches some URLs of its own even with background networking disabled
/// (observed on Chromium 148: the network time service, `accounts.google.com`,
/// `www.google.com/async/folae`). Those carry no initiator (`"not an origin"`) and a
/// network isolation key that is not the page's. A request is the page's when its
/// isolation key's top-frame site is the page's (`page_site`, `file://` for a local
/// file: every subresource and subframe request of the page) or it has an initiator (a
/// navigation the page started, to anywhere). Everything else is returned in `.1`.
/// A NetLog cut short by a crash (no closing `]}`) is read up to its last whole event.
pub fn netlog_requests(text: &str, page_site: &str) -> (Vec<String>, Vec<String>) {
    let log: serde_json::Value = serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&close_netlog(text)))
        .unwrap_or_else(|e| panic!("the NetLog is not JSON ({e})"));
    let types = log["constants"]["logEventTypes"]
        .as_object()
        .expect("the NetLog names its event types");
    let type_id = |name: &str| types.get(name).and_then(|v| v.as_u64());
    let start_job = type_id("URL_REQUEST_START_JOB").expect("URL_REQUEST_START_JOB is known");
    let resolve = type_id("HOST_RESOLVER_MANAGER_REQUEST");
    let (mut seen, mut page, mut own) = (BTreeSet::new(), Vec::new(), Vec::new());
    for e in log["events"].as_array().into_iter().flatten() {
        let (t, params) = (e["type"].as_u64(), &e["params"]);
        let found = if t == Some(start_job) {
            let by_page = params["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.starts_with(page_site))
                || params["initiator"]
                    .as_str()
                    .is_some_and(|i| i != "not an origin");
            params["url"].as_str().map(|u| (u.to_string(), by_page))
        } else if t.is_some() && t == resolve {
            let by_page = params["network_anonymization_key"]
                .as_str()
                .is_some_and(|k| k.starts_with(page_site));
            params["host"]
                .as_str()
                .map(|h| (format!("dns:{h}"), by_page))
        } else {
            None
        };
        if let Some((u, by_page)) = found {
            if !u.starts_with("data:") && seen.insert(u.clone()) {
                if by_page {
                    page.push(u)
                } else {
                    own.push(u)
                }
            }
        }
    }
    (page, own)
}

/// A NetLog whose writer died: cut after the last complete event and close it.
fn close_netlog(text: &str) -> String {
    let body = text.trim_end().trim_end_matches(',');
    match body.rfind("},") {
        Some(i) if !body.ends_with("]}") => format!("{}}}]}}", &body[..i]),
        _ => body.to_string(),
    }
}

/// Console messages from Chromium's stderr log. A line looks like
/// `[pid:tid:MMDD/HHMMSS.micros:LEVEL:CONSOLE(LINE)] "message", source: URL (LINE)`
/// (older builds) or `[...:LEVEL:CONSOLE:LINE] "message", source: URL (LINE)`.
pub fn console_messages(stderr: &str) -> Vec<ConsoleMessage> {
    let mut out = Vec::new();
    for line in stderr.lines() {
        let Some(head_end) = line.find(']') else {
            continue;
        };
        let head = &line[..head_end];
        let Some(at) = head.find(":CONSOLE") else {
            continue;
        };
        let level = head[..at].rsplit(':').next().unwrap_or("").to_string();
        out.push(ConsoleMessage {
            level,
            line: line[head_end + 1..].trim().to_string(),
        });
    }
    out
}
