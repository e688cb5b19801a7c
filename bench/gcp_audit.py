#!/usr/bin/env python3
"""GCP audit benchmark for `handover audit --gcp-project` (run by hand, not in CI).

What it does, per project size (``--sizes``, default 1000 service accounts):

1. Starts the project's own GCP test server binary (``gcp-test-server --port 0``;
   ``$GCP_TEST_SERVER_BIN``, else target/bench/release, target/gcp/debug,
   target/debug) on a free 127.0.0.1 port. Its first stdout line is
   ``listening on http://127.0.0.1:PORT``. It is stopped by PID (SIGTERM, then
   SIGKILL) when the benchmark ends, whatever happens.
2. Resets it (``POST /_admin/reset``) and seeds one project ``bench-project``
   deterministically (fixed seed; the whole plan is drawn before the first request,
   so thread scheduling cannot change it). ``/_admin/seed`` has no bulk creation of
   service accounts or secrets (it fixes the project number, adds SYSTEM_MANAGED
   keys and back-dates keys, secrets and versions), so accounts, keys, secrets,
   versions and policies go through the REST API from a thread pool with one
   keep-alive ``http.client`` connection per thread, and the back-dating then goes
   in one ``/_admin/seed`` call:
   - N service accounts ``bench-sa-NNNNN``, each with 1 USER_MANAGED key (30%: 2,
     the second disabled 20% of the time); ~35% of the keys back-dated 120-1500
     days (stale), ~25% 1-60 days; ~10% of the accounts disabled; every 50th
     account (i % 50 == 7) has an IAM policy granting
     roles/iam.serviceAccountTokenCreator to ``group:agency-devs@agency.example``;
     ~5% get a SYSTEM_MANAGED key (``/_admin/seed``), as Google adds them;
   - ``--secrets`` secrets (1-3 versions each with a canary payload, ~40% with
     labels, ~50% back-dated, version 1 disabled in ~30% of those with 2+ versions,
     ~20% with a secret-level IAM binding for secretAccessor);
   - a project IAM policy with 30 bindings (owner, editor, impersonation, IAM
     admin, 25 ordinary roles over the project's own accounts, one binding with a
     time-bound condition; two members are service accounts of other projects).
   Account 3 and secret 3 also get a *conditional* binding (IAM policy version 3),
   which shows whether the tool asks for policy version 3 (see the README).
   The seeded data is then read back through the API (list pages) before anything
   is timed.
3. Per run (``--runs``, default 3): zeroes the server's request counts
   (``DELETE /_admin/requests``), runs

       handover audit --gcp-project bench-project --gcp-endpoint URL \
           --format json -o OUT --force

   (``$HANDOVER_BIN``, else target/bench/release, target/release, else
   target/debug with a loud warning) with a throwaway HOME and no
   GOOGLE_APPLICATION_CREDENTIALS / CLOUDSDK_* / HANDOVER_GCP_* in its environment,
   and measures wall time, peak RSS and CPU of the child (``/usr/bin/time``, else
   ``os.wait4``), the test server's CPU time (``/proc/PID/stat``) and the requests
   the server counted (``GET /_admin/requests``: total and per route).
   The audit only reads, so the project is seeded once per size.
   With ``--latency-ms MS`` the tool talks to a loopback proxy (``LatencyProxy``)
   that adds MS to every request, as a remote API would; ``--concurrency 8,16,32``
   runs the tool with each ``--concurrency`` value. With added latency the report
   also gives the floor ``(fixed + (requests - fixed) / concurrency) * latency``.
4. Checks the output JSON: the number of ``gcp-service-account`` principals (the
   project's own accounts plus the two outside accounts named in the project
   policy), of secrets and of ``gcp-service-account-key`` credentials must equal
   what was seeded, or the benchmark fails. Disabled accounts, disabled keys,
   versions, key findings and gaps that differ from the seed are warnings. It fails
   if a seeded secret value (canary prefix) or key material (``privateKeyData``
   handed out when the keys were created, or a PEM ``-----BEGIN`` header) appears
   in the inventory, stdout or stderr.
5. Prints medians as a table (with the per-route breakdown of the median run) and,
   with ``--json FILE``, writes everything as JSON.

Usage (from the repository root):

    CARGO_TARGET_DIR=target/bench cargo build --release --bin handover
    CARGO_TARGET_DIR=target/bench cargo build --release -p gcp-test-server
    .venv/bin/python bench/gcp_audit.py --sizes 1000 --secrets 500 --runs 3 \
        --json bench/baseline-gcp.json
    .venv/bin/python bench/gcp_audit.py --latency-ms 50 --concurrency 8,16,32 \
        --json bench/baseline-gcp-latency50.json

Only loopback traffic; every loop is bounded; the child has a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from binaries import find_binary, find_server_binary  # noqa: E402  (one rule for every bench script)

PROJECT = "bench-project"
PROJECT_NUMBER = "424242424242"
SEED = 20261125
REPO_ROOT = Path(__file__).resolve().parent.parent

AGENCY_GROUP = "group:agency-devs@agency.example"
# Service accounts of other projects named in the project policy: principals of kind
# gcp-service-account that are not among the project's own accounts.
OUTSIDE_SAS = [
    f"serviceAccount:{PROJECT_NUMBER}-compute@developer.gserviceaccount.com",
    "serviceAccount:ci-deployer@agency-ci.iam.gserviceaccount.com",
]
CANARY_SECRET = "BENCHGCPCANARY"
CONDITION_EXPIRY = "2027-01-31T00:00:00Z"
STALE_DAYS = 90  # src/providers/gcp/assemble.rs STALE_DAYS

# Routes (as the server labels them) that the tool sends per service account / secret.
SA_ROUTE_MARK = "/serviceAccounts/{account}"
SECRET_ROUTE_MARK = "/secrets/{secret}"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fail(msg: str) -> None:
    """Raised as SystemExit so the `finally` that stops the server still runs."""
    raise SystemExit(f"FAIL: {msg}")


# --------------------------------------------------------------------------------------
# The test server
# --------------------------------------------------------------------------------------


class TestServer:
    """gcp-test-server as a child process on a free loopback port; stopped by PID."""

    def __init__(self, binary: Path, start_timeout: float = 30.0) -> None:
        self.binary = binary
        self.proc = subprocess.Popen(
            [str(binary), "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        first: list[bytes] = []
        reader = threading.Thread(target=lambda: first.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(start_timeout)
        line = first[0].decode(errors="replace").strip() if first else ""
        prefix = "listening on "
        if not line.startswith(prefix):
            self.stop()
            err = self.proc.stderr.read().decode(errors="replace")[-2000:] if self.proc.stderr else ""
            fail(f"{binary} did not start (first line {line!r}); stderr:\n{err}")
        self.url = line[len(prefix):].rstrip("/")
        hostport = self.url.split("://", 1)[1]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        # Drain the pipes so the server can never block on a full one.
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=lambda s=stream: [None for _ in iter(lambda: s.read(65536), b"")],
                             daemon=True).start()
        self.api = Api(self.host, self.port)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    # admin API
    def reset(self) -> None:
        self.api.call("POST", "/_admin/reset", {})

    def zero_counts(self) -> None:
        self.api.call("DELETE", "/_admin/requests")

    def counts(self) -> dict[str, Any]:
        return self.api.call("GET", "/_admin/requests")

    def admin_seed(self, doc: dict[str, Any]) -> dict[str, Any]:
        return self.api.call("POST", "/_admin/seed", doc)


class ApiError(Exception):
    pass


class Api:
    """Plain JSON over HTTP/1.1 with one keep-alive connection per thread."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.local = threading.local()
        self.sent = 0
        self.lock = threading.Lock()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.local.conn = conn
        return conn

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        for attempt in range(2):  # one reconnect if a kept-alive connection went away
            conn = self._conn()
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                self.local.conn = None
                if attempt:
                    raise ApiError(f"{method} {path}: {exc!r}") from exc
        with self.lock:
            self.sent += 1
        if resp.status != 200:
            raise ApiError(f"{method} {path}: HTTP {resp.status}: {raw[:400]!r}")
        return json.loads(raw) if raw.strip() else {}


