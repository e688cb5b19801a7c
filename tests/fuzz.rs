//! Stable in-process fuzzing of every parser of untrusted input (issue 10, "Also").
//!
//! Each test takes a seed corpus (the example's files, inputs made here with the real
//! writers, and `tests/hostile/<target>/`), runs every seed once as is, then feeds a
//! bounded number of mutants made by a deterministic, seeded mutation engine (bit and
//! byte flips, inserts, deletes, splices of two seeds, repeated tokens, deep nesting,
//! huge numbers, control characters, invalid UTF-8, dictionary tokens) to the library's
//! entry point. It asserts, for every input:
//! - no panic (`catch_unwind` around the entry point);
//! - it finishes within a bound on the worker thread's CPU time (a watchdog thread; a
//!   hang fails the test even though the stuck thread cannot be stopped);
//! - no error message or hint carries key material planted in the input (canary keys
//!   and values, checked as any 12-character window, plus anything that looks like an
//!   age secret key).
//!
//! Knobs (environment): `HANDOVER_FUZZ_ITERS` mutants per target (default: a short run,
//! a few seconds per target in a debug build), `HANDOVER_FUZZ_SEED` (default fixed, so a
//! plain `cargo test` is reproducible), `HANDOVER_FUZZ_TIMEOUT_MS` (the per-input
//! bound on CPU time, default 5000), `HANDOVER_FUZZ_REPLAY=FILE` (run only that input,
//! with the test's name as filter). A failure prints the target, seed, iteration and the path of a file
//! holding the input, with the command that replays it.
//!
//! Invariant: nothing here skips. Every target runs its seeds unmutated first, so a
//! seed that fails is caught on the first iteration.

mod support;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use handover::error::Error;

// ---------------------------------------------------------------------------------------
// The mutation engine.

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// The largest mutant: big enough for a 1 MB line, small enough to stay fast.
const MAX_LEN: usize = 1 << 20;

/// Tokens that every parser sees in the classic attacks.
const COMMON_TOKENS: &[&[u8]] = &[
    b"\x00",
    b"\x1b[2J\x1b[1;32m",
    b"\x1b]0;title\x07",
    b"\r\n",
    b"\r",
    b"\n",
    b"\t",
    b"\xe2\x80\xae", // RIGHT-TO-LEFT OVERRIDE
    b"\xff\xfe",
    b"\xc0\x80",
    b"\xed\xa0\x80", // a lone surrogate, invalid UTF-8
    b"\xf0\x9f\x92", // a cut 4-byte sequence
    b"99999999999999999999999999999999999",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"1e999999",
    b"-0",
    b"NaN",
    b"0x7fffffff",
    b"\"",
    b"'",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"../../../../etc/passwd",
    b"/etc/passwd",
    b"%2e%2e%2f",
    b"*",
    b"?",
    b"#",
    b"=",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"true",
    b"",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], dict: &[&[u8]], protect: usize) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        mutate_once(rng, &mut data, seeds, dict, protect);
        if data.len() > MAX_LEN {
            data.truncate(MAX_LEN);
        }
    }
    data
}

fn token<'a>(rng: &mut Rng, dict: &[&'a [u8]]) -> &'a [u8] {
    if !dict.is_empty() && rng.chance(2) {
        dict[rng.below(dict.len())]
    } else {
        COMMON_TOKENS[rng.below(COMMON_TOKENS.len())]
    }
}

