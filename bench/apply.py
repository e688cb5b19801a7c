#!/usr/bin/env python3
"""Benchmark of `handover apply --apply`: N AWS access-key revocations and N GCP binding
removals over R resources, each plan made by the tool itself (seed, audit, plan), against
a sequential boto3 / gcloud-style loop doing the same writes on the same emulators.

    .venv/bin/python bench/apply.py --sizes 100,1000 --resources 50 --runs 3 \
        --json bench/apply-SIZE.json

Per size and run, for each cloud: the emulator is reset and seeded, `handover audit` and
`handover plan` (policies/full-transfer.yaml) make the plan (untimed), its revocations
are counted (N exactly, or the run fails), then `handover apply --plan P --apply --approve
DIGEST --journal J` is timed with the server's request counter zeroed first. The end
state is checked (every planned key Inactive; no agency member left on any resource,
every customer member kept). The emulator is then reset and seeded again and the
baseline loop (a separate Python process, so its RSS is its own) makes the same changes:
AWS `UpdateAccessKey Status=Inactive` per key; GCP `getIamPolicy` + `setIamPolicy` per
binding (what `gcloud ... remove-iam-policy-binding` does), checked the same way.

Seed (deterministic): AWS: N/2 users `dev-NNNNN.agency` (the config's agency name
pattern), each with two active access keys; one customer admin `ops.customer` (AdministratorAccess, one active key: the plan refuses
to leave the account without one). GCP:
project `bench-apply`, R service accounts, each with a policy of N/R agency users
(`user:dev-NNNNN@northwind-agency.example`, role `roles/iam.serviceAccountTokenCreator`)
and one customer user in the same role (kept); a project policy with a customer owner.

Everything stays on loopback; moto runs in this process (aws_audit's counting
middleware), gcp-test-server as a child (it counts per route). Needs only the repo's
venv. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.pop("MOTO_ACCOUNT_ID", None)

from aws_audit import Emulator, boto3_client  # noqa: E402
from aws_audit import child_env as aws_env  # noqa: E402
from gcp_audit import TestServer, run_child  # noqa: E402
from gcp_audit import child_env as gcp_env  # noqa: E402
from binaries import find_binary, find_server_binary  # noqa: E402

# The customer's admin holds AWS's AdministratorAccess (aws_audit turns loading them off).
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"  # moto's default account
PROJECT = "bench-apply"
PROJECT_NUMBER = "515151515151"
AGENCY_DOMAIN = "northwind-agency.example"
ROLE = "roles/iam.serviceAccountTokenCreator"
# The journal's key comes from the agency's SSH key (-i); the example's is fine here.
KEYS = REPO / "examples/northwind-to-contoso/keys"
SIGNING_PUB = (KEYS / "northwind-signing.pub").read_text().strip()
CONFIG = f"""scenario = "full-transfer"
handover_date = "2026-11-01"

[agency]
name = "Northwind"
email_domains = ["{AGENCY_DOMAIN}"]
name_patterns = ["*.agency"]
aws_accounts = ["210987654321"]
signing_key = "{SIGNING_PUB}"

[customer]
name = "Contoso"
email_domains = ["contoso.example"]
aws_accounts = ["{ACCOUNT}"]
gcp_projects = ["{PROJECT}"]
name_patterns = ["*.customer"]

