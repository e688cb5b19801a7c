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

IAM Identity Center: the management account's instance (moto gives every account one)
gets ``--sso-users`` users (half with the agency's email domain, half the customer's),
four groups (every user a member of one), two permission sets (AdministratorAccess,
ReadOnlyAccess, each provisioned explicitly to every account it is assigned in: moto
does not provision on CreateAccountAssignment, AWS does) and ``--sso-assignments``
account assignments spread over the member accounts, both sets, the users and the
groups (moto lists a set as provisioned only to the caller's account, so the bench
answers ListAccountsForProvisionedPermissionSet for the seeded sets itself, as AWS
does: ``ProvisionedAccounts``). The Identity Center requests (``sso:*``,
``identitystore:*``) are reported apart from the IAM ones, by what they grow with; the
run fails unless the inventory holds every seeded Identity Center user (``sso-user``),
group (``sso-group``) and assignment (``sso-account-assignment``), and marks admin
exactly the assignments of the AdministratorAccess set.

Usage (from the repository root; ``HANDOVER_BIN`` picks the binary, see binaries.py):

    .venv/bin/python bench/aws_org.py --accounts 20 --users 200 --secrets 5 \
        --sso-users 50 --sso-assignments 100 --runs 1
"""

from __future__ import annotations

import argparse
import json
import random
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


AGENCY_DOMAIN = "northwind-agency.example"
CUSTOMER_DOMAIN = "contoso.example"
SSO_GROUPS = ("northwind-engineers", "northwind-ops", "contoso-admins", "contoso-readers")
# Identity Center actions by what their count grows with (the rest are fixed per account
# that has an instance): one per group, one per permission set, one per set and account
# it is provisioned to.
SSO_PER_GROUP = {"identitystore:ListGroupMemberships"}
SSO_PER_SET = {"sso:DescribePermissionSet", "sso:ListManagedPoliciesInPermissionSet",
               "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
               "sso:GetInlinePolicyForPermissionSet",
               "sso:ListAccountsForProvisionedPermissionSet"}
SSO_PER_SET_ACCOUNT = {"sso:ListAccountAssignments"}


def org_action(action: str) -> bool:
    return action.startswith("organizations:")


def sso_action(action: str) -> bool:
    """sso-admin signs as `sso`; identitystore as itself."""
    return action.startswith(("sso:", "identitystore:"))


class ProvisionedAccounts:
    """WSGI app in front of moto filling one gap: moto's ProvisionPermissionSet ignores
    its TargetId and ListAccountsForProvisionedPermissionSet answers only the caller's
    account, so assignments in member accounts would never be listed. AWS "lists all the
    AWS accounts where the specified permission set is provisioned", at most 100 a page
    (https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ListAccountsForProvisionedPermissionSet.html):
    for the permission sets the seed provisioned this answers that, from the seed's own
    record, in AWS's JSON shape; everything else goes to moto. It sits behind the
    counting middleware, so its answers are counted like any other request."""

    ACTION = "SWBExternalService.ListAccountsForProvisionedPermissionSet"
    PAGE = 100

    def __init__(self, app) -> None:
        self.app = app
        self.provisioned: dict[tuple[str, str], list[str]] = {}
        self.answered = 0

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET") == self.ACTION:
            try:
                req = json.loads(environ.get("bench.body") or b"{}")
            except ValueError:
                req = {}
            accounts = self.provisioned.get((req.get("InstanceArn"), req.get("PermissionSetArn")))
            if accounts is not None:
                token = str(req.get("NextToken") or "0")
                start = int(token) if token.isdigit() else 0
                page = {"AccountIds": accounts[start:start + self.PAGE]}
                if start + self.PAGE < len(accounts):
                    page["NextToken"] = str(start + self.PAGE)
                body = json.dumps(page).encode()
                self.answered += 1
                start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                                          ("Content-Length", str(len(body)))])
                return [body]
        return self.app(environ, start_response)


def provisioned_accounts(emu: one.Emulator) -> ProvisionedAccounts:
    """The gap filler in front of this emulator's moto, installed once."""
    if not isinstance(emu.counter.app, ProvisionedAccounts):
        emu.counter.app = ProvisionedAccounts(emu.counter.app)
    return emu.counter.app


