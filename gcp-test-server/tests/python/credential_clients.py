"""Drives the GCP test server's credential routes with google-api-python-client's
discovery clients (static_discovery=True: the documents the library ships): API Keys
v2 keys, Cloud Storage v1 HMAC keys, and IAM v1 workload identity pools and providers.

Usage: python credential_clients.py ENDPOINT PROJECT
Exits non-zero (with a traceback) on the first mismatch; prints "ok" at the end.
"""

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


def expect_error(http: int, why: str, request) -> dict:
    try:
        request.execute()
    except HttpError as exc:
        body = json.loads(exc.content)["error"]
        assert exc.resp.status == http and body["code"] == http, (why, body)
        assert body["message"], body
        return body
    raise AssertionError(why)


def api_key_checks(endpoint: str, project: str) -> None:
    keys = build("apikeys", "v2", endpoint).projects().locations().keys()
    parent = f"projects/{project}/locations/global"
    strings = []
    for i in range(3):
        op = keys.create(parent=parent, body={"displayName": f"key {i}"}).execute()
        assert op["done"] is True, op
        strings.append(op["response"]["keyString"])
        assert op["response"]["keyString"].startswith("AIza"), op
    # Paging: one per page, three pages, no key string anywhere.
    seen, token = [], None
    while True:
        page = keys.list(parent=parent, pageSize=1, pageToken=token).execute()
        seen += page.get("keys", [])
        token = page.get("nextPageToken")
        if not token:
            break
    assert [k["displayName"] for k in seen] == ["key 0", "key 1", "key 2"], seen
    assert all(s not in json.dumps(seen) for s in strings), "list leaked a key string"
    first = keys.get(name=seen[0]["name"]).execute()
    assert "keyString" not in first and first["etag"], first
    assert keys.getKeyString(name=first["name"]).execute()["keyString"] == strings[0]
    # Restrict it: the patch answers an operation with the new key and a new etag.
    body = {"restrictions": {"apiTargets": [{"service": "translate.googleapis.com"}]}}
    op = keys.patch(name=first["name"], body=body, updateMask="restrictions").execute()
    assert op["response"]["restrictions"] == body["restrictions"], op
    assert op["response"]["etag"] != first["etag"], op
    # A stale etag is refused; the current one deletes (a soft delete).
    expect_error(409, "stale etag", keys.delete(name=first["name"], etag=first["etag"]))
    keys.delete(name=first["name"], etag=op["response"]["etag"]).execute()
    left = keys.list(parent=parent).execute()["keys"]
    assert first["name"] not in [k["name"] for k in left], left
    shown = keys.list(parent=parent, showDeleted=True).execute()["keys"]
    assert any(k["name"] == first["name"] and "deleteTime" in k for k in shown), shown
    keys.undelete(name=first["name"], body={}).execute()
    assert "deleteTime" not in keys.get(name=first["name"]).execute()
    expect_error(404, "unknown key", keys.get(name=f"{parent}/keys/nope"))
    expect_error(400, "regional keys do not exist", keys.list(parent=f"projects/{project}/locations/us-east1"))


def hmac_checks(endpoint: str, project: str) -> None:
    # The discovery client's api_endpoint replaces the whole base URL, service path too.
    base = endpoint.rstrip("/") + "/storage/v1/"
    hmac = build("storage", "v1", base).projects().hmacKeys()
    email = f"ci-hmac@{project}.iam.gserviceaccount.com"
    made = [hmac.create(projectId=project, serviceAccountEmail=email).execute() for _ in range(3)]
    secrets = [m["secret"] for m in made]
    assert all(m["metadata"]["state"] == "ACTIVE" for m in made), made
    seen, token = [], None
    while True:
        page = hmac.list(projectId=project, maxResults=2, pageToken=token).execute()
        assert page["kind"] == "storage#hmacKeysMetadata", page
        seen += page.get("items", [])
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(seen) == 3 and all(s not in json.dumps(seen) for s in secrets), seen
    access_id = made[0]["metadata"]["accessId"]
    got = hmac.get(projectId=project, accessId=access_id).execute()
    assert "secret" not in got and got["serviceAccountEmail"] == email, got
    expect_error(400, "an ACTIVE key cannot be deleted", hmac.delete(projectId=project, accessId=access_id))
    off = hmac.update(projectId=project, accessId=access_id, body={"state": "INACTIVE", "etag": got["etag"]}).execute()
    assert off["state"] == "INACTIVE" and off["etag"] != got["etag"], off
    hmac.delete(projectId=project, accessId=access_id).execute()
    assert len(hmac.list(projectId=project).execute()["items"]) == 2
    every = hmac.list(projectId=project, showDeletedKeys=True).execute()["items"]
    assert [k["state"] for k in every if k["accessId"] == access_id] == ["DELETED"], every
    expect_error(404, "unknown access id", hmac.get(projectId=project, accessId="GOOG1ENOPE"))


def wif_checks(endpoint: str, project: str) -> None:
    pools = build("iam", "v1", endpoint).projects().locations().workloadIdentityPools()
    parent = f"projects/{project}/locations/global"
    op = pools.create(parent=parent, workloadIdentityPoolId="ci-pool", body={"displayName": "CI"}).execute()
    assert op["done"] is True and op["response"]["state"] == "ACTIVE", op
    pool = f"{parent}/workloadIdentityPools/ci-pool"
    providers = pools.providers()
    body = {
        "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"},
        "attributeMapping": {"google.subject": "assertion.sub", "attribute.repository_owner": "assertion.repository_owner"},
        "attributeCondition": "assertion.repository_owner == 'contoso'",
    }
    providers.create(parent=pool, workloadIdentityPoolProviderId="github", body=body).execute()
    expect_error(400, "OIDC without google.subject", providers.create(
        parent=pool, workloadIdentityPoolProviderId="bad-one",
        body={"oidc": {"issuerUri": "https://x.example"}, "attributeMapping": {}}))
    listed = providers.list(parent=pool).execute()["workloadIdentityPoolProviders"]
    assert [p["attributeCondition"] for p in listed] == [body["attributeCondition"]], listed
    name = listed[0]["name"]
    providers.delete(name=name).execute()
    assert "workloadIdentityPoolProviders" not in providers.list(parent=pool).execute()
    gone = providers.list(parent=pool, showDeleted=True).execute()["workloadIdentityPoolProviders"]
    assert gone[0]["state"] == "DELETED" and gone[0]["expireTime"], gone
    providers.undelete(name=name, body={}).execute()
    assert providers.get(name=name).execute()["state"] == "ACTIVE"
    names = [p["name"] for p in pools.list(parent=parent).execute()["workloadIdentityPools"]]
    assert names == [op["response"]["name"]], names


def main() -> None:
    endpoint, project = sys.argv[1], sys.argv[2]
    api_key_checks(endpoint, project)
    hmac_checks(endpoint, project)
    wif_checks(endpoint, project)
    print("ok")


if __name__ == "__main__":
    main()
