//! `handover completions SHELL` (a completion script from the clap definitions, so it
//! always knows every command, flag and value the binary has) and `handover man` (the
//! manual pages, one per command, the same way). The committed `man/` is compared with
//! `handover man` by `tests/install.rs`; regenerate with `cargo run -- man --dir man --force`.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::args::Cli;
use super::exit;
use super::support::print_stdout;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell that will load the script.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write every page (handover.1 and one per command, e.g. handover-plan.1) into this
    /// folder (created if missing); without it, print handover.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Overwrite pages already in DIR.
    #[arg(long, requires = "dir")]
    pub force: bool,
}

/// Prints the completion script for one shell.
pub fn completions_command(a: CompletionsArgs) -> Result<u8, Error> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "handover", &mut script);
    print_stdout(&String::from_utf8_lossy(&script))?;
    Ok(exit::OK)
}

/// Every manual page: (file name, roff text), the top page first, then each visible
/// command depth-first (`handover-policy-check.1`); the `help` command has none.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    fn add(cmd: clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
        let man = clap_mangen::Man::new(cmd.clone());
        let mut roff = Vec::new();
        man.render(&mut roff)
            .expect("rendering to memory cannot fail");
        pages.push((man.get_filename(), roff));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            add(sub.clone(), pages);
        }
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    add(cmd, &mut pages);
    pages
}

/// Prints handover.1, or writes every page into `--dir` (all or none, as any output).
pub fn man_command(a: ManArgs) -> Result<u8, Error> {
    let pages = man_pages();
    let Some(dir) = a.dir else {
        print_stdout(&String::from_utf8_lossy(&pages[0].1))?;
        return Ok(exit::OK);
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::output(
            &dir,
            format!("cannot create the folder: {e}"),
            "choose a folder you can write to",
        )
    })?;
    let paths: Vec<PathBuf> = pages.iter().map(|(name, _)| dir.join(name)).collect();
    let mut outputs = crate::output::Outputs::new(a.force);
    for (path, (_, roff)) in paths.iter().zip(&pages) {
        outputs.add(path, roff);
    }
    outputs.write()?;
    eprintln!("{} pages in {}", pages.len(), Path::new(&dir).display());
    Ok(exit::OK)
}
