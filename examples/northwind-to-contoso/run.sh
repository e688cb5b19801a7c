#!/usr/bin/env bash
# The example handover, end to end, offline: audit the exported snapshot, then plan it
# under both shipped policies. No cloud, no emulator; builds the tool if needed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
cargo build --release --quiet --bin handover
bin=$repo/target/release/handover
out=$(mktemp -d)
echo "== handover audit (snapshot of AWS account 123456789012 and GCP project contoso-shop-prod)"
"$bin" audit --snapshot "$here/snapshot" --format table -o "$out/inventory.json"
echo
echo "== handover plan, full transfer"
"$bin" plan --inventory "$out/inventory.json" --policy policies/full-transfer.yaml \
  --config "$here/handover.toml" --format table -o "$out/plan-full-transfer.json" --markdown "$out/plan-full-transfer.md"
echo
echo "== handover plan, agency-operated"
"$bin" plan --inventory "$out/inventory.json" --policy policies/agency-operated.yaml \
  --config "$here/handover-agency-operated.toml" --format table -o "$out/plan-agency-operated.json" --markdown "$out/plan-agency-operated.md"
echo
echo "inventory, plans (JSON and Markdown) are in $out"
