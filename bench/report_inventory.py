#!/usr/bin/env python3
"""A deterministic synthetic inventory for the report benchmark (issue 14: "an
inventory of 50,000 credentials across 20 accounts renders in about a second"), its
handover config, and `handover plan` timed on it.

    .venv/bin/python bench/report_inventory.py --credentials 1000,10000,50000 --out bench/out \\
        [--runs 3] [--json bench/report-plan.json] [--no-plan]

For each size N it writes `OUT/N/inventory.json` (format 3, valid against
`schemas/inventory.v1.json`: checked with `jsonschema` from the venv),
`OUT/N/handover.toml` (the parties, so `handover plan` accepts it) and, unless
`--no-plan`, runs `handover plan` on them `--runs` times (wall time and peak RSS from
`/usr/bin/time -v`; medians reported; the plan makes no request).

How it is built, so that it looks like a real organisation and stays valid:
- The accounts are copies of the example handover's own (examples/northwind-to-contoso/
  inventory.json, written by the real audit): 10 AWS accounts and 10 GCP projects, each
  holding every record of the example's account or project with its id replaced (the
  customer admins, root, roles, trusts, bindings, secrets, findings and coverage gaps
  come along, so every account keeps a customer admin and the plan is not refused).
- Up to N credentials, more people and workloads are added, cloned from the example's
  own principals with new names and key ids: AWS users (an agency user with an access key
  and a console password, a customer user with an SSH key, an unknown contractor with an
  access key) and GCP members (a service account with a user-managed key, users of the
  agency, the customer and an unknown domain holding a time-bound role), in the owner mix
  --mix (agency:customer:unknown, default 35:50:15), with their findings.
- One more secret per 50 credentials, alternating AWS and GCP.
Everything is a pure function of N, --seed and --mix: the same arguments give the same
bytes (the config names the example's documentation and recipients by absolute path, so
it also depends on where the repository is checked out).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from binaries import REPO_ROOT, find_binary  # noqa: E402

EXAMPLE = REPO_ROOT / "examples" / "northwind-to-contoso"
SCHEMA = REPO_ROOT / "schemas" / "inventory.v1.json"
POLICY = REPO_ROOT / "policies" / "full-transfer.yaml"
EX_ACCOUNT = "123456789012"
EX_PROJECT = "contoso-shop-prod"
EX_PROJECT_NUMBER = "244183962743"
AWS_ACCOUNTS = 10
GCP_PROJECTS = 10
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
KINDS = ("principals", "credentials", "secrets", "findings", "gaps")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def token(seed: str, n: int, alphabet: str) -> str:
    """n characters of `alphabet`, a pure function of `seed`."""
    out, counter = "", 0
    while len(out) < n:
        digest = hashlib.sha256(f"{seed}/{counter}".encode()).digest()
        out += "".join(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return out[:n]


UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
HEX = "0123456789abcdef"


class Example:
    """The example inventory, split into what belongs to its AWS account and its GCP project."""

    def __init__(self) -> None:
        self.inv = json.loads((EXAMPLE / "inventory.json").read_text())

    def bundle(self, provider: str, keep=lambda item: True) -> dict:
        """Every record of one provider (and, for findings and gaps, of its records)."""
        ids = set()
        out = {k: [] for k in KINDS}
        for kind in ("principals", "credentials", "secrets"):
            for item in self.inv[kind]:
                if item["provider"] == provider and keep(item):
                    out[kind].append(item)
                    ids.add(item["id"])
        out["findings"] = [f for f in self.inv["findings"] if f["subject"] in ids]
        out["gaps"] = [g for g in self.inv["gaps"]
                       if g["provider"] == provider and (g["subject"] is None or g["subject"] in ids)]
        return copy.deepcopy(out)

    def principal(self, principal_id: str) -> dict:
        """One principal with its credentials and the findings about them."""
        p = [x for x in self.inv["principals"] if x["id"] == principal_id]
        assert p, principal_id
        creds = [c for c in self.inv["credentials"] if c["principal"] == principal_id]
        ids = {principal_id} | {c["id"] for c in creds}
        return copy.deepcopy({"principals": p, "credentials": creds, "secrets": [],
                              "findings": [f for f in self.inv["findings"] if f["subject"] in ids],
                              "gaps": []})

    def secret(self, name: str, provider: str) -> dict:
        s = [x for x in self.inv["secrets"] if x["name"] == name and x["provider"] == provider]
        assert s, name
        return copy.deepcopy({"principals": [], "credentials": [], "secrets": s,
                              "findings": [f for f in self.inv["findings"] if f["subject"] == s[0]["id"]],
                              "gaps": []})


def substitute(bundle: dict, pairs: list[tuple[str, str]]) -> dict:
    """The bundle with every string replaced, longest first (ids, names and messages
    alike, so a finding keeps naming its subject)."""
    text = json.dumps(bundle)
    for old, new in sorted(pairs, key=lambda p: -len(p[0])):
        text = text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
    return json.loads(text)


def fresh_identifiers(bundle: dict, seed: str) -> list[tuple[str, str]]:
    """New key ids of the same shape for every key-like identifier (access and SSH key
    ids, GCP key ids): unique per clone, so no two credentials share an id."""
    pairs = []
    for c in bundle["credentials"]:
        ident = c.get("identifier")
        if not ident or re.search(r"[:/@.]", ident):
            continue
        if re.fullmatch(r"[0-9a-f]+", ident):
            pairs.append((ident, token(f"{seed}/{ident}", len(ident), HEX)))
        elif re.fullmatch(r"[A-Z0-9]+", ident):
            pairs.append((ident, ident[:4] + token(f"{seed}/{ident}", len(ident) - 4, UPPER)))
    return pairs


def merge(into: dict, bundle: dict) -> None:
    for k in KINDS:
        into[k].extend(bundle[k])


def count_credentials(b: dict) -> int:
    return len(b["credentials"])


def scope_ids(seed: str) -> tuple[list[str], list[str]]:
    accounts = [str(300000000000 + int(token(f"{seed}/acct/{i}", 8, "0123456789")) * 1000 + i)
                for i in range(AWS_ACCOUNTS)]
    projects = [f"contoso-{name}-{i:02d}" for i, name in
                enumerate(["shop", "pay", "data", "ml", "web", "api", "ops", "crm", "bi", "edge"][:GCP_PROJECTS])]
    return accounts, projects


def build(n: int, seed: str, mix: tuple[int, int, int]) -> tuple[dict, list[str], list[str]]:
    ex = Example()
    accounts, projects = scope_ids(seed)
    inv = {k: [] for k in KINDS}
    # The example's own account and project, copied per scope.
    for i, acct in enumerate(accounts):
        b = ex.bundle("aws")
        merge(inv, substitute(b, [(EX_ACCOUNT, acct)] + fresh_identifiers(b, f"{seed}/{acct}")))
    for i, proj in enumerate(projects):
        b, number = ex.bundle("gcp"), str(100000000000 + i)
        pairs = [(EX_PROJECT, proj), (EX_PROJECT_NUMBER, number)] + fresh_identifiers(b, f"{seed}/{proj}")
        merge(inv, substitute(b, pairs))
    base = count_credentials(inv)
    if base > n:
        raise SystemExit(f"FAIL: {n} credentials is fewer than the {base} of the copied accounts")
    # Templates by owner: (provider, principal id in the example, name to replace).
    agency = [("aws", f"arn:aws:iam::{EX_ACCOUNT}:user/bob.agency", "bob.agency", "{n}.agency"),
              ("gcp", f"gcp:{EX_PROJECT}:user:dan@northwind-agency.example", "dan@northwind-agency.example",
               "{n}@northwind-agency.example")]
    customer = [("aws", f"arn:aws:iam::{EX_ACCOUNT}:user/dave.customer", "dave.customer", "{n}.customer"),
                ("gcp", f"gcp:{EX_PROJECT}:user:dan@northwind-agency.example", "dan@northwind-agency.example",
                 "{n}@contoso.example"),
                ("gcp", f"projects/{EX_PROJECT}/serviceAccounts/legacy-batch@{EX_PROJECT}.iam.gserviceaccount.com",
                 "legacy-batch@", "{n}@")]
    unknown = [("aws", f"arn:aws:iam::{EX_ACCOUNT}:user/old-contractor", "old-contractor", "contractor-{n}"),
               ("gcp", f"gcp:{EX_PROJECT}:user:dan@northwind-agency.example", "dan@northwind-agency.example",
                "{n}@freelance.example")]
    owners = [agency] * mix[0] + [customer] * mix[1] + [unknown] * mix[2]
    templates = {t[1]: ex.principal(t[1]) for group in (agency, customer, unknown) for t in group}
    total, i = base, 0
    while total < n:
        group = owners[i % len(owners)]
        provider, pid, old, new = group[(i // len(owners)) % len(group)]
        t = templates[pid]
        if total + count_credentials(t) > n:  # the last few: one-credential templates only
            provider, pid, old, new = unknown[0]
            t = templates[pid]
        name = new.format(n=f"u{i:06d}")
        scope = (accounts if provider == "aws" else projects)[i % 10]
        pairs = [(old, name)] + fresh_identifiers(t, f"{seed}/{i}")
        pairs.append((EX_ACCOUNT if provider == "aws" else EX_PROJECT, scope))
        clone = substitute(t, pairs)
        merge(inv, clone)
        total += count_credentials(clone)
        i += 1
    add_secrets(inv, ex, n // 50, accounts, projects)
    return inv, accounts, projects


def add_secrets(inv: dict, ex: Example, count: int, accounts: list[str], projects: list[str]) -> None:
    """`count` more secrets, alternating an AWS and a GCP copy of the example's db-password."""
    for i in range(count):
        if i % 2 == 0:
            t = ex.secret("prod/db-password", "aws")
            pairs = [("prod/db-password", f"app{i:05d}/db-password"),
                     (EX_ACCOUNT, accounts[(i // 2) % len(accounts)])]
        else:
            t = ex.secret("db-password", "gcp")
            p = (i // 2) % len(projects)
            pairs = [("db-password", f"db-password-{i:05d}"), (EX_PROJECT, projects[p]),
                     (EX_PROJECT_NUMBER, str(100000000000 + p))]
        merge(inv, substitute(t, pairs))


def finish(parts: dict, accounts: list[str], projects: list[str]) -> dict:
    ex = json.loads((EXAMPLE / "inventory.json").read_text())
    sources = []
    for src in ex["sources"]:
        for scope in (accounts if src["provider"] == "aws" else projects):
            s = dict(src)
            s["scope"] = scope
            if s["identity"]:
                s["identity"] = s["identity"].replace(EX_ACCOUNT, scope)
            sources.append(s)
    inv = {"schema": ex["schema"], "version": ex["version"], "generated_at": ex["generated_at"],
           "generator": ex["generator"], "sources": sorted(sources, key=lambda s: (s["provider"], s["scope"]))}
    for k in ("principals", "credentials", "secrets"):
        items = parts[k]
        ids = [x["id"] for x in items]
        assert len(ids) == len(set(ids)), f"duplicate {k} ids"
        inv[k] = sorted(items, key=lambda x: x["id"])
    gaps = {json.dumps(g, sort_keys=True): g for g in parts["gaps"]}
    inv["gaps"] = [gaps[k] for k in sorted(gaps)]
    inv["findings"] = sorted(parts["findings"],
                             key=lambda f: (SEVERITY_RANK[f["severity"]], f["code"], f["subject"]))
    return inv


def config(accounts: list[str], projects: list[str]) -> str:
    """The example's parties, with the customer owning every generated account and project."""
    text = (EXAMPLE / "handover.toml").read_text()
    text = text.replace(f'aws_accounts = ["{EX_ACCOUNT}"]', f"aws_accounts = {json.dumps(accounts)}")
    text = text.replace(f'gcp_projects = ["{EX_PROJECT}"]', f"gcp_projects = {json.dumps(projects)}")
    # Documentation and recipient files live beside the example's config; point at them.
    text = re.sub(r'\[documentation\].*', f'[documentation]\nslo = "{EXAMPLE}/docs/slo.md"\n'
                  f'playbooks = ["{EXAMPLE}/docs/playbooks"]\npostmortems = ["{EXAMPLE}/docs/postmortems"]\n',
                  text, flags=re.S)
    text = text.replace('files = ["recipients.txt"]', f'files = ["{EXAMPLE}/recipients.txt"]')
    return text


def validate(inv: dict) -> None:
    import jsonschema
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    errors = sorted(cls(schema).iter_errors(inv), key=lambda e: list(e.absolute_path))
    if errors:
        for e in errors[:5]:
            log(f"{list(e.absolute_path)}: {e.message[:300]}")
        raise SystemExit(f"FAIL: the inventory is not valid against {SCHEMA.name} ({len(errors)} errors)")


def time_plan(binary: Path, folder: Path) -> dict:
    out = folder / "plan.json"
    cmd = ["/usr/bin/time", "-v", str(binary), "-q", "plan", "--inventory", str(folder / "inventory.json"),
           "--policy", str(POLICY), "--config", str(folder / "handover.toml"), "-o", str(out), "--force"]
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"FAIL: handover plan exited {r.returncode}:\n{r.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    # CPU time is what the plan costs; wall time on a shared machine also counts the wait.
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", r.stderr).group(1))
              for k in ("User", "System"))
    plan = json.loads(out.read_text())
    owners: dict[str, int] = {}
    for step in plan["steps"]:
        o = step["target"].get("owner") or "none"
        owners[o] = owners.get(o, 0) + 1
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": rss / 1024, "steps": len(plan["steps"]),
            "plan_bytes": out.stat().st_size, "steps_by_owner": dict(sorted(owners.items()))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--credentials", default="1000,10000,50000")
    ap.add_argument("--out", type=Path, default=None, help="where to write (default: a temporary folder)")
    ap.add_argument("--seed", default="handover-report-bench")
    ap.add_argument("--mix", default="35:50:15", help="agency:customer:unknown weights of added people")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--no-plan", action="store_true")
    ap.add_argument("--no-validate", action="store_true")
    a = ap.parse_args()
    mix = tuple(int(x) for x in a.mix.split(":"))
    out_root = a.out or Path(tempfile.mkdtemp(prefix="handover-report-bench-"))
    binary, build_kind = (None, None) if a.no_plan else find_binary()
    results = []
    for n in [int(x) for x in a.credentials.split(",")]:
        folder = out_root / str(n)
        folder.mkdir(parents=True, exist_ok=True)
        parts, accounts, projects = build(n, a.seed, mix)
        inv = finish(parts, accounts, projects)
        (folder / "inventory.json").write_text(json.dumps(inv, indent=2) + "\n")
        (folder / "handover.toml").write_text(config(accounts, projects))
        size = (folder / "inventory.json").stat().st_size
        log(f"{n}: {len(inv['credentials'])} credentials, {len(inv['principals'])} principals, "
            f"{len(inv['secrets'])} secrets, {len(inv['findings'])} findings, {size / 1e6:.1f} MB in {folder}")
        if not a.no_validate:
            t = time.perf_counter()
            validate(inv)
            log(f"{n}: valid against {SCHEMA.name} ({time.perf_counter() - t:.1f} s)")
        row = {"credentials": len(inv["credentials"]), "principals": len(inv["principals"]),
               "secrets": len(inv["secrets"]), "findings": len(inv["findings"]),
               "accounts": len(accounts), "projects": len(projects), "inventory_bytes": size}
        if not a.no_plan:
            runs = [time_plan(binary, folder) for _ in range(a.runs)]
            log(f"{n}: plan " + ", ".join(f"{r['wall_s']:.2f} s wall {r['cpu_s']:.2f} s CPU "
                                          f"{r['peak_rss_mib']:.0f} MiB" for r in runs))
            row.update({"build": build_kind, "runs": runs,
                        "median_wall_s": statistics.median(r["wall_s"] for r in runs),
                        "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
                        "load_average": os.getloadavg(),
                        "median_peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
                        "steps": runs[0]["steps"], "plan_bytes": runs[0]["plan_bytes"],
                        "steps_by_owner": runs[0]["steps_by_owner"]})
        results.append(row)
    if a.json:
        a.json.write_text(json.dumps({"results": results}, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
