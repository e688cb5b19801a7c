#!/usr/bin/env python3
"""AWS audit benchmark for `handover audit --aws` (run by hand, not in CI).

What it does, per account size (``--sizes``, default 1000,5000 IAM users):

1. Serves moto (AWS emulator) in server mode *in this process* on a free
   127.0.0.1 port: moto's own WSGI app (``DomainDispatcherApplication`` +
   ``create_backend_app``) under werkzeug's threaded server, wrapped in a
   middleware that counts every HTTP request at the server: in total, per
   service:action (IAM/STS query protocol: the ``Action=`` form field;
   Secrets Manager JSON protocol: the ``X-Amz-Target`` header), per HTTP status,
   with the server time and response bytes spent on each action, and the time
   moto had requests in flight. Actions moto does not implement
   (``MOTO_GAP_STUBS``) are answered by the middleware with an empty page unless
   ``--moto-gaps raw``.
2. Resets moto and seeds it through its Python backends (``iam_backends``,
   ``secretsmanager_backends``; account 123456789012, partition aws, region
   us-east-1), which is ~100x faster than API calls. The data is deterministic
   (fixed seed, moto's random ids seeded too): users with one or two access keys,
   ~30% with an enabled virtual MFA device, ~50% with a console password, groups
   (``admins`` with AdministratorAccess holds ~10% of the users), roles (a few
   trusting an outside account) and ``--secrets`` secrets (some tagged, some with a
   resource policy). It then checks with boto3 that the API sees the seeded data.
3. Measures the emulator's request ceiling before every run: a separate Python process (so it does
   not share this process's GIL with the server) sends ``--ceiling-requests`` cheap
   ``iam:GetUser`` calls from ``--ceiling-threads`` boto3 threads; requests/second
   is what moto can serve on this machine. The tool cannot be faster than
   ``requests / ceiling`` against moto, so its wall time is reported next to it.
4. Runs ``handover audit --aws --region us-east-1 --format json -o OUT --force``
   (``$HANDOVER_BIN``, else target/release/handover, else target/debug/handover
   with a loud warning) with ``AWS_ENDPOINT_URL`` pointing at the server, test
   credentials, a throwaway HOME (no real ~/.aws is read) and no AWS_PROFILE.
   Measures wall time, peak RSS of the child (``/usr/bin/time -f %M``, else
   ``os.wait4`` rusage) and the requests counted at the server. Checks the output
   JSON: the number of ``"kind": "iam-user"`` principals and of secrets must match
   what was seeded, else the run fails loudly. It also fails if a seeded secret
   value, console password or virtual MFA seed appears in the output or the logs.
5. Re-seeds before every run (the audit itself changes moto state, e.g. the
   credential report flag), repeats ``--runs`` times and reports medians as a table
   on stdout and, with ``--json FILE``, as JSON.

The budget (DESIGN.md, "Performance budget"): at most 2.1 requests per IAM user
plus one per secret, i.e. ``(requests - secrets) / users <= 2.1``.

Usage (from the repository root):

    .venv/bin/python bench/aws_audit.py --sizes 1000,5000 --secrets 500 --runs 3 \
        --json bench/baseline.json

Only loopback traffic; every loop is bounded; the child has a timeout.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from binaries import find_binary  # noqa: E402  (one rule for every bench script)

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
REGION = "us-east-1"
OUTSIDE_ACCOUNT = "999988887777"  # "the agency": trusted by a few roles and secrets
SEED = 20261125
BUDGET_PER_USER = 2.1

# moto can preload ~1,300 AWS managed policies into every IAM backend; that would bloat
# GetAccountAuthorizationDetails far beyond a real account. Seeding adds the two it uses.
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "false"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Counting middleware
# --------------------------------------------------------------------------------------


def _service_from_auth(environ: dict[str, Any]) -> str:
    """Service name from the SigV4 credential scope, e.g. 'iam', 'sts', 'secretsmanager'."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[3]
    except IndexError:
        return "unsigned"