[recipients]
keys = ["age18klx6qvl4ek08nhknlpyh5xatrlzf2e2jjngf32d05a5yrvhepcswq3sj3"]
"""


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fail(msg: str) -> None:
    raise SystemExit(f"FAIL: {msg}")


def tool(binary: Path, args: list[str], env: dict[str, str], work: Path, timeout: float,
         ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
    r = run_child([str(binary), *args], env, work, timeout)
    if r["exit"] not in ok:
        err = (work / "stderr").read_text(errors="replace")[-3000:]
        fail(f"handover {args[0]} exited {r['exit']}:\n{err}")
    return r


def plan_steps(plan: Path, kind: str) -> list[dict[str, Any]]:
    doc = json.loads(plan.read_text())
    return [s for s in doc["steps"] if s["action"] == "revoke"
            and s["target"].get("what") == kind]


def make_plan(binary: Path, env: dict[str, str], work: Path, audit: list[str],
              kind: str, n: int) -> tuple[Path, str]:
    """Audit and plan with the tool itself; the plan must hold exactly n revocations."""
    (work / "handover.toml").write_text(CONFIG)
    inv, plan = work / "inventory.json", work / "plan.json"
    tool(binary, ["audit", *audit, "--format", "json", "-o", str(inv), "--force"], env, work, 1800)
    tool(binary, ["plan", "--format", "json", "--policy", str(REPO / "policies/full-transfer.yaml"),
                  "--inventory", str(inv), "--config", str(work / "handover.toml"),
                  "-o", str(plan), "--force"], env, work, 600)
    got = len(plan_steps(plan, kind))
    if got != n:
        fail(f"the plan holds {got} {kind} revocations, not {n}")
    return plan, json.loads(plan.read_text())["digest"]


def apply_args(plan: Path, digest: str, work: Path, extra: list[str]) -> list[str]:
    # Exit 8 (incomplete) only when something is left; every step here is carried out.
    return ["apply", "--plan", str(plan), "--apply", "--approve", digest, "--format", "json",
            "--journal", str(work / "journal"), "--config", str(work / "handover.toml"),
            "-i", str(KEYS / "northwind-signing"), *extra]


def outcomes(work: Path) -> dict[str, int]:
    return json.loads((work / "stdout").read_text())["summary"]


# --------------------------------------------------------------------------------------
# AWS
# --------------------------------------------------------------------------------------


def aws_seed(url: str, n: int) -> list[tuple[str, str]]:
    iam = boto3_client("iam", url)
    keys = []
    iam.create_user(UserName="ops.customer")
    iam.create_access_key(UserName="ops.customer")
    iam.attach_user_policy(UserName="ops.customer",
                           PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    for u in range(n // 2):
        name = f"dev-{u:05d}.agency"
        iam.create_user(UserName=name)
        for _ in range(2):
            keys.append((name, iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]))
    return keys


def aws_check(url: str, keys: list[tuple[str, str]]) -> None:
    iam = boto3_client("iam", url)
    want = {k for _, k in keys}
    for user in sorted({u for u, _ in keys}):
        for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            if k["AccessKeyId"] in want and k["Status"] != "Inactive":
                fail(f"{k['AccessKeyId']} of {user} is still {k['Status']}")
    if iam.list_access_keys(UserName="ops.customer")["AccessKeyMetadata"][0]["Status"] != "Active":
        fail("the customer's key was touched")


AWS_BASELINE = """
import json, sys, boto3
from botocore.config import Config
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing",
                   config=Config(retries={"max_attempts": 1}))
for user, key in json.load(open(sys.argv[2])):
    iam.update_access_key(UserName=user, AccessKeyId=key, Status="Inactive")