class LatencyProxy:
    """A TCP proxy on a free loopback port that adds ``latency`` seconds to every request.

    Each chunk the client sends is forwarded ``latency`` seconds after it arrived (not
    cumulatively: a request split over two chunks is delayed once), answers flow back
    at once. With keep-alive HTTP/1.1 this makes every request take ``latency`` longer,
    roughly what a client sees against a remote API; the server still counts every
    request. Runs its own asyncio loop on a daemon thread; ``close()`` stops it.
    """

    def __init__(self, target_host: str, target_port: int, latency: float) -> None:
        self.target = (target_host, target_port)
        self.latency = latency
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.handlers: set[asyncio.Task[Any]] = set()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        self.url = f"http://127.0.0.1:{self.port}"

    async def _start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        task.add_done_callback(self.handlers.discard)
        try:
            sreader, swriter = await asyncio.open_connection(*self.target)
        except OSError:
            cwriter.close()
            return
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def upstream_read() -> None:
            data = b"x"
            while data:  # until the client closes
                data = await creader.read(65536)
                queue.put_nowait((loop.time() + self.latency, data))

        async def upstream_write() -> None:
            data = b"x"
            while data:
                due, data = await queue.get()
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                if data:
                    swriter.write(data)
                    await swriter.drain()
            swriter.close()

        async def downstream() -> None:
            data = b"x"
            while data:  # until the server closes
                data = await sreader.read(65536)
                if data:
                    cwriter.write(data)
                    await cwriter.drain()
            cwriter.close()

        await asyncio.gather(upstream_read(), upstream_write(), downstream(),
                             return_exceptions=True)
        for w in (cwriter, swriter):
            w.close()

    def close(self) -> None:
        async def stop() -> int:
            self.server.close()
            for _ in range(50):  # give connections the tool left open 5 s to wind down
                if not self.handlers:
                    break
                await asyncio.sleep(0.1)
            left = len(self.handlers)
            for t in list(self.handlers):
                t.cancel()
            await asyncio.gather(*self.handlers, return_exceptions=True)
            return left
        left = asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        if left:
            log(f"latency proxy: {left} connection(s) still open at the end, closed")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


# --------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------


