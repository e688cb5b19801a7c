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
                    )
                    .unwrap(),
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
// Whole-snapshot targets for the readers of issues 16 to 18: the AWS organization
// (`aws/organizations/`), Identity Center (`<account>/sso/`), the GCP hierarchy
// (`<project>/ancestors.json`, `gcp-containers/`) and API keys, HMAC keys and workload
// identity federation (`<project>/{api-keys,hmac-keys,workload-identity-pools}.json`).
//
// Each input's first line names a file relative to the snapshot folder, the rest is its
// content; the whole folder is audited as `handover audit --snapshot` does. Two bodies
// are directives, not content: `@link-outside-file` makes the file a symbolic link to a
// copy of it outside the folder, `@link-outside-dir` makes it a link to a folder outside
// that holds such copies of every file. The copies outside hold marked ids
// (`OUTSIDE_MARK`, `OUTSIDE_ACCOUNT`), so a reader that follows a link out of the
// folder is caught by the marks in what it returns. Every input must end in an
// inventory or an input error (exit 3), with no mark in either.

const OUTSIDE_MARK: &str = "outside0mark";
const OUTSIDE_ACCOUNT: &str = "999000999000";
const LINK_FILE: &[u8] = b"@link-outside-file";
const LINK_DIR: &[u8] = b"@link-outside-dir";