def seed_sso(url: str, ids: list[str], users: int, assignments: int,
             gap: ProvisionedAccounts) -> dict:
    """Identity Center of the management account, through the API (sso-admin and
    identitystore): the users, groups, two permission sets and the assignments."""
    sso = one.boto3_client("sso-admin", url)
    store_c = one.boto3_client("identitystore", url)
    inst = sso.list_instances()["Instances"][0]
    arn, store = inst["InstanceArn"], inst["IdentityStoreId"]
    user_ids = []
    for i in range(users):
        agency = i % 2 == 0
        name = f"{'northwind' if agency else 'contoso'}-sso-{i:04d}"
        email = f"{name}@{AGENCY_DOMAIN if agency else CUSTOMER_DOMAIN}"
        user_ids.append(store_c.create_user(
            IdentityStoreId=store, UserName=name, DisplayName=name,
            Name={"GivenName": name, "FamilyName": "bench"},
            Emails=[{"Value": email, "Type": "work", "Primary": True}])["UserId"])
    group_ids = [store_c.create_group(IdentityStoreId=store, DisplayName=g)["GroupId"]
                 for g in SSO_GROUPS]
    for i, uid in enumerate(user_ids):  # agency users in the agency's groups, and so on
        g = (0 if i % 2 == 0 else 2) + (i // 2) % 2
        store_c.create_group_membership(IdentityStoreId=store, GroupId=group_ids[g],
                                        MemberId={"UserId": uid})
    sets = []
    for name, policy in (("AdministratorAccess", "arn:aws:iam::aws:policy/AdministratorAccess"),
                         ("ReadOnly", "arn:aws:iam::aws:policy/ReadOnlyAccess")):
        # An ISO-8601 duration as AWS gives it: moto's default is the number 3600.
        ps = sso.create_permission_set(InstanceArn=arn, Name=name, SessionDuration="PT1H")
        ps_arn = ps["PermissionSet"]["PermissionSetArn"]
        sso.attach_managed_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=ps_arn,
                                                    ManagedPolicyArn=policy)
        sets.append(ps_arn)
    targets = ids[1:] or ids[:1]
    principals = [("USER", u) for u in user_ids] + [("GROUP", g) for g in group_ids]
    capacity = len(targets) * len(sets) * len(principals)
    if assignments > capacity:
        sys.exit(f"--sso-assignments {assignments} is more than the {capacity} distinct "
                 "(account, permission set, principal) triples")
    provisioned: set[tuple[str, str]] = set()
    made: list[tuple[str, str, str]] = []
    # A fixed sample of the distinct (account, set, principal) triples: spread over the
    # accounts, both sets, users and groups, the same on every run.
    rng = random.Random(one.SEED + assignments)
    for n in sorted(rng.sample(range(capacity), assignments)):
        acct = targets[n % len(targets)]
        ps_arn = sets[(n // len(targets)) % len(sets)]
        kind, pid = principals[n // (len(targets) * len(sets))]
        if (acct, ps_arn) not in provisioned:
            sso.provision_permission_set(InstanceArn=arn, PermissionSetArn=ps_arn,
                                         TargetType="AWS_ACCOUNT", TargetId=acct)
            provisioned.add((acct, ps_arn))
        sso.create_account_assignment(InstanceArn=arn, TargetId=acct, TargetType="AWS_ACCOUNT",
                                      PermissionSetArn=ps_arn, PrincipalType=kind,
                                      PrincipalId=pid)
        made.append((acct, ps_arn, pid))
    gap.provisioned = {}
    for acct, ps_arn in sorted(provisioned):
        gap.provisioned.setdefault((arn, ps_arn), []).append(acct)
    return {"store": store, "users": len(user_ids), "groups": len(group_ids),
            "permission_sets": len(sets), "assignments": len(made),
            "provisioned": len(provisioned),
            "admin_assignments": sum(1 for m in made if m[1] == sets[0])}


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


def check_sso_read(doc: dict, sso: dict) -> dict:
    """The inventory holds every seeded Identity Center user, group and assignment;
    fail the benchmark otherwise (Identity Center not read means nothing was measured)."""
    store = sso["store"]
    mine = f"identitystore:{store}/"
    kinds = {"sso-user": 0, "sso-group": 0}
    for p in doc["principals"]:
        if p["kind"] in kinds and str(p.get("id", "")).startswith(mine):
            kinds[p["kind"]] += 1
    creds = [c for c in doc["credentials"] if c["kind"] == "sso-account-assignment"
             and str(c.get("id", "")).startswith(mine)]
    admin = sum(1 for c in creds if (c.get("detail") or {}).get("admin") is True)
    read = {"users": kinds["sso-user"], "groups": kinds["sso-group"],
            "assignments": len(creds), "admin_assignments": admin}
    want = {"users": sso["users"], "groups": sso["groups"], "assignments": sso["assignments"],
            "admin_assignments": sso["admin_assignments"]}
    if read != want:
        sys.exit(f"FAIL: Identity Center read {read}, seeded {want}")
    return read


def sso_breakdown(acts: dict[str, int], sso: dict, accounts: int) -> dict:
    """Identity Center requests by what they grow with; the rest is fixed per account
    (every account is asked for its instances, and moto gives every account one)."""
    per_group = sum(v for k, v in acts.items() if k in SSO_PER_GROUP)
    per_set = sum(v for k, v in acts.items() if k in SSO_PER_SET)
    per_set_account = sum(v for k, v in acts.items() if k in SSO_PER_SET_ACCOUNT)
    total = sum(acts.values())
    fixed = total - per_group - per_set - per_set_account
    return {
        "requests": total,
        "per_sso_user": round(total / max(1, sso["users"]), 3),
        "per_assignment": round(total / max(1, sso["assignments"]), 3),
        "per_group": round(per_group / max(1, sso["groups"]), 2),
        "per_permission_set": round(per_set / max(1, sso["permission_sets"]), 2),
        "per_provisioned_set_and_account": round(per_set_account / max(1, sso["provisioned"]),
                                                 2),
        "fixed": fixed,
        "fixed_per_account": round(fixed / accounts, 2),
        "actions": acts,
    }


def run_once(binary: Path, emu: one.Emulator, args: argparse.Namespace) -> dict:
    emu.reset()
    t0 = time.perf_counter()
    ids = seed_org(emu.url, args.accounts, args.users, args.secrets)
    gap = provisioned_accounts(emu)
    sso = seed_sso(emu.url, ids, args.sso_users, args.sso_assignments, gap)
    one.log(f"seeded {len(ids)} accounts x {args.users} users, {sso['users']} Identity Center "
            f"users, {sso['assignments']} assignments in {time.perf_counter() - t0:.1f}s")
    ceiling = one.measure_ceiling(emu, args.ceiling_requests, args.ceiling_threads, args.users)
    with tempfile.TemporaryDirectory(prefix="handover-bench-org-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        out = work / "inventory.json"
        cmd = [str(binary), "audit", "--aws", "--org", "--region", one.REGION,
               "--format", "json", "-o", str(out), "--force", "--no-progress"]
        emu.counter.reset()
        gap.answered = 0
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
    read = check_sso_read(doc, sso)
    acts = counted["actions"]
    per_user = sum(v for k, v in acts.items() if k in PER_USER)
    per_secret = sum(v for k, v in acts.items() if k in PER_SECRET)
    org_reads = sum(v for k, v in acts.items() if org_action(k))
    sso_acts = {k: v for k, v in acts.items() if sso_action(k)}
    sso_total = sum(sso_acts.values())
    fixed = counted["total"] - per_user - per_secret - org_reads - sso_total
    wall_at_ceiling = counted["total"] / ceiling["requests_per_second"]
    return {
        "accounts": args.accounts, "users_per_account": args.users,
        "secrets_per_account": args.secrets,
        "wall_seconds": round(res["wall"], 2), "peak_rss_mib": round(res["rss_kib"] / 1024, 1),
        "requests": counted["total"],
        "requests_per_user": round(per_user / total_users, 3),
        # everything but the per-secret and Identity Center calls (reported apart)
        "requests_per_user_all_in": round((counted["total"] - per_secret - sso_total)
                                          / total_users, 3),
        "fixed_requests_per_account": round(fixed / args.accounts, 2),
        "requests_per_secret": round(per_secret / max(1, args.secrets * args.accounts), 2),
        "organization_requests": org_reads,
        "identity_center": sso_breakdown(sso_acts, sso, args.accounts) | {
            "seeded": sso, "read": read,
            "moto_gap_answered_ListAccountsForProvisionedPermissionSet": gap.answered},
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
    p.add_argument("--sso-users", type=int, default=50)
    p.add_argument("--sso-assignments", type=int, default=100)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--ceiling-requests", type=int, default=2000)
    p.add_argument("--ceiling-threads", type=int, default=4)
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args()
    if not 1 <= args.accounts <= 200 or not 0 <= args.users <= 10_000:
        sys.exit("--accounts must be 1-200 and --users 0-10000")
    if not 0 <= args.sso_users <= 10_000 or not 0 <= args.sso_assignments <= 10_000:
        sys.exit("--sso-users and --sso-assignments must be 0-10000")
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
    ic = runs[0]["identity_center"]
    print(f"  identity_center: {ic['requests']} requests ({ic['per_sso_user']} per SSO user, "
          f"{ic['per_assignment']} per assignment; {ic['per_group']} per group, "
          f"{ic['per_permission_set']} per permission set, "
          f"{ic['per_provisioned_set_and_account']} per set and account provisioned, "
          f"{ic['fixed_per_account']} fixed per account); read {ic['read']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"median": med, "runs": runs}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
