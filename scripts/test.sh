#!/usr/bin/env bash
# Runs every test from a fresh clone: installs the Python side (moto, the aws CLI,
# Google's Python clients) into ./.venv, then runs the Rust workspace tests, which
# start their emulators on loopback ports themselves.
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

# The tests find moto_server and aws here first; gcloud is expected on the machine.
export PATH="$root/.venv/bin:$PATH"
export HANDOVER_TEST_VENV="$root/.venv"

cargo test --workspace --locked "$@"
