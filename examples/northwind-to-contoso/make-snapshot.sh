#!/usr/bin/env bash
# Rebuilds snapshot/ for this example, exactly as a customer would export it:
# - AWS: starts moto on a loopback port, seeds it with the fictional Northwind-to-Contoso
#   account (seed_aws.py), and exports it with the real aws CLI through
#   scripts/export-aws-snapshot.sh;
# - GCP: starts the project's GCP test server on a loopback port, seeds it with the
#   project contoso-shop-prod (seed_gcp.py, Google's Python clients), and exports it
#   with the real gcloud through scripts/export-gcp-snapshot.sh.
# - Then makes the AWS export read like a real account's (plausible_export.py, whose
#   docstring says each change and why): moto answers GetCredentialReport with a fixed
#   GeneratedTime of 2015-02-02T20:02:02Z and GetCallerIdentity with
#   arn:aws:sts::ACCOUNT:user/moto, which no real account returns. Exactly two fields of
#   two files change: the report's GeneratedTime becomes the time of this export, and
#   the caller identity becomes the IAM user carol.customer (the customer's admin, who
#   exports it in the story), her ARN and unique id copied from the same export's
#   account-authorization-details.json. Nothing else of the emulator's output is edited.
# Then checks that no secret value (the seeds' canaries) landed anywhere in snapshot/.
# Needs the test virtualenv (./scripts/test.sh makes it) and gcloud.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${HANDOVER_TEST_VENV:-$repo/.venv}
[ -x "$venv/bin/python" ] || { echo "no $venv: run ./scripts/test.sh first" >&2; exit 2; }
command -v gcloud >/dev/null || { echo "gcloud not found (apt-get install google-cloud-cli)" >&2; exit 2; }

work=$(mktemp -d)
GCP_PID=
cleanup() {
  kill "${MOTO_PID:-}" 2>/dev/null || true
  [ -n "$GCP_PID" ] && kill "$GCP_PID" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- AWS ------------------------------------------------------------------------------
coproc MOTO { exec "$venv/bin/python" "$repo/tests/support/moto_launcher.py" --port 0 2>"$work/moto.log"; }
read -r line <&"${MOTO[0]}"
aws_url=${line#listening on }

# --- GCP test server: a built binary, else build it once ------------------------------
gcp_bin=
for b in "${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR/debug/gcp-test-server}" \
         "$repo/target/gcp/debug/gcp-test-server" "$repo/target/debug/gcp-test-server"; do
  if [ -n "$b" ] && [ -x "$b" ]; then gcp_bin=$b; break; fi
done
if [ -z "$gcp_bin" ]; then
  echo "building gcp-test-server ..." >&2
  (cd "$repo" && cargo build -q -p gcp-test-server)
  gcp_bin=${CARGO_TARGET_DIR:-$repo/target}/debug/gcp-test-server
fi
"$gcp_bin" --port 0 > "$work/gcp.out" 2> "$work/gcp.log" &
GCP_PID=$!
gcp_url=
for _ in $(seq 1 100); do # up to 20 s
  line=
  # Only a whole line (ending in a newline) counts.
  [ "$(wc -l < "$work/gcp.out")" -ge 1 ] && line=$(head -n 1 "$work/gcp.out")
  case $line in "listening on "*) gcp_url=${line#listening on }; break ;; esac
  kill -0 "$GCP_PID" 2>/dev/null || break
  sleep 0.2
done
[ -n "$gcp_url" ] || { echo "gcp-test-server did not start:" >&2; cat "$work/gcp.log" >&2; exit 1; }

# --- Seed both ------------------------------------------------------------------------
"$venv/bin/python" "$here/seed_aws.py" --endpoint "$aws_url" > "$work/seed-aws.json"
"$venv/bin/python" "$here/seed_gcp.py" --endpoint "$gcp_url" --project contoso-shop-prod > "$work/seed-gcp.json"

# --- Export both ----------------------------------------------------------------------
rm -rf "$here/snapshot"
env -u AWS_PROFILE PATH="$venv/bin:$PATH" AWS_ENDPOINT_URL="$aws_url" AWS_ACCESS_KEY_ID=testing \
  AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  "$repo/scripts/export-aws-snapshot.sh" "$here/snapshot" us-east-1 eu-west-1 2>/dev/null
# The report was generated during the export just made: its time is now (see above).
"$venv/bin/python" "$here/plausible_export.py" --account-dir "$here/snapshot/aws/123456789012" \
  --generated-at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --caller carol.customer
mkdir -p "$work/gcloud"
env -u CLOUDSDK_CORE_PROJECT -u CLOUDSDK_CORE_ACCOUNT -u GOOGLE_APPLICATION_CREDENTIALS \
  CLOUDSDK_CONFIG="$work/gcloud" CLOUDSDK_AUTH_DISABLE_CREDENTIALS=true \
  CLOUDSDK_CORE_DISABLE_PROMPTS=1 CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true \
  CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true \
  CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER="$gcp_url/" \
  CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM="$gcp_url/" \
  CLOUDSDK_API_ENDPOINT_OVERRIDES_APIKEYS="$gcp_url/" \
  CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE="$gcp_url/" \
  CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER="$gcp_url/" \
  "$repo/scripts/export-gcp-snapshot.sh" "$here/snapshot" contoso-shop-prod

# --- No secret value may be in the snapshot -------------------------------------------
"$venv/bin/python" -c '
import json, sys
for path in sys.argv[1:]:
    for c in json.load(open(path))["canaries"]:
        print(c)' "$work/seed-aws.json" "$work/seed-gcp.json" > "$work/canaries"
[ -s "$work/canaries" ] || { echo "the seeds printed no canaries" >&2; exit 1; }
if grep -rlaF -f "$work/canaries" "$here/snapshot" >&2; then
  echo "a secret value (canary) is in the files above: snapshot/ is NOT usable" >&2
  rm -rf "$here/snapshot"
  exit 1
fi
echo "wrote $here/snapshot (no canary found in it)" >&2