fn mutate_once(
    rng: &mut Rng,
    data: &mut Vec<u8>,
    seeds: &[Vec<u8>],
    dict: &[&[u8]],
    protect: usize,
) {
    let protect = protect.min(data.len());
    let body = data.len() - protect;
    let at = |rng: &mut Rng| protect + rng.below(body + 1);
    match rng.below(14) {
        // Flip one bit.
        0 if body > 0 => {
            let i = protect + rng.below(body);
            data[i] ^= 1 << rng.below(8);
        }
        // Set one byte to something interesting.
        1 if body > 0 => {
            let i = protect + rng.below(body);
            data[i] = [0u8, 0x1b, 0x7f, 0x80, 0xff, b'\n', b'"', b'\\', b'{', b'['][rng.below(10)];
        }
        // Insert random bytes.
        2 => {
            let i = at(rng);
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            data.splice(i..i, bytes);
        }
        // Delete a range.
        3 if body > 0 => {
            let i = protect + rng.below(body);
            let n = 1 + rng.below((data.len() - i).min(64));
            data.drain(i..i + n);
        }
        // Truncate (a file cut short).
        4 if body > 0 => {
            let i = protect + rng.below(body);
            data.truncate(i);
        }
        // Splice: a slice of another seed (or of itself) at a random place.
        5 | 6 => {
            let other = &seeds[rng.below(seeds.len())];
            if !other.is_empty() {
                let s = rng.below(other.len());
                let n = 1 + rng.below((other.len() - s).min(256));
                let piece = other[s..s + n].to_vec();
                let i = at(rng);
                if rng.chance(2) || body == 0 {
                    data.splice(i..i, piece);
                } else {
                    let end = (i + n).min(data.len());
                    data.splice(i..end, piece);
                }
            }
        }
        // Insert a dictionary token.
        7 | 8 => {
            let t = token(rng, dict).to_vec();
            let i = at(rng);
            data.splice(i..i, t);
        }
        // Repeat a token many times (stars, stanzas, separators).
        9 => {
            let t = token(rng, dict);
            let n = [2, 16, 256, 4096, 20_000][rng.below(5)];
            let rep: Vec<u8> = t
                .iter()
                .copied()
                .cycle()
                .take((t.len() * n).min(MAX_LEN / 2))
                .collect();
            let i = at(rng);
            data.splice(i..i, rep);
        }
        // Repeat a slice of the input itself.
        10 if body > 0 => {
            let i = protect + rng.below(body);
            let n = 1 + rng.below((data.len() - i).min(128));
            let piece = data[i..i + n].to_vec();
            let times = [2, 8, 100, 2000][rng.below(4)];
            let rep: Vec<u8> = piece
                .iter()
                .copied()
                .cycle()
                .take((n * times).min(MAX_LEN / 2))
                .collect();
            data.splice(i..i, rep);
        }
        // Deep nesting.
        11 => {
            let (open, close): (&[u8], &[u8]) = [
                (&b"["[..], &b"]"[..]),
                (b"{\"a\":", b"}"),
                (b"(", b")"),
                (b"!(", b")"),
                (b"- ", b""),
                (b"[[", b"]]"),
            ][rng.below(6)];
            let depth = [64, 1000, 20_000][rng.below(3)];
            let i = at(rng);
            let mut nest = open.repeat(depth);
            nest.extend(close.repeat(depth));
            data.splice(i..i, nest);
        }
        // A huge number or a long line.
        12 => {
            let i = at(rng);
            let long: Vec<u8> = if rng.chance(2) {
                b"9".repeat(1 + rng.below(5000))
            } else {
                b"A".repeat(1 + rng.below(MAX_LEN / 2))
            };
            data.splice(i..i, long);
        }
        // Swap two lines.
        _ => {
            let lines: Vec<usize> = data
                .iter()
                .enumerate()
                .filter(|(i, b)| **b == b'\n' && *i >= protect)
                .map(|(i, _)| i)
                .collect();
            if lines.len() >= 3 {
                let a = rng.below(lines.len() - 1);
                let (s, e) = (lines[a] + 1, lines[a + 1] + 1);
                let line = data[s..e].to_vec();
                data.drain(s..e);
                let j = lines[rng.below(lines.len())].min(data.len());
                let j = j.max(protect);
                data.splice(j..j, line);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Leak detection: secrets planted in the inputs must never come back in a message.

const WINDOW: usize = 12;

struct Canaries {
    windows: HashSet<Vec<u8>>,
}

impl Canaries {
    fn new(secrets: &[&[u8]]) -> Canaries {
        let mut windows = HashSet::new();
        for s in secrets {
            for w in s.windows(WINDOW) {
                windows.insert(w.to_ascii_uppercase());
            }
        }
        Canaries { windows }
    }

    /// The first leaked piece, if any.
    fn leak_in(&self, text: &str) -> Option<String> {
        let upper = text.to_ascii_uppercase();
        if let Some(i) = upper.find("AGE-SECRET-KEY-1") {
            let rest = &upper.as_bytes()[i + 16..];
            if rest.first().is_some_and(|b| b.is_ascii_alphanumeric()) {
                return Some(upper[i..(i + 24).min(upper.len())].to_string());
            }
        }
        upper
            .as_bytes()
            .windows(WINDOW)
            .find(|w| self.windows.contains(*w))
            .map(|w| String::from_utf8_lossy(w).into_owned())
    }
}

/// What a user would see of an error: the message and the hint.
fn shown(e: &Error) -> String {
    format!("{e}\nhint: {}", e.hint())
}

// ---------------------------------------------------------------------------------------
// The runner.

struct Target {
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    dict: &'static [&'static [u8]],
    /// Bytes at the start of every input that mutation leaves alone (up to and
    /// including the first newline, for multi-file targets whose first line names
    /// the file).
    protect_first_line: bool,
    canaries: Canaries,
    /// Default number of mutants for the short run.
    default_iters: u64,
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        let v = v.trim();
        let parsed = if let Some(hex) = v.strip_prefix("0x") {
            u64::from_str_radix(hex, 16)
        } else {
            v.parse()
        };
        parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number"))
    })
}

fn base_seed() -> u64 {
    env_u64("HANDOVER_FUZZ_SEED").unwrap_or(0x00C0_FFEE_5EED)
}

fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Seeds from `tests/hostile/<dir>/` (every file, recursively; `cases.toml` and
/// `README*` excluded), as (path relative to that folder, bytes).
fn hostile_files(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = support::repo().join("tests/hostile").join(dir);
    let mut out = Vec::new();
    fn walk(root: &Path, d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                walk(root, &p, out);
            } else if name != "cases.toml"
                && !name.starts_with("README")
                && !name.ends_with(".expect")
            {
                out.push((
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    walk(&root, &root, &mut out);
    out
}

fn hostile(dir: &str) -> Vec<Vec<u8>> {
    hostile_files(dir).into_iter().map(|(_, b)| b).collect()
}

/// Runs one target: seeds first, then mutants. `make` builds (on the worker thread, as
/// some state such as identities cannot cross threads) the function that runs one
/// input; it returns the text a user would see
/// (error messages and hints) so it can be checked for planted secrets.
fn fuzz<R: Fn(&[u8]) -> String>(t: Target, make: impl FnOnce() -> R + Send + 'static) {
    assert!(!t.seeds.is_empty(), "{}: no seed", t.name);
    let seed = base_seed();
    let iters = env_u64("HANDOVER_FUZZ_ITERS").unwrap_or(t.default_iters);
    let timeout = Duration::from_millis(env_u64("HANDOVER_FUZZ_TIMEOUT_MS").unwrap_or(5000));
    let replay = std::env::var_os("HANDOVER_FUZZ_REPLAY").map(PathBuf::from);

    // (iteration, input, wall-clock start, the worker's CPU time at start) of the input
    // being run, for the watchdog. The bound is on the worker thread's CPU time, so a
    // busy machine does not turn a slow input into a "hang"; a wall-clock backstop (ten
    // times the bound) catches an input that blocks without computing.
    type Running = Option<(u64, Arc<Vec<u8>>, Instant, Duration)>;
    let current: Arc<Mutex<Running>> = Arc::new(Mutex::new(None));
    let worker_stat: Arc<OnceLock<PathBuf>> = Arc::new(OnceLock::new());
    let done = Arc::new(AtomicBool::new(false));
    let name = t.name;
    let worker = {
        let current = current.clone();
        let done = done.clone();
        let worker_stat = worker_stat.clone();
        std::thread::Builder::new()
            .name(format!("fuzz-{name}"))
            .stack_size(8 << 20) // the main thread's stack, where the CLI parses
            .spawn(move || {
                let stat = Path::new("/proc").join(std::fs::read_link("/proc/thread-self").expect("/proc/thread-self (Linux)")).join("stat");
                let _ = worker_stat.set(stat.clone());
                let run = make();
                let mut rng = Rng::new(seed ^ name_hash(t.name));
                let protect = |d: &[u8]| if t.protect_first_line { d.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1) } else { 0 };
                let started = Instant::now();
                let mut failures: Vec<String> = Vec::new();
                let total = if replay.is_some() { 1 } else { t.seeds.len() as u64 + iters };
                let mut execs = 0u64;
                for i in 0..total {
                    let input = if let Some(p) = &replay {
                        std::fs::read(p).unwrap_or_else(|e| panic!("HANDOVER_FUZZ_REPLAY={}: {e}", p.display()))
                    } else if (i as usize) < t.seeds.len() {
                        t.seeds[i as usize].clone()
                    } else {
                        let s = &t.seeds[rng.below(t.seeds.len())];
                        let keep = protect(s);
                        let mut m = mutate(&mut rng, &t.seeds, t.dict, keep);
                        if keep > 0 && m.get(..keep) != s.get(..keep) {
                            m.splice(0..0, s[..keep].iter().copied());
                        }
                        m
                    };
                    let input = Arc::new(input);
                    *current.lock().unwrap() = Some((i, input.clone(), Instant::now(), thread_cpu(&stat)));
                    let outcome = catch_unwind(AssertUnwindSafe(|| run(&input)));
                    *current.lock().unwrap() = None;
                    execs += 1;
                    let problem = match outcome {
                        Err(p) => Some(format!("panicked: {}", panic_text(&p))),
                        Ok(text) => t.canaries.leak_in(&text).map(|w| format!("leaked key material ({w:?}) in: {text}")),
                    };
                    if let Some(problem) = problem {
                        let file = save_input(name, seed, i, &input);
                        failures.push(format!(
                            "{name}: iteration {i} (seed {seed:#x}): {problem}\n  input: {}\n  replay: HANDOVER_FUZZ_REPLAY={} cargo test --test fuzz fuzz_{name} -- --exact",
                            file.display(),
                            file.display()
                        ));
                        if failures.len() >= 5 {
                            break;
                        }
                    }
                }
                done.store(true, Ordering::SeqCst);
                (execs, started.elapsed(), failures)
            })
            .unwrap()
    };
    // The watchdog: a run past the bound is a hang; save the input and fail now.
    while !done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
        let Some(stat) = worker_stat.get() else {
            continue;
        };
        let hung = current
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|(i, input, at, cpu0)| {
                let cpu = thread_cpu(stat).saturating_sub(*cpu0);
                (cpu > timeout || at.elapsed() > timeout * 10)
                    .then(|| (*i, input.clone(), cpu, at.elapsed()))
            });
        if let Some((i, input, cpu, wall)) = hung {
            let file = save_input(name, seed, i, &input);
            panic!(
                "{name}: iteration {i} (seed {seed:#x}): still running after {cpu:?} of CPU ({wall:?} wall; the bound is {timeout:?} of CPU): a hang\n  input: {} ({} bytes)\n  replay: HANDOVER_FUZZ_REPLAY={} cargo test --test fuzz fuzz_{name} -- --exact",
                file.display(),
                input.len(),
                file.display()
            );
        }
    }
    let (execs, elapsed, failures) = worker.join().expect("the fuzz worker does not panic");
    eprintln!(
        "fuzz {name}: {execs} executions in {:.1}s, seed {seed:#x}, {} failure(s)",
        elapsed.as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// CPU time (user + system) of one thread, from /proc/<pid>/task/<tid>/stat.
fn thread_cpu(stat: &Path) -> Duration {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    let fields: Vec<&str> = text
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split(' ').collect())
        .unwrap_or_default();
    // After the command name: state is field 3, utime 14, stime 15 (in clock ticks, 100 Hz).
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

fn save_input(name: &str, seed: u64, i: u64, input: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("handover-fuzz-{name}-{seed:x}-{i}.bin"));
    std::fs::write(&p, input).unwrap();
    p
}

/// The example folder. (The default panic hook stays: every panic caught here is a
/// finding, and its message and backtrace, with RUST_BACKTRACE=1, are what one needs.)
fn example() -> PathBuf {
    support::repo().join("examples/northwind-to-contoso")
}

fn read(p: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

/// A private workspace for a target, kept for the process's life.
fn workdir(name: &str) -> PathBuf {
    let d = tempfile::Builder::new()
        .prefix(&format!("handover-fuzz-{name}-"))
        .tempdir()
        .unwrap();
    d.keep()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(root: &Path, d: &Path, out: &mut Vec<PathBuf>) {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        for p in v {
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    walk(root, root, &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// Planted secrets and the keys the example ships.

/// A syntactically valid age identity that is used nowhere: planted as a canary.
fn canary_age_identity() -> &'static str {
    static K: OnceLock<String> = OnceLock::new();
    K.get_or_init(|| {
        use age::secrecy::ExposeSecret;
        age::x25519::Identity::generate()
            .to_string()
            .expose_secret()
            .to_string()
    })
}

/// A fresh OpenSSH ed25519 private key (PEM), planted as a canary.
fn canary_ssh_private_key() -> &'static str {
    static K: OnceLock<String> = OnceLock::new();
    K.get_or_init(|| {
        let k = ssh_key::PrivateKey::random(
            &mut ssh_key::rand_core::OsRng,
            ssh_key::Algorithm::Ed25519,
        )
        .unwrap();
        k.to_openssh(ssh_key::LineEnding::LF).unwrap().to_string()
    })
}

/// The secret part of a PEM: its base64 lines after the first (the first line of an
/// OpenSSH key is the public header: magic, cipher, KDF, key count).
fn pem_body(pem: &str) -> Vec<u8> {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .skip(1)
        .collect::<String>()
        .into_bytes()
}

/// A value planted in dotenv files and credentials: every window of 12 holds a `/` or
/// `+`, which no variable name or identifier can, so an echo of it is a leak.
const CANARY_VALUE: &str = "Cn/ry+Va/lu+e9/Zq+Wx/Yv+Kp/Mq+Rs/Tu+";

/// The example's keys as canaries: the customer's age identity and both SSH private keys.
fn example_key_canaries() -> Vec<Vec<u8>> {
    let keys = example().join("keys");
    let age_key = String::from_utf8(read(keys.join("contoso-security.agekey"))).unwrap();
    let age_line = age_key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    let age_secret = age_line.as_bytes()["AGE-SECRET-KEY-1".len()..].to_vec();
    vec![
        age_secret,
        pem_body(&String::from_utf8(read(keys.join("contoso-security-ssh"))).unwrap()),
        pem_body(&String::from_utf8(read(keys.join("northwind-signing"))).unwrap()),
        canary_age_identity().as_bytes()["AGE-SECRET-KEY-1".len()..].to_vec(),
        pem_body(canary_ssh_private_key()),
        CANARY_VALUE.as_bytes().to_vec(),
    ]
}

fn canaries() -> Canaries {
    let v = example_key_canaries();
    Canaries::new(&v.iter().map(|v| v.as_slice()).collect::<Vec<_>>())
}

fn no_canaries() -> Canaries {
    Canaries::new(&[])
}

// ---------------------------------------------------------------------------------------
// A manifest, its signature and its plaintext, made once with the real binary.

struct Sealed {
    dir: PathBuf,
    binary: Vec<u8>,
    armored: Vec<u8>,
    signature: String,
    plaintext: Vec<u8>,
}

fn sealed() -> &'static Sealed {
    static S: OnceLock<Sealed> = OnceLock::new();
    S.get_or_init(|| {
        let dir = workdir("sealed");
        let ex = example();
        std::fs::write(dir.join("break-glass.txt"), CANARY_VALUE).unwrap();
        let make = |out: &str, armor: bool| {
            let mut cmd = support::handover_offline(&dir);
            cmd.args(["manifest", "--config"])
                .arg(ex.join("handover.toml"))
                .arg("--plan")
                .arg(ex.join("plan-full-transfer.json"))
                .arg("--inventory")
                .arg(ex.join("inventory.json"))
                .arg("--sign-key")
                .arg(ex.join("keys/northwind-signing"))
                .arg("--credential")
                .arg(format!(
                    "break-glass={}",
                    dir.join("break-glass.txt").display()
                ))
                .arg("-o")
                .arg(dir.join(out))
                .arg("--force");
            if armor {
                cmd.arg("--armor");
            }
            let r = support::run(&mut cmd);
            assert_eq!(r.code, 0, "cannot make the seed manifest: {}", r.stderr);
            read(dir.join(out))
        };
        let binary = make("handover.age", false);
        let armored = make("handover.armored.age", true);
        let signature = String::from_utf8(read(dir.join("handover.age.sig"))).unwrap();
        let ids =
            handover::crypto::read_identities(&ex.join("keys/contoso-security.agekey")).unwrap();
        let plaintext = handover::crypto::decrypt(&binary, &ids, Path::new("handover.age"))
            .unwrap()
            .to_vec();
        Sealed {
            dir,
            binary,
            armored,
            signature,
            plaintext,
        }
    })
}

fn customer_identities() -> handover::crypto::Identities {
    let mut ids =
        handover::crypto::read_identities(&example().join("keys/contoso-security.agekey")).unwrap();
    ids.extend(
        handover::crypto::read_identities(&example().join("keys/contoso-security-ssh")).unwrap(),
    );
    ids
}

// ---------------------------------------------------------------------------------------
// The targets.

const JSON_TOKENS: &[&[u8]] = &[
    b"\"UserName\": \"../../../../tmp/x\"",
    b"\"UserName\": \"/etc\"",
    b"\"email\": \"../../x\"",
    b"\"name\": \"projects/p/secrets/../../x\"",
    b"\"Status\": \"Maybe\"",
    b"\"expression\": \"request.time < timestamp(\\\"2027-01-01T00:00:00Z\\\") || true\"",
    b"\"CreateDate\": \"9999-99-99T99:99:99Z\"",
    b"\"CreateDate\": \"0000-01-01T00:00:00Z\"",
    b"\"Arn\": \"arn:aws:iam::\"",
    b"\"AssumeRolePolicyDocument\": \"%7B%22Statement%22%3A%5B%5D%7D\"",
    b"\"members\": [\"allUsers\"]",
    b"\"\\u001b[31mred\"",
    b"{}",
    b"[]",
    b"\"\"",
];

/// Loads, assembles and renders an AWS account folder; returns what a user sees.
fn audit_aws_account(dir: &Path) -> String {
    match handover::providers::aws::snapshot::load_account(dir) {
        Err(e) => shown(&e),
        Ok((sources, regions)) => {
            let now = chrono::Utc::now();
            let mut inv = handover::providers::aws::assemble::assemble(
                &sources,
                handover::model::SourceMode::Snapshot,
                &regions,
                now,
            );
            inv.normalize();
            let table = handover::audit::table::render(&inv);
            let _ = serde_json::to_string(&inv).unwrap();
            // The table is not checked for canaries (snapshots hold none), but it is built.
            drop(table);
            String::new()
        }
    }
}

fn audit_gcp_project(dir: &Path) -> String {
    match handover::providers::gcp::snapshot::load_project(dir) {
        Err(e) => shown(&e),
        Ok(sources) => {
            let mut inv = handover::providers::gcp::assemble::assemble(
                &sources,
                handover::model::SourceMode::Snapshot,
                chrono::Utc::now(),
            );
            inv.normalize();
            let _ = handover::audit::table::render(&inv);
            let _ = serde_json::to_string(&inv).unwrap();
            String::new()
        }
    }
}

/// A multi-file snapshot target: the first line of an input names the file (relative
/// to the account or project folder), the rest is its content. The file is written
/// into a private copy of the example's folder, the folder is read, the file restored.
fn snapshot_target(
    name: &'static str,
    example_dir: PathBuf,
    hostile_dir: &str,
    audit: fn(&Path) -> String,
) {
    let work = workdir(name);
    let folder = work.join(example_dir.file_name().unwrap());
    copy_tree(&example_dir, &folder);
    let mut seeds = Vec::new();
    for rel in files_under(&folder) {
        let mut s = format!("{}\n", rel.display()).into_bytes();
        s.extend(read(folder.join(&rel)));
        seeds.push(s);
    }
    // Hostile cases are snapshot folders: <case>/{aws,gcp}/<account or project>/<path>.
    // Files outside an account or project folder (traversal targets) are not seeds.
    for (rel, bytes) in hostile_files(hostile_dir) {
        let parts: Vec<_> = rel.components().collect();
        let Some(at) = parts
            .iter()
            .position(|c| c.as_os_str() == "aws" || c.as_os_str() == "gcp")
        else {
            continue;
        };
        let inner: PathBuf = parts.iter().skip(at + 2).collect();
        if inner.as_os_str().is_empty() {
            continue;
        }
        let mut s = format!("{}\n", inner.display()).into_bytes();
        s.extend(bytes);
        seeds.push(s);
    }
    let t = Target {
        name,
        seeds,
        dict: JSON_TOKENS,
        protect_first_line: true,
        canaries: no_canaries(),
        default_iters: 400,
    };
    fuzz(t, move || {
        move |input: &[u8]| {
            let nl = input
                .iter()
                .position(|b| *b == b'\n')
                .unwrap_or(input.len());
            let rel = String::from_utf8_lossy(&input[..nl]).into_owned();
            let body = input.get(nl + 1..).unwrap_or_default();
            // Only a path inside the folder (the corpus decides which file, never the mutant).
            let rel = Path::new(&rel);
            assert!(
                rel.components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))),
                "a seed path escapes: {}",
                rel.display()
            );
            let path = folder.join(rel);
            let original = std::fs::read(&path).ok();
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, body).unwrap();
            let out = audit(&folder);
            match original {
                Some(o) => std::fs::write(&path, o).unwrap(),
                None => std::fs::remove_file(&path).unwrap(),
            }
            out
        }
    });
}

#[test]
fn fuzz_aws_snapshot() {
    snapshot_target(
        "aws_snapshot",
        example().join("snapshot/aws/123456789012"),
        "aws_snapshot",
        audit_aws_account,
    );
}

#[test]
fn fuzz_gcp_snapshot() {
    snapshot_target(
        "gcp_snapshot",
        example().join("snapshot/gcp/contoso-shop-prod"),
        "gcp_snapshot",
        audit_gcp_project,
    );
}

const CSV_TOKENS: &[&[u8]] = &[
    b",yes,",
    b",maybe,",
    b",,",
    b",not_supported,",
    b",N/A,",
    b",true,",
    b",false,",
    b"<root_account>",
    b"\"a,b\"",
    b"\"\"\"",
    b"2024-13-45T25:61:61+00:00",
    b"arn:aws:iam::123456789012:user/../../x",
];

/// The credential report on its own, then through the whole AWS assembly (where its
/// fields become credentials).
#[test]
fn fuzz_credential_report() {
    use base64::Engine;
    let work = workdir("credential_report");
    let account = work.join("123456789012");
    copy_tree(&example().join("snapshot/aws/123456789012"), &account);
    let json: serde_json::Value =
        serde_json::from_slice(&read(account.join("credential-report.json"))).unwrap();
    let csv = base64::engine::general_purpose::STANDARD
        .decode(json["Content"].as_str().unwrap())
        .unwrap();
    std::fs::remove_file(account.join("credential-report.json")).unwrap();
    let mut seeds = vec![csv];
    seeds.extend(
        hostile_files("credential_report")
            .into_iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "csv"))
            .map(|(_, b)| b),
    );
    let t = Target {
        name: "credential_report",
        seeds,
        dict: CSV_TOKENS,
        protect_first_line: false,
        canaries: no_canaries(),
        default_iters: 400,
    };
    fuzz(t, move || {
        move |input: &[u8]| {
            let _ = handover::providers::aws::sources::CredentialReport::parse_csv(input, None);
            std::fs::write(account.join("credential-report.csv"), input).unwrap();
            audit_aws_account(&account)
        }
    });
}

