//! What every command sets up the same way: the async runtime, the progress bar on
//! stderr, the default output format (a table on a terminal, JSON otherwise) and printing
//! to stdout (a closed pipe is not an error). One definition each, called by the commands.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use crate::audit::Progress;
use crate::error::Error;

/// The multi-threaded runtime the cloud-reading commands block on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::usage(
                format!("cannot start the async runtime: {e}"),
                "check the process limits",
            )
        })
}

/// Refuses, before any file is read or request sent, a `--profile` that the shared AWS
/// config files do not define (exit 2, naming the profiles that do): commands that
/// carry on past an unreachable account (a dry run, verify) would otherwise report the
/// typo as missing credentials.
pub fn check_profiles(profiles: &[String]) -> Result<(), Error> {
    if profiles.is_empty() {
        return Ok(());
    }
    runtime()?.block_on(async {
        for p in profiles {
            crate::providers::aws::live::check_profile(p).await?;
        }
        Ok(())
    })
}

/// A progress bar on stderr when `wanted` (not `--quiet`, not `--no-progress`) and stderr
/// is a terminal; otherwise nothing is drawn.
pub fn progress(wanted: bool) -> Arc<dyn Progress> {
    if wanted && std::io::stderr().is_terminal() {
        Arc::new(Bar::new())
    } else {
        Arc::new(NoProgress)
    }
}

/// `on_terminal` when stdout is a terminal, else `otherwise`: the default of `--format`.
pub fn by_terminal<T>(on_terminal: T, otherwise: T) -> T {
    if std::io::stdout().is_terminal() {
        on_terminal
    } else {
        otherwise
    }
}

/// Prints to stdout; a closed pipe (`| head`) is not an error.
pub fn print_stdout(s: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::output(
            "<stdout>",
            format!("cannot write: {e}"),
            "check where the output goes",
        )),
    }
}

/// Pretty JSON with a final newline, as every command prints and writes it.
pub fn pretty_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("serializes") + "\n"
}

struct NoProgress;
impl Progress for NoProgress {
    fn phase(&self, _: &str, _: u64) {}
    fn tick(&self) {}
}

/// A progress bar on stderr, shown only on a terminal.
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg:24} [{bar:30}] {pos}/{len} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Bar(bar)
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: u64) {
        if name == "done" {
            self.0.finish_and_clear();
            return;
        }
        self.0.set_message(name.to_string());
        self.0.set_length(total);
        self.0.set_position(0);
    }
    fn tick(&self) {
        self.0.inc(1);
    }
}
