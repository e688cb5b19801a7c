#!/usr/bin/env python3
"""Migration benchmark for `handover migrate --apply` (run by hand, not in CI).

Copies ``--secrets`` secrets (default 2,000) in two directions and times each copy
next to a plain sequential Python baseline doing the same copy against the same
emulators, so one run gives the ratio ``baseline wall / handover wall``:

1. **aws-to-aws**: AWS Secrets Manager of account 111111111111 (profile ``agency``)
   into account 222222222222 (profile ``customer``). Two moto servers run *in this
   process*, each on its own loopback port, each wrapped in ``aws_audit.py``'s
   counting middleware and in a middleware that sets moto's ``x-moto-account-id``
   header, so the two ports are two accounts of one moto (the tool's profiles carry
   ``endpoint_url``, as in tests/migrate.rs). Baseline: one boto3 client per account,
   ``list_secrets`` paged, then per secret ``get_secret_value`` and ``create_secret``,
   one after another.
2. **aws-to-gcp**: the same source into project ``bench-dest`` of the project's GCP
   test server (``gcp-test-server --port 0``, a child process stopped by PID),
   ``--to gcp:bench-dest --gcp-endpoint URL``. Baseline: the boto3 read loop, then per
   secret the google-cloud-secret-manager client (REST transport, anonymous
   credentials, ``api_endpoint`` = the server) ``create_secret`` +
   ``add_secret_version``, one after another.

The source is seeded once through moto's Python backends, deterministically (fixed
seed): ~70% short text, ~10% JSON, ~10% binary (not UTF-8), ~10% 4 KiB text; ~30%
tagged. Every value carries the canary ``BENCHMIGCANARY``.

Per direction and run (``--runs``, default 3): the destination is reset and the
request counts zeroed, then

    handover migrate --from aws:agency@us-east-1 --to DEST --all --apply \
        --journal J --format json

runs with a throwaway HOME (``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE`` in
it, no ``AWS_*`` / ``GOOGLE_*`` / ``CLOUDSDK_*`` from the caller); wall time, peak RSS
and CPU come from ``/usr/bin/time`` (else ``os.wait4``); requests are counted at the
servers (source and destination apart). Then the destination is reset again and the
baseline runs in a child Python process (so it does not share this process's GIL
with the moto servers); its wall time is the copy loop, client creation included,
imports excluded.

Sanity checks (the benchmark fails loudly): exit 0; the JSON report has one item per
seeded secret, all ``outcome: create`` and ``verified: true``; the destination holds
exactly the seeded number of secrets; 50 sampled secrets have the seeded value (text
stays text and binary stays binary on AWS) and exactly one version; no canary, and
no binary value (base64 or hex), in the tool's stdout, stderr or journal. The
baseline's copy gets the same count and sample checks.

Usage (from the repository root):

    nice -n 10 env CARGO_TARGET_DIR=target/bench cargo build --release \
        -p handover --bin handover -p gcp-test-server --bin gcp-test-server
    .venv/bin/python bench/migrate.py --secrets 2000 --runs 3 \
        --json bench/baseline-migrate.json

Only loopback traffic; every loop is bounded; children have timeouts.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.pop("MOTO_ACCOUNT_ID", None)  # moto would prefer it over the per-port header

from aws_audit import CountingMiddleware  # noqa: E402  (same counting as the audit bench)
from gcp_audit import LatencyProxy, TestServer, list_all, run_child  # noqa: E402
from binaries import find_binary, find_server_binary  # noqa: E402  (one rule for every bench script)

REGION = "us-east-1"
SOURCE_ACCOUNT = "111111111111"  # the agency
DEST_ACCOUNT = "222222222222"  # the customer
GCP_PROJECT = "bench-dest"
SEED = 20261125
CANARY = "BENCHMIGCANARY"
SAMPLE = 50
REPO_ROOT = Path(__file__).resolve().parent.parent
DIRECTIONS = ("aws-to-aws", "aws-to-gcp")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fail(msg: str) -> None:
    """Raised as SystemExit so the `finally` that stops the servers still runs."""
    raise SystemExit(f"FAIL: {msg}")


# --------------------------------------------------------------------------------------
# Two moto accounts in this process
# --------------------------------------------------------------------------------------


class AccountMiddleware:
    """Makes every request to this port one of `account` (moto's x-moto-account-id)."""

    def __init__(self, app: Any, account: str) -> None:
        self.app, self.account = app, account

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.account
        return self.app(environ, start_response)


class MotoAccount:
    """One moto account on its own loopback port, counted by aws_audit's middleware."""

    def __init__(self, account: str) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        self.account = account
        self.counter = CountingMiddleware(
            AccountMiddleware(DomainDispatcherApplication(create_backend_app), account))
        self.server = make_server("127.0.0.1", 0, self.counter, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def backend(self) -> Any:
        from moto.secretsmanager.models import secretsmanager_backends

        return secretsmanager_backends[self.account][REGION]

    def reset_secrets(self) -> None:
        """Forget this account's secrets only (moto-api/reset would reset both accounts)."""
        self.backend().reset()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def boto3_client(service: str, url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, endpoint_url=url, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


# --------------------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------------------


def make_secrets(n: int) -> list[dict[str, Any]]:
    """The deterministic source: name, kind, value (str or bytes), tags."""
    rng = random.Random(SEED + n)
    filler = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(4096))
    out = []
    for i in range(n):
        r = rng.random()
        token = f"{CANARY}-{i:05d}-{rng.getrandbits(64):016x}"
        name = f"app/{rng.choice(['web', 'api', 'worker', 'db'])}/secret-{i:05d}"
        value: str | bytes
        if r < 0.7:
            kind, value = "text", token
        elif r < 0.8:
            kind, value = "json", json.dumps({"username": f"svc-{i}", "password": token,
                                              "host": "db.internal", "port": 5432})
        elif r < 0.9:
            # 0xff never occurs in UTF-8: this stays binary in both directions.
            kind, value = "binary", b"\xff\xfe" + token.encode() + rng.randbytes(48)
        else:
            kind, value = "4k", (token + " " + filler)[:4096]
        tags = [{"Key": "env", "Value": rng.choice(["prod", "staging"])},
                {"Key": "team", "Value": rng.choice(["web", "data", "ops"])}] \
            if rng.random() < 0.3 else []
        out.append({"name": name, "kind": kind, "value": value, "tags": tags})
    return out


def gcp_id(name: str) -> str:
    """src/migrate/mod.rs map_name for a GCP destination: [A-Za-z0-9_-], else `-`."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "-" for c in name)[:255]


def seed_source(src: MotoAccount, secrets: list[dict[str, Any]]) -> None:
    sm = src.backend()
    for s in secrets:
        text = s["value"] if isinstance(s["value"], str) else None
        binary = base64.b64encode(s["value"]).decode() if isinstance(s["value"], bytes) else None
        sm.create_secret(name=s["name"], secret_string=text, secret_binary=binary,
                         description=None, tags=s["tags"], kms_key_id=None,
                         client_request_token=None, replica_regions=[], force_overwrite=False)


def list_aws_names(sm: Any, limit: int) -> list[str]:
    names: list[str] = []
    token = None
    for _ in range(limit // 100 + 3):  # bounded pagination
        page = sm.list_secrets(MaxResults=100, **({"NextToken": token} if token else {}))
        names.extend(s["Name"] for s in page["SecretList"])
        token = page.get("NextToken")
        if not token:
            return names
    fail(f"ListSecrets: more than {limit // 100 + 3} pages")
    raise AssertionError


def fingerprints(secrets: list[dict[str, Any]]) -> list[str]:
    """What must never appear in the tool's output: the canary (in every value) and
    each binary value as base64 and hex."""
    out = [CANARY]
    for s in secrets:
        if isinstance(s["value"], bytes):
            out += [base64.b64encode(s["value"]).decode(), s["value"].hex()]
    return out


# --------------------------------------------------------------------------------------
# Destination checks
# --------------------------------------------------------------------------------------


def check_aws_dest(dest: MotoAccount, secrets: list[dict[str, Any]], who: str) -> None:
    sm = boto3_client("secretsmanager", dest.url)
    names = list_aws_names(sm, len(secrets))
    if sorted(names) != sorted(s["name"] for s in secrets):
        fail(f"{who}: the destination account holds {len(names)} secrets, seeded "
             f"{len(secrets)} (or the names differ)")
    rng = random.Random(SEED)
    for s in rng.sample(secrets, min(SAMPLE, len(secrets))):
        got = sm.get_secret_value(SecretId=s["name"])
        if isinstance(s["value"], bytes):
            ok = got.get("SecretBinary") == s["value"] and "SecretString" not in got
        else:
            ok = got.get("SecretString") == s["value"] and "SecretBinary" not in got
        if not ok:
            fail(f"{who}: {s['name']} ({s['kind']}) has a different value at the destination")
        versions = sm.list_secret_version_ids(SecretId=s["name"])["Versions"]
        if len(versions) != 1:
            fail(f"{who}: {s['name']} has {len(versions)} versions at the destination, not 1")
        if s["tags"] and sorted((t["Key"], t["Value"]) for t in sm.describe_secret(
                SecretId=s["name"]).get("Tags", [])) != sorted((t["Key"], t["Value"]) for t in s["tags"]):
            fail(f"{who}: {s['name']} lost its tags")


def check_gcp_dest(server: TestServer, secrets: list[dict[str, Any]], who: str) -> None:
    api = server.api
    listed = list_all(api, f"/v1/projects/{GCP_PROJECT}/secrets", "secrets", len(secrets) // 100 + 3)
    ids = sorted(x["name"].rsplit("/", 1)[-1] for x in listed)
    if ids != sorted(gcp_id(s["name"]) for s in secrets):
        fail(f"{who}: the destination project holds {len(ids)} secrets, seeded {len(secrets)} "
             "(or the names differ)")
    rng = random.Random(SEED)
    for s in rng.sample(secrets, min(SAMPLE, len(secrets))):
        base = f"/v1/projects/{GCP_PROJECT}/secrets/{gcp_id(s['name'])}"
        got = base64.b64decode(api.call("GET", f"{base}/versions/latest:access")["payload"]["data"])
        want = s["value"] if isinstance(s["value"], bytes) else s["value"].encode()
        if got != want:
            fail(f"{who}: {s['name']} ({s['kind']}) has a different value at the destination")
        versions = api.call("GET", f"{base}/versions").get("versions", [])
        if len(versions) != 1:
            fail(f"{who}: {s['name']} has {len(versions)} versions at the destination, not 1")
        labels = api.call("GET", base).get("labels", {})
        if s["tags"] and labels != {t["Key"]: t["Value"] for t in s["tags"]}:
            fail(f"{who}: {s['name']} has labels {labels}, tags were {s['tags']}")


def check_report(stdout: str, secrets: list[dict[str, Any]], dest_names: set[str],
                 want_from: str, want_to: str) -> dict[str, Any]:
    try:
        doc = json.loads(stdout)
    except ValueError as exc:
        fail(f"handover's stdout is not the JSON report: {exc}: {stdout[:300]!r}")
    items = doc.get("items")
    if not isinstance(items, list) or doc.get("applied") is not True:
        fail(f"the report has no `items` array or is not `applied: true` (keys {sorted(doc)})")
    problems = []
    if len(items) != len(secrets):
        problems.append(f"{len(items)} items, seeded {len(secrets)}")
    not_verified = [i.get("source") for i in items if i.get("verified") is not True]
    if not_verified:
        problems.append(f"{len(not_verified)} items not verified: true, e.g. {not_verified[:3]}")
    outcomes = Counter(str(i.get("outcome")) for i in items)
    if set(outcomes) != {"create"}:
        problems.append(f"outcomes {dict(outcomes)} (expected only create)")
    got_dests = {i.get("destination") for i in items}
    if got_dests != dest_names:
        problems.append(f"destinations differ from the expected names "
                        f"(e.g. {sorted(got_dests ^ dest_names)[:3]})")
    # The two ports really are two accounts (moto's x-moto-account-id reached STS).
    if want_from not in str(doc.get("from")) or want_to not in str(doc.get("to")):
        problems.append(f"from {doc.get('from')!r} / to {doc.get('to')!r}, expected "
                        f"{want_from} / {want_to}")
    if problems:
        fail("handover's report: " + "; ".join(problems))
    return {"items": len(items), "outcomes": dict(outcomes), "from": doc.get("from"),
            "to": doc.get("to")}


def check_no_values(texts: dict[str, str], prints: list[str]) -> None:
    """DESIGN.md property 1: no secret value in the tool's output, logs or journal."""
    leaks = []
    for where, text in texts.items():
        hits = [p for p in prints if p in text]
        if hits:
            leaks.append(f"{where} holds {len(hits)} seeded value(s)/canary")
    if leaks:
        fail("SECRET VALUES IN THE TOOL'S OUTPUT: " + "; ".join(leaks))


# --------------------------------------------------------------------------------------
# The baseline (child-process mode)
# --------------------------------------------------------------------------------------


def baseline_client(direction: str, source_url: str, dest_url: str) -> None:
    """Child-process mode: copy every secret sequentially; print timings as JSON."""
    import boto3  # noqa: F401  (imports before the clock starts)

    if direction == "aws-to-gcp":
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import secretmanager
    started = time.perf_counter()
    src = boto3_client("secretsmanager", source_url)
    if direction == "aws-to-aws":
        dst = boto3_client("secretsmanager", dest_url)
    else:
        gcp = secretmanager.SecretManagerServiceClient(
            credentials=AnonymousCredentials(), transport="rest",
            client_options={"api_endpoint": dest_url})
    listed: list[dict[str, Any]] = []
    token = None
    for _ in range(10_000):  # bounded pagination
        page = src.list_secrets(MaxResults=100, **({"NextToken": token} if token else {}))
        listed.extend(page["SecretList"])
        token = page.get("NextToken")
        if not token:
            break
    listed_at = time.perf_counter()
    for s in listed:
        v = src.get_secret_value(SecretId=s["ARN"])
        tags = s.get("Tags", [])
        if direction == "aws-to-aws":
            args: dict[str, Any] = {"Name": s["Name"]}
            if "SecretString" in v:
                args["SecretString"] = v["SecretString"]
            else:
                args["SecretBinary"] = v["SecretBinary"]
            if tags:
                args["Tags"] = tags
            dst.create_secret(**args)
        else:
            data = v["SecretString"].encode() if "SecretString" in v else v["SecretBinary"]
            secret = gcp.create_secret(request={
                "parent": f"projects/{GCP_PROJECT}", "secret_id": gcp_id(s["Name"]),
                "secret": {"replication": {"automatic": {}},
                           "labels": {t["Key"]: t["Value"] for t in tags}}})
            gcp.add_secret_version(request={"parent": secret.name, "payload": {"data": data}})
    done = time.perf_counter()
    print(json.dumps({"seconds": done - started, "list_seconds": listed_at - started,
                      "copied": len(listed)}))


def run_baseline(direction: str, source_url: str, dest_url: str, timeout: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--baseline-client", direction,
             source_url, dest_url],
            capture_output=True, text=True, timeout=timeout, check=False,
            env={k: v for k, v in os.environ.items()
                 if not k.startswith(("AWS_", "GOOGLE_", "CLOUDSDK_"))},
        )
    except subprocess.TimeoutExpired:
        fail(f"the {direction} baseline took longer than {timeout}s")
    process_wall = time.perf_counter() - started
    if out.returncode != 0:
        fail(f"the {direction} baseline failed:\n{out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_seconds"] = process_wall
    return res


# --------------------------------------------------------------------------------------
# Running the tool
# --------------------------------------------------------------------------------------


BUILD_PATHS = ("src", "Cargo.toml", "Cargo.lock", "gcp-test-server")


def binary_commit(binary: Path) -> dict[str, Any]:
    """The source the binary was built from, as far as git can tell: the last commit
    that touched the built paths, whether the tree differs there, and whether such a
    commit is newer than the binary (then it is stale: rebuild)."""
    def git(*a: str) -> str:
        r = subprocess.run(["git", "-C", str(REPO_ROOT), *a], capture_output=True, text=True,
                           timeout=30, check=False)
        return r.stdout.strip()
    head = git("rev-parse", "HEAD")
    source = git("log", "-1", "--format=%H", "--", *BUILD_PATHS)
    source_time = int(git("log", "-1", "--format=%ct", "--", *BUILD_PATHS) or 0)
    dirty = git("status", "--porcelain", "--", *BUILD_PATHS)
    mtime = int(binary.stat().st_mtime)
    return {"head": head, "source_commit": source,
            "source_subject": git("log", "-1", "--format=%s", "--", *BUILD_PATHS),
            "source_dirty": bool(dirty), "dirty_files": dirty.splitlines()[:20],
            "binary_mtime_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mtime)),
            "binary_older_than_source": mtime < source_time}


def child_env(home: Path) -> dict[str, str]:
    drop = ("AWS_", "GOOGLE_", "CLOUDSDK_", "GCLOUD_", "GCE_", "HANDOVER_GCP_")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(drop) and k not in ("HOME", "RUST_LOG", "XDG_CONFIG_HOME")}
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "CLOUDSDK_CONFIG": str(home / "no-gcloud-config"),
        "NO_COLOR": "1",
    })
    return env