/// The example's snapshot with every issue 16-18 file the readers look for, filled in.
fn issue17_snapshot(root: &Path) {
    use serde_json::json;
    copy_tree(&example().join("snapshot"), root);
    let put = |rel: &str, v: serde_json::Value| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    };
    // The AWS organization (aws organizations ... --output json).
    let org = "aws/organizations";
    put(
        &format!("{org}/describe-organization.json"),
        json!({"Organization": {
        "Id": "o-a1b2c3d4e5", "Arn": "arn:aws:organizations::111122223333:organization/o-a1b2c3d4e5",
        "MasterAccountId": "111122223333", "MasterAccountEmail": "root@contoso.example"}}),
    );
    put(
        &format!("{org}/list-accounts.json"),
        json!({"Accounts": [
        {"Id": "111122223333", "Name": "management", "Email": "root@contoso.example", "Status": "ACTIVE"},
        {"Id": "123456789012", "Name": "shop-prod", "Email": "prod@contoso.example", "Status": "ACTIVE"},
        {"Id": "210987654321", "Name": "shop-dev", "Email": "dev@contoso.example", "Status": "ACTIVE"}]}),
    );
    put(
        &format!("{org}/list-roots.json"),
        json!({"Roots": [{"Id": "r-ab12", "Name": "Root"}]}),
    );
    put(
        &format!("{org}/parents/r-ab12/organizational-units.json"),
        json!({"OrganizationalUnits": [
        {"Id": "ou-ab12-11111111", "Name": "workloads"}, {"Id": "ou-ab12-22222222", "Name": "sandbox"}]}),
    );
    put(
        &format!("{org}/parents/r-ab12/accounts.json"),
        json!({"Accounts": [{"Id": "111122223333"}]}),
    );
    put(
        &format!("{org}/parents/ou-ab12-11111111/accounts.json"),
        json!({"Accounts": [
        {"Id": "123456789012"}, {"Id": "210987654321"}]}),
    );
    put(
        &format!("{org}/parents/ou-ab12-11111111/organizational-units.json"),
        json!({"OrganizationalUnits": []}),
    );
    put(
        &format!("{org}/list-delegated-administrators.json"),
        json!({"DelegatedAdministrators": [
        {"Id": "210987654321", "Name": "shop-dev", "Email": "dev@contoso.example"}]}),
    );
    put(
        &format!("{org}/delegated-services/210987654321.json"),
        json!({"DelegatedServices": [
        {"ServicePrincipal": "securityhub.amazonaws.com"}]}),
    );
    put(
        &format!("{org}/scps.json"),
        json!({"Policies": [
        {"Id": "p-FullAWSAccess", "Name": "FullAWSAccess", "Description": "", "AwsManaged": true},
        {"Id": "p-12345678", "Name": "deny-leave", "Description": "no leaving", "AwsManaged": false}]}),
    );
    put(
        &format!("{org}/policy-targets/p-12345678.json"),
        json!({"Targets": [
        {"TargetId": "ou-ab12-11111111", "Name": "workloads", "Type": "ORGANIZATIONAL_UNIT"}]}),
    );
    // Identity Center of the example's account.
    let sso = "aws/123456789012/sso";
    put(
        &format!("{sso}/users.json"),
        json!({"Users": [{"UserId": "9067-u1", "UserName": "ann",
        "DisplayName": "Ann", "Emails": [{"Value": "ann@northwind-agency.example", "Primary": true}]}]}),
    );
    put(
        &format!("{sso}/groups.json"),
        json!({"Groups": [{"GroupId": "9067-g1", "DisplayName": "agency-admins"}]}),
    );
    put(
        &format!("{sso}/group-memberships/9067-g1.json"),
        json!({"GroupMemberships": [
        {"GroupId": "9067-g1", "MemberId": {"UserId": "9067-u1"}}]}),
    );
    let ps = "arn:aws:sso:::permissionSet/ssoins-72236b7c1e5a1d84/ps-0123456789abcdef";
    put(
        &format!("{sso}/permission-sets.json"),
        json!({"PermissionSets": [ps]}),
    );
    let psd = format!("{sso}/permission-sets/ps-0123456789abcdef");
    put(
        &format!("{psd}/permission-set.json"),
        json!({"PermissionSet": {"PermissionSetArn": ps, "Name": "Admin"}}),
    );
    put(
        &format!("{psd}/managed-policies.json"),
        json!({"AttachedManagedPolicies": [
        {"Name": "AdministratorAccess", "Arn": "arn:aws:iam::aws:policy/AdministratorAccess"}]}),
    );
    put(
        &format!("{psd}/customer-managed-policies.json"),
        json!({"CustomerManagedPolicyReferences": [
        {"Name": "extra", "Path": "/"}]}),
    );
    put(
        &format!("{psd}/inline-policy.json"),
        json!({"InlinePolicy":
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}),
    );
    put(
        &format!("{psd}/accounts.json"),
        json!({"AccountIds": ["123456789012"]}),
    );
    put(
        &format!("{psd}/assignments/123456789012.json"),
        json!({"AccountAssignments": [
        {"AccountId": "123456789012", "PermissionSetArn": ps, "PrincipalType": "GROUP", "PrincipalId": "9067-g1"}]}),
    );
    // The GCP hierarchy above the example's project.
    let p = "gcp/contoso-shop-prod";
    put(
        &format!("{p}/ancestors.json"),
        json!([
        {"id": "contoso-shop-prod", "type": "project"}, {"id": "30", "type": "folder"},
        {"id": "20", "type": "folder"}, {"id": "10", "type": "organization"}]),
    );
    put(
        "gcp-containers/folders-20/iam-policy.json",
        json!({"version": 3, "etag": "BwX1", "bindings": [
        {"role": "roles/editor", "members": ["group:devs@northwind-agency.example"]},
        {"role": "roles/browser", "members": ["user:ann@northwind-agency.example"],
         "condition": {"title": "adoption", "expression": "request.time < timestamp(\"2027-01-31T00:00:00Z\")"}}]}),
    );
    put(
        "gcp-containers/organizations-10/iam-policy.json",
        json!({"version": 1, "etag": "BwX2", "bindings": [
        {"role": "roles/owner", "members": ["group:admins@contoso.example"]}]}),
    );
    // API keys, HMAC keys and workload identity federation of the example's project.
    put(
        &format!("{p}/api-keys.json"),
        json!([
        {"name": "projects/123/locations/global/keys/k1", "uid": "k1", "displayName": "maps",
         "createTime": "2025-01-01T00:00:00Z", "updateTime": "2025-02-01T00:00:00Z"},
        {"name": "projects/123/locations/global/keys/k2", "uid": "k2", "displayName": "web",
         "createTime": "2025-01-01T00:00:00Z", "restrictions": {
            "browserKeyRestrictions": {"allowedReferrers": ["https://shop.contoso.example/*"]},
            "apiTargets": [{"service": "maps.googleapis.com", "methods": ["*"]}]}}]),
    );
    put(
        &format!("{p}/hmac-keys.json"),
        json!([
        {"accessId": "GOOG1EXAMPLEACCESSID0000000000000000000000000000000000000000", "serviceAccountEmail":
         "ci-deploy@contoso-shop-prod.iam.gserviceaccount.com", "state": "ACTIVE",
         "timeCreated": "2025-01-01T00:00:00Z", "updated": "2025-01-01T00:00:00Z", "etag": "e1"}]),
    );
    put(
        &format!("{p}/workload-identity-pools.json"),
        json!([
        {"name": "projects/123/locations/global/workloadIdentityPools/github-pool", "displayName": "GitHub", "state": "ACTIVE"}]),
    );
    put(
        &format!("{p}/workload-identity-pools/github-pool/providers.json"),
        json!([
        {"name": "projects/123/locations/global/workloadIdentityPools/github-pool/providers/gh", "state": "ACTIVE",
         "attributeMapping": {"google.subject": "assertion.sub", "attribute.repository_owner": "assertion.repository_owner"},
         "attributeCondition": "assertion.repository_owner == 'northwind-agency'",
         "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"}}]),
    );
}