const TOML_TOKENS: &[&[u8]] = &[
    b"name_patterns = [\"********************z\"]",
    b"name_patterns = [\"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\"]",
    b"email_domains = [\"\"]",
    b"keys = [\"age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z\"]",
    b"keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"]",
    b"files = [\"../../../../etc/passwd\"]",
    b"files = [\"/dev/zero\"]",
    b"handover_date = \"9999-12-31\"",
    b"handover_date = 1979-05-27T07:32:00Z",
    b"[[third_party]]\nname = \"x\"\n",
    b"tags = { \"\" = \"\" }",
    b"\"\"\"",
    b"'''",
];

/// The handover config, then what it drives at once: the recipients it names and the
/// classification of every principal of the example inventory (name patterns, tags,
/// domains).
#[test]
fn fuzz_config_toml() {
    let work = workdir("config_toml");
    std::fs::copy(
        example().join("recipients.txt"),
        work.join("recipients.txt"),
    )
    .unwrap();
    let inventory: handover::model::Inventory =
        serde_json::from_slice(&read(example().join("inventory.json"))).unwrap();
    let mut seeds = vec![
        read(example().join("handover.toml")),
        read(example().join("handover-agency-operated.toml")),
    ];
    // A config whose recipients list holds a private key by mistake: never echoed.
    let base = String::from_utf8(seeds[0].clone()).unwrap();
    seeds.push(
        base.replace(
            "keys = [\"age1",
            &format!("keys = [\"{}\", \"age1", canary_age_identity()),
        )
        .into_bytes(),
    );
    seeds.extend(hostile("config_toml"));
    let t = Target {
        name: "config_toml",
        seeds,
        dict: TOML_TOKENS,
        protect_first_line: false,
        canaries: canaries(),
        default_iters: 300,
    };
    let path = work.join("handover.toml");
    fuzz(t, move || {
        move |input: &[u8]| {
            std::fs::write(&path, input).unwrap();
            match handover::config::load(&path) {
                Err(e) => shown(&e),
                Ok(cfg) => {
                    for p in &inventory.principals {
                        let _ = handover::config::parties::classify(&cfg, p, false);
                    }
                    match cfg.recipients(&path) {
                        Err(e) => shown(&e),
                        Ok(_) => String::new(),
                    }
                }
            }
        }
    });
}

