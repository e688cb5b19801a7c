"""Drives the GCP test server's hierarchy and asset routes with google-api-python-client's
discovery clients, built from the discovery documents the library ships
(static_discovery=True): Cloud Resource Manager v3 folders (get, list by parent,
search, getIamPolicy/setIamPolicy with conditions at version 3) and v1 getAncestry, and
Cloud Asset Inventory v1 searchAllIamPolicies / searchAllResources, paged with the
library's `_next` helpers.

Usage: python hierarchy_clients.py ENDPOINT PROJECT
Exits non-zero (with a traceback) on the first mismatch; prints "ok" at the end.
"""

import json
import sys
import urllib.request

from google.auth.credentials import AnonymousCredentials
from googleapiclient import discovery


def build(api: str, version: str, endpoint: str):
    return discovery.build(
        api,
        version,
        credentials=AnonymousCredentials(),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": endpoint},
    )


def seed(endpoint: str, project: str) -> None:
    body = {
        "organizations": [{"id": "10"}],
        "folders": [{"id": "20", "parent": "organizations/10"}, {"id": "30", "parent": "folders/20"}],
        "projects": [{"projectId": project, "projectNumber": "5151", "parent": "folders/30"}],
    }
    req = urllib.request.Request(endpoint.rstrip("/") + "/_admin/seed", data=json.dumps(body).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()


def main() -> None:
    endpoint, project = sys.argv[1], sys.argv[2]
    seed(endpoint, project)
    crm = build("cloudresourcemanager", "v3", endpoint)
    folders = crm.folders()
    assert folders.get(name="folders/30").execute()["parent"] == "folders/20"
    below = folders.list(parent="folders/20").execute()
    assert [f["name"] for f in below["folders"]] == ["folders/30"], below
    found = folders.search(query="parent=organizations/10").execute()
    assert [f["name"] for f in found["folders"]] == ["folders/20"], found
    cond = {"title": "adoption", "expression": 'request.time < timestamp("2027-01-31T00:00:00Z")'}
    policy = {"version": 3, "bindings": [
        {"role": "roles/browser", "members": ["group:devs@agency.example"], "condition": cond},
    ]}
    folders.setIamPolicy(resource="folders/20", body={"policy": policy}).execute()
    crm.projects().setIamPolicy(resource=f"projects/{project}", body={"policy": {"bindings": [
        {"role": "roles/viewer", "members": ["user:carol@customer.example"]}]}}).execute()
    got = folders.getIamPolicy(resource="folders/20",
                               body={"options": {"requestedPolicyVersion": 3}}).execute()
    assert got["version"] == 3 and got["bindings"][0]["condition"]["title"] == "adoption", got
    ancestry = build("cloudresourcemanager", "v1", endpoint).projects().getAncestry(
        projectId=project, body={}).execute()
    kinds = [(a["resourceId"]["type"], a["resourceId"]["id"]) for a in ancestry["ancestor"]]
    assert kinds == [("project", project), ("folder", "30"), ("folder", "20"), ("organization", "10")], kinds

    asset = build("cloudasset", "v1", endpoint).v1()
    results, request = [], asset.searchAllIamPolicies(scope="organizations/10", pageSize=1)
    pages = 0
    while request is not None:
        page = request.execute()
        pages += 1
        results.extend(page.get("results", []))
        request = asset.searchAllIamPolicies_next(request, page)
    assert pages == 2, (pages, results)  # one result a page, followed with _next
    assert [r["resource"] for r in results] == [
        "//cloudresourcemanager.googleapis.com/folders/20",
        "//cloudresourcemanager.googleapis.com/projects/5151",
    ], results
    assert results[0]["policy"]["bindings"][0]["condition"]["title"] == "adoption", results
    assert results[0]["organization"] == "organizations/10", results
    resources = asset.searchAllResources(scope="folders/20",
                                         assetTypes=["cloudresourcemanager.googleapis.com/Project"]).execute()
    assert [r["name"] for r in resources["results"]] == ["//cloudresourcemanager.googleapis.com/projects/5151"], resources
    assert resources["results"][0]["folders"] == ["folders/30", "folders/20"], resources
    print("ok")


if __name__ == "__main__":
    main()
