"""Drives the GCP test server with google-api-python-client's discovery clients, built
from the discovery documents the library ships (static_discovery=True): IAM v1 and
Cloud Resource Manager v1 and v3.

Usage: python discovery_clients.py ENDPOINT PROJECT
Exits non-zero (with a traceback) on the first mismatch; prints "ok" at the end.
"""

import base64
import json
import sys

from google.auth.credentials import AnonymousCredentials
from googleapiclient import discovery
from googleapiclient.errors import HttpError


def build(api: str, version: str, endpoint: str):
    return discovery.build(
        api,
        version,
        credentials=AnonymousCredentials(),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": endpoint},
    )


def expect_error(http: int, status: str, why: str, request) -> None:
    """Executes `request`, which must fail with this HTTP code and canonical status."""
    try:
        request.execute()
    except HttpError as exc:
        body = json.loads(exc.content)["error"]
        assert exc.resp.status == http and body["status"] == status and body["code"] == http, (why, body)
        assert body["message"], body
        return
    raise AssertionError(why)


def iam_checks(endpoint: str, project: str) -> None:
    iam = build("iam", "v1", endpoint)
    accounts = iam.projects().serviceAccounts()
    created = []
    for i in range(5):
        sa = accounts.create(
            name=f"projects/{project}",
            body={"accountId": f"ci-runner-{i}", "serviceAccount": {"displayName": f"CI runner {i}", "description": "agency CI"}},
        ).execute()
        assert sa["email"] == f"ci-runner-{i}@{project}.iam.gserviceaccount.com", sa
        assert sa["name"] == f"projects/{project}/serviceAccounts/{sa['email']}", sa
        assert sa["projectId"] == project and sa["uniqueId"].isdigit() and sa["displayName"] == f"CI runner {i}"
        created.append(sa)
    expect_error(409, "ALREADY_EXISTS", "duplicate account", accounts.create(
        name=f"projects/{project}", body={"accountId": "ci-runner-0"}))
    expect_error(400, "INVALID_ARGUMENT", "too-short account id", accounts.create(
        name=f"projects/{project}", body={"accountId": "ab"}))

    # Paged listing with list_next, as the discovery client does it.
    seen = []
    request = accounts.list(name=f"projects/{project}", pageSize=2)
    pages = 0
    while request is not None:
        response = request.execute()
        pages += 1
        assert len(response.get("accounts", [])) <= 2
        seen += [a["email"] for a in response.get("accounts", [])]
        request = accounts.list_next(request, response)
    assert sorted(seen) == sorted(a["email"] for a in created) and pages == 3, (seen, pages)

    email = created[0]["email"]
    # gcloud's `projects/-` form, by email and by unique id.
    by_dash = accounts.get(name=f"projects/-/serviceAccounts/{email}").execute()
    by_id = accounts.get(name=f"projects/-/serviceAccounts/{created[0]['uniqueId']}").execute()
    assert by_dash == by_id and by_dash["email"] == email

    keys = accounts.keys()
    key = keys.create(name=f"projects/-/serviceAccounts/{email}", body={"privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE"}).execute()
    assert key["keyType"] == "USER_MANAGED" and key["keyAlgorithm"] == "KEY_ALG_RSA_2048", key
    assert key["validAfterTime"].endswith("Z") and key["validBeforeTime"].endswith("Z")
    key_file = json.loads(base64.b64decode(key["privateKeyData"]))
    assert key_file["type"] == "service_account" and key_file["client_email"] == email
    assert key_file["private_key_id"] == key["name"].rsplit("/", 1)[1]

    listed = keys.list(name=f"projects/-/serviceAccounts/{email}", keyTypes="USER_MANAGED").execute()["keys"]
    assert [k["name"] for k in listed] == [key["name"]]
    assert "privateKeyData" not in listed[0]
    assert keys.list(name=f"projects/-/serviceAccounts/{email}", keyTypes="SYSTEM_MANAGED").execute().get("keys", []) == []
    pem = b"-----BEGIN CERTIFICATE-----\nMIIBplaceholder\n-----END CERTIFICATE-----\n"
    uploaded = keys.upload(name=f"projects/-/serviceAccounts/{email}", body={"publicKeyData": base64.b64encode(pem).decode()}).execute()
    assert uploaded["keyOrigin"] == "USER_PROVIDED" and uploaded["keyType"] == "USER_MANAGED", uploaded
    keys.delete(name=uploaded["name"]).execute()
    keys.disable(name=key["name"], body={}).execute()
    assert keys.get(name=key["name"]).execute()["disabled"] is True
    keys.enable(name=key["name"], body={}).execute()
    assert "disabled" not in keys.get(name=key["name"]).execute()
    keys.delete(name=key["name"]).execute()
    expect_error(404, "NOT_FOUND", "deleted key", keys.get(name=key["name"]))

    # Disable / enable the account; patch it.
    accounts.disable(name=f"projects/{project}/serviceAccounts/{email}", body={}).execute()
    assert accounts.get(name=f"projects/{project}/serviceAccounts/{email}").execute()["disabled"] is True
    accounts.enable(name=f"projects/{project}/serviceAccounts/{email}", body={}).execute()
    patched = accounts.patch(
        name=f"projects/{project}/serviceAccounts/{email}",
        body={"serviceAccount": {"displayName": "renamed"}, "updateMask": "display_name"},
    ).execute()
    assert patched["displayName"] == "renamed"

    # Who may act as the account.
    policy = accounts.getIamPolicy(resource=f"projects/{project}/serviceAccounts/{email}").execute()
    policy["bindings"] = [{"role": "roles/iam.serviceAccountUser", "members": ["user:dev@agency.example"]}]
    updated = accounts.setIamPolicy(resource=f"projects/{project}/serviceAccounts/{email}", body={"policy": policy}).execute()
    assert updated["bindings"] == policy["bindings"] and updated["etag"] != policy["etag"]
    expect_error(409, "ABORTED", "stale etag", accounts.setIamPolicy(
        resource=f"projects/{project}/serviceAccounts/{email}", body={"policy": policy}))

    accounts.delete(name=f"projects/{project}/serviceAccounts/{email}").execute()
    expect_error(404, "NOT_FOUND", "deleted account", accounts.get(name=f"projects/-/serviceAccounts/{email}"))
    restored = accounts.undelete(name=f"projects/-/serviceAccounts/{created[0]['uniqueId']}", body={}).execute()
    assert restored["restoredAccount"]["email"] == email, restored


