#!/usr/bin/env python3
"""AWS Organization audit benchmark for `handover audit --aws --org` (run by hand).

An organization of ``--accounts`` accounts (default 20: the management account plus
members made by CreateAccount) with ``--users`` IAM users each (default 200), seeded
through moto's backends exactly as ``bench/aws_audit.py`` seeds one account (its
``seed()``, once per account id), ``--secrets`` secrets each. moto serves in this
process without ``MOTO_ACCOUNT_ID`` (its multi-account mode: credentials from
AssumeRole into a member's role act in that member), behind aws_audit.py's counting
middleware. Then ``handover audit --aws --org --region us-east-1`` runs once per
``--runs``; reported: wall time, peak RSS, requests in total, requests per IAM user
(the per-user actions only), requests per account that do not depend on its users or
secrets (the fixed cost of entering and reading an account), per secret, and the
organization reads; the emulator's ceiling (cheap GetUser calls per second) gives the
wall time the requests alone would take.

Usage (from the repository root):

    .venv/bin/python bench/aws_org.py --accounts 20 --users 200 --secrets 5 --runs 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aws_audit as one  # noqa: E402  (the single-account benchmark's seed and server)
from binaries import find_binary  # noqa: E402

PER_USER = {"iam:ListAccessKeys", "iam:ListSSHPublicKeys", "iam:ListSigningCertificates",
            "iam:ListMFADevices", "iam:GetLoginProfile"}
PER_SECRET = {"secretsmanager:GetResourcePolicy"}


def org_action(action: str) -> bool:
    return action.startswith("organizations:")


def seed_org(url: str, accounts: int, users: int, secrets: int) -> list[str]:
    """The organization through the API, then every account's IAM through the backends."""
    org = one.boto3_client("organizations", url)
    org.create_organization(FeatureSet="ALL")
    ids = [one.ACCOUNT_ID]
    for i in range(accounts - 1):
        st = org.create_account(Email=f"aws-{i:02d}@contoso.example", AccountName=f"member-{i:02d}")
        ids.append(st["CreateAccountStatus"]["AccountId"])
    for acct in ids:
        one.ACCOUNT_ID = acct  # seed() reads it per call
        one.seed(users, secrets)
    one.ACCOUNT_ID = ids[0]
    return ids


def run_once(binary: Path, emu: one.Emulator, args: argparse.Namespace) -> dict:
    emu.reset()
    t0 = time.perf_counter()
    ids = seed_org(emu.url, args.accounts, args.users, args.secrets)
    one.log(f"seeded {len(ids)} accounts x {args.users} users in {time.perf_counter() - t0:.1f}s")
    ceiling = one.measure_ceiling(emu, args.ceiling_requests, args.ceiling_threads, args.users)
    with tempfile.TemporaryDirectory(prefix="handover-bench-org-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        out = work / "inventory.json"
        cmd = [str(binary), "audit", "--aws", "--org", "--region", one.REGION,
               "--format", "json", "-o", str(out), "--force", "--no-progress"]
        emu.counter.reset()
        res = one.run_child(cmd, one.child_env(emu.url, work / "home"), work, args.timeout)
        counted = emu.counter.snapshot()
        if res["exit"] != 0:
            sys.exit(f"FAIL: exit {res['exit']}: {(work / 'stderr').read_text()[-2000:]}")
        doc = json.loads(out.read_text())
    iam_users = sum(1 for p in doc["principals"] if p["kind"] == "iam-user")
    total_users = args.users * args.accounts
    if len(doc["sources"]) != args.accounts or iam_users != total_users:
        sys.exit(f"FAIL: {len(doc['sources'])} accounts and {iam_users} users read, "
                 f"seeded {args.accounts} and {total_users}")
    acts = counted["actions"]
    per_user = sum(v for k, v in acts.items() if k in PER_USER)
    per_secret = sum(v for k, v in acts.items() if k in PER_SECRET)
    org_reads = sum(v for k, v in acts.items() if org_action(k))
    fixed = counted["total"] - per_user - per_secret - org_reads
    wall_at_ceiling = counted["total"] / ceiling["requests_per_second"]
    return {
        "accounts": args.accounts, "users_per_account": args.users,
        "secrets_per_account": args.secrets,
        "wall_seconds": round(res["wall"], 2), "peak_rss_mib": round(res["rss_kib"] / 1024, 1),
        "requests": counted["total"],
        "requests_per_user": round(per_user / total_users, 3),
        "requests_per_user_all_in": round((counted["total"] - per_secret) / total_users, 3),
        "fixed_requests_per_account": round(fixed / args.accounts, 2),
        "requests_per_secret": round(per_secret / max(1, args.secrets * args.accounts), 2),
        "organization_requests": org_reads,
        "ceiling_requests_per_second": ceiling["requests_per_second"],
        "wall_over_ceiling_time": round(res["wall"] / wall_at_ceiling, 2),
        "max_in_flight": counted["max_in_flight"],
        "errors": counted["errors"], "stubbed": counted["stubbed"], "actions": acts,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--accounts", type=int, default=20)
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--secrets", type=int, default=5)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--ceiling-requests", type=int, default=2000)
    p.add_argument("--ceiling-threads", type=int, default=4)
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args()
    if not 1 <= args.accounts <= 200 or not 0 <= args.users <= 10_000:
        sys.exit("--accounts must be 1-200 and --users 0-10000")
    binary, kind = find_binary(debug_fallback=True)
    emu = one.Emulator()
    try:
        runs = [run_once(binary, emu, args) for _ in range(max(1, args.runs))]
    finally:
        emu.close()
    keys = ("wall_seconds", "peak_rss_mib", "requests", "requests_per_user",
            "requests_per_user_all_in", "fixed_requests_per_account", "wall_over_ceiling_time")
    med = {k: statistics.median(r[k] for r in runs) for k in keys}
    print(f"handover audit --aws --org against moto (binary: {kind}; medians of {len(runs)})")
    for k in keys:
        print(f"  {k:28} {med[k]}")
    print(f"  {'organization_requests':28} {runs[0]['organization_requests']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"median": med, "runs": runs}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