# Actions moto 5.2.1 does not implement (it raises NotImplementedError, which werkzeug
# turns into a bare HTML 500; the AWS SDKs retry that as a transient error, with
# back-off). With --moto-gaps stub (the default) the middleware answers them itself with
# an empty, well-formed page, as an account without such credentials would, so that the
# timing reflects the tool and not retry back-off against an emulator gap.
IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
MOTO_GAP_STUBS = {
    "iam:ListServiceSpecificCredentials": (
        "text/xml",
        f'<ListServiceSpecificCredentialsResponse xmlns="{IAM_XMLNS}">'
        "<ListServiceSpecificCredentialsResult><ServiceSpecificCredentials/>"
        "<IsTruncated>false</IsTruncated></ListServiceSpecificCredentialsResult>"
        "<ResponseMetadata><RequestId>bench-stub</RequestId></ResponseMetadata>"
        "</ListServiceSpecificCredentialsResponse>",
    ),
}


class CountingMiddleware:
    """WSGI middleware counting requests per service:action, status, time and bytes.

    Requests to /moto-api/ (reset, seeding helpers) are counted apart, under
    ``control``, and never in the totals. Actions in ``stubs`` are answered by the
    middleware (and counted like any other) instead of moto.
    """

    def __init__(self, app: Any, stubs: dict[str, tuple[str, str]] | None = None) -> None:
        self.app = app
        self.stubs = stubs or {}
        self.lock = threading.Lock()
        self.reset()

    def _stub_app(self, action: str) -> Any:
        ctype, text = self.stubs[action]
        body = text.encode()

        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            start_response("200 OK", [("Content-Type", ctype),
                                      ("Content-Length", str(len(body)))])
            return [body]
        return app

    def reset(self) -> None:
        with self.lock:
            self.total = 0
            self.actions: Counter[str] = Counter()
            self.errors: Counter[str] = Counter()  # "action status" for status >= 400
            self.seconds: Counter[str] = Counter()
            self.bytes: Counter[str] = Counter()
            self.exceptions: dict[str, str] = {}
            self.control = 0
            self.in_flight = 0
            self.max_in_flight = 0
            self.busy_since = 0.0
            self.busy_seconds = 0.0  # wall time with at least one request in flight
            self.reset_at = time.perf_counter()
            self.idle_since: float | None = None
            self.first_request_after: float | None = None  # seconds after reset()
            self.longest_idle = 0.0  # longest gap with nothing in flight, between requests
            self.stubbed: Counter[str] = Counter()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "total": self.total,
                "actions": dict(sorted(self.actions.items())),
                "errors": dict(sorted(self.errors.items())),
                "exceptions": dict(sorted(self.exceptions.items())),
                "server_seconds": {k: round(v, 3) for k, v in sorted(self.seconds.items())},
                "response_bytes": dict(sorted(self.bytes.items())),
                "max_in_flight": self.max_in_flight,
                "busy_seconds": round(self.busy_seconds, 3),
                "first_request_after_seconds": None if self.first_request_after is None
                else round(self.first_request_after, 3),
                "longest_idle_seconds": round(self.longest_idle, 3),
                "stubbed": dict(sorted(self.stubbed.items())),
                "control_requests": self.control,
            }

    @staticmethod
    def _action(environ: dict[str, Any]) -> str:
        service = _service_from_auth(environ)
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:  # JSON protocol: "secretsmanager.ListSecrets"
            return f"{service}:{target.rsplit('.', 1)[-1]}"
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        if "Action" in query:
            return f"{service}:{query['Action'][0]}"
        body = environ.get("bench.body", b"")
        ctype = environ.get("CONTENT_TYPE", "")
        if body and "x-www-form-urlencoded" in ctype:
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            if "Action" in form:
                return f"{service}:{form['Action'][0]}"
        return f"{service}:{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '')}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            with self.lock:
                self.control += 1
            return self.app(environ, start_response)

        # Read the body once so the Action can be counted, then hand moto a fresh stream.
        length = environ.get("CONTENT_LENGTH") or ""
        stream = environ["wsgi.input"]
        if length.isdigit():
            body = stream.read(int(length))
        elif environ.get("wsgi.input_terminated"):
            body = stream.read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["bench.body"] = body
        action = self._action(environ)

        status_holder: list[str] = []

        def counting_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            status_holder.append(status)
            return start_response(status, headers, exc_info)

        started = time.perf_counter()
        with self.lock:
            if self.in_flight == 0:
                self.busy_since = started
                if self.first_request_after is None:
                    self.first_request_after = started - self.reset_at
                if self.idle_since is not None:
                    self.longest_idle = max(self.longest_idle, started - self.idle_since)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        app = self.app
        if action in self.stubs:
            app = self._stub_app(action)
            with self.lock:
                self.stubbed[action] += 1
        try:
            result = app(environ, counting_start_response)
            try:
                payload = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception as exc:
            # moto raised (e.g. NotImplementedError for an unimplemented action); werkzeug
            # turns this into a bare HTML 500. Record the reason once per action.
            with self.lock:
                self.exceptions.setdefault(action, f"{type(exc).__name__}: {exc}"[:200])
            raise
        finally:
            now = time.perf_counter()
            elapsed = now - started
            code = int(status_holder[0].split()[0]) if status_holder else 0
            with self.lock:
                self.in_flight -= 1
                if self.in_flight == 0:
                    self.busy_seconds += now - self.busy_since
                    self.idle_since = now
                self.total += 1
                self.actions[action] += 1
                self.seconds[action] += elapsed
                if code >= 400 or code == 0:  # 0: moto raised, werkzeug answers 500
                    self.errors[f"{action} {code or '500 (exception)'}"] += 1
        with self.lock:
            self.bytes[action] += len(payload)
        return [payload]