/// The same JSON with every string marked: digits become `OUTSIDE_ACCOUNT`, others get
/// `OUTSIDE_MARK` in front (what a folder outside the snapshot would hold).
fn marked(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Value::String(OUTSIDE_ACCOUNT.into())
        }
        Value::String(s) => Value::String(format!("{OUTSIDE_MARK}-{s}")),
        Value::Array(a) => Value::Array(a.into_iter().map(marked).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, marked(v))).collect()),
        other => other,
    }
}

/// The files and folders outside the snapshot that links lead to: every JSON file of
/// the snapshot, by its name, marked.
fn outside_copies(snapshot: &Path, outside: &Path) {
    std::fs::create_dir_all(outside).unwrap();
    for rel in files_under(snapshot) {
        let name = rel.file_name().unwrap();
        let Ok(v) = serde_json::from_slice(&read(snapshot.join(&rel))) else {
            continue;
        };
        let to = outside.join(name);
        if !to.exists() {
            std::fs::write(&to, serde_json::to_vec(&marked(v)).unwrap()).unwrap();
        }
    }
}

struct NoProgress;
impl handover::audit::Progress for NoProgress {
    fn phase(&self, _: &str, _: u64) {}
    fn tick(&self) {}
}

/// `handover audit --snapshot DIR`, in process: the text a user sees of an error, or
/// nothing. Panics (a finding) on an error that is not an input error, or on a mark of
/// the outside copies in the inventory or the error.
fn audit_snapshot(rt: &tokio::runtime::Runtime, dir: &Path) -> String {
    let req = handover::audit::AuditRequest {
        snapshot: Some(dir.to_path_buf()),
        ..Default::default()
    };
    let got = rt.block_on(handover::audit::run(
        &req,
        chrono::Utc::now(),
        Arc::new(NoProgress),
    ));
    let text = match got {
        Err(e) => {
            assert!(
                matches!(e, Error::Input { .. }),
                "a snapshot's content gave an error other than an input error (exit 3): {e:?}"
            );
            assert!(!e.hint().is_empty(), "an error with no hint: {e}");
            shown(&e)
        }
        Ok(inv) => {
            let table = handover::audit::table::render(&inv);
            format!("{}\n{table}", serde_json::to_string(&inv).unwrap())
        }
    };
    // What reaches a terminal (the table, an error) carries no control character from
    // the input: an escape sequence in an id must not drive the user's terminal.
    let shown_text = text.split_once('\n').map_or(text.as_str(), |(json, rest)| {
        if json.starts_with('{') {
            rest
        } else {
            text.as_str()
        }
    });
    assert!(
        !shown_text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "a control character reaches the terminal: {:?}",
        shown_text.chars().take(2000).collect::<String>()
    );
    let lower = text.to_ascii_lowercase();
    assert!(
        !lower.contains(OUTSIDE_MARK) && !lower.contains(OUTSIDE_ACCOUNT),
        "read a file outside the snapshot folder (its mark is in the output): {}",
        text.chars().take(2000).collect::<String>()
    );
    if text.starts_with('{') {
        String::new()
    } else {
        text
    }
}