"""


def aws_round(emu: Emulator, binary: Path, n: int, work: Path, args: argparse.Namespace) -> dict:
    emu.reset()
    keys = aws_seed(emu.url, n)
    env = aws_env(emu.url, work)
    plan, digest = make_plan(binary, env, work, ["--aws", "--region", "us-east-1"], "access-key", n)
    emu.counter.reset()
    r = tool(binary, apply_args(plan, digest, work, args.tool_arg), env, work, args.timeout)
    snap = emu.counter.snapshot()
    summary = outcomes(work)
    if summary.get("done", 0) != n:
        fail(f"AWS apply: {summary}, not {n} done")
    aws_check(emu.url, keys)
    tool_run = {"wall": r["wall"], "rss_kib": r["rss_kib"], "requests": snap["total"],
                "actions": snap["actions"], "errors": snap["errors"], "outcomes": summary}
    # Baseline: same keys, fresh seed.
    emu.reset()
    keys = aws_seed(emu.url, n)
    (work / "keys.json").write_text(json.dumps(keys))
    emu.counter.reset()
    b = run_child([sys.executable, "-c", AWS_BASELINE, emu.url, str(work / "keys.json")],
                  env, work, args.timeout)
    if b["exit"] != 0:
        fail("AWS baseline: " + (work / "stderr").read_text()[-2000:])
    snap = emu.counter.snapshot()
    aws_check(emu.url, keys)
    return {"tool": tool_run, "baseline": {"wall": b["wall"], "rss_kib": b["rss_kib"],
                                           "requests": snap["total"], "actions": snap["actions"]}}


# --------------------------------------------------------------------------------------
# GCP
# --------------------------------------------------------------------------------------


def sa_email(i: int) -> str:
    return f"bench-sa-{i:03d}@{PROJECT}.iam.gserviceaccount.com"


def gcp_seed(server: TestServer, n: int, resources: int) -> None:
    server.reset()
    server.admin_seed({"projects": [{"projectId": PROJECT, "projectNumber": PROJECT_NUMBER,
                                     "displayName": "Bench apply"}]})
    api, base = server.api, f"/v1/projects/{PROJECT}"
    api.call("POST", f"{base}:setIamPolicy", {"policy": {"version": 3, "bindings": [
        {"role": "roles/owner", "members": ["user:owner@contoso.example"]}]}})
    per = n // resources
    for i in range(resources):
        api.call("POST", f"{base}/serviceAccounts",
                 {"accountId": f"bench-sa-{i:03d}", "serviceAccount": {"displayName": "bench"}})
        members = [f"user:dev-{i * per + j:05d}@{AGENCY_DOMAIN}" for j in range(per)]
        api.call("POST", f"{base}/serviceAccounts/{sa_email(i)}:setIamPolicy", {"policy": {
            "version": 3, "bindings": [{"role": ROLE, "members": ["user:ci@contoso.example", *members]}]}})


def gcp_check(server: TestServer, resources: int) -> None:
    for i in range(resources):
        p = server.api.call("POST", f"/v1/projects/{PROJECT}/serviceAccounts/{sa_email(i)}:getIamPolicy",
                            {"options": {"requestedPolicyVersion": 3}})
        members = [m for b in p.get("bindings", []) for m in b["members"]]
        if members != ["user:ci@contoso.example"]:
            fail(f"{sa_email(i)} holds {members} after apply")


GCP_BASELINE = """
import http.client, json, sys
host, port, project = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conn = http.client.HTTPConnection(host, port, timeout=60)
def call(path, body):
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = conn.getresponse(); raw = r.read()
    if r.status != 200: raise SystemExit(f"{path}: {r.status} {raw[:300]!r}")
    return json.loads(raw)
# gcloud iam service-accounts remove-iam-policy-binding: read (v3), edit, write with the etag.
for email, member, role in json.load(open(sys.argv[4])):
    res = f"/v1/projects/{project}/serviceAccounts/{email}"
    p = call(res + ":getIamPolicy", {"options": {"requestedPolicyVersion": 3}})
    for b in p.get("bindings", []):
        if b["role"] == role and member in b["members"]:
            b["members"].remove(member)
    p["bindings"] = [b for b in p.get("bindings", []) if b["members"]]
    p["version"] = 3
    call(res + ":setIamPolicy", {"policy": p})
