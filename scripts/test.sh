#!/usr/bin/env bash
# Runs every test from a fresh clone: installs the Python side (moto, the aws CLI,
# Google's Python clients) into ./.venv, then runs the Rust workspace tests, which
# start their emulators on loopback ports themselves (they include the short fuzz run,
# tests/fuzz.rs, and the hostile-input corpus, tests/hostile.rs), then `cargo deny`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
  echo "$want" > "$stamp"
fi

# The reference age CLI (Debian package `age`) proves the manifest's interop; groff
# (Debian `groff-base`) renders the man pages in tests/install.rs.
if ! command -v age >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1 || ! command -v groff >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -q age openssh-client groff-base >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q age openssh-client groff-base >/dev/null; }
  else
    echo "error: the tests need the reference age CLI, ssh-keygen and groff: sudo apt-get install age openssh-client groff-base" >&2
    exit 1
  fi
fi

# The tests find moto_server and aws here first; gcloud is expected on the machine.
export PATH="$root/.venv/bin:$PATH"
export HANDOVER_TEST_VENV="$root/.venv"

# Supply chain: advisories (a committed snapshot of the RustSec database, offline),
# licenses, bans and sources, per deny.toml. Installs cargo-deny from crates.io when it
# is missing (about 20 minutes of compiling on a busy 2-core machine, once).
# The short fuzz run is part of `cargo test` below (tests/fuzz.rs, tests/hostile.rs).
./supply-chain/deny.sh

# Style and lints are part of the test: rustfmt's default style (no rustfmt.toml) and
# clippy with warnings as errors, on every target of the workspace.
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings

# Last, so the closing lines are the test runner's.
cargo test --workspace --locked "$@"