def rfc3339(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sa_email(i: int) -> str:
    return f"bench-sa-{i:05d}@{PROJECT}.iam.gserviceaccount.com"


def make_plan(n_sa: int, n_secrets: int, now: datetime) -> dict[str, Any]:
    """Draw every seeded object before the first request (deterministic: fixed seed)."""
    rng = random.Random(SEED * 31 + n_sa * 7 + n_secrets)
    accounts = []
    for i in range(n_sa):
        keys = []
        for k in range(2 if rng.random() < 0.3 else 1):
            r = rng.random()
            days = rng.randint(120, 1500) if r < 0.35 else rng.randint(1, 60) if r < 0.6 else 0
            keys.append({"days_old": days, "disabled": k == 1 and rng.random() < 0.2})
        policy = None
        if i % 50 == 7:
            policy = {"bindings": [{"role": "roles/iam.serviceAccountTokenCreator",
                                    "members": [AGENCY_GROUP]}]}
        elif i == 3:  # conditional: tells whether the tool reads policy version 3
            policy = {"version": 3, "bindings": [{
                "role": "roles/iam.serviceAccountUser",
                "members": ["user:contractor@agency.example"],
                "condition": {"title": "until handover",
                              "expression": f'request.time < timestamp("{CONDITION_EXPIRY}")'}}]}
        accounts.append({
            "email": sa_email(i),
            "account_id": f"bench-sa-{i:05d}",
            "display_name": f"bench {rng.choice(['web', 'api', 'worker', 'ci', 'etl'])} {i}",
            "description": "bench service account" if rng.random() < 0.3 else None,
            "keys": keys,
            "disabled": rng.random() < 0.1,
            "system_key": rng.random() < 0.05,
            "policy": policy,
        })
    secrets = []
    for i in range(n_secrets):
        n_versions = rng.randint(1, 3)
        labels = ({"env": rng.choice(["prod", "staging"]), "owner": rng.choice(["agency", "customer"])}
                  if rng.random() < 0.4 else None)
        policy = None
        if i == 3:
            policy = {"version": 3, "bindings": [{
                "role": "roles/secretmanager.secretAccessor",
                "members": ["user:contractor@agency.example"],
                "condition": {"title": "until handover",
                              "expression": f'request.time < timestamp("{CONDITION_EXPIRY}")'}}]}
        elif rng.random() < 0.2:
            r = rng.random()
            member = (f"serviceAccount:{sa_email(rng.randrange(n_sa))}" if r < 0.6 and n_sa
                      else AGENCY_GROUP if r < 0.8 else f"user:dev-{rng.randrange(20)}@agency.example")
            policy = {"bindings": [{"role": "roles/secretmanager.secretAccessor", "members": [member]}]}
        back_days = rng.randint(30, 1000) if rng.random() < 0.5 else 0
        secrets.append({
            "id": f"{rng.choice(['web', 'api', 'worker', 'db'])}-secret-{i:04d}",
            "labels": labels,
            "payloads": [f"{CANARY_SECRET}{i:04d}v{v + 1}x{rng.getrandbits(32):08x}"
                         for v in range(n_versions)],
            "disable_first": n_versions >= 2 and rng.random() < 0.3,
            "back_days": back_days,
            "policy": policy,
        })
    # Project policy: 30 bindings.
    own = [f"serviceAccount:{a['email']}" for a in accounts]
    roles = ["roles/viewer", "roles/logging.logWriter", "roles/monitoring.metricWriter",
             "roles/cloudsql.client", "roles/storage.objectViewer", "roles/storage.objectAdmin",
             "roles/run.invoker", "roles/run.developer", "roles/pubsub.publisher",
             "roles/pubsub.subscriber", "roles/cloudtrace.agent", "roles/errorreporting.writer",
             "roles/artifactregistry.reader", "roles/artifactregistry.writer",
             "roles/secretmanager.secretAccessor", "roles/cloudbuild.builds.editor",
             "roles/container.developer", "roles/compute.viewer", "roles/dns.reader",
             "roles/bigquery.dataViewer", "roles/bigquery.jobUser", "roles/datastore.user",
             "roles/cloudfunctions.invoker", "roles/cloudscheduler.jobRunner",
             "roles/iam.serviceAccountUser"]
    bindings = [
        {"role": "roles/owner", "members": ["user:owner@customer.example", "user:lead@agency.example"]},
        {"role": "roles/editor", "members": [AGENCY_GROUP, OUTSIDE_SAS[0]]},
        {"role": "roles/iam.serviceAccountTokenCreator", "members": [OUTSIDE_SAS[1]]},
        {"role": "roles/resourcemanager.projectIamAdmin", "members": ["user:lead@agency.example"]},
    ]
    for role in roles:
        members = sorted(set(rng.sample(own, k=min(len(own), rng.randint(1, 4))))) if own else \
            ["user:dev-0@agency.example"]
        bindings.append({"role": role, "members": members})
    # Not a basic role: Google refuses a condition on roles/viewer (and so does the server).
    bindings.append({"role": "roles/logging.viewer", "members": ["user:contractor@agency.example"],
                     "condition": {"title": "until handover",
                                   "expression": f'request.time < timestamp("{CONDITION_EXPIRY}")'}})
    return {"accounts": accounts, "secrets": secrets,
            "project_policy": {"version": 3, "bindings": bindings}, "now": now}


def seed(server: TestServer, n_sa: int, n_secrets: int, threads: int,
         n_api_keys: int = 0, n_hmac_keys: int = 0) -> dict[str, Any]:
    """Seed the project through the REST API; return the expected counts and canaries."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    plan = make_plan(n_sa, n_secrets, now)
    api = server.api
    base = f"/v1/projects/{PROJECT}"
    server.admin_seed({"projects": [{"projectId": PROJECT, "projectNumber": PROJECT_NUMBER,
                                     "displayName": "Bench project",
                                     "labels": {"env": "bench"}}]})
    sent_before = api.sent

    def seed_account(a: dict[str, Any]) -> dict[str, Any]:
        sa: dict[str, Any] = {"displayName": a["display_name"]}
        if a["description"]:
            sa["description"] = a["description"]
        api.call("POST", f"{base}/serviceAccounts",
                 {"accountId": a["account_id"], "serviceAccount": sa})
        path = f"{base}/serviceAccounts/{a['email']}"
        made = []
        for k in a["keys"]:
            key = api.call("POST", f"{path}/keys", {})
            key_id = key["name"].rsplit("/", 1)[1]
            if k["disabled"]:
                api.call("POST", f"{path}/keys/{key_id}:disable", {})
            made.append({"name": key["name"], "days_old": k["days_old"],
                         "private_key_data": key.get("privateKeyData", "")})
        if a["disabled"]:
            api.call("POST", f"{path}:disable", {})
        if a["policy"]:
            api.call("POST", f"{path}:setIamPolicy", {"policy": a["policy"]})
        return {"keys": made}

    def seed_secret(s: dict[str, Any]) -> None:
        body: dict[str, Any] = {"replication": {"automatic": {}}}
        if s["labels"]:
            body["labels"] = s["labels"]
        api.call("POST", f"{base}/secrets?secretId={s['id']}", body)
        path = f"{base}/secrets/{s['id']}"
        for value in s["payloads"]:
            api.call("POST", f"{path}:addVersion",
                     {"payload": {"data": base64.b64encode(value.encode()).decode()}})
        if s["disable_first"]:
            api.call("POST", f"{path}/versions/1:disable", {})
        if s["policy"]:
            api.call("POST", f"{path}:setIamPolicy", {"policy": s["policy"]})

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        made_accounts = list(pool.map(seed_account, plan["accounts"]))
        list(pool.map(seed_secret, plan["secrets"]))
    # The server refuses a policy naming a service account that does not exist (as
    # Google does): the two outside accounts are made in their own projects first.
    for member in OUTSIDE_SAS:
        local, domain = member.removeprefix("serviceAccount:").split("@", 1)
        if not domain.endswith(".iam.gserviceaccount.com"):
            continue  # a default account Google makes itself; the server takes it as is
        api.call("POST", f"/v1/projects/{domain.split('.')[0]}/serviceAccounts", {"accountId": local})
    api.call("POST", f"/v1/projects/{PROJECT}:setIamPolicy",
             {"policy": plan["project_policy"]})
    api_seconds = time.perf_counter() - t0

    # Back-dating, system-managed keys: one admin call.
    key_times, create_times, system_keys = [], [], []
    for a, made in zip(plan["accounts"], made_accounts):
        for k in made["keys"]:
            if k["days_old"]:
                key_times.append({"name": k["name"],
                                  "validAfterTime": rfc3339(now - timedelta(days=k["days_old"]))})
        if a["system_key"]:
            system_keys.append({"serviceAccount": a["email"],
                                "validAfterTime": rfc3339(now - timedelta(days=3))})
    for s in plan["secrets"]:
        if s["back_days"]:
            created = now - timedelta(days=s["back_days"])
            create_times.append({"name": f"projects/{PROJECT}/secrets/{s['id']}",
                                 "createTime": rfc3339(created)})
            step = s["back_days"] // (len(s["payloads"]) + 1)
            for v in range(len(s["payloads"])):
                create_times.append({"name": f"projects/{PROJECT}/secrets/{s['id']}/versions/{v + 1}",
                                     "createTime": rfc3339(created + timedelta(days=step * v))})
    server.admin_seed({"systemManagedKeys": system_keys, "keyTimes": key_times,
                       "createTimes": create_times})
    # Issue 17: API keys (every third unrestricted) and HMAC keys (at most 10 per
    # account, Google's limit), each with a known key string / secret as a canary.
    api_keys = [{"project": PROJECT, "keyString": f"AIzaBENCHCANARY{i:020d}",
                 "key": {"displayName": f"bench-key-{i}"} if i % 3 == 0 else
                 {"displayName": f"bench-key-{i}", "restrictions": {"apiTargets": [{"service": "maps.googleapis.com"}]}}}
                for i in range(n_api_keys)]
    hmac_keys = [{"project": PROJECT, "secret": f"hmacBENCHCANARY{i:020d}",
                  "serviceAccountEmail": accounts_for_hmac(plan, i)}
                 for i in range(n_hmac_keys)]
    if api_keys or hmac_keys:
        server.admin_seed({"credentials": {"apiKeys": api_keys, "hmacKeys": hmac_keys}})
    seconds = time.perf_counter() - t0

    # Expected counts.
    accounts = plan["accounts"]
    user_keys = [(k, kp) for a, made in zip(accounts, made_accounts)
                 for k, kp in zip(made["keys"], a["keys"])]
    active_user_keys = [k for k, kp in user_keys if not kp["disabled"]]
    expected = {
        "service_accounts": len(accounts),
        "outside_service_accounts": len(OUTSIDE_SAS),
        "gcp_service_account_principals": len(accounts) + len(OUTSIDE_SAS),
        "disabled_service_accounts": sum(a["disabled"] for a in accounts),
        "user_managed_keys": len(user_keys),
        "disabled_user_managed_keys": sum(kp["disabled"] for _, kp in user_keys),
        "system_managed_keys": len(system_keys),
        "service_account_keys": len(user_keys) + len(system_keys),
        "backdated_keys": len(key_times),
        # Findings the assembler should raise (src/providers/gcp/assemble.rs).
        "finding_gcp_user_managed_key": len(active_user_keys),
        "finding_gcp_key_stale": sum(1 for k in active_user_keys if k["days_old"] > STALE_DAYS),
        "service_account_policies": sum(1 for a in accounts if a["policy"]),
        "secrets": len(plan["secrets"]),
        "secret_versions": sum(len(s["payloads"]) for s in plan["secrets"]),
        "enabled_secret_versions": sum(len(s["payloads"]) - s["disable_first"] for s in plan["secrets"]),
        "labelled_secrets": sum(1 for s in plan["secrets"] if s["labels"]),
        "secret_policies": sum(1 for s in plan["secrets"] if s["policy"]),
        "project_policy_bindings": len(plan["project_policy"]["bindings"]),
        "conditional_bindings": {"project": 1, "service_account": int(n_sa > 3),
                                 "secret": int(n_secrets > 3)},
        "api_keys": n_api_keys,
        "hmac_keys": n_hmac_keys,
    }
    canaries = {p for s in plan["secrets"] for p in s["payloads"]}
    canaries |= {k["keyString"] for k in api_keys} | {k["secret"] for k in hmac_keys}
    key_material = {k["private_key_data"] for made in made_accounts for k in made["keys"]
                    if k["private_key_data"]}
    return {"expected": expected, "canaries": canaries, "key_material": key_material,
            "seconds": round(seconds, 2), "api_seconds": round(api_seconds, 2),
            "api_requests": api.sent - sent_before, "threads": threads}


def accounts_for_hmac(plan: dict[str, Any], i: int) -> str:
    """The account (email) holding the i-th HMAC key: 10 keys per account at most."""
    return plan["accounts"][(i // 10) % len(plan["accounts"])]["email"]


def list_all(api: Api, path: str, field: str, limit_pages: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token = ""
    for _ in range(limit_pages):  # bounded pagination
        sep = "&" if "?" in path else "?"
        page = api.call("GET", f"{path}{sep}pageSize=100" + (f"&pageToken={token}" if token else ""))
        out.extend(page.get(field, []))
        token = page.get("nextPageToken", "")
        if not token:
            return out
    fail(f"{path}: more than {limit_pages} pages")
    raise AssertionError


def check_visible(server: TestServer, expected: dict[str, Any]) -> None:
    """The seeded data must be visible through the API before anything is timed."""
    api = server.api
    accounts = list_all(api, f"/v1/projects/{PROJECT}/serviceAccounts", "accounts",
                        expected["service_accounts"] // 100 + 3)
    if len(accounts) != expected["service_accounts"]:
        fail(f"seeded {expected['service_accounts']} service accounts, the list shows {len(accounts)}")
    disabled = sum(1 for a in accounts if a.get("disabled"))
    if disabled != expected["disabled_service_accounts"]:
        fail(f"seeded {expected['disabled_service_accounts']} disabled accounts, the list shows {disabled}")
    secrets = list_all(api, f"/v1/projects/{PROJECT}/secrets", "secrets",
                       expected["secrets"] // 100 + 3)
    if len(secrets) != expected["secrets"]:
        fail(f"seeded {expected['secrets']} secrets, the list shows {len(secrets)}")
    if accounts:
        keys = api.call("GET", f"/v1/projects/{PROJECT}/serviceAccounts/{accounts[0]['email']}/keys")
        if not keys.get("keys"):
            fail(f"{accounts[0]['email']} has no key through the API")


# --------------------------------------------------------------------------------------
# Running the tool
# --------------------------------------------------------------------------------------


def child_env(home: Path) -> dict[str, str]:
    """No real credentials or gcloud config can reach the child."""
    drop_prefixes = ("GOOGLE_", "CLOUDSDK_", "GCLOUD_", "GCE_", "HANDOVER_GCP_", "AWS_")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(drop_prefixes) and k not in ("HOME", "RUST_LOG", "XDG_CONFIG_HOME")}
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "CLOUDSDK_CONFIG": str(home / "no-gcloud-config"),
                "NO_COLOR": "1"})
    return env


def run_child(cmd: list[str], env: dict[str, str], workdir: Path, timeout: float) -> dict[str, Any]:
    """Run cmd: exit code, wall seconds, peak RSS (KiB) and CPU seconds of the child."""
    time_bin = shutil.which("time", path="/usr/bin")
    stats_file = workdir / "time-stats"
    full = [time_bin, "-f", "%M %U %S", "-o", str(stats_file), *cmd] if time_bin else cmd
    with open(workdir / "stdout", "wb") as out, open(workdir / "stderr", "wb") as err:
        started = time.perf_counter()
        # Own process group, so a timeout kills handover and not only /usr/bin/time.
        proc = subprocess.Popen(full, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=workdir, start_new_session=True)
        timer = threading.Timer(timeout, os.killpg, args=(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it is reaped
    stats = stats_file.read_text().split() if time_bin and stats_file.exists() else []
    if len(stats) >= 3 and stats[0].isdigit():
        rss_kib, cpu, source = int(stats[0]), float(stats[1]) + float(stats[2]), "/usr/bin/time"
    else:
        rss_kib, cpu, source = usage.ru_maxrss, usage.ru_utime + usage.ru_stime, "wait4"
    return {"exit": proc.returncode, "wall": wall, "rss_kib": rss_kib, "cpu": cpu,
            "rss_source": source, "timed_out": wall >= timeout}


def check_no_secrets(texts: dict[str, str], canaries: set[str], key_material: set[str]) -> None:
    """DESIGN.md property 1: no secret value or key material in any output."""
    leaks = []
    for where, text in texts.items():
        if CANARY_SECRET in text:
            hits = sum(1 for c in canaries if c in text)
            leaks.append(f"{where} holds seeded secret values ({hits} exact, prefix {CANARY_SECRET})")
        if "-----BEGIN" in text:
            leaks.append(f"{where} holds a PEM block (-----BEGIN)")
        hits = sum(1 for k in key_material if k[:64] in text)
        if hits:
            leaks.append(f"{where} holds privateKeyData of {hits} key(s)")
    if leaks:
        fail("SECRET MATERIAL IN THE TOOL'S OUTPUT: " + "; ".join(leaks))


def check_output(out_json: Path, expected: dict[str, Any]) -> dict[str, Any]:
    try:
        doc = json.loads(out_json.read_text())
    except (OSError, ValueError) as exc:
        fail(f"the audit output {out_json} is not readable JSON: {exc}")
        raise AssertionError from exc
    for key in ("principals", "credentials", "secrets", "gaps", "findings"):
        if not isinstance(doc.get(key), list):
            fail(f"the audit output has no `{key}` array "
                 f"(top-level keys: {sorted(doc) if isinstance(doc, dict) else type(doc)})")
    sas = [p for p in doc["principals"] if p.get("kind") == "gcp-service-account"]
    own_suffix = f"@{PROJECT}.iam.gserviceaccount.com"
    own = [p for p in sas if str(p.get("name", "")).endswith(own_suffix)]
    keys = [c for c in doc["credentials"] if c.get("kind") == "gcp-service-account-key"]
    problems = []
    if len(sas) != expected["gcp_service_account_principals"]:
        problems.append(f"{len(sas)} gcp-service-account principals, seeded "
                        f"{expected['gcp_service_account_principals']} "
                        f"({expected['service_accounts']} own + {expected['outside_service_accounts']} outside)")
    if len(own) != expected["service_accounts"]:
        problems.append(f"{len(own)} of the project's own service accounts, seeded {expected['service_accounts']}")
    if len(doc["secrets"]) != expected["secrets"]:
        problems.append(f"{len(doc['secrets'])} secrets, seeded {expected['secrets']}")
    if len(keys) != expected["service_account_keys"]:
        problems.append(f"{len(keys)} gcp-service-account-key credentials, seeded "
                        f"{expected['service_account_keys']} ({expected['user_managed_keys']} user-managed + "
                        f"{expected['system_managed_keys']} system-managed)")
    for kind, key in (("gcp-api-key", "api_keys"), ("gcp-hmac-key", "hmac_keys")):
        n = sum(1 for c in doc["credentials"] if c.get("kind") == kind)
        if n != expected[key]:
            problems.append(f"{n} {kind} credentials, seeded {expected[key]}")
    if problems:
        fail("the audit output does not match the seeded project: " + "; ".join(problems))

    def key_type(c: dict[str, Any]) -> str:
        d = c.get("detail") or {}
        for k in ("key_type", "keyType"):
            if isinstance(d.get(k), str):
                return d[k]
            for v in d.values() if isinstance(d, dict) else []:
                if isinstance(v, dict) and isinstance(v.get(k), str):
                    return v[k]
        return "?"

    findings = Counter(str(f.get("code")) for f in doc["findings"])
    observed = {
        "disabled_service_accounts": sum(1 for p in own if p.get("disabled") is True),
        "user_managed_keys": sum(1 for c in keys if key_type(c) == "USER_MANAGED"),
        "system_managed_keys": sum(1 for c in keys if key_type(c) == "SYSTEM_MANAGED"),
        "secret_versions": sum(int(s.get("versions") or 0) for s in doc["secrets"]),
        "enabled_secret_versions": sum(int(s.get("enabled_versions") or 0) for s in doc["secrets"]),
        "finding_gcp_user_managed_key": findings.get("gcp-user-managed-key", 0),
        "finding_gcp_key_stale": findings.get("gcp-key-stale", 0),
    }
    warnings = [f"{k}: output {v}, seeded {expected[k]}" for k, v in observed.items() if v != expected[k]]
    # Conditional bindings on an account / a secret read at policy version 1 come back as
    # ROLE_withcond_HASH without their condition (Google's behaviour, and the server's).
    withcond = sorted({str(c.get("identifier")) for c in doc["credentials"]
                       if "_withcond_" in str(c.get("identifier", ""))})
    conditional = [c for c in doc["credentials"]
                   if c.get("kind") == "gcp-iam-binding" and (c.get("detail") or {}).get("condition")]
    if withcond:
        warnings.append(f"{len(withcond)} binding role(s) read without their condition "
                        f"(policy version 1 asked): {withcond}")
    gaps = Counter(f"{g.get('source')}: {g.get('reason')}" for g in doc["gaps"])
    if gaps:
        warnings.append(f"{len(doc['gaps'])} gap(s) in the inventory: {dict(gaps.most_common(5))}")
    return {
        "gcp_service_account_principals": len(sas),
        "own_service_accounts": len(own),
        "secrets": len(doc["secrets"]),
        "service_account_keys": len(keys),
        **observed,
        "conditional_bindings_with_condition": len(conditional),
        "withcond_roles": withcond,
        "principals_by_kind": dict(sorted(Counter(str(p.get("kind")) for p in doc["principals"]).items())),
        "credentials_by_kind": dict(sorted(Counter(str(c.get("kind")) for c in doc["credentials"]).items())),
        "findings_by_code": dict(sorted(findings.items())),
        "gaps": len(doc["gaps"]),
        "gaps_by_reason": dict(gaps),
        "output_bytes": out_json.stat().st_size,
        "warnings": warnings,
    }


def classify_routes(by_route: dict[str, int]) -> dict[str, int]:
    groups = Counter()
    for route, n in by_route.items():
        if SA_ROUTE_MARK in route:
            groups["per_service_account"] += n
        elif SECRET_ROUTE_MARK in route:
            groups["per_secret"] += n
        else:
            groups["fixed"] += n
    return dict(groups)


def run_audit(binary: Path, server: TestServer, endpoint: str, seeded: dict[str, Any],
              timeout: float, keep: Path | None, extra: list[str]) -> dict[str, Any]:
    expected = seeded["expected"]
    with tempfile.TemporaryDirectory(prefix="handover-gcp-bench-") as tmp:
        work = Path(tmp)
        home = work / "home"
        home.mkdir()
        out_json = work / "inventory.json"
        cmd = [str(binary), "audit", "--gcp-project", PROJECT, "--gcp-endpoint", endpoint,
               "--format", "json", "-o", str(out_json), "--force", *extra]
        server.zero_counts()
        cpu0 = server.cpu_seconds()
        res = run_child(cmd, child_env(home), work, timeout)
        server_cpu = server.cpu_seconds() - cpu0
        counted = server.counts()
        if res["exit"] != 0:
            tail = (work / "stderr").read_text(errors="replace")[-3000:]
            fail(f"`{' '.join(cmd)}` exited {res['exit']}"
                 f"{' (timed out)' if res['timed_out'] else ''}; stderr tail:\n{tail}")
        summary = check_output(out_json, expected)
        check_no_secrets({name: (work / name).read_text(errors="replace")
                          for name in ("inventory.json", "stdout", "stderr")},
                         seeded["canaries"], seeded["key_material"])
        stderr_tail = (work / "stderr").read_text(errors="replace")[-1500:]
        log_bytes = {name: (work / name).stat().st_size for name in ("stdout", "stderr")}
        if keep:
            shutil.copy(out_json, keep)
    by_route = dict(sorted(counted.get("byRoute", {}).items()))
    total = int(counted.get("total", 0))
    groups = classify_routes(by_route)
    n_sa, n_sec = expected["service_accounts"], expected["secrets"]
    return {
        "wall_seconds": round(res["wall"], 3),
        "peak_rss_mib": round(res["rss_kib"] / 1024, 1),
        "rss_source": res["rss_source"],
        "tool_cpu_seconds": round(res["cpu"], 2),
        "server_cpu_seconds": round(server_cpu, 2),
        "requests": total,
        "requests_per_second": round(total / res["wall"], 1) if res["wall"] else None,
        "requests_per_service_account": round(groups.get("per_service_account", 0) / n_sa, 3) if n_sa else None,
        "requests_per_secret": round(groups.get("per_secret", 0) / n_sec, 3) if n_sec else None,
        "fixed_requests": groups.get("fixed", 0),
        "requests_per_object": round(total / max(1, n_sa + n_sec), 3),
        "by_route": by_route,
        "unmatched": by_route.get("unmatched", 0),
        "output": summary,
        "stdout_bytes": log_bytes["stdout"],
        "stderr_bytes": log_bytes["stderr"],
        "stderr_tail": stderr_tail,
    }


# --------------------------------------------------------------------------------------
# Driver and report
# --------------------------------------------------------------------------------------

MEDIAN_KEYS = ("wall_seconds", "peak_rss_mib", "tool_cpu_seconds", "server_cpu_seconds",
               "requests", "requests_per_second", "requests_per_service_account",
               "requests_per_secret", "fixed_requests", "requests_per_object",
               "ideal_wall_seconds", "wall_over_ideal")
TOOL_DEFAULT_CONCURRENCY = 8  # src/cli/args.rs: --concurrency default


def bench_size(server: TestServer, binary: Path | None, n_sa: int,
               args: argparse.Namespace) -> list[dict[str, Any]]:
    server.reset()
    seeded = seed(server, n_sa, args.secrets, args.seed_threads, args.api_keys, args.hmac_keys)
    check_visible(server, seeded["expected"])
    log(f"{n_sa} service accounts, {args.secrets} secrets: seeded in {seeded['seconds']}s "
        f"({seeded['api_requests']} API requests from {seeded['threads']} threads, "
        f"{seeded['api_seconds']}s): {seeded['expected']}")
    results = []
    for conc in args.concurrency_list:
        result: dict[str, Any] = {
            "service_accounts": n_sa, "secrets": args.secrets, "seeded": seeded["expected"],
            "seed_seconds": seeded["seconds"], "seed_api_requests": seeded["api_requests"],
            "seed_threads": seeded["threads"], "latency_ms": args.latency_ms,
            "concurrency": conc or TOOL_DEFAULT_CONCURRENCY,
            "concurrency_flag": bool(conc), "runs": [],
        }
        results.append(result)
        if binary is None:
            continue
        extra = [*(["--concurrency", str(conc)] if conc else []), *args.tool_arg]
        for run in range(args.runs):
            keep = (Path(args.keep_output) / f"inventory-gcp-{n_sa}-c{result['concurrency']}-{run + 1}.json"
                    if args.keep_output else None)
            r = run_audit(binary, server, args.endpoint, seeded, args.timeout, keep, extra)
            if args.latency_ms:
                # Lower bound with `concurrency` requests always in flight: the fixed
                # requests (project policy, list pages) go one after another.
                ideal = (r["fixed_requests"] + (r["requests"] - r["fixed_requests"])
                         / result["concurrency"]) * args.latency_ms / 1000
                r["ideal_wall_seconds"] = round(ideal, 3)
                r["wall_over_ideal"] = round(r["wall_seconds"] / ideal, 2) if ideal else None
            log(f"{n_sa} SAs, concurrency {result['concurrency']}, latency {args.latency_ms} ms, "
                f"run {run + 1}/{args.runs}: {r['wall_seconds']}s, {r['requests']} requests "
                f"({r['requests_per_second']}/s), {r['peak_rss_mib']} MiB, tool CPU "
                f"{r['tool_cpu_seconds']}s, server CPU {r['server_cpu_seconds']}s"
                + (f", ideal {r['ideal_wall_seconds']}s" if args.latency_ms else ""))
            for w in r["output"]["warnings"]:
                log(f"WARNING: {w}")
            result["runs"].append(r)
        runs = result["runs"]
        med: dict[str, Any] = {}
        for k in MEDIAN_KEYS:
            vals = [r[k] for r in runs if r.get(k) is not None]
            med[k] = round(statistics.median(vals), 3) if vals else None
        for k in ("requests", "fixed_requests"):
            if med[k] is not None and float(med[k]).is_integer():
                med[k] = int(med[k])
        result["median"] = med
        result["request_counts_stable"] = len({json.dumps(r["by_route"]) for r in runs}) == 1
        mid = sorted(runs, key=lambda r: r["wall_seconds"])[len(runs) // 2]
        result["by_route_median_run"] = mid["by_route"]
        result["output_median_run"] = mid["output"]
        result["warnings"] = sorted({w for r in runs for w in r["output"]["warnings"]})
    return results


def print_table(results: list[dict[str, Any]], binary_kind: str) -> None:
    print(f"\nhandover audit --gcp-project against gcp-test-server (medians; binary: {binary_kind})")
    head = ("SAs", "secrets", "latency ms", "conc", "wall s", "ideal s", "wall/ideal", "RSS MiB",
            "tool CPU s", "server CPU s", "requests", "req/s", "req/SA", "req/secret", "fixed",
            "req/(SA+secret)")
    rows = []
    for res in results:
        m = res.get("median")
        lead = (res["service_accounts"], res["secrets"], res["latency_ms"], res["concurrency"])
        if not m:
            rows.append((*lead, *["-"] * 12))
            continue
        rows.append((*lead, m["wall_seconds"], m["ideal_wall_seconds"] or "-",
                     m["wall_over_ideal"] or "-", m["peak_rss_mib"],
                     m["tool_cpu_seconds"], m["server_cpu_seconds"], m["requests"],
                     m["requests_per_second"], m["requests_per_service_account"],
                     m["requests_per_secret"], m["fixed_requests"], m["requests_per_object"]))
    rows = [tuple("-" if x is None else x for x in row) for row in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for row in (head, *rows):
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths)))
    for res in results:
        if "by_route_median_run" not in res:
            continue
        print(f"\nrequests per route at {res['service_accounts']} service accounts, "
              f"{res['secrets']} secrets, concurrency {res['concurrency']} (median run):")
        for route, n in sorted(res["by_route_median_run"].items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {n:7d}  {route}")
        if not res["request_counts_stable"]:
            print("  NOTE: per-route request counts differed between runs")
        out = res["output_median_run"]
        print(f"  output: {out['principals_by_kind']}; {out['credentials_by_kind']}; "
              f"{out['secrets']} secrets; findings {out['findings_by_code']}; gaps {out['gaps']}")
        for w in res["warnings"]:
            print(f"  WARNING: {w}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000", help="comma-separated service-account counts (default 1000)")
    p.add_argument("--secrets", type=int, default=500, help="secrets to seed (default 500)")
    p.add_argument("--api-keys", type=int, default=200, help="API keys to seed (default 200)")
    p.add_argument("--hmac-keys", type=int, default=50, help="HMAC keys to seed (default 50)")
    p.add_argument("--runs", type=int, default=3, help="audit runs per size; medians reported")
    p.add_argument("--json", metavar="FILE", help="write all results as JSON to FILE")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per audit run")
    p.add_argument("--seed-threads", type=int, default=8, help="threads seeding the REST API")
    p.add_argument("--latency-ms", type=float, default=0,
                   help="send the tool through a loopback proxy that adds this many ms to every "
                        "request, as a remote API would (default 0: straight to the server)")
    p.add_argument("--concurrency", default="",
                   help="comma-separated values for the tool's --concurrency, each run --runs "
                        f"times (default: not passed, the tool's default {TOOL_DEFAULT_CONCURRENCY})")
    p.add_argument("--no-audit", action="store_true",
                   help="only seed and check the server (no handover binary needed)")
    p.add_argument("--keep-output", metavar="DIR", help="copy each run's inventory JSON here")
    p.add_argument("--tool-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for `handover audit` (repeat), e.g. --tool-arg=--concurrency=16 "
                        "or --tool-arg=-vvv (trace logs: the secret check then covers them too)")
    args = p.parse_args(argv)
    try:
        args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        p.error("--sizes takes comma-separated integers")
    try:
        args.concurrency_list = [int(c) for c in args.concurrency.split(",") if c.strip()] or [0]
    except ValueError:
        p.error("--concurrency takes comma-separated integers")
    if (not args.size_list or min(args.size_list) < 1 or args.secrets < 0 or args.runs < 1
            or args.seed_threads < 1 or args.latency_ms < 0 or min(args.concurrency_list) < 0):
        p.error("sizes must be >= 1, secrets >= 0, runs >= 1, seed threads >= 1, "
                "latency >= 0, concurrency >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    binary, kind = (None, "none (--no-audit)") if args.no_audit else find_binary()
    if binary:
        log(f"binary: {binary} ({kind})")
    server_bin = find_server_binary()
    if args.keep_output:
        Path(args.keep_output).mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    if load_start[0] > 0.5 * (os.cpu_count() or 1):
        log(f"WARNING: the machine is busy (load average {load_start[0]:.2f} on "
            f"{os.cpu_count()} CPUs): timings will be noisy")
    server = TestServer(server_bin)
    log(f"gcp-test-server ({server_bin.relative_to(REPO_ROOT) if server_bin.is_relative_to(REPO_ROOT) else server_bin}) "
        f"pid {server.pid} serving on {server.url}")
    proxy = None
    results = []
    try:
        args.endpoint = server.url
        if args.latency_ms:
            proxy = LatencyProxy(server.host, server.port, args.latency_ms / 1000)
            args.endpoint = proxy.url
            log(f"the tool goes through a proxy on {proxy.url} adding {args.latency_ms} ms per request")
        for n_sa in args.size_list:
            results.extend(bench_size(server, binary, n_sa, args))
    finally:
        if proxy:
            proxy.close()
        server.stop()
    print_table(results, kind)
    load_end = os.getloadavg()
    if args.json:
        for res in results:  # the stderr tail is for failures; keep the JSON small
            for r in res["runs"]:
                r.pop("stderr_tail", None)
        doc = {
            "benchmark": "gcp_audit",
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": " ".join([os.path.relpath(sys.executable, REPO_ROOT), *sys.argv])
            if argv is None else None,
            "binary": str(binary) if binary else None,
            "binary_kind": kind,
            "tool_args": ["audit", "--gcp-project", PROJECT, "--gcp-endpoint", "URL",
                          "--format", "json", "-o", "OUT", "--force", *args.tool_arg],
            "latency_ms": args.latency_ms,
            "server_binary": str(server_bin),
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                        "loadavg_start": [round(x, 2) for x in load_start],
                        "loadavg_end": [round(x, 2) for x in load_end]},
            "results": results,
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
        log(f"wrote {args.json}")
    log(f"load average at the end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
