#!/usr/bin/env bash
# The example handover, offline: audit the exported snapshot, plan it under both
# shipped policies, seal the full-transfer manifest for the customer (age-encrypted,
# signed by the agency), read it back as the customer would, and write the handover
# report an auditor signs off (report.html). No cloud, no emulator;
# builds the tool if needed. The keys in keys/ are example-only.
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
echo "== handover manifest (encrypted to the recipients in handover.toml, signed with the agency's key)"
"$bin" manifest --config "$here/handover.toml" --plan "$out/plan-full-transfer.json" \
  --inventory "$out/inventory.json" --sign-key "$here/keys/northwind-signing" --armor -o "$out/handover.age"
echo
echo "== the customer checks the signature with ssh-keygen, then reads the manifest"
printf 'northwind %s\n' "$(cat "$here/keys/northwind-signing.pub")" > "$out/allowed_signers"
if command -v ssh-keygen >/dev/null 2>&1; then
  ssh-keygen -Y verify -f "$out/allowed_signers" -I northwind -n handover-manifest \
    -s "$out/handover.age.sig" < "$out/handover.age"
fi
"$bin" manifest show "$out/handover.age" -i "$here/keys/contoso-security.agekey" --config "$here/handover.toml" | head -n 20
echo "..."
echo
echo "== handover report (what the auditor signs off: one HTML page, no secret in it)"
"$bin" report --inventory "$out/inventory.json" --plan "$out/plan-full-transfer.json" \
  --manifest "$out/handover.age" -i "$here/keys/contoso-security.agekey" --config "$here/handover.toml" \
  -o "$out/report.html"
echo
echo "inventory, plans (JSON and Markdown), handover.age and its .sig are in $out"
echo "the handover report: $out/report.html"