const YAML_TOKENS: &[&[u8]] = &[
    b"&a [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
    b"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
    b"!!binary AAAA",
    b"!!python/object:os.system",
    b"<<: *a",
    b"? [a]: b",
    b"---\n",
    b"...\n",
    b"|\n  ",
    b">-\n  ",
    b"condition: ",
    b"applies_to: secret",
    b"action: revoke",
    b" || true",
    b".all(x, [1,2,3].all(y, [1,2,3].all(z, true)))",
    b"[1,2,3,4,5,6,7,8,9,10].map(x, [1,2,3,4,5,6,7,8,9,10].map(y, [1,2,3,4,5,6,7,8,9,10].map(z, x*y*z)))",
    b"credential.age_days + 1 > 90",
    b"matches(\"(a+)+$\")",
    b"size(\"x\") * 9223372036854775807",
];

/// Policy YAML: shape, then every rule's CEL (compiled and evaluated on the corpus).
#[test]
fn fuzz_policy_yaml() {
    // Checking a policy evaluates every rule on a corpus of contexts, which is slow in a
    // debug build (seconds for a whole policy): the whole policies run once as seeds,
    // the mutants start mostly from one-rule policies cut from them.
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for f in ["full-transfer.yaml", "agency-operated.yaml"] {
        let text = String::from_utf8(read(support::repo().join("policies").join(f))).unwrap();
        let (head, rules) = text.split_once("rules:\n").unwrap();
        for rule in rules.split("\n\n").filter(|r| r.contains("- id:")) {
            seeds.push(format!("{head}rules:\n{}\n", rule.trim_end()).into_bytes());
        }
        seeds.insert(0, text.into_bytes());
    }
    seeds.extend(hostile("policy_yaml"));
    let t = Target {
        name: "policy_yaml",
        seeds,
        dict: YAML_TOKENS,
        protect_first_line: false,
        canaries: no_canaries(),
        default_iters: 40,
    };
    fuzz(t, || {
        |input: &[u8]| match std::str::from_utf8(input) {
            Err(_) => String::new(),
            Ok(text) => match handover::policy::parse(text) {
                Err(problems) => problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
                Ok(_) => String::new(),
            },
        }
    });
}