/// Writes one input into the snapshot (a file, or a link out of it per the directive);
/// returns how to undo it.
fn place(root: &Path, outside: &Path, rel: &Path, body: &[u8]) -> impl FnOnce() {
    let path = root.join(rel);
    let original = std::fs::read(&path).ok();
    let mut made = Vec::new();
    let mut d = path.parent().unwrap().to_path_buf();
    while !d.exists() {
        made.push(d.clone());
        d = d.parent().unwrap().to_path_buf();
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if original.is_some() {
        std::fs::remove_file(&path).unwrap();
    }
    if body == LINK_FILE {
        std::os::unix::fs::symlink(outside.join(rel.file_name().unwrap()), &path).unwrap();
    } else if body == LINK_DIR {
        std::os::unix::fs::symlink(outside, &path).unwrap();
    } else {
        std::fs::write(&path, body).unwrap();
    }
    move || {
        std::fs::remove_file(&path).unwrap();
        if let Some(o) = original {
            std::fs::write(&path, o).unwrap();
        }
        for d in made {
            std::fs::remove_dir(&d).unwrap();
        }
    }
}

const SNAPSHOT17_TOKENS: &[&[u8]] = &[
    b"\"Id\": \"../../../../tmp/x\"",
    b"\"Id\": \"/etc\"",
    b"\"Id\": \"r-ab12\\u0000x\"",
    b"\"Id\": \"ou-ab12-11111111\"",
    b"\"GroupId\": \"../9067-g1\"",
    b"\"AccountIds\": [\"../../x\"]",
    b"\"id\": \"../20\"",
    b"\"id\": \"20\", \"type\": \"folder\"",
    b"\"type\": \"organization\"",
    b"\"name\": \"projects/p/locations/global/workloadIdentityPools/..\"",
    b"\"attributeCondition\": \"true\"",
    b"\"restrictions\": {}",
    b"\"state\": \"ACTIVE\"",
    b"\"createTime\": \"9999-99-99T99:99:99Z\"",
    b"{}",
    b"[]",
    b"null",
];

/// One issue 16-18 target: `seeds` are files of the built snapshot (by path) and
/// crafted inputs (path, body).
fn snapshot17_target(name: &'static str, files: &[&str], crafted: Vec<(String, Vec<u8>)>) {
    let work = workdir(name);
    let root = work.join("snapshot");
    let outside = work.join("outside");
    issue17_snapshot(&root);
    outside_copies(&root, &outside);
    let mut seeds = Vec::new();
    for rel in files {
        let mut s = format!("{rel}\n").into_bytes();
        s.extend(read(root.join(rel)));
        seeds.push(s);
    }
    for (rel, body) in crafted {
        let mut s = format!("{rel}\n").into_bytes();
        s.extend(body);
        seeds.push(s);
    }
    let t = Target {
        name,
        seeds,
        dict: SNAPSHOT17_TOKENS,
        protect_first_line: true,
        canaries: no_canaries(),
        default_iters: 150,
    };
    fuzz(t, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        move |input: &[u8]| {
            let nl = input
                .iter()
                .position(|b| *b == b'\n')
                .unwrap_or(input.len());
            let rel = String::from_utf8_lossy(&input[..nl]).into_owned();
            let rel = Path::new(&rel);
            assert!(
                rel.components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))),
                "a seed path escapes: {}",
                rel.display()
            );
            let undo = place(
                &root,
                &outside,
                rel,
                input.get(nl + 1..).unwrap_or_default(),
            );
            let out = catch_unwind(AssertUnwindSafe(|| audit_snapshot(&rt, &root)));
            undo();
            out.unwrap_or_else(|p| std::panic::resume_unwind(p))
        }
    });
}

