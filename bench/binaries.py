"""Finding the binaries the benchmarks run, one rule for every script (aws_audit.py,
gcp_audit.py, migrate.py):

- handover: `$HANDOVER_BIN`, else `target/bench/release/handover` (the benchmarks' own
  target dir, so their release builds do not block anyone's debug builds), else
  `target/release/handover`, else -- only where the caller allows it -- the debug build
  with a loud warning (request counts stay valid, timings do not);
- gcp-test-server: `$GCP_TEST_SERVER_BIN`, else `target/bench/release/`, else
  `target/gcp/debug/`, else `target/debug/` (the server's speed hardly matters).

A missing binary is a failure naming how to build it, raised as SystemExit so a caller's
`finally` that stops its servers still runs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

BUILD_HANDOVER = ("`nice -n 10 env CARGO_TARGET_DIR=target/bench cargo build --release "
                  "-p handover --bin handover`")
BUILD_SERVER = "`CARGO_TARGET_DIR=target/bench cargo build --release -p gcp-test-server`"


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _from_env(var: str) -> Path | None:
    env = os.environ.get(var)
    if not env:
        return None
    if not os.access(env, os.X_OK):
        raise SystemExit(f"FAIL: {var}={env} is not an executable file")
    return Path(env).resolve()


def find_binary(debug_fallback: bool = True) -> tuple[Path, str]:
    """The handover binary and what kind of build it is (for the results' `build`)."""
    env = _from_env("HANDOVER_BIN")
    if env:
        return env, "HANDOVER_BIN"
    for rel, kind in (("target/bench/release/handover", "release (target/bench)"),
                      ("target/release/handover", "release")):
        if os.access(REPO_ROOT / rel, os.X_OK):
            return REPO_ROOT / rel, kind
    debug = REPO_ROOT / "target" / "debug" / "handover"
    if debug_fallback and os.access(debug, os.X_OK):
        bar = "!" * 78
        _log(f"\n{bar}\n!! WARNING: no release build of handover, using target/debug/handover.\n"
             f"!! DEBUG TIMINGS ARE NOT REPRESENTATIVE. Build with\n"
             f"!! {BUILD_HANDOVER}.\n"
             f"!! (Request counts are still valid.)\n{bar}")
        return debug, "debug"
    raise SystemExit(f"FAIL: no handover binary: build it with {BUILD_HANDOVER} or set HANDOVER_BIN")


def find_server_binary() -> Path:
    """The gcp-test-server binary."""
    env = _from_env("GCP_TEST_SERVER_BIN")
    if env:
        return env
    for rel in ("target/bench/release/gcp-test-server", "target/gcp/debug/gcp-test-server",
                "target/debug/gcp-test-server"):
        if os.access(REPO_ROOT / rel, os.X_OK):
            return REPO_ROOT / rel
    raise SystemExit(f"FAIL: no gcp-test-server binary: build it with {BUILD_SERVER} "
                     "or set GCP_TEST_SERVER_BIN")
