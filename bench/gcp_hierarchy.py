#!/usr/bin/env python3
"""GCP hierarchy benchmark for `handover audit --gcp-organization` (run by hand, not in CI).

Seeds the project's own GCP test server (binary: $GCP_TEST_SERVER_BIN, else
target/debug/gcp-test-server) with one organization, 3 folders, 30 projects (10 a
folder) and 300 service accounts (10 a project; every 10th with an IAM binding), an
agency group bound roles/editor on each folder, then runs

    handover audit --gcp-organization 10 --gcp-endpoint URL --format json -o OUT --force

($HANDOVER_BIN, else target/debug/handover) twice on the same seed:

- bulk: the auditing identity holds the audit role (policies/permissions/
  gcp-audit-role.yaml, enforcement on) including cloudasset.assets.searchAllIamPolicies;
- per item: the same role without that permission, so the audit falls back.

For each it reports the requests the server counted (total, per project, and the
per-route breakdown), the wall time and the tool's peak RSS (os.wait4). No added
latency is modelled here (see bench/gcp_audit.py's LatencyProxy for that).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.environ.get("GCP_TEST_SERVER_BIN", os.path.join(ROOT, "target/debug/gcp-test-server"))
HANDOVER = os.environ.get("HANDOVER_BIN", os.path.join(ROOT, "target/debug/handover"))
FOLDERS, PER_FOLDER, PER_PROJECT = 3, 10, 10
MEMBER = "user:auditor@contoso.example"


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
    projects = [
        {"projectId": f"bench-f{f}-p{p:02d}", "parent": f"folders/{20 + f}"}
        for f in range(FOLDERS)
        for p in range(PER_FOLDER)
    ]
    call(url, "POST", "/_admin/seed", {"organizations": [{"id": "10"}], "folders": folders, "projects": projects})
    role = {"role": "roles/handoverAudit", "members": [MEMBER]}
    for f in folders:
        call(url, "POST", f"/v3/folders/{f['id']}:setIamPolicy", {"policy": {"bindings": [
            {"role": "roles/editor", "members": ["group:agency-devs@agency.example"]}, role]}})
    call(url, "POST", "/v3/organizations/10:setIamPolicy", {"policy": {"bindings": [
        {"role": "roles/owner", "members": ["group:admins@contoso.example"]}, role]}})
    for p in projects:
        pid = p["projectId"]
        call(url, "POST", f"/v1/projects/{pid}:setIamPolicy", {"policy": {"bindings": [role]}})
        for i in range(PER_PROJECT):
            sa = call(url, "POST", f"/v1/projects/{pid}/serviceAccounts", {"accountId": f"bench-sa-{i:03d}"})
            if i == 0:
                call(url, "POST", f"/v1/{sa['name']}:setIamPolicy", {"policy": {"bindings": [
                    {"role": "roles/iam.serviceAccountUser", "members": ["group:agency-devs@agency.example"]}]}})
    return len(projects)


def permissions(without):
    perms, inside = [], False
    for line in open(os.path.join(ROOT, "policies/permissions/gcp-audit-role.yaml")):
        if line.startswith("includedPermissions:"):
            inside = True
        elif inside and line.strip().startswith("- "):
            perms.append(line.strip()[2:])
    return [p for p in perms if p not in without]


def run(url, without, projects):
    call(url, "POST", "/_admin/iam", {"tokens": {"bench-token": MEMBER},
                                      "roles": {"roles/handoverAudit": permissions(without)}})
    call(url, "DELETE", "/_admin/requests")
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": os.environ["PATH"], "HOME": home, "HANDOVER_GCP_ACCESS_TOKEN": "bench-token"}
        out = os.path.join(home, "inv.json")
        start = time.monotonic()
        child = subprocess.Popen([HANDOVER, "audit", "--gcp-organization", "10", "--gcp-endpoint", url,
                                  "--format", "json", "-o", out, "--force", "--no-progress"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - start
        if status != 0:
            sys.exit(f"audit failed: {child.stderr.read().decode()}")
        inv = json.load(open(out))
    counts = call(url, "GET", "/_admin/requests")
    total = counts["total"]
    accounts = sum(1 for p in inv["principals"] if p["kind"] == "gcp-service-account")
    return {"requests": total, "per_project": round(total / projects, 2), "wall_s": round(wall, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "service_accounts": accounts,
            "notes": [n for s in inv["sources"] for n in s.get("notes", [])],
            "by_route": counts.get("by_route", counts.get("routes"))}


def main():
    server = subprocess.Popen([SERVER, "--port", "0"], stdout=subprocess.PIPE)
    try:
        url = server.stdout.readline().decode().strip().removeprefix("listening on ")
        projects = seed(url)
        bulk = run(url, [], projects)
        per_item = run(url, ["cloudasset.assets.searchAllIamPolicies"], projects)
        print(json.dumps({"projects": projects, "bulk": bulk, "per_item": per_item}, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
