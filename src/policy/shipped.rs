//! The policies shipped with handover, compiled into the binary (`include_str!` of
//! `policies/*.yaml`), so an installed or copied binary has them without the repository.
//!
//! Invariants: each entry's text is the committed file byte for byte (a plan made with
//! `--policy full-transfer` carries the same policy digest as one made with the file, and
//! `policy show NAME > mine.yaml` reproduces it); each entry's name is the `name:` inside
//! its YAML; every policy file in `policies/` is listed here (a test reads the folder).
//! `policies/permissions/` holds IAM policies and custom roles for the tool's own
//! identity, not handover policies: they are not listed.
//!
//! How a `--policy` argument is resolved (`resolve`): an argument that names a shipped
//! policy (no path separator, no `.yaml`/`.yml` ending, a name in the table) is that
//! policy; anything else is a file path. When a shipped name is also a file in the
//! current directory, the argument is refused as ambiguous instead of picking one
//! silently (`./NAME` chooses the file).

use std::path::Path;

use crate::error::Error;

/// One shipped policy: its name and its exact YAML text.
#[derive(Debug, Clone, Copy)]
pub struct Shipped {
    pub name: &'static str,
    pub text: &'static str,
}

/// Every shipped policy, in the order `policy list` prints them.
pub const SHIPPED: &[Shipped] = &[
    Shipped {
        name: "full-transfer",
        text: include_str!("../../policies/full-transfer.yaml"),
    },
    Shipped {
        name: "agency-operated",
        text: include_str!("../../policies/agency-operated.yaml"),
    },
];

/// The shipped policies' names, for clap's list of possible values.
pub const NAMES: [&str; 2] = ["full-transfer", "agency-operated"];

/// The shipped policy of that name.
pub fn get(name: &str) -> Option<&'static Shipped> {
    SHIPPED.iter().find(|s| s.name == name)
}

/// The shipped names, comma-separated, for messages.
pub fn names() -> String {
    NAMES.join(", ")
}

/// Where a `--policy` argument points.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Shipped(&'static Shipped),
    File(&'a Path),
}

/// Whether `arg` has the form of a policy name rather than a path: one component, with
/// no `.yaml`/`.yml` ending.
pub(crate) fn looks_like_name(arg: &Path) -> Option<&str> {
    let s = arg.to_str()?;
    let is_name = !s.is_empty()
        && !s.contains(['/', '\\'])
        && !s.ends_with(".yaml")
        && !s.ends_with(".yml")
        && s != "."
        && s != "..";
    is_name.then_some(s)
}

/// Resolves a `--policy` argument (see the module's rule): a shipped name, a file, or an
/// error (exit 2) when a shipped name is also a file here.
pub fn resolve(arg: &Path) -> Result<Source<'_>, Error> {
    let Some(name) = looks_like_name(arg) else {
        return Ok(Source::File(arg));
    };
    match get(name) {
        Some(_) if arg.exists() => Err(Error::usage(
                format!(
                    "--policy {name} is ambiguous: it names a shipped policy and a file in the current directory"
                ),
                format!(
                    "write ./{name} to read the file, or run from another directory to use the shipped policy (or rename the file to {name}.yaml)"
                ),
            )),
        Some(s) => Ok(Source::Shipped(s)),
        None => Ok(Source::File(arg)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A policy added to policies/ but not here would be missing from every installed binary.
    #[test]
    fn every_policy_file_in_the_repository_is_shipped_byte_for_byte() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                assert_eq!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml"),
                    "{}: only policies live at the top of policies/",
                    p.display()
                );
                let name = p.file_stem().unwrap().to_str().unwrap().to_string();
                let shipped = get(&name).unwrap_or_else(|| panic!("{name} is not shipped"));
                assert_eq!(shipped.text, std::fs::read_to_string(&p).unwrap());
                name
            })
            .collect();
        files.sort();
        let mut names: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
        names.sort();
        assert_eq!(files, names);
        assert_eq!(SHIPPED.iter().map(|s| s.name).collect::<Vec<_>>(), NAMES);
    }

    #[test]
    fn each_shipped_policy_checks_and_carries_its_own_name() {
        for s in SHIPPED {
            let p = crate::policy::load_shipped(s).unwrap();
            assert_eq!(p.name, s.name);
            assert!(!p.description.is_empty() && !p.description.contains('\n'));
        }
    }

    #[test]
    fn a_path_or_a_yaml_name_is_a_file_and_a_bare_shipped_name_is_shipped() {
        for arg in [
            "./full-transfer",
            "full-transfer.yaml",
            "policies/full-transfer",
            "mine.yml",
            "..",
            "",
        ] {
            assert!(
                matches!(resolve(Path::new(arg)), Ok(Source::File(_))),
                "{arg:?}"
            );
        }
        // Not a shipped name: a file path (a missing one is reported by the reader).
        assert!(matches!(
            resolve(Path::new("no-such-policy-here")),
            Ok(Source::File(_))
        ));
        for name in NAMES {
            match resolve(Path::new(name)) {
                Ok(Source::Shipped(s)) => assert_eq!(s.name, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