class Emulator:
    """moto in server mode in this process, on a free loopback port."""

    def __init__(self, stub_gaps: bool = True) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        # No per-request log lines, and no traceback per failing request: the middleware
        # counts error responses and keeps the exception text once per action.
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        self.counter = CountingMiddleware(DomainDispatcherApplication(create_backend_app),
                                          MOTO_GAP_STUBS if stub_gaps else None)
        self.server = make_server("127.0.0.1", 0, self.counter, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


# --------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------


CANARY_SECRET = "BENCHCANARYSECRET"
CANARY_PASSWORD = "BenchCanaryPassword"
MFA_SEED_RE = re.compile(r"[A-Z2-7]{64,}")  # runs of base32 long enough to hold a seed


def seed(users: int, secrets: int) -> tuple[dict[str, Any], set[str]]:
    """Fill moto's backends directly.

    Returns what was seeded (the expected counts) and the canaries: values the audit
    must never write anywhere (virtual MFA seeds, which moto's ListVirtualMFADevices
    returns, unlike AWS; console passwords and secret values carry a fixed prefix).
    """
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, iam_backends
    from moto.moto_api._internal import mock_random
    from moto.secretsmanager.models import secretsmanager_backends

    rng = random.Random(SEED + users)
    mock_random.seed(SEED + users)  # moto's own ids: access key ids, MFA seeds, ARNs
    iam = iam_backends[ACCOUNT_ID][PARTITION]
    sm = secretsmanager_backends[ACCOUNT_ID][REGION]

    # AWS managed policies are not loaded by default (MOTO_IAM_LOAD_MANAGED_POLICIES);
    # add only the two used, so GetAccountAuthorizationDetails stays realistic.
    managed = json.loads(aws_managed_policies_data)
    aws_policy = {}
    for name in ("AdministratorAccess", "ReadOnlyAccess"):
        pol = AWSManagedPolicy.from_data(name, ACCOUNT_ID, REGION, managed[name])
        iam.managed_policies[pol.arn] = pol
        iam.aws_managed_policies.append(pol)
        aws_policy[name] = pol.arn
    deploy = iam.create_policy(
        description="CI deploys",
        path="/",
        policy_document=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:*", "cloudfront:*"],
                           "Resource": "*"}],
        }),
        policy_name="deploy",
        tags=[],
    )

    groups = {"admins": aws_policy["AdministratorAccess"],
              "developers": deploy.arn,
              "readonly": aws_policy["ReadOnlyAccess"],
              "billing": None}
    for name, policy_arn in groups.items():
        iam.create_group(name, "/")
        if policy_arn:
            iam.attach_group_policy(policy_arn, name)

    counts: Counter[str] = Counter()
    mfa_seeds: set[str] = set()
    for i in range(users):
        name = f"user-{i:05d}"
        path = "/contractors/" if rng.random() < 0.2 else "/"
        tags = [{"Key": "team", "Value": rng.choice(["web", "data", "ops"])}] \
            if rng.random() < 0.3 else []
        iam.create_user(REGION, name, path, tags)
        counts["users"] += 1
        n_keys = 2 if rng.random() < 0.3 else 1
        for k in range(n_keys):
            status = "Inactive" if k == 1 and rng.random() < 0.3 else "Active"
            iam.create_access_key(name, status=status)
            counts["access_keys"] += 1
        if rng.random() < 0.3:
            device = iam.create_virtual_mfa_device(name, "/")
            mfa_seeds.add(device.base32_string_seed)
            iam.enable_mfa_device(name, device.serial_number, "123456", "654321")
            counts["mfa_devices"] += 1
        if rng.random() < 0.5:
            iam.create_login_profile(name, f"{CANARY_PASSWORD}{i:05d}!")
            counts["login_profiles"] += 1
        r = rng.random()
        if r < 0.1:
            iam.add_user_to_group("admins", name)
            counts["admins"] += 1
        elif r < 0.6:
            iam.add_user_to_group("developers", name)
        elif r < 0.8:
            iam.add_user_to_group("readonly", name)
        if rng.random() < 0.05:
            iam.add_user_to_group("billing", name)
    # A few unassigned virtual MFA devices, as in real accounts.
    for i in range(5):
        mfa_seeds.add(iam.create_virtual_mfa_device(f"spare-{i}", "/").base32_string_seed)

    def trust(principal: dict[str, Any], external_id: str | None = None) -> str:
        stmt: dict[str, Any] = {"Effect": "Allow", "Principal": principal,
                                "Action": "sts:AssumeRole"}
        if external_id:
            stmt["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
        return json.dumps({"Version": "2012-10-17", "Statement": [stmt]})

    n_roles = 20 + users // 100
    for i in range(n_roles):
        if i < 4:  # roles the agency can assume from its own account
            doc = trust({"AWS": f"arn:aws:iam::{OUTSIDE_ACCOUNT}:root"},
                        external_id="agency-ext-id" if i % 2 else None)
            counts["outside_trust_roles"] += 1
        elif i % 3 == 0:
            doc = trust({"Service": "lambda.amazonaws.com"})
        else:
            doc = trust({"Service": "ec2.amazonaws.com"})
        role = iam.create_role(f"role-{i:03d}", doc, "/", None, f"bench role {i}", [], None)
        iam.attach_role_policy(aws_policy["AdministratorAccess"] if i < 2 else deploy.arn,
                               role.name)
        counts["roles"] += 1

    for i in range(secrets):
        name = f"app/{rng.choice(['web', 'api', 'worker', 'db'])}/secret-{i:04d}"
        tags = [{"Key": "env", "Value": rng.choice(["prod", "staging"])},
                {"Key": "owner", "Value": rng.choice(["agency", "customer"])}] \
            if rng.random() < 0.4 else []
        sm.create_secret(
            name=name,
            secret_string=f"{CANARY_SECRET}{i:04d}x{rng.getrandbits(32):08x}",
            secret_binary=None,
            description=f"bench secret {i}",
            tags=tags,
            kms_key_id=None,
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        counts["secrets"] += 1
        if rng.random() < 0.2:
            principal = (f"arn:aws:iam::{OUTSIDE_ACCOUNT}:root" if rng.random() < 0.5
                         else f"arn:aws:iam::{ACCOUNT_ID}:role/role-004")
            sm.put_resource_policy(name, json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal},
                               "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
            }))
            counts["secret_policies"] += 1
    return dict(counts), mfa_seeds