/// The conditions of the policies and of the example's GCP bindings, and the hostile
/// ones, as CEL: each is put in a one-rule policy (compiled and evaluated), and as the
/// condition of a GCP IAM binding read by the snapshot assembly.
#[test]
fn fuzz_cel_condition() {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for f in ["full-transfer.yaml", "agency-operated.yaml"] {
        let text = String::from_utf8(read(support::repo().join("policies").join(f))).unwrap();
        for l in text.lines() {
            if let Some(c) = l.trim().strip_prefix("condition:") {
                seeds.push(c.trim().trim_matches('"').as_bytes().to_vec());
            }
        }
    }
    seeds.push(b"request.time < timestamp(\"2027-01-01T00:00:00Z\")".to_vec());
    seeds.extend(hostile("cel_condition"));
    let work = workdir("cel_condition");
    let project = work.join("contoso-shop-prod");
    copy_tree(&example().join("snapshot/gcp/contoso-shop-prod"), &project);
    let t = Target {
        name: "cel_condition",
        seeds,
        dict: YAML_TOKENS,
        protect_first_line: false,
        canaries: no_canaries(),
        default_iters: 150,
    };
    fuzz(t, move || {
        move |input: &[u8]| {
            let cond = String::from_utf8_lossy(input).into_owned();
            // JSON string syntax is YAML's double-quoted scalar.
            let policy = format!(
            "name: fuzz\ndescription: one rule\nrules:\n  - id: r\n    description: d\n    rationale: r\n    applies_to: credential\n    action: review\n    condition: {}\n",
            serde_json::to_string(&cond).unwrap()
        );
            let mut out = match handover::policy::parse(&policy) {
                Err(problems) => problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
                Ok(_) => String::new(),
            };
            let iam = serde_json::json!({
                "version": 3, "etag": "BwX=",
                "bindings": [{"role": "roles/owner", "members": ["user:dev@northwind-agency.example"],
                              "condition": {"title": "t", "expression": cond}}]
            });
            std::fs::write(
                project.join("iam-policy.json"),
                serde_json::to_vec(&iam).unwrap(),
            )
            .unwrap();
            out.push_str(&audit_gcp_project(&project));
            out
        }
    });
}

