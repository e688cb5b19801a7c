#!/usr/bin/env bash
# Rebuilds snapshot/ for this example: starts moto on a loopback port, seeds it with the
# fictional Northwind-to-Contoso account (seed_aws.py), and exports it with the real aws
# CLI through scripts/export-aws-snapshot.sh, exactly as a customer would.
# Needs the test virtualenv (./scripts/test.sh makes it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${HANDOVER_TEST_VENV:-$repo/.venv}
[ -x "$venv/bin/python" ] || { echo "no $venv: run ./scripts/test.sh first" >&2; exit 2; }

log=$(mktemp)
coproc MOTO { exec "$venv/bin/python" "$repo/tests/support/moto_launcher.py" --port 0 2>"$log"; }
trap 'kill $MOTO_PID 2>/dev/null || true; rm -f "$log"' EXIT
read -r line <&"${MOTO[0]}"
url=${line#listening on }

"$venv/bin/python" "$here/seed_aws.py" --endpoint "$url" > /dev/null
rm -rf "$here/snapshot"
env -u AWS_PROFILE PATH="$venv/bin:$PATH" AWS_ENDPOINT_URL="$url" AWS_ACCESS_KEY_ID=testing \
  AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  "$repo/scripts/export-aws-snapshot.sh" "$here/snapshot" us-east-1 eu-west-1 2>/dev/null
echo "wrote $here/snapshot" >&2