/// A JSON value nested `depth` levels deep (arrays), for the recursion limit.
fn deep_json(depth: usize) -> Vec<u8> {
    let mut v = vec![b'['; depth];
    v.extend(std::iter::repeat_n(b']', depth));
    v
}

fn crafted(rel: &str, body: impl Into<Vec<u8>>) -> (String, Vec<u8>) {
    (rel.to_string(), body.into())
}

#[test]
fn fuzz_aws_organization_snapshot() {
    let org = "aws/organizations";
    let long = "9".repeat(100_000);
    let many: Vec<serde_json::Value> = (0..20_000)
        .map(|i| serde_json::json!({"Id": format!("{:012}", i), "Name": "n"}))
        .collect();
    let crafted = vec![
        crafted(
            &format!("{org}/list-accounts.json"),
            serde_json::json!({"Accounts": [{"Id": "../../../etc/passwd"}, {"Id": "/etc"},
                {"Id": "12345\u{0}6789012"}, {"Id": long}, {"Id": "not-a-number"}, {"Id": ""}]})
            .to_string(),
        ),
        crafted(
            &format!("{org}/list-accounts.json"),
            serde_json::json!({ "Accounts": many }).to_string(),
        ),
        crafted(&format!("{org}/list-accounts.json"), r#"{"Accounts": "x"}"#),
        crafted(
            &format!("{org}/list-accounts.json"),
            r#"{"Accounts": [1, true, null]}"#,
        ),
        crafted(
            &format!("{org}/describe-organization.json"),
            r#"{"Organization": []}"#,
        ),
        crafted(
            &format!("{org}/describe-organization.json"),
            deep_json(100_000),
        ),
        crafted(
            &format!("{org}/list-roots.json"),
            r#"{"Roots": [{"Id": "../parents/r-ab12"}, {"Id": "/tmp"}, {"Id": "r-ab12/../../.."}, {"Id": "."}, {"Id": ".."}]}"#,
        ),
        crafted(
            &format!("{org}/parents/r-ab12/organizational-units.json"),
            // An OU that is its own child, and its parent's: the walk must end.
            r#"{"OrganizationalUnits": [{"Id": "r-ab12", "Name": "loop"}, {"Id": "ou-ab12-11111111", "Name": "again"}]}"#,
        ),
        crafted(
            &format!("{org}/list-delegated-administrators.json"),
            r#"{"DelegatedAdministrators": [{"Id": "../delegated-services/210987654321"}, {"Id": "/etc/passwd"}]}"#,
        ),
        crafted(
            &format!("{org}/scps.json"),
            r#"{"Policies": [{"Id": "../policy-targets/p-12345678", "Name": "x"}, {"Id": "p-12345678", "Name": 5}]}"#,
        ),
        crafted(&format!("{org}/list-roots.json"), LINK_FILE),
        crafted(&format!("{org}/list-accounts.json"), LINK_FILE),
        crafted(&format!("{org}/parents/ou-ab12-22222222"), LINK_DIR),
        crafted(
            &format!("{org}/parents/ou-ab12-11111111/accounts.json"),
            LINK_FILE,
        ),
        crafted(
            &format!("{org}/delegated-services/210987654321.json"),
            LINK_FILE,
        ),
        crafted(&format!("{org}/policy-targets/p-12345678.json"), LINK_FILE),
    ];
    let files: Vec<String> = [
        "describe-organization.json",
        "list-accounts.json",
        "list-roots.json",
        "parents/r-ab12/organizational-units.json",
        "parents/r-ab12/accounts.json",
        "parents/ou-ab12-11111111/accounts.json",
        "list-delegated-administrators.json",
        "delegated-services/210987654321.json",
        "scps.json",
        "policy-targets/p-12345678.json",
    ]
    .iter()
    .map(|f| format!("{org}/{f}"))
    .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    snapshot17_target("aws_organization_snapshot", &files, crafted);
}

#[test]
fn fuzz_aws_identity_center_snapshot() {
    let sso = "aws/123456789012/sso";
    let psd = format!("{sso}/permission-sets/ps-0123456789abcdef");
    let many: Vec<serde_json::Value> = (0..20_000)
        .map(|i| serde_json::json!({"GroupId": format!("g-{i}"), "DisplayName": "x"}))
        .collect();
    let crafted = vec![
        crafted(
            &format!("{sso}/groups.json"),
            serde_json::json!({"Groups": [{"GroupId": "../../users/alice.agency/access-keys"},
                {"GroupId": "/etc/passwd"}, {"GroupId": "g\u{0}1"}, {"GroupId": "x".repeat(100_000)}]})
            .to_string(),
        ),
        crafted(&format!("{sso}/groups.json"), serde_json::json!({ "Groups": many }).to_string()),
        crafted(&format!("{sso}/instances.json"), r#"{"Instances": [{"InstanceArn": 7}]}"#),
        crafted(&format!("{sso}/users.json"), deep_json(100_000)),
        crafted(
            &format!("{psd}/accounts.json"),
            r#"{"AccountIds": ["../../../../../organizations/list-accounts", "/etc/passwd", "1234567890123456789012345678901234567890"]}"#,
        ),
        crafted(&format!("{psd}/permission-set.json"), r#"{"PermissionSet": {"PermissionSetArn": ["x"]}}"#),
        crafted(&format!("{sso}/instances.json"), LINK_FILE),
        crafted(&format!("{sso}/group-memberships/9067-g1.json"), LINK_FILE),
        crafted(&format!("{sso}/permission-sets/ps-outside"), LINK_DIR),
        crafted(&format!("{psd}/assignments/123456789012.json"), LINK_FILE),
        crafted(&format!("{psd}/inline-policy.json"), LINK_FILE),
    ];
    let files: Vec<String> = [
        "instances.json",
        "users.json",
        "groups.json",
        "group-memberships/9067-g1.json",
        "permission-sets.json",
    ]
    .iter()
    .map(|f| format!("{sso}/{f}"))
    .chain(
        [
            "permission-set.json",
            "managed-policies.json",
            "customer-managed-policies.json",
            "inline-policy.json",
            "accounts.json",
            "assignments/123456789012.json",
        ]
        .iter()
        .map(|f| format!("{psd}/{f}")),
    )
    .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    snapshot17_target("aws_identity_center_snapshot", &files, crafted);
}

#[test]
fn fuzz_gcp_hierarchy_snapshot() {
    let p = "gcp/contoso-shop-prod";
    let many: Vec<serde_json::Value> = (0..20_000)
        .map(|i| serde_json::json!({"id": format!("{}", 100 + i), "type": "folder"}))
        .collect();
    let crafted = vec![
        crafted(
            &format!("{p}/ancestors.json"),
            r#"[{"id": "../../../etc", "type": "folder"}]"#,
        ),
        crafted(
            &format!("{p}/ancestors.json"),
            r#"[{"id": "/etc", "type": "organization"}]"#,
        ),
        crafted(
            &format!("{p}/ancestors.json"),
            "[{\"id\": \"20\\u0000\", \"type\": \"folder\"}]",
        ),
        crafted(
            &format!("{p}/ancestors.json"),
            format!(r#"[{{"id": "{}", "type": "folder"}}]"#, "1".repeat(100_000)),
        ),
        crafted(
            &format!("{p}/ancestors.json"),
            r#"[{"id": "20", "type": "folders/../../x"}]"#,
        ),
        crafted(
            &format!("{p}/ancestors.json"),
            r#"[{"id": 20, "type": "folder"}]"#,
        ),
        crafted(&format!("{p}/ancestors.json"), r#"{"id": "20"}"#),
        crafted(&format!("{p}/ancestors.json"), deep_json(100_000)),
        crafted(
            &format!("{p}/ancestors.json"),
            serde_json::json!(many).to_string(),
        ),
        crafted(
            "gcp-containers/folders-20/iam-policy.json",
            r#"{"bindings": [{"role": "roles/owner", "members": "x"}]}"#,
        ),
        crafted(&format!("{p}/ancestors.json"), LINK_FILE),
        crafted("gcp-containers/folders-20/iam-policy.json", LINK_FILE),
        crafted("gcp-containers/folders-30", LINK_DIR),
    ];
    snapshot17_target(
        "gcp_hierarchy_snapshot",
        &[
            "gcp/contoso-shop-prod/ancestors.json",
            "gcp-containers/folders-20/iam-policy.json",
            "gcp-containers/organizations-10/iam-policy.json",
        ],
        crafted,
    );
}

#[test]
fn fuzz_gcp_keys_and_federation_snapshot() {
    let p = "gcp/contoso-shop-prod";
    let many: Vec<serde_json::Value> = (0..20_000)
        .map(|i| serde_json::json!({"name": format!("projects/1/locations/global/keys/k{i}")}))
        .collect();
    let crafted = vec![
        crafted(
            &format!("{p}/workload-identity-pools.json"),
            serde_json::json!([
                {"name": "projects/1/locations/global/workloadIdentityPools/.."},
                {"name": "projects/1/locations/global/workloadIdentityPools/../../../../etc"},
                {"name": "/etc/passwd"}, {"name": ""}, {"name": "pool\u{0}-x"},
                {"name": format!("projects/1/locations/global/workloadIdentityPools/{}", "a".repeat(100_000))}
            ])
            .to_string(),
        ),
        crafted(&format!("{p}/api-keys.json"), serde_json::json!(many).to_string()),
        crafted(&format!("{p}/api-keys.json"), r#"[{"name": "k", "restrictions": {"apiTargets": "all"}}]"#),
        crafted(&format!("{p}/api-keys.json"), r#"{"keys": []}"#),
        crafted(&format!("{p}/hmac-keys.json"), r#"[{"accessId": null}]"#),
        crafted(&format!("{p}/hmac-keys.json"), deep_json(100_000)),
        crafted(
            &format!("{p}/workload-identity-pools/github-pool/providers.json"),
            r#"[{"name": "p", "attributeMapping": {"google.subject": 5}, "attributeCondition": "\u001b[2J"}]"#,
        ),
        crafted(&format!("{p}/api-keys.json"), LINK_FILE),
        crafted(&format!("{p}/hmac-keys.json"), LINK_FILE),
        crafted(&format!("{p}/workload-identity-pools.json"), LINK_FILE),
        crafted(&format!("{p}/workload-identity-pools/github-pool/providers.json"), LINK_FILE),
    ];
    snapshot17_target(
        "gcp_keys_and_federation_snapshot",
        &[
            "gcp/contoso-shop-prod/api-keys.json",
            "gcp/contoso-shop-prod/hmac-keys.json",
            "gcp/contoso-shop-prod/workload-identity-pools.json",
            "gcp/contoso-shop-prod/workload-identity-pools/github-pool/providers.json",
        ],
        crafted,
    );
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