const KEY_TOKENS: &[&[u8]] = &[
    b"age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z",
    b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    b"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAAQE=",
    b"ssh-dss ",
    b"ecdsa-sha2-nistp256 ",
    b"sk-ssh-ed25519@openssh.com ",
    b"AGE-SECRET-KEY-1",
    b"AGE-PLUGIN-",
    b"age1yubikey1",
    b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
    b"-----END OPENSSH PRIVATE KEY-----\n",
    b"-----BEGIN RSA PRIVATE KEY-----\n",
    b"no-pty,command=\"x\" ",
    b"# comment\n",
    b"AAAA",
    b"====",
];

/// Recipients files (and what encryption does with what they accept).
#[test]
fn fuzz_recipients() {
    let mut seeds = vec![
        read(example().join("recipients.txt")),
        read(example().join("keys/contoso-security-ssh.pub")),
        read(example().join("keys/northwind-signing.pub")),
    ];
    // A private key given where public keys belong: never echoed.
    seeds.push(canary_ssh_private_key().as_bytes().to_vec());
    seeds.push(format!("# created: now\n{}\n", canary_age_identity()).into_bytes());
    seeds.extend(hostile("recipients"));
    let path = workdir("recipients").join("recipients.txt");
    let t = Target {
        name: "recipients",
        seeds,
        dict: KEY_TOKENS,
        protect_first_line: false,
        canaries: canaries(),
        default_iters: 400,
    };
    fuzz(t, move || {
        move |input: &[u8]| {
            std::fs::write(&path, input).unwrap();
            match handover::crypto::read_recipients_file(&path) {
                Err(e) => shown(&e),
                Ok(rs) => match handover::crypto::encrypt(b"x", &rs, false) {
                    Err(e) => shown(&e),
                    Ok(_) => String::new(),
                },
            }
        }
    });
}

/// Identity files: age identity files and OpenSSH private keys.
#[test]
fn fuzz_identities() {
    let keys = example().join("keys");
    let mut seeds = vec![
        read(keys.join("contoso-security.agekey")),
        read(keys.join("contoso-security-ssh")),
        read(keys.join("northwind-signing")),
    ];
    seeds.push(canary_ssh_private_key().as_bytes().to_vec());
    seeds.push(format!("# created: now\n{}\n", canary_age_identity()).into_bytes());
    seeds.extend(hostile("identities"));
    let path = workdir("identities").join("identity");
    let t = Target {
        name: "identities",
        seeds,
        dict: KEY_TOKENS,
        protect_first_line: false,
        canaries: canaries(),
        default_iters: 300,
    };
    fuzz(t, move || {
        move |input: &[u8]| {
            std::fs::write(&path, input).unwrap();
            match handover::crypto::read_identities(&path) {
                Err(e) => shown(&e),
                Ok(_) => String::new(),
            }
        }
    });
}

