#!/usr/bin/env bash
# Runs `cargo deny check` (advisories, licenses, bans, sources) offline against the
# committed snapshot of the RustSec advisory database in supply-chain/advisory-db.
#
# cargo-deny reads its advisory databases from git checkouts under `db-path` (deny.toml:
# target/advisory-dbs) and takes the database's date from its HEAD commit. CI cannot
# reach the database's git host, so this lays the snapshot out as a one-commit
# repository whose commit date is the snapshot's own date (SNAPSHOT), which keeps
# cargo-deny's staleness check honest, then checks with --offline (no fetch).
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot=supply-chain/advisory-db
date=$(sed -n 's/^date = //p' "$snapshot/SNAPSHOT")
commit=$(sed -n 's/^commit = //p' "$snapshot/SNAPSHOT")
# The folder name cargo-deny derives from the URL in deny.toml's db-urls.
db=target/advisory-dbs/advisory-db-3157b0e258782691
stamp="$db/.snapshot-commit"
if [ "$(cat "$stamp" 2>/dev/null)" != "$commit:$(find "$snapshot" -type f | sort | xargs cat | sha256sum | cut -d' ' -f1)" ]; then
  rm -rf "$db"
  mkdir -p "$db"
  cp -R "$snapshot/." "$db/"
  (
    cd "$db"
    export GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date"
    export GIT_AUTHOR_NAME=snapshot GIT_AUTHOR_EMAIL=snapshot@localhost GIT_COMMITTER_NAME=snapshot GIT_COMMITTER_EMAIL=snapshot@localhost
    git init -q -b main .
    git add -A .
    git commit -q -m "advisory-db snapshot of $commit"
  )
  echo "$commit:$(find "$snapshot" -type f | sort | xargs cat | sha256sum | cut -d' ' -f1)" > "$stamp"
fi

# A pinned version: the newest release may need a newer rustc than the machine's, and
# deny.toml is written for this one's schema.
want_version=0.20.2
if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $want_version"; then
  echo "installing cargo-deny $want_version from crates.io (several minutes on 2 cores)" >&2
  cargo install --locked cargo-deny --version "$want_version"
fi
# --offline needs every crate of Cargo.lock on disk, the other platforms' too (a build
# fetches only this one's): `cargo fetch` without --target fetches them all.
cargo fetch --locked --quiet
cargo deny --offline --locked check "$@"