def write_profiles(home: Path, agency: str, customer: str) -> None:
    (home / "aws-config").write_text(
        f"[profile agency]\nregion = {REGION}\nendpoint_url = {agency}\n\n"
        f"[profile customer]\nregion = {REGION}\nendpoint_url = {customer}\n")
    (home / "aws-credentials").write_text(
        "[agency]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n"
        "[customer]\naws_access_key_id = testing\naws_secret_access_key = testing\n")


class Bench:
    def __init__(self, args: argparse.Namespace, binary: Path | None) -> None:
        self.args, self.binary = args, binary
        self.secrets = make_secrets(args.secrets)
        self.prints = fingerprints(self.secrets)
        self.src = MotoAccount(SOURCE_ACCOUNT)
        self.dst: MotoAccount | None = None
        self.gcp: TestServer | None = None
        self.proxies: dict[str, LatencyProxy] = {}

    def via(self, url: str) -> str:
        """The URL the tool and the baseline use: with --latency-ms, a latency proxy in
        front of the server (the checks always go straight to the server)."""
        if not self.args.latency_ms:
            return url
        if url not in self.proxies:
            host, port = url.split("://", 1)[1].rsplit(":", 1)
            self.proxies[url] = LatencyProxy(host, int(port), self.args.latency_ms / 1000)
            log(f"{url} is reached through a proxy on {self.proxies[url].url} adding "
                f"{self.args.latency_ms} ms per request")
        return self.proxies[url].url

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.close()
        for s in (self.src, self.dst):
            if s:
                s.close()
        if self.gcp:
            self.gcp.stop()

    def seed(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        seed_source(self.src, self.secrets)
        seconds = time.perf_counter() - t0
        names = list_aws_names(boto3_client("secretsmanager", self.src.url), len(self.secrets))
        if len(names) != len(self.secrets):
            fail(f"seeded {len(self.secrets)} secrets, ListSecrets shows {len(names)}")
        kinds = Counter(s["kind"] for s in self.secrets)
        seeded = {"secrets": len(self.secrets), "kinds": dict(sorted(kinds.items())),
                  "tagged": sum(1 for s in self.secrets if s["tags"]),
                  "value_bytes": sum(len(s["value"]) for s in self.secrets),
                  "seed_seconds": round(seconds, 2)}
        log(f"source account {SOURCE_ACCOUNT} on {self.src.url}: {seeded}")
        return seeded

    # per direction ---------------------------------------------------------------

    def dest_url(self, direction: str) -> str:
        if direction == "aws-to-aws":
            if not self.dst:
                self.dst = MotoAccount(DEST_ACCOUNT)
                log(f"destination account {DEST_ACCOUNT} on {self.dst.url}")
            return self.dst.url
        if not self.gcp:
            server_bin = find_server_binary()
            self.gcp = TestServer(server_bin)
            log(f"gcp-test-server ({server_bin}) pid {self.gcp.pid} on {self.gcp.url}")
        return self.gcp.url

    def reset_dest(self, direction: str) -> None:
        if direction == "aws-to-aws":
            assert self.dst
            self.dst.reset_secrets()
        else:
            assert self.gcp
            self.gcp.reset()

    def zero_counts(self, direction: str) -> None:
        self.src.counter.reset()
        if direction == "aws-to-aws":
            assert self.dst
            self.dst.counter.reset()
        else:
            assert self.gcp
            self.gcp.zero_counts()

    def counts(self, direction: str) -> dict[str, Any]:
        src = self.src.counter.snapshot()
        out: dict[str, Any] = {
            "source_requests": src["total"], "source_actions": src["actions"],
            "source_errors": src["errors"], "source_server_seconds": src["server_seconds"],
            "source_busy_seconds": src["busy_seconds"],
        }
        if direction == "aws-to-aws":
            assert self.dst
            d = self.dst.counter.snapshot()
            out.update({"dest_requests": d["total"], "dest_actions": d["actions"],
                        "dest_errors": d["errors"], "dest_server_seconds": d["server_seconds"],
                        "dest_busy_seconds": d["busy_seconds"],
                        "max_in_flight": max(src["max_in_flight"], d["max_in_flight"])})
        else:
            assert self.gcp
            c = self.gcp.counts()
            out.update({"dest_requests": int(c.get("total", 0)),
                        "dest_actions": dict(sorted(c.get("byRoute", {}).items())),
                        # the test server does not report requests in flight: source only
                        "dest_errors": {}, "max_in_flight": src["max_in_flight"]})
        out["requests"] = out["source_requests"] + out["dest_requests"]
        return out

    def check_dest(self, direction: str, who: str) -> None:
        if direction == "aws-to-aws":
            assert self.dst
            check_aws_dest(self.dst, self.secrets, who)
        else:
            assert self.gcp
            check_gcp_dest(self.gcp, self.secrets, who)

    def run_tool(self, direction: str, dest_url: str, conc: int | None) -> dict[str, Any]:
        assert self.binary
        n = len(self.secrets)
        with tempfile.TemporaryDirectory(prefix="handover-migrate-bench-") as tmp:
            work = Path(tmp)
            home = work / "home"
            home.mkdir()
            write_profiles(home, self.via(self.src.url),
                           self.via(self.dst.url) if self.dst else "http://127.0.0.1:9")
            journal = work / "journal.jsonl"
            to = ["--to", "aws:customer@us-east-1"] if direction == "aws-to-aws" else \
                ["--to", f"gcp:{GCP_PROJECT}", "--gcp-endpoint", self.via(dest_url)]
            example = REPO_ROOT / "examples" / "northwind-to-contoso"
            cmd = [str(self.binary), "migrate", "--from", "aws:agency@us-east-1", *to, "--all",
                   "--apply", "--journal", str(journal), "--format", "json",
                   "--config", str(example / "handover.toml"),
                   "-i", str(example / "keys" / "northwind-signing"),
                   *([f"--concurrency={conc}"] if conc is not None else []), *self.args.tool_arg]
            self.reset_dest(direction)
            self.zero_counts(direction)
            res = run_child(cmd, child_env(home), work, self.args.timeout)
            counted = self.counts(direction)
            stdout = (work / "stdout").read_text(errors="replace")
            stderr = (work / "stderr").read_text(errors="replace")
            if res["exit"] != 0:
                fail(f"`{' '.join(cmd)}` exited {res['exit']}"
                     f"{' (timed out)' if res['timed_out'] else ''}; stderr tail:\n{stderr[-3000:]}")
            dests = {s["name"] if direction == "aws-to-aws" else gcp_id(s["name"])
                     for s in self.secrets}
            report = check_report(stdout, self.secrets, dests, SOURCE_ACCOUNT,
                                  DEST_ACCOUNT if direction == "aws-to-aws" else GCP_PROJECT)
            journal_text = journal.read_text(errors="replace") if journal.exists() else ""
            if not journal_text:
                fail("handover wrote no journal")
            check_no_values({"stdout": stdout, "stderr": stderr, "journal": journal_text},
                            self.prints)
            journal_lines = journal_text.count("\n")
            self.check_dest(direction, "handover")
        return {
            "wall_seconds": round(res["wall"], 3),
            "secrets_per_second": round(n / res["wall"], 1),
            "peak_rss_mib": round(res["rss_kib"] / 1024, 1),
            "rss_source": res["rss_source"],
            "tool_cpu_seconds": round(res["cpu"], 2),
            "requests_per_secret": round(counted["requests"] / n, 3),
            "source_requests_per_secret": round(counted["source_requests"] / n, 3),
            "dest_requests_per_secret": round(counted["dest_requests"] / n, 3),
            "journal_lines": journal_lines,
            "stderr_bytes": len(stderr),
            "stderr_head": stderr[:300],  # checked for values above; what the tool says
            "report": report,
            **counted,
        }

    def run_base(self, direction: str, dest_url: str) -> dict[str, Any]:
        n = len(self.secrets)
        self.reset_dest(direction)
        self.zero_counts(direction)
        res = run_baseline(direction, self.via(self.src.url), self.via(dest_url),
                           self.args.timeout)
        counted = self.counts(direction)
        if res["copied"] != n:
            fail(f"the baseline copied {res['copied']} secrets, seeded {n}")
        self.check_dest(direction, "baseline")
        return {
            "wall_seconds": round(res["seconds"], 3),
            "list_seconds": round(res["list_seconds"], 3),
            "process_seconds": round(res["process_seconds"], 3),
            "secrets_per_second": round(n / res["seconds"], 1),
            "requests_per_secret": round(counted["requests"] / n, 3),
            "source_requests_per_secret": round(counted["source_requests"] / n, 3),
            "dest_requests_per_secret": round(counted["dest_requests"] / n, 3),
            **counted,
        }

    def direction(self, direction: str, conc: int | None, baseline: bool) -> dict[str, Any]:
        dest_url = self.dest_url(direction)
        result: dict[str, Any] = {"direction": direction, "secrets": len(self.secrets),
                                  "concurrency": conc, "runs": []}
        label = f"{direction}{'' if conc is None else f' (--concurrency {conc})'}"
        for run in range(self.args.runs):
            r: dict[str, Any] = {}
            if self.binary:
                r["handover"] = self.run_tool(direction, dest_url, conc)
                h = r["handover"]
                log(f"{label} run {run + 1}/{self.args.runs}: handover {h['wall_seconds']}s "
                    f"({h['secrets_per_second']}/s), {h['requests']} requests "
                    f"({h['requests_per_secret']}/secret: source {h['source_requests_per_secret']}, "
                    f"destination {h['dest_requests_per_secret']}), {h['peak_rss_mib']} MiB, "
                    f"CPU {h['tool_cpu_seconds']}s, up to {h['max_in_flight']} in flight"
                    + (f", destination moto busy {h['dest_busy_seconds']}s"
                       if "dest_busy_seconds" in h else "")
                    + (f", ERRORS {h['source_errors']} {h['dest_errors']}"
                       if h["source_errors"] or h["dest_errors"] else ""))
            if baseline:
                r["baseline"] = self.run_base(direction, dest_url)
                b = r["baseline"]
                log(f"{label} run {run + 1}/{self.args.runs}: baseline {b['wall_seconds']}s "
                    f"({b['secrets_per_second']}/s), {b['requests']} requests "
                    f"({b['requests_per_secret']}/secret)")
            if "handover" in r and "baseline" in r:
                r["ratio_baseline_over_handover"] = round(
                    r["baseline"]["wall_seconds"] / r["handover"]["wall_seconds"], 2)
            result["runs"].append(r)
        runs = result["runs"]
        med: dict[str, Any] = {}
        for who, keys in (("handover", ("wall_seconds", "secrets_per_second", "peak_rss_mib",
                                        "tool_cpu_seconds", "requests", "requests_per_secret",
                                        "source_requests_per_secret", "dest_requests_per_secret")),
                          ("baseline", ("wall_seconds", "secrets_per_second", "requests",
                                        "requests_per_secret", "source_requests_per_secret",
                                        "dest_requests_per_secret"))):
            if all(who in r for r in runs):
                med[who] = {k: statistics.median(r[who][k] for r in runs) for k in keys}
                mid = sorted(runs, key=lambda r: r[who]["wall_seconds"])[len(runs) // 2][who]
                result[f"{who}_actions_median_run"] = {
                    "source": mid["source_actions"], "destination": mid["dest_actions"]}
                result[f"{who}_server_seconds_median_run"] = {
                    "source": mid.get("source_server_seconds", {}),
                    "destination": mid.get("dest_server_seconds", {})}
                result[f"{who}_request_counts_stable"] = len(
                    {json.dumps([r[who]["source_actions"], r[who]["dest_actions"]]) for r in runs}) == 1
        if all("ratio_baseline_over_handover" in r for r in runs):
            med["ratio_baseline_over_handover"] = statistics.median(
                r["ratio_baseline_over_handover"] for r in runs)
        result["median"] = med
        return result


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def print_table(results: list[dict[str, Any]], binary_kind: str, latency_ms: float) -> None:
    print(f"\nhandover migrate --apply vs a sequential Python baseline (medians; binary: "
          f"{binary_kind}{f'; +{latency_ms:g} ms per request' if latency_ms else ''})")
    head = ("direction", "conc", "secrets", "wall s", "secrets/s", "req/secret", "src", "dst",
            "RSS MiB", "CPU s", "base wall s", "base req/secret", "base/handover")
    rows = []
    for res in results:
        h = res["median"].get("handover", {})
        b = res["median"].get("baseline", {})
        rows.append((res["direction"], "default" if res["concurrency"] is None
                     else res["concurrency"], res["secrets"], h.get("wall_seconds", "-"),
                     h.get("secrets_per_second", "-"), h.get("requests_per_secret", "-"),
                     h.get("source_requests_per_secret", "-"), h.get("dest_requests_per_secret", "-"),
                     h.get("peak_rss_mib", "-"), h.get("tool_cpu_seconds", "-"),
                     b.get("wall_seconds", "-"), b.get("requests_per_secret", "-"),
                     res["median"].get("ratio_baseline_over_handover", "-")))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for row in (head, *rows):
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths)))
    for res in results:
        for who in ("handover", "baseline"):
            acts = res.get(f"{who}_actions_median_run")
            if not acts:
                continue
            secs = res.get(f"{who}_server_seconds_median_run", {})
            conc = "" if res["concurrency"] is None else f" --concurrency {res['concurrency']}"
            print(f"\n{res['direction']}{conc if who == 'handover' else ''}: {who} requests per action (median run; "
                  "per secret; mean server time per request where counted):")
            for side in ("source", "destination"):
                for action, n in sorted(acts[side].items(), key=lambda kv: (-kv[1], kv[0])):
                    s = secs.get(side, {}).get(action)
                    ms = f"{1000 * s / n:8.2f} ms" if s is not None else ""
                    print(f"  {side:11s} {n:7d}  {n / res['secrets']:6.3f}  {action:55s} {ms}")
            if not res.get(f"{who}_request_counts_stable", True):
                print("  NOTE: per-action request counts differed between runs")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--secrets", type=int, default=2000, help="secrets to copy (default 2000)")
    p.add_argument("--runs", type=int, default=3, help="runs per direction; medians reported")
    p.add_argument("--directions", default=",".join(DIRECTIONS),
                   help=f"comma-separated, of {', '.join(DIRECTIONS)} (default both)")
    p.add_argument("--json", metavar="FILE", help="write all results as JSON to FILE")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per tool or baseline run")
    p.add_argument("--latency-ms", type=float, default=0,
                   help="send the tool and the baseline through loopback proxies that add "
                        "MS to every request (gcp_audit.py's LatencyProxy), as remote APIs "
                        "would; default 0: straight to the servers")
    p.add_argument("--no-baseline", action="store_true", help="only the tool")
    p.add_argument("--no-tool", action="store_true",
                   help="only seed and run the baseline (no handover binary needed)")
    p.add_argument("--tool-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for `handover migrate` (repeat), e.g. "
                        "--tool-arg=-vvv (the leak check then covers trace logs)")
    p.add_argument("--concurrency", metavar="N[,N...]",
                   help="values for the tool's --concurrency, each run --runs times "
                        "(default: not passed, the tool's default); the baseline runs "
                        "with the first")
    p.add_argument("--baseline-client", nargs=3, metavar=("DIRECTION", "SOURCE", "DEST"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.direction_list = [d.strip() for d in args.directions.split(",") if d.strip()]
    if not args.direction_list or any(d not in DIRECTIONS for d in args.direction_list):
        p.error(f"--directions takes {', '.join(DIRECTIONS)}")
    try:
        args.concurrency_list = [int(c) for c in args.concurrency.split(",")] \
            if args.concurrency else [None]
    except ValueError:
        p.error("--concurrency takes comma-separated integers")
    if any(c is not None and c < 1 for c in args.concurrency_list):
        p.error("--concurrency values must be >= 1")
    if args.secrets < 1 or args.runs < 1 or args.latency_ms < 0:
        p.error("secrets and runs must be >= 1")
    if args.no_baseline and args.no_tool:
        p.error("--no-baseline and --no-tool leave nothing to run")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline_client:
        baseline_client(*args.baseline_client)
        return 0
    binary, kind = (None, "none (--no-tool)") if args.no_tool else find_binary(debug_fallback=False)
    build = binary_commit(binary) if binary else None
    if binary:
        log(f"binary: {binary} ({kind}); source commit {build['source_commit'][:10]} "
            f"({build['source_subject'][:60]})"
            + (", SOURCE TREE DIFFERS FROM THAT COMMIT" if build["source_dirty"] else "")
            + (", BINARY OLDER THAN THAT COMMIT: rebuild" if build["binary_older_than_source"]
               else ""))
    load_start = os.getloadavg()
    if load_start[0] > 0.5 * (os.cpu_count() or 1):
        log(f"WARNING: the machine is busy (load average {load_start[0]:.2f} on "
            f"{os.cpu_count()} CPUs): timings will be noisy")
    bench = Bench(args, binary)
    results = []
    try:
        seeded = bench.seed()
        for direction in args.direction_list:
            for k, conc in enumerate(args.concurrency_list):
                results.append(bench.direction(direction, conc, not args.no_baseline and k == 0))
        # Later concurrency values are compared with the first one's baseline.
        for res in results:
            first = next(r for r in results if r["direction"] == res["direction"])
            h, b = res["median"].get("handover"), first["median"].get("baseline")
            if h and b and "ratio_baseline_over_handover" not in res["median"]:
                res["median"]["ratio_baseline_over_handover"] = round(
                    b["wall_seconds"] / h["wall_seconds"], 2)
    finally:
        bench.close()
    print_table(results, kind, args.latency_ms)
    load_end = os.getloadavg()
    if args.json:
        doc = {
            "benchmark": "migrate",
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": " ".join([os.path.relpath(sys.executable, REPO_ROOT), *sys.argv])
            if argv is None else None,
            "binary": str(binary) if binary else None,
            "binary_kind": kind,
            "build": build,
            "latency_ms": args.latency_ms,
            "tool_args": ["migrate", "--from", "aws:agency@us-east-1", "--to", "DEST", "--all",
                          "--apply", "--journal", "J", "--format", "json", "--config", "C",
                          "-i", "K", *args.tool_arg],
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                        "moto": __import__("moto").__version__,
                        "loadavg_start": [round(x, 2) for x in load_start],
                        "loadavg_end": [round(x, 2) for x in load_end]},
            "seeded": seeded,
            "results": results,
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
        log(f"wrote {args.json}")
    log(f"load average at the end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