const AGE_TOKENS: &[&[u8]] = &[
    b"age-encryption.org/v1\n",
    b"-> X25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
    b"-> ssh-ed25519 AAAAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
    b"-> scrypt AAAAAAAAAAAAAAAAAAAAAA 40\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
    b"-> grease\n\n",
    b"--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
    b"-----BEGIN AGE ENCRYPTED FILE-----\n",
    b"-----END AGE ENCRYPTED FILE-----\n",
];

/// The manifest's envelope: the age header (read without decrypting, as `show` lists
/// recipients), decryption with the customer's identities, and the JSON inside.
#[test]
fn fuzz_manifest_age() {
    let s = sealed();
    let mut seeds = vec![s.binary.clone(), s.armored.clone()];
    seeds.extend(hostile("manifest_age"));
    let t = Target {
        name: "manifest_age",
        seeds,
        dict: AGE_TOKENS,
        protect_first_line: false,
        canaries: canaries(),
        default_iters: 300,
    };
    fuzz(t, move || {
        let ids = customer_identities();
        move |input: &[u8]| {
            let file = Path::new("handover.age");
            let mut out = String::new();
            if let Err(e) = handover::crypto::check_header(input, file) {
                out += &shown(&e);
            }
            match handover::crypto::decrypt(input, &ids, file) {
                Err(e) => out += &shown(&e),
                Ok(plain) => {
                    if let Err(e) = handover::manifest::from_plaintext(&plain, file) {
                        out += &shown(&e);
                    }
                }
            }
            out
        }
    });
}

/// The decrypted manifest: parsed, summarised and shown redacted as `manifest show`
/// does. Its errors never quote the document (it holds digest keys and credentials).
#[test]
fn fuzz_manifest_json() {
    let s = sealed();
    let mut seeds = vec![s.plaintext.clone()];
    seeds.extend(hostile("manifest_json"));
    let t = Target {
        name: "manifest_json",
        seeds,
        dict: JSON_TOKENS,
        protect_first_line: false,
        canaries: canaries(),
        default_iters: 300,
    };
    fuzz(t, || {
        |input: &[u8]| match handover::manifest::from_plaintext(input, Path::new("handover.age")) {
            Err(e) => shown(&e),
            Ok(m) => {
                let _ = handover::manifest::summary(&m, false);
                let _ = handover::manifest::redacted_json(&m, false);
                String::new()
            }
        }
    });
}

/// The detached sshsig signature over the manifest.
#[test]
fn fuzz_signature() {
    let s = sealed();
    let signer = handover::crypto::parse_public_key(
        &String::from_utf8(read(example().join("keys/northwind-signing.pub"))).unwrap(),
    )
    .unwrap();
    let mut seeds = vec![s.signature.clone().into_bytes()];
    seeds.extend(hostile("signature"));
    let data = s.binary.clone();
    let _ = &s.dir;
    let t = Target {
        name: "signature",
        seeds,
        dict: &[
            b"-----BEGIN SSH SIGNATURE-----\n",
            b"-----END SSH SIGNATURE-----\n",
            b"U1NIU0lH",
        ],
        protect_first_line: false,
        canaries: canaries(),
        default_iters: 300,
    };
    fuzz(t, move || {
        move |input: &[u8]| {
            let pem = String::from_utf8_lossy(input);
            match handover::crypto::verify_signature(
                &data,
                &pem,
                &signer,
                Path::new("handover.age.sig"),
            ) {
                Err(e) => shown(&e),
                Ok(()) => String::new(),
            }
        }
    });
}

/// The chain key the fuzzed journals are written and read under (a fixed digest key:
/// the target is the parser and the chain check, not the key).
fn journal_key() -> handover::journal::ChainKey {
    handover::journal::ChainKey::derive(&handover::secret::DigestKey::from_bytes([7; 32]))
}

/// A journal as `migrate --apply` writes it, made with the real writer.
fn seed_journal(dir: &Path) -> Vec<u8> {
    use handover::journal::{
        Change, CopyIntent, CopyOutcome, CopyResult, Journal, ReadBack, SecretCopy, SourceDigests,
        StoreKind, StoreRef,
    };
    let p = dir.join("seed-journal.jsonl");
    let (mut j, _) = Journal::open(&p, &journal_key()).unwrap();
    let copy = |name: &str| SecretCopy {
        from: StoreRef {
            kind: StoreKind::Aws,
            scope: "123456789012".into(),
            region: Some("us-east-1".into()),
        },
        source: format!("app/{name}"),
        to: StoreRef {
            kind: StoreKind::Gcp,
            scope: "p".into(),
            region: None,
        },
        destination: format!("app-{name}"),
        outcome: CopyOutcome::Create,
        rotate_after_cutover: false,
        digest_key: "key:00ff00ff00ff00ff".into(),
    };
    let source = SourceDigests::One {
        source_digest: "hmac-sha256:00ff".into(),
        source_version: Some("v1".into()),
    };
    let intent = |name: &str| {
        Change::CopyIntent(CopyIntent {
            copy: copy(name),
            source: source.clone(),
        })
    };
    j.append("aws:us-east-1:app/db", intent("db")).unwrap();
    j.append(
        "aws:us-east-1:app/db",
        Change::CopyResult(CopyResult {
            copy: copy("db"),
            source: Some(source.clone()),
            detail: None,
            read_back: Some(ReadBack::One {
                version: Some("1".into()),
                destination_digest: Some("hmac-sha256:00ff".into()),
                verified: true,
            }),
        }),
    )
    .unwrap();
    j.append("aws:us-east-1:app/api", intent("api")).unwrap();
    drop(j);
    read(&p)
}

const JOURNAL_TOKENS: &[&[u8]] = &[
    b"{\"seq\":0,\"at\":\"2026-01-01T00:00:00Z\",\"op\":\"x\",\"phase\":\"intent\",\"key\":\"k\",\"data\":null,\"prev\":\"hmac-sha256:00\",\"mac\":\"hmac-sha256:00\"}\n",
    b"\"phase\":\"result\"",
    b"\"seq\":18446744073709551615",
    b"hmac-sha256:0000000000000000000000000000000000000000000000000000000000000000",
    b"\"mac\":",
];

