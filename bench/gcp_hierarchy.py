#!/usr/bin/env python3
"""GCP organization benchmark for `handover audit --gcp-organization` (issue 17's
"Performance"; run by hand, not in CI).

Seeds the project's own GCP test server with one organization, 3 folders, 30 projects
(10 a folder), 300 service accounts (10 a project, each with one user-managed key; the
first of each project with an IAM binding), 200 API keys (every other one unrestricted)
and 50 HMAC keys spread over the projects, an agency group bound roles/editor on each
folder, then runs

    handover audit --gcp-organization 10 --gcp-endpoint URL --format json -o OUT --force

through a loopback proxy that adds `--latency-ms` to every request (bench/gcp_audit.py's
LatencyProxy), `--runs` times in each mode, on the same seed:

- bulk: the auditing identity holds the audit role (policies/permissions/
  gcp-audit-role.yaml, enforcement on), Cloud Asset Inventory included;
- per item: the same role without cloudasset.assets.searchAllIamPolicies and
  cloudasset.assets.searchAllResources, so the audit falls back to per-item reads.

Reported per mode: the requests the server counted (identical in every run), split into
scope-wide (the walk and the searches), per project, and per item (a service account,
secret or pool), per project; the median wall time, and its ratio to the latency floor
`requests * latency / concurrency` (what the requests cost at that concurrency with
nothing else in the way); the median peak RSS of the tool (os.wait4). Binaries: see
bench/binaries.py (the release build of handover unless HANDOVER_BIN says otherwise).

    .venv/bin/python bench/gcp_hierarchy.py --latency-ms 50 --runs 3 \
        --json bench/gcp-hierarchy-latency50.json
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
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from binaries import REPO_ROOT, find_binary, find_server_binary  # noqa: E402
from gcp_audit import LatencyProxy  # noqa: E402

FOLDERS, PER_FOLDER, PER_PROJECT, API_KEYS, HMAC_KEYS = 3, 10, 10, 200, 50
CONCURRENCY = 8
MEMBER = "user:auditor@contoso.example"
ASSET = ["cloudasset.assets.searchAllIamPolicies", "cloudasset.assets.searchAllResources"]


def call(url, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        text = r.read().decode()
    return json.loads(text) if text else {}


def seed(url):
    folders = [{"id": str(20 + f), "parent": "organizations/10"} for f in range(FOLDERS)]
    projects = [f"bench-f{f}-p{p:02d}" for f in range(FOLDERS) for p in range(PER_FOLDER)]
    call(url, "POST", "/_admin/seed", {
        "organizations": [{"id": "10"}], "folders": folders,
        "projects": [{"projectId": p, "parent": f"folders/{20 + i // PER_FOLDER}"}
                     for i, p in enumerate(projects)]})
    role = {"role": "roles/handoverAudit", "members": [MEMBER]}
    for f in folders:
        call(url, "POST", f"/v3/folders/{f['id']}:setIamPolicy", {"policy": {"bindings": [
            {"role": "roles/editor", "members": ["group:agency-devs@agency.example"]}, role]}})
    call(url, "POST", "/v3/organizations/10:setIamPolicy", {"policy": {"bindings": [
        {"role": "roles/owner", "members": ["group:admins@contoso.example"]}, role]}})
    emails = []
    for pid in projects:
        call(url, "POST", f"/v1/projects/{pid}:setIamPolicy", {"policy": {"bindings": [role]}})
        for i in range(PER_PROJECT):
            sa = call(url, "POST", f"/v1/projects/{pid}/serviceAccounts", {"accountId": f"bench-sa-{i:03d}"})
            call(url, "POST", f"/v1/{sa['name']}/keys", {})
            emails.append((pid, sa["email"]))
            if i == 0:
                call(url, "POST", f"/v1/{sa['name']}:setIamPolicy", {"policy": {"bindings": [
                    {"role": "roles/iam.serviceAccountUser", "members": ["group:agency-devs@agency.example"]}]}})
    api_keys = []
    for n in range(API_KEYS):
        key = {"displayName": f"bench-key-{n:03d}"}
        if n % 2:
            key["restrictions"] = {"apiTargets": [{"service": "maps-backend.googleapis.com"}]}
        api_keys.append({"project": projects[n % len(projects)], "key": key})
    hmac = [{"project": emails[n * 6][0], "serviceAccountEmail": emails[n * 6][1]} for n in range(HMAC_KEYS)]
    call(url, "POST", "/_admin/seed", {"credentials": {"apiKeys": api_keys, "hmacKeys": hmac}})
    return len(projects)


def permissions(without):
    perms, inside = [], False
    for line in open(os.path.join(REPO_ROOT, "policies/permissions/gcp-audit-role.yaml")):
        if line.startswith("includedPermissions:"):
            inside = True
        elif inside and line.strip().startswith("- "):
            perms.append(line.strip()[2:])
    return [p for p in perms if p not in without]


def split(by_route):
    """Requests by what they grow with: the scope, each project, each item."""
    scope = project = item = 0
    for route, n in by_route.items():
        if any(k in route for k in ("{account}", "{secret}", "{pool}")):
            item += n
        elif any(k in route for k in ("{folder}", "{organization}")) or route == "GET /v3/projects":
            scope += n
        else:
            project += n
    return scope, project, item


def run_once(binary, url, target):
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": os.environ["PATH"], "HOME": home, "HANDOVER_GCP_ACCESS_TOKEN": "bench-token"}
        out = os.path.join(home, "inv.json")
        start = time.monotonic()
        child = subprocess.Popen([str(binary), "audit", "--gcp-organization", "10", "--gcp-endpoint", target,
                                  "--format", "json", "-o", out, "--force", "--no-progress",
                                  "--concurrency", str(CONCURRENCY)],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - start
        if status != 0:
            sys.exit(f"audit failed: {child.stderr.read().decode()}")
        inv = json.load(open(out))
    return wall, usage.ru_maxrss / 1024, inv


def run(binary, url, target, without, projects, runs, latency):
    call(url, "POST", "/_admin/iam", {"tokens": {"bench-token": MEMBER},
                                      "roles": {"roles/handoverAudit": permissions(without)}})
    walls, rss, counts = [], [], None
    for _ in range(runs):
        call(url, "DELETE", "/_admin/requests")
        wall, peak, inv = run_once(binary, url, target)
        got = call(url, "GET", "/_admin/requests")
        if counts is not None and got["total"] != counts["total"]:
            sys.exit(f"request counts differ between runs: {counts['total']} vs {got['total']}")
        counts = got
        walls.append(wall)
        rss.append(peak)
    total = counts["total"]
    scope, per_project, per_item = split(counts["byRoute"])
    accounts = sum(1 for p in inv["principals"] if p["kind"] == "gcp-service-account")
    floor = total * latency / CONCURRENCY
    wall = statistics.median(walls)
    return {"requests": total, "per_project": round(total / projects, 2),
            "scope_wide": scope, "fixed_per_project": round(per_project / projects, 2),
            "per_item_per_project": round(per_item / projects, 2),
            "wall_s_median": round(wall, 2), "wall_s_runs": [round(w, 2) for w in walls],
            "latency_floor_s": round(floor, 2), "wall_over_floor": round(wall / floor, 2) if floor else None,
            "peak_rss_mib_median": round(statistics.median(rss), 1),
            "service_accounts": accounts,
            "credentials": len(inv["credentials"]), "findings": len(inv["findings"]),
            "notes": [n for s in inv["sources"] for n in s.get("notes", [])],
            "by_route": counts["byRoute"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    binary, build = find_binary()
    server_bin = find_server_binary()
    server = subprocess.Popen([str(server_bin), "--port", "0"], stdout=subprocess.PIPE)
    proxy = None
    try:
        url = server.stdout.readline().decode().strip().removeprefix("listening on ")
        projects = seed(url)
        target = url
        if args.latency_ms:
            host, port = url.removeprefix("http://").split(":")
            proxy = LatencyProxy(host, int(port), args.latency_ms / 1000)
            target = proxy.url
        latency = args.latency_ms / 1000
        bulk = run(binary, url, target, [], projects, args.runs, latency)
        per_item = run(binary, url, target, ASSET, projects, args.runs, latency)
        for key in ("credentials", "findings", "service_accounts"):
            if bulk[key] != per_item[key]:
                sys.exit(f"the two roads differ in {key}: {bulk[key]} vs {per_item[key]}")
        result = {"build": build, "latency_ms": args.latency_ms, "concurrency": CONCURRENCY,
                  "runs": args.runs, "organization": {"folders": FOLDERS, "projects": projects,
                  "service_accounts": FOLDERS * PER_FOLDER * PER_PROJECT, "api_keys": API_KEYS,
                  "hmac_keys": HMAC_KEYS}, "bulk": bulk, "per_item": per_item}
        text = json.dumps(result, indent=2)
        print(text)
        if args.json:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    finally:
        if proxy:
            proxy.close()
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
