#!/usr/bin/env bash
# Replaces the committed advisory snapshot with the crates/ advisories of a checkout of
# the RustSec advisory database: supply-chain/refresh-advisory-db.sh PATH/TO/advisory-db
# Then run supply-chain/deny.sh and commit supply-chain/advisory-db.
set -euo pipefail
src=${1:?usage: $0 PATH/TO/advisory-db (a git checkout)}
cd "$(dirname "$0")/.."
commit=$(git -C "$src" rev-parse HEAD)
date=$(git -C "$src" log -1 --format=%cI HEAD)
rm -rf supply-chain/advisory-db
mkdir -p supply-chain/advisory-db
git -C "$src" archive HEAD crates LICENSE.txt README.md | tar -x -C supply-chain/advisory-db
cat > supply-chain/advisory-db/SNAPSHOT <<EOT
# A snapshot of the RustSec advisory database (crates/ only), taken because CI cannot
# reach its git host. Refresh it with supply-chain/refresh-advisory-db.sh.
source = https://github.com/rustsec/advisory-db
commit = $commit
date = $date
EOT
echo "snapshot of $commit ($date): $(find supply-chain/advisory-db/crates -name '*.md' | wc -l) advisories"