"""


def route_counts(server: TestServer) -> dict[str, int]:
    return {k: v for k, v in server.counts().get("byRoute", {}).items() if v}


def gcp_round(server: TestServer, binary: Path, n: int, work: Path, args: argparse.Namespace) -> dict:
    gcp_seed(server, n, args.resources)
    env = gcp_env(work)
    ep = ["--gcp-endpoint", server.url]
    plan, digest = make_plan(binary, env, work, ["--gcp-project", PROJECT, *ep], "gcp-iam-binding", n)
    server.zero_counts()
    r = tool(binary, apply_args(plan, digest, work, [*ep, *args.tool_arg]), env, work, args.timeout)
    counts = route_counts(server)
    summary = outcomes(work)
    if summary.get("done", 0) != n:
        fail(f"GCP apply: {summary}, not {n} done")
    gcp_check(server, args.resources)
    tool_run = {"wall": r["wall"], "rss_kib": r["rss_kib"], "requests": sum(counts.values()),
                "actions": counts, "outcomes": summary}
    gcp_seed(server, n, args.resources)
    per = n // args.resources
    todo = [(sa_email(i), f"user:dev-{i * per + j:05d}@{AGENCY_DOMAIN}", ROLE)
            for i in range(args.resources) for j in range(per)]
    (work / "bindings.json").write_text(json.dumps(todo))
    server.zero_counts()
    b = run_child([sys.executable, "-c", GCP_BASELINE, server.host, str(server.port), PROJECT,
                   str(work / "bindings.json")], env, work, args.timeout)
    if b["exit"] != 0:
        fail("GCP baseline: " + (work / "stderr").read_text()[-2000:])
    counts = route_counts(server)
    gcp_check(server, args.resources)
    return {"tool": tool_run, "baseline": {"wall": b["wall"], "rss_kib": b["rss_kib"],
                                           "requests": sum(counts.values()), "actions": counts}}


# --------------------------------------------------------------------------------------


def median_of(runs: list[dict], who: str, field: str) -> float:
    return statistics.median(r[who][field] for r in runs)


def print_table(results: list[dict[str, Any]], build: str) -> None:
    print(f"\nhandover build: {build}; medians of the runs; requests counted at the server\n")
    print("| cloud | changes | resources | who | wall s | peak RSS MiB | requests | req/change |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for res in results:
        for who in ("tool", "baseline"):
            runs = res["runs"]
            req = median_of(runs, who, "requests")
            print(f"| {res['cloud']} | {res['n']:,} | {res['resources'] or '-'} | "
                  f"{'handover apply' if who == 'tool' else 'sequential loop'} | "
                  f"{median_of(runs, who, 'wall'):.2f} | {median_of(runs, who, 'rss_kib') / 1024:.1f} | "
                  f"{req:,.0f} | {req / res['n']:.3f} |")
    print()
    for res in results:
        print(f"{res['cloud']} {res['n']:,}: handover apply requests by action: "
              f"{json.dumps(res['runs'][0]['tool']['actions'])}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000", help="changes per cloud, comma-separated")
    ap.add_argument("--resources", type=int, default=50, help="GCP resources the removals spread over")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clouds", default="aws,gcp")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--tmp", type=Path, default=None,
                    help="where each run's directory (plan, journal) goes; default the system's "
                         "temporary directory (e.g. /dev/shm to take disk flushes out)")
    ap.add_argument("--tool-arg", action="append", default=[],
                    help="extra argument for `handover apply` (repeatable)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if any(n % 2 or n % args.resources for n in sizes):
        fail(f"each size must be even and a multiple of --resources ({args.resources})")
    binary, build = find_binary()
    clouds = args.clouds.split(",")
    emu = Emulator() if "aws" in clouds else None
    server = TestServer(find_server_binary()) if "gcp" in clouds else None
    results = []
    try:
        for n in sizes:
            for cloud in clouds:
                runs = []
                for k in range(args.runs):
                    with tempfile.TemporaryDirectory(prefix="bench-apply-", dir=args.tmp) as d:
                        log(f"{cloud} {n} changes, run {k + 1}/{args.runs}")
                        one = (aws_round(emu, binary, n, Path(d), args) if cloud == "aws"
                               else gcp_round(server, binary, n, Path(d), args))
                        log(f"  tool {one['tool']['wall']:.2f} s, {one['tool']['requests']} req; "
                            f"loop {one['baseline']['wall']:.2f} s, {one['baseline']['requests']} req")
                        runs.append(one)
                results.append({"cloud": cloud, "n": n, "resources": args.resources if cloud == "gcp" else None,
                                "runs": runs})
    finally:
        if emu:
            emu.close()
        if server:
            server.stop()
    print_table(results, build)
    if args.json:
        args.json.write_text(json.dumps({"build": build, "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