/// The journal, read and verified as `manifest --journal` and a resumed `migrate` do.
#[test]
fn fuzz_journal() {
    let work = workdir("journal");
    let mut seeds = vec![seed_journal(&work)];
    seeds.extend(hostile("journal"));
    let path = work.join("journal.jsonl");
    let t = Target {
        name: "journal",
        seeds,
        dict: JOURNAL_TOKENS,
        protect_first_line: false,
        canaries: no_canaries(),
        default_iters: 300,
    };
    fuzz(t, move || {
        let key = journal_key();
        move |input: &[u8]| {
            std::fs::write(&path, input).unwrap();
            let mut out = String::new();
            if let Err(e) = handover::journal::Journal::read(&path, &key) {
                out += &shown(&e);
            }
            // `open` may drop a torn last line: it must do so without panicking too.
            if let Err(e) = handover::journal::Journal::open(&path, &key) {
                out += &shown(&e);
            }
            out
        }
    });
}

/// The journal's digest key file: its plaintext, encrypted to the customer as migrate
/// does, then opened (the ciphertext side is the manifest_age target's decryption).
#[test]
fn fuzz_journal_key() {
    let work = workdir("journal_key");
    let journal = work.join("journal.jsonl");
    let key_file = handover::migrate::key::key_path(&journal);
    let mut seeds = vec![b"handover-digest-key/v1\n00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n".to_vec()];
    seeds.extend(hostile("journal_key"));
    let t = Target {
        name: "journal_key",
        seeds,
        dict: &[b"handover-digest-key/v1\n", b"ff", b"0"],
        protect_first_line: false,
        canaries: no_canaries(),
        default_iters: 60,
    };
    fuzz(t, move || {
        let ids = customer_identities();
        let recipients =
            handover::crypto::read_recipients_file(&example().join("recipients.txt")).unwrap();
        move |input: &[u8]| {
            let sealed = handover::crypto::encrypt(input, &recipients, true).unwrap();
            std::fs::write(&key_file, sealed).unwrap();
            match handover::migrate::key::open(&journal, &ids) {
                Err(e) => shown(&e),
                Ok(_) => String::new(),
            }
        }
    });
}

/// Dotenv files read as a migration source: errors name lines, never values.
#[test]
fn fuzz_dotenv() {
    let mut seeds = vec![
        format!("# app\nexport DB_URL=\"postgres://u:{CANARY_VALUE}@h/db\\nx\"\nAPI_KEY='{CANARY_VALUE} # not a comment'\nPLAIN={CANARY_VALUE} # comment\nEMPTY=\n").into_bytes(),
        format!("A=\"{CANARY_VALUE}\"garbage\nB='{CANARY_VALUE}'\r\nC={CANARY_VALUE}\n").into_bytes(),
    ];
    seeds.extend(hostile("dotenv"));
    let path = workdir("dotenv").join(".env");
    let t = Target {
        name: "dotenv",
        seeds,
        dict: &[
            b"export ",
            b"=\"",
            b"\"",
            b"'",
            b"\\",
            b"\\n",
            b" #",
            b"A=\"x\"garbage",
            b"=",
            b"${A}",
        ],
        protect_first_line: false,
        canaries: canaries(),
        default_iters: 500,
    };
    fuzz(t, move || {
        move |input: &[u8]| {
            std::fs::write(&path, input).unwrap();
            match handover::providers::dotenv::read(&path) {
                Err(e) => shown(&e),
                Ok(_) => String::new(),
            }
        }
    });
}

/// The inventory JSON that `plan` reads, then planned with the example's policy and
/// config, and the plan rendered as Markdown.
#[test]
fn fuzz_inventory_and_plan_json() {
    let policy =
        handover::policy::load(&support::repo().join("policies/full-transfer.yaml")).unwrap();
    let config = handover::config::load(&example().join("handover.toml")).unwrap();
    let mut seeds = vec![read(example().join("inventory.json"))];
    seeds.extend(hostile("inventory_json"));
    let t = Target {
        name: "inventory_json",
        seeds,
        dict: JSON_TOKENS,
        protect_first_line: false,
        canaries: no_canaries(),
        default_iters: 100,
    };
    fuzz(t, move || {
        move |input: &[u8]| {
            // What `plan_cmd::read_inventory` does (private to the CLI): serde into the model.
            match serde_json::from_slice::<handover::model::Inventory>(input) {
                Err(e) => e.to_string(),
                Ok(inv) => match handover::plan::build(
                    &inv,
                    &policy,
                    &config,
                    handover::docs::read(
                        &config.base_dir,
                        &handover::plan::wanted_documents(&config),
                    ),
                ) {
                    Err(e) => shown(&e),
                    Ok(plan) => {
                        let _ = handover::plan::render::markdown(&plan);
                        String::new()
                    }
                },
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// The engine itself.

/// The mutation engine is deterministic: the same seed gives the same mutants, so a
/// printed seed reproduces a failure.
#[test]
fn mutation_is_deterministic_and_varied() {
    let seeds = vec![
        b"{\"a\": [1, 2, 3], \"b\": \"text\"}\n".to_vec(),
        b"KEY=value\n".to_vec(),
    ];
    let run = |s| {
        let mut rng = Rng::new(s);
        (0..200)
            .map(|_| mutate(&mut rng, &seeds, JSON_TOKENS, 0))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
    let distinct: HashSet<Vec<u8>> = run(7).into_iter().collect();
    assert!(
        distinct.len() > 150,
        "only {} distinct mutants of 200",
        distinct.len()
    );
    // The protected first line survives.
    let mut rng = Rng::new(1);
    let s = vec![b"path/to/file.json\n{\"x\":1}".to_vec()];
    for _ in 0..500 {
        assert!(mutate(&mut rng, &s, JSON_TOKENS, 18).starts_with(b"path/to/file.json\n"));
    }
}

/// The leak detector sees a planted key in a message, and nothing in a clean one.
#[test]
fn leak_detector_finds_planted_key_material() {
    let c = canaries();
    assert!(c.leak_in("recipients.txt: line 3: not a key").is_none());
    let body = String::from_utf8(pem_body(canary_ssh_private_key())).unwrap();
    assert!(c
        .leak_in(&format!("line 2: {:?}...", &body[40..64]))
        .is_some());
    assert!(c
        .leak_in(&format!("bad: {}", &canary_age_identity()[..24]))
        .is_some());
    assert!(c
        .leak_in(&format!("line 4: {}", &CANARY_VALUE[5..17]))
        .is_some());
}