def crm_checks(endpoint: str, project: str) -> None:
    v1 = build("cloudresourcemanager", "v1", endpoint).projects()
    v3 = build("cloudresourcemanager", "v3", endpoint).projects()

    p1 = v1.get(projectId=project).execute()
    assert p1["projectId"] == project and p1["lifecycleState"] == "ACTIVE" and p1["projectNumber"].isdigit(), p1
    p3 = v3.get(name=f"projects/{project}").execute()
    assert p3["name"] == f"projects/{p1['projectNumber']}" and p3["projectId"] == project and p3["state"] == "ACTIVE", p3
    assert v3.get(name=p3["name"]).execute()["projectId"] == project
    listed = v1.list(filter=f"id:{project}").execute()["projects"]
    assert [p["projectId"] for p in listed] == [project], listed
    found = v3.search(query=f"projectId:{project}").execute()["projects"]
    assert [p["name"] for p in found] == [p3["name"]], found
    ancestry = v1.getAncestry(projectId=project, body={}).execute()
    assert ancestry["ancestor"][0]["resourceId"] == {"type": "project", "id": project}, ancestry
    granted = v3.testIamPermissions(
        resource=f"projects/{project}", body={"permissions": ["resourcemanager.projects.get"]}
    ).execute()
    assert granted["permissions"] == ["resourcemanager.projects.get"], granted

    # v1: read-modify-write with version 3 and a condition.
    policy = v1.getIamPolicy(resource=project, body={"options": {"requestedPolicyVersion": 3}}).execute()
    policy.setdefault("bindings", []).append({"role": "roles/viewer", "members": ["user:lead@agency.example"]})
    policy["bindings"].append({
        "role": "roles/secretmanager.secretAccessor",
        "members": ["group:ops@agency.example"],
        "condition": {"title": "adoption period", "expression": "request.time < timestamp(\"2030-01-01T00:00:00Z\")"},
    })
    policy["version"] = 3
    written = v1.setIamPolicy(resource=project, body={"policy": policy}).execute()
    assert written["version"] == 3 and written["etag"] != policy["etag"]

    # v3 sees the same policy; a v1 reader sees the conditional role renamed.
    read3 = v3.getIamPolicy(resource=f"projects/{project}", body={"options": {"requestedPolicyVersion": 3}}).execute()
    assert read3["etag"] == written["etag"]
    cond = [b for b in read3["bindings"] if "condition" in b]
    assert len(cond) == 1 and cond[0]["condition"]["title"] == "adoption period", read3
    read1 = v3.getIamPolicy(resource=f"projects/{project}", body={}).execute()
    assert read1["version"] == 1 and any("_withcond_" in b["role"] for b in read1["bindings"]), read1

    # Writing back a stale etag through v3 is refused; a fresh one works.
    expect_error(409, "ABORTED", "stale etag", v3.setIamPolicy(resource=f"projects/{project}", body={"policy": policy}))
    read3["bindings"] = [b for b in read3["bindings"] if b["role"] != "roles/viewer"]
    again = v3.setIamPolicy(resource=f"projects/{project}", body={"policy": read3, "updateMask": "bindings,etag"}).execute()
    assert {b["role"] for b in again["bindings"]} == {"roles/secretmanager.secretAccessor"}

    # Organizations and folders above the project hold policies too.
    orgs = build("cloudresourcemanager", "v3", endpoint).organizations()
    org = orgs.get(name="organizations/1234567").execute()
    assert org["name"] == "organizations/1234567" and org["state"] == "ACTIVE", org
    org_policy = orgs.getIamPolicy(resource=org["name"], body={}).execute()
    org_policy["bindings"] = [{"role": "roles/resourcemanager.organizationAdmin", "members": ["group:admins@customer.example"]}]
    org_written = orgs.setIamPolicy(resource=org["name"], body={"policy": org_policy}).execute()
    assert org_written["bindings"] == org_policy["bindings"], org_written
    assert v1_orgs(endpoint).get(name=org["name"]).execute()["owner"]["directoryCustomerId"]
    folders = build("cloudresourcemanager", "v3", endpoint).folders()
    folder = folders.get(name="folders/42").execute()
    assert folder["name"] == "folders/42" and folder["parent"].startswith("organizations/"), folder

    # A condition without version 3 is refused.
    bad = {"bindings": [dict(cond[0])], "etag": again["etag"]}
    expect_error(400, "INVALID_ARGUMENT", "condition without version 3", v1.setIamPolicy(resource=project, body={"policy": bad}))


def v1_orgs(endpoint: str):
    return build("cloudresourcemanager", "v1", endpoint).organizations()


def main(endpoint: str, project: str) -> None:
    iam_checks(endpoint, project)
    crm_checks(endpoint, project)
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