def boto3_client(service: str, url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, endpoint_url=url, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=32),
    )


def check_visible(url: str, expected: dict[str, Any]) -> None:
    """The seeded data must be visible through the API before anything is timed."""
    iam = boto3_client("iam", url)
    users = iam.list_users()["Users"]  # moto returns every user in one page
    if len(users) != expected["users"]:
        sys.exit(f"FAIL: seeded {expected['users']} users, ListUsers shows {len(users)}")
    sm = boto3_client("secretsmanager", url)
    seen, token = 0, None
    for _ in range(expected["secrets"] // 100 + 2):  # bounded pagination
        page = sm.list_secrets(MaxResults=100, **({"NextToken": token} if token else {}))
        seen += len(page["SecretList"])
        token = page.get("NextToken")
        if not token:
            break
    if seen != expected["secrets"]:
        sys.exit(f"FAIL: seeded {expected['secrets']} secrets, ListSecrets shows {seen}")
    keys = iam.list_access_keys(UserName="user-00000")["AccessKeyMetadata"]
    if not keys:
        sys.exit("FAIL: user-00000 has no access key through the API")


# --------------------------------------------------------------------------------------
# Emulator ceiling
# --------------------------------------------------------------------------------------


def ceiling_client(url: str, requests: int, threads: int, users: int) -> None:
    """Child-process mode: fire `requests` GetUser calls, print elapsed seconds as JSON."""
    per_thread = [requests // threads + (1 if t < requests % threads else 0)
                  for t in range(threads)]
    clients = [boto3_client("iam", url) for _ in range(threads)]
    errors: list[str] = []

    def work(t: int) -> None:
        rng = random.Random(t)
        for _ in range(per_thread[t]):
            try:
                clients[t].get_user(UserName=f"user-{rng.randrange(users):05d}")
            except Exception as exc:  # report, do not retry
                errors.append(repr(exc))

    clients[0].get_user(UserName="user-00000")  # warm up (connection, loaders)
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    print(json.dumps({"requests": requests, "seconds": elapsed, "errors": len(errors),
                      "first_error": errors[0] if errors else None}))


def measure_ceiling(emu: Emulator, requests: int, threads: int, users: int) -> dict[str, Any]:
    emu.counter.reset()
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--ceiling-client", emu.url,
         "--ceiling-requests", str(requests), "--ceiling-threads", str(threads),
         "--sizes", str(users)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    if out.returncode != 0:
        sys.exit(f"FAIL: ceiling client failed:\n{out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    counted = emu.counter.snapshot()["actions"].get("iam:GetUser", 0)
    if res["errors"]:
        log(f"WARNING: {res['errors']} ceiling requests failed, first: {res['first_error']}")
    return {"requests": res["requests"], "counted_at_server": counted,
            "threads": threads, "seconds": round(res["seconds"], 3),
            "requests_per_second": round(res["requests"] / res["seconds"], 1)}


# --------------------------------------------------------------------------------------
# Running the tool
# --------------------------------------------------------------------------------------


def child_env(url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("HOME", "RUST_LOG")}
    env.update({
        "HOME": str(home),
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
    })
    return env


def run_child(cmd: list[str], env: dict[str, str], workdir: Path,
              timeout: float) -> dict[str, Any]:
    """Run cmd, returning exit code, wall seconds and the child's peak RSS in KiB."""
    time_bin = shutil.which("time", path="/usr/bin")
    rss_file = workdir / "maxrss"
    full = [time_bin, "-f", "%M", "-o", str(rss_file), *cmd] if time_bin else cmd
    with open(workdir / "stdout", "wb") as out, open(workdir / "stderr", "wb") as err:
        started = time.perf_counter()
        # Own process group, so a timeout kills handover and not only /usr/bin/time.
        proc = subprocess.Popen(full, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, cwd=workdir, start_new_session=True)
        timer = threading.Timer(timeout, os.killpg, args=(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it is reaped
    if time_bin and rss_file.exists() and rss_file.read_text().strip().isdigit():
        rss_kib, rss_source = int(rss_file.read_text().strip()), "/usr/bin/time"
    else:
        rss_kib, rss_source = usage.ru_maxrss, "wait4"
    return {"exit": proc.returncode, "wall": wall, "rss_kib": rss_kib,
            "rss_source": rss_source, "timed_out": wall >= timeout}


def check_no_canaries(texts: dict[str, str], mfa_seeds: set[str]) -> None:
    """DESIGN.md property 1: no secret value in any output. Fail loudly on a leak."""
    leaks = []
    for where, text in texts.items():
        for marker in (CANARY_SECRET, CANARY_PASSWORD):
            if marker in text:
                leaks.append(f"{where} holds a seeded {marker} value")
        runs = MFA_SEED_RE.findall(text)
        hits = {seed for run in runs for seed in mfa_seeds if seed in run} if runs else set()
        if hits:
            leaks.append(f"{where} holds {len(hits)} virtual MFA seed(s) (Base32StringSeed)")
    if leaks:
        sys.exit("FAIL: SECRET MATERIAL IN THE TOOL'S OUTPUT: " + "; ".join(leaks))


# inventory credential kind -> seeded count it should equal (a mismatch is a warning)
EXPECTED_KINDS = {"access-key": "access_keys", "console-password": "login_profiles",
                  "mfa-device": "mfa_devices", "role-trust": "outside_trust_roles"}


def check_output(out_json: Path, expected: dict[str, Any]) -> dict[str, Any]:
    try:
        doc = json.loads(out_json.read_text())
    except (OSError, ValueError) as exc:
        sys.exit(f"FAIL: the audit output {out_json} is not readable JSON: {exc}")
    for key in ("principals", "credentials", "secrets"):
        if not isinstance(doc.get(key), list):
            sys.exit(f"FAIL: the audit output has no `{key}` array "
                     f"(top-level keys: {sorted(doc) if isinstance(doc, dict) else type(doc)})")
    iam_users = sum(1 for p in doc["principals"] if p.get("kind") == "iam-user")
    secrets = len(doc["secrets"])
    problems = []
    if iam_users != expected["users"]:
        problems.append(f"{iam_users} iam-user principals, seeded {expected['users']}")
    if secrets != expected["secrets"]:
        problems.append(f"{secrets} secrets, seeded {expected['secrets']}")
    if problems:
        sys.exit("FAIL: the audit output does not match the seeded account: "
                 + "; ".join(problems))
    by_kind = Counter(str(c.get("kind")) for c in doc["credentials"])
    for kind, key in EXPECTED_KINDS.items():
        if by_kind.get(kind, 0) != expected.get(key, 0):
            log(f"WARNING: {by_kind.get(kind, 0)} `{kind}` credentials in the output, "
                f"seeded {expected.get(key, 0)} ({key})")
    return {
        "iam_users": iam_users,
        "secrets": secrets,
        "principals_by_kind": dict(sorted(Counter(str(p.get("kind")) for p in doc["principals"]).items())),
        "credentials_by_kind": dict(sorted(by_kind.items())),
    }


def run_audit(binary: Path, emu: Emulator, expected: dict[str, Any], mfa_seeds: set[str],
              timeout: float, keep: Path | None, extra: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="handover-bench-") as tmp:
        work = Path(tmp)
        home = work / "home"
        home.mkdir()
        out_json = work / "inventory.json"
        cmd = [str(binary), "audit", "--aws", "--region", REGION, "--format", "json",
               "-o", str(out_json), "--force", *extra]
        emu.counter.reset()
        res = run_child(cmd, child_env(emu.url, home), work, timeout)
        counted = emu.counter.snapshot()
        if res["exit"] != 0:
            tail = (work / "stderr").read_text(errors="replace")[-3000:]
            sys.exit(f"FAIL: `{' '.join(cmd)}` exited {res['exit']}"
                     f"{' (timed out)' if res['timed_out'] else ''}; stderr tail:\n{tail}")
        summary = check_output(out_json, expected)
        check_no_canaries({name: (work / name).read_text(errors="replace")
                           for name in ("inventory.json", "stdout", "stderr")}, mfa_seeds)
        if keep:
            shutil.copy(out_json, keep)
    users, secrets = expected["users"], expected["secrets"]
    total = counted["total"]
    return {
        "wall_seconds": round(res["wall"], 3),
        "peak_rss_mib": round(res["rss_kib"] / 1024, 1),
        "rss_source": res["rss_source"],
        "requests": total,
        "requests_per_user": round(total / users, 3),
        "requests_minus_secrets_per_user": round((total - secrets) / users, 3),
        # Wall time during which moto had at least one request of the tool in flight;
        # wall_seconds minus this is time the tool spent with no request open.
        "server_busy_seconds": counted["busy_seconds"],
        "first_request_after_seconds": counted["first_request_after_seconds"],
        "longest_idle_seconds": counted["longest_idle_seconds"],
        "stubbed": counted["stubbed"],
        "max_in_flight": counted["max_in_flight"],
        "actions": counted["actions"],
        "errors": counted["errors"],
        "exceptions": counted["exceptions"],
        "server_seconds": counted["server_seconds"],
        "response_bytes": counted["response_bytes"],
        "output": summary,
    }


# --------------------------------------------------------------------------------------
# Driver and report
# --------------------------------------------------------------------------------------


def bench_size(emu: Emulator, binary: Path | None, users: int, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"users": users, "secrets": args.secrets, "runs": [],
                              "ceilings": []}
    for run in range(max(1, args.runs)):
        emu.reset()
        t0 = time.perf_counter()
        seeded, mfa_seeds = seed(users, args.secrets)
        seed_s = time.perf_counter() - t0
        check_visible(emu.url, seeded)
        if run == 0:
            result["seeded"] = seeded
            log(f"{users} users: seeded in {seed_s:.1f}s: {seeded}")
        # Measured right before each run: the machine's speed drifts (other jobs).
        ceiling = measure_ceiling(emu, args.ceiling_requests, args.ceiling_threads, users)
        result["ceilings"].append(ceiling)
        log(f"{users} users: emulator ceiling {ceiling['requests_per_second']} req/s "
            f"({ceiling['requests']} GetUser, {ceiling['threads']} threads)")
        if binary is None:
            continue
        keep = Path(args.keep_output) / f"inventory-{users}-{run + 1}.json" if args.keep_output else None
        r = run_audit(binary, emu, seeded, mfa_seeds, args.timeout, keep, args.tool_arg)
        r["ceiling_requests_per_second"] = ceiling["requests_per_second"]
        r["expected_wall_at_ceiling"] = round(r["requests"] / ceiling["requests_per_second"], 3)
        r["wall_over_ceiling_time"] = round(r["wall_seconds"] / r["expected_wall_at_ceiling"], 2)
        log(f"{users} users run {run + 1}/{args.runs}: {r['wall_seconds']}s, "
            f"{r['requests']} requests, {r['peak_rss_mib']} MiB, moto busy "
            f"{r['server_busy_seconds']}s, up to {r['max_in_flight']} requests in flight, "
            f"longest idle gap {r['longest_idle_seconds']}s"
            + (f", stubbed {r['stubbed']}" if r["stubbed"] else "")
            + (f", ERRORS {r['errors']}" if r["errors"] else ""))
        result["runs"].append(r)
    result["ceiling_requests_per_second"] = round(statistics.median(
        c["requests_per_second"] for c in result["ceilings"]), 1)
    runs = result["runs"]
    if runs:
        med = {k: round(statistics.median(r[k] for r in runs), 3)
               for k in ("wall_seconds", "peak_rss_mib", "requests", "requests_per_user",
                         "requests_minus_secrets_per_user", "server_busy_seconds",
                         "longest_idle_seconds", "expected_wall_at_ceiling",
                         "wall_over_ceiling_time")}
        if float(med["requests"]).is_integer():
            med["requests"] = int(med["requests"])
        med["within_budget"] = med["requests_minus_secrets_per_user"] <= BUDGET_PER_USER
        result["median"] = med
        result["request_counts_stable"] = len({json.dumps(r["actions"]) for r in runs}) == 1
        mid = sorted(runs, key=lambda r: r["wall_seconds"])[len(runs) // 2]
        result["actions_median_run"] = mid["actions"]
        result["errors_median_run"] = mid["errors"]
        result["server_seconds_median_run"] = mid["server_seconds"]
    return result


def print_table(results: list[dict[str, Any]], binary_kind: str) -> None:
    print(f"\nhandover audit --aws against moto (medians; binary: {binary_kind})")
    head = ("users", "secrets", "wall s", "moto busy s", "RSS MiB", "requests", "req/user",
            "(req-sec)/user", "budget", "ceiling r/s", "req/ceiling s", "wall/that")
    rows = []
    for res in results:
        m = res.get("median")
        if not m:
            rows.append((res["users"], res["secrets"], "-", "-", "-", "-", "-", "-", "-",
                         res["ceiling_requests_per_second"], "-", "-"))
            continue
        rows.append((res["users"], res["secrets"], m["wall_seconds"], m["server_busy_seconds"],
                     m["peak_rss_mib"],
                     m["requests"], m["requests_per_user"], m["requests_minus_secrets_per_user"],
                     "ok" if m["within_budget"] else f"OVER {BUDGET_PER_USER}",
                     res["ceiling_requests_per_second"], m["expected_wall_at_ceiling"],
                     m["wall_over_ceiling_time"]))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for row in (head, *rows):
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths)))
    for res in results:
        if "actions_median_run" not in res:
            continue
        print(f"\nrequests per action at {res['users']} users (median run; "
              "mean server latency per request):")
        for action, n in sorted(res["actions_median_run"].items(), key=lambda kv: (-kv[1], kv[0])):
            secs = res["server_seconds_median_run"].get(action, 0)
            print(f"  {n:7d}  {action:45s} {1000 * secs / n:9.1f} ms")
        if res["errors_median_run"]:
            print(f"  error responses: {res['errors_median_run']}")
        if not res["request_counts_stable"]:
            print("  NOTE: per-action request counts differed between runs")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,5000", help="comma-separated IAM user counts")
    p.add_argument("--secrets", type=int, default=500, help="secrets to seed (default 500)")
    p.add_argument("--runs", type=int, default=3, help="audit runs per size; medians reported")
    p.add_argument("--json", metavar="FILE", help="write all results as JSON to FILE")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per audit run")
    p.add_argument("--ceiling-requests", type=int, default=2000)
    p.add_argument("--ceiling-threads", type=int, default=4)
    p.add_argument("--no-audit", action="store_true",
                   help="only seed, check and measure the ceiling (no handover binary needed)")
    p.add_argument("--keep-output", metavar="DIR", help="copy each run's inventory JSON here")
    p.add_argument("--tool-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for `handover audit` (repeat), e.g. --tool-arg=-vvv "
                        "to run the secret-canary check on trace logs (timings then mean little)")
    p.add_argument("--moto-gaps", choices=("stub", "raw"), default="stub",
                   help="stub (default): answer actions moto does not implement "
                        f"({', '.join(MOTO_GAP_STUBS)}) with an empty page; "
                        "raw: let moto's HTTP 500 through")
    p.add_argument("--ceiling-client", metavar="URL", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    try:
        args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        p.error("--sizes takes comma-separated integers")
    if not args.size_list or min(args.size_list) < 1 or args.secrets < 0 or args.runs < 1:
        p.error("sizes must be >= 1, secrets >= 0, runs >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.ceiling_client:
        ceiling_client(args.ceiling_client, args.ceiling_requests, args.ceiling_threads,
                       args.size_list[0])
        return 0
    binary, kind = (None, "none (--no-audit)") if args.no_audit else find_binary()
    if binary:
        log(f"binary: {binary} ({kind})")
    if args.keep_output:
        Path(args.keep_output).mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    if load_start[0] > 0.5 * (os.cpu_count() or 1):
        log(f"WARNING: the machine is busy (load average {load_start[0]:.2f} on "
            f"{os.cpu_count()} CPUs): timings will be noisy")
    emu = Emulator(stub_gaps=args.moto_gaps == "stub")
    log(f"moto serving on {emu.url} (moto gaps: {args.moto_gaps})")
    results = []
    try:
        for users in args.size_list:
            results.append(bench_size(emu, binary, users, args))
    finally:
        emu.close()
    print_table(results, kind)
    if args.json:
        doc = {
            "benchmark": "aws_audit",
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "binary": str(binary) if binary else None,
            "binary_kind": kind,
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                        "moto": __import__("moto").__version__,
                        "loadavg_1m_start": round(load_start[0], 2),
                        "loadavg_1m_end": round(os.getloadavg()[0], 2)},
            "budget_requests_per_user_plus_one_per_secret": BUDGET_PER_USER,
            "moto_gaps": args.moto_gaps,
            "stubbed_actions": sorted(MOTO_GAP_STUBS) if args.moto_gaps == "stub" else [],
            "results": results,
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
        log(f"wrote {args.json}")
    over = [r["users"] for r in results if r.get("median") and not r["median"]["within_budget"]]
    if over:
        log(f"OVER BUDGET at sizes {over}: more than {BUDGET_PER_USER} requests per user "
            "plus one per secret")
    return 0


if __name__ == "__main__":
    sys.exit(main())
