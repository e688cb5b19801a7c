"""Checks the GCP test server against Google's documented answers for the behaviours of
issue 11 (list filters, field masks, request validation, custom roles), driven by
Google's own clients: google-cloud-secret-manager (REST transport) and
google-api-python-client's discovery clients (static discovery documents).

Usage: python google_rules.py ENDPOINT PROJECT SECTION
SECTION is one of: filters, masks, validation, roles, versions.
Exits non-zero (with a traceback) on the first mismatch; prints "ok" at the end.
"""

import json
import sys

from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager
from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2
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


def sm_client(endpoint: str):
    return secretmanager.SecretManagerServiceClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": endpoint},
    )


def expect_http_error(http: int, status: str, why: str, request, message: str = "") -> str:
    """Executes a discovery `request`, which must fail with this code and status (and a
    message containing `message`)."""
    try:
        request.execute()
    except HttpError as exc:
        body = json.loads(exc.content)["error"]
        assert exc.resp.status == http and body["status"] == status, (why, body)
        assert message in body["message"], (why, body)
        return body["message"]
    raise AssertionError(why)


def expect_api_error(http: int, status: str, why: str, call, message: str = "") -> str:
    try:
        call()
    except exceptions.GoogleAPICallError as exc:
        got = exc.response.json()["error"] if exc.response is not None else {}
        assert exc.code == http and got.get("status") == status, (why, exc.code, got)
        assert message in got.get("message", ""), (why, got)
        return got["message"]
    raise AssertionError(why)


# ------------------------------------------------------------------ filters


def filters(endpoint: str, project: str) -> None:
    """Secret Manager filtering (https://cloud.google.com/secret-manager/docs/filtering,
    AIP-160) and Resource Manager v1 `projects.list` filters."""
    sm = sm_client(endpoint)
    parent = f"projects/{project}"
    automatic = {"automatic": {}}
    regional = {"user_managed": {"replicas": [{"location": "us-east1"}, {"location": "europe-west1"}]}}
    west = {"user_managed": {"replicas": [{"location": "europe-west4"}]}}
    for sid, labels, replication in [
        ("APIKEY-shop-production", {"env": "production"}, automatic),
        ("apikey-shop-staging", {"env": "staging"}, regional),
        ("db-password", {}, west),
    ]:
        sm.create_secret(request={"parent": parent, "secret_id": sid,
                                  "secret": {"labels": labels, "replication": replication}})

    def ids(flt: str) -> list:
        return sorted(s.name.rsplit("/", 1)[1] for s in sm.list_secrets(request={"parent": parent, "filter": flt}))

    assert ids("name:asecret OR name:db") == ["db-password"], ids("name:asecret OR name:db")
    assert ids("name:APIKEY*production") == ["APIKEY-shop-production"]
    assert ids("labels.env=production OR labels.env=staging") == ["APIKEY-shop-production", "apikey-shop-staging"]
    assert ids("NOT labels.env:*") == ["db-password"]
    assert ids("-labels.env:*") == ["db-password"]
    assert ids("replication.automatic:*") == ["APIKEY-shop-production"]
    assert ids("replication.user_managed.replicas.location:us-east1") == ["apikey-shop-staging"]
    # The Filtering page's own example: user-managed, but in neither region.
    assert ids(
        "replication.user_managed.replicas.location:* AND NOT "
        "replication.user_managed.replicas.location:(us-central1 OR us-east1)"
    ) == ["db-password"]
    # AIP-160: OR binds tighter than AND.
    assert ids("name:db AND labels.env=production OR NOT labels.env:*") == ["db-password"]
    assert ids("(name:db AND labels.env=production) OR labels.env=staging") == ["apikey-shop-staging"]
    for bad in ["name:db OR", "(name:db", "bogus:1", "name ~ \"db.*\"", "(" * 5000 + "name:db" + ")" * 5000]:
        expect_api_error(400, "INVALID_ARGUMENT", f"filter {bad[:40]}",
                         lambda: list(sm.list_secrets(request={"parent": parent, "filter": bad})))

    crm = build("cloudresourcemanager", "v1", endpoint)

    def projects(flt: str) -> list:
        return sorted(p["projectId"] for p in crm.projects().list(filter=flt).execute().get("projects", []))

    # v1 projects.list: "Filter rules are case insensitive. If multiple fields are
    # included in a filter query, the query will return results that match any of the
    # fields." The examples of the reference page, one by one.
    assert projects("name:how*") == ["howl-prod"], projects("name:how*")
    assert projects("name:Howl") == ["howl-prod"]
    assert projects("name:HOWL") == ["howl-prod"]
    assert projects("NAME:howl") == ["howl-prod"]
    assert projects("labels.color:*") == ["howl-prod", "moving-castle"]
    assert projects("labels.color:red") == ["howl-prod"]
    assert projects("labels.color:red labels.size:big") == ["calcifer", "howl-prod"]
    assert projects("labels.color:red AND labels.size:big") == []
    assert projects("lifecycleState:ACTIVE AND (labels.color:red OR labels.color:blue)") == ["howl-prod", "moving-castle"]
    assert projects("lifecycleState:ACTIVE AND (NOT labels.color:*)") == ["calcifer"]
    expect_http_error(400, "INVALID_ARGUMENT", "unknown field", crm.projects().list(filter="colour:red"))


# ------------------------------------------------------------------ field masks


def masks(endpoint: str, project: str) -> None:
    """`secrets.patch` with `updateMask` (google.protobuf.FieldMask): a path replaces
    exactly the field it names, a sub-field path leaves the rest of the message alone,
    a path that names no field is INVALID_ARGUMENT."""
    sm = sm_client(endpoint)
    parent = f"projects/{project}"
    next_time = timestamp_pb2.Timestamp(seconds=1924992000)  # 2031-01-01T00:00:00Z
    created = sm.create_secret(request={"parent": parent, "secret_id": "rotating", "secret": {
        "replication": {"automatic": {}},
        "labels": {"team": "shop", "env": "prod"},
        "topics": [{"name": f"projects/{project}/topics/rotation"}],
        "rotation": {"next_rotation_time": next_time, "rotation_period": duration_pb2.Duration(seconds=7200)},
    }})

    def update(paths, secret):
        secret["name"] = created.name
        return sm.update_secret(request={"secret": secret, "update_mask": field_mask_pb2.FieldMask(paths=paths)})

    # Removing the period keeps the next rotation time.
    out = update(["rotation.rotation_period"], {"rotation": {}})
    assert out.rotation.next_rotation_time.timestamp_pb() == next_time, out.rotation
    assert not out.rotation.rotation_period, out.rotation
    # Changing the next rotation time keeps the labels, topics and everything else.
    later = timestamp_pb2.Timestamp(seconds=1956528000)  # 2032-01-01T00:00:00Z
    out = update(["rotation.next_rotation_time"], {"rotation": {"next_rotation_time": later}, "labels": {"ignored": "x"}})
    assert out.rotation.next_rotation_time.timestamp_pb() == later, out.rotation
    assert dict(out.labels) == {"team": "shop", "env": "prod"}, out.labels
    assert [t.name for t in out.topics] == [f"projects/{project}/topics/rotation"]
    # A top-level path left out of the body clears that field.
    out = update(["labels"], {})
    assert dict(out.labels) == {}, out.labels
    # The rotation path as a whole: cleared when the body has none.
    out = update(["rotation"], {})
    assert "rotation" not in out, out
    for bad in (["bogus"], ["rotation.bogus"], ["labels.env"], ["replication"]):
        expect_api_error(400, "INVALID_ARGUMENT", f"mask {bad}", lambda: update(bad, {}))


# ------------------------------------------------------------------ request validation


def validation(endpoint: str, project: str) -> None:
    """What Google refuses before storing anything (see gcp-test-server/src/params.rs and
    policy.rs check_grants for the references)."""
    crm = build("cloudresourcemanager", "v1", endpoint)
    iam = build("iam", "v1", endpoint)
    sm = sm_client(endpoint)

    # An unknown query parameter, sent through the discovery client's own transport.
    request = crm.projects().list(filter="id:x")
    request.uri += "&pagesize=2"
    msg = expect_http_error(400, "INVALID_ARGUMENT", "unknown query parameter", request)
    assert msg == ('Invalid JSON payload received. Unknown name "pagesize": Cannot bind query parameter. '
                   "Field 'pagesize' could not be found in request message."), msg
    request = iam.projects().serviceAccounts().getIamPolicy(resource=f"projects/{project}/serviceAccounts/x@y")
    request.uri += "&optionsRequestedPolicyVersion=3"
    expect_http_error(400, "INVALID_ARGUMENT", "the misspelt option", request,
                      "Unknown name \"optionsRequestedPolicyVersion\": Cannot bind query parameter.")

    sa = iam.projects().serviceAccounts().create(name=f"projects/{project}", body={"accountId": "app-runtime"}).execute()
    policy = crm.projects().getIamPolicy(resource=project, body={"options": {"requestedPolicyVersion": 3}}).execute()

    def set_project(bindings, why, message):
        body = {"policy": {"version": 3, "etag": policy["etag"], "bindings": bindings}}
        return expect_http_error(400, "INVALID_ARGUMENT", why, crm.projects().setIamPolicy(resource=project, body=body), message)

    cond = {"title": "until 2030", "expression": 'request.time < timestamp("2030-01-01T00:00:00Z")'}
    set_project([{"role": "roles/owner", "members": ["user:carol@example.com"], "condition": cond}],
                "condition on a basic role", "basic roles")
    set_project([{"role": "roles/secretmanager.secretAccessor", "members": ["allUsers"], "condition": cond}],
                "condition on allUsers", "allUsers")
    set_project([{"role": "roles/secretmanager.secretAccessor", "members": ["allAuthenticatedUsers"], "condition": cond}],
                "condition on allAuthenticatedUsers", "allAuthenticatedUsers")
    ghost = f"ghost@{project}.iam.gserviceaccount.com"
    set_project([{"role": "roles/viewer", "members": [f"serviceAccount:{ghost}"]}],
                "a service account that does not exist", f"Service account {ghost} does not exist.")
    set_project([{"role": "roles/viewer", "members": ["serviceAccount:carol@example.com"]}],
                "a user's address as a service account",
                'Account carol@example.com is of type "user". Please set the type prefix to be "user:".')
    # What Google accepts: the same grants without the refused parts.
    stored = crm.projects().setIamPolicy(resource=project, body={"policy": {"version": 3, "bindings": [
        {"role": "roles/secretmanager.secretAccessor", "members": [f"serviceAccount:{sa['email']}"], "condition": cond},
        {"role": "roles/viewer", "members": ["user:carol@example.com",
                                             f"serviceAccount:service-1@gcp-sa-logging.iam.gserviceaccount.com"]},
    ]}}).execute()
    assert len(stored["bindings"]) == 2, stored

    secret = sm.create_secret(request={"parent": f"projects/{project}", "secret_id": "db-password",
                                       "secret": {"replication": {"automatic": {}}}})
    from google.iam.v1 import iam_policy_pb2, policy_pb2

    def set_secret(role):
        return sm.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(
            resource=secret.name, policy=policy_pb2.Policy(bindings=[policy_pb2.Binding(role=role, members=["user:carol@example.com"])])))

    set_secret("roles/secretmanager.secretAccessor")
    expect_api_error(400, "INVALID_ARGUMENT", "compute role on a secret", lambda: set_secret("roles/compute.admin"),
                     "Role roles/compute.admin is not supported for this resource.")
    sa_policy = {"policy": {"bindings": [{"role": "roles/secretmanager.secretAccessor", "members": ["user:carol@example.com"]}]}}
    expect_http_error(400, "INVALID_ARGUMENT", "secret role on a service account",
                      iam.projects().serviceAccounts().setIamPolicy(resource=sa["name"], body=sa_policy),
                      "Role roles/secretmanager.secretAccessor is not supported for this resource.")
    sa_policy["policy"]["bindings"][0]["role"] = "roles/iam.serviceAccountUser"
    iam.projects().serviceAccounts().setIamPolicy(resource=sa["name"], body=sa_policy).execute()


# ------------------------------------------------------------------ custom roles


def roles(endpoint: str, project: str) -> None:
    """IAM v1 `projects.roles` and `roles` through the discovery client (iam.v1.json)."""
    iam = build("iam", "v1", endpoint)
    parent = f"projects/{project}"
    made = iam.projects().roles().create(parent=parent, body={
        "roleId": "secretReader",
        "role": {"title": "Secret reader", "includedPermissions": ["secretmanager.versions.access"]},
    }).execute()
    assert made["name"] == f"{parent}/roles/secretReader", made
    assert "stage" not in made, "an ALPHA role's stage is left out"
    expect_http_error(400, "INVALID_ARGUMENT", "bad role id", iam.projects().roles().create(
        parent=parent, body={"roleId": "x", "role": {"title": "too short"}}))
    expect_http_error(400, "INVALID_ARGUMENT", "bad permission", iam.projects().roles().create(
        parent=parent, body={"roleId": "wildcard", "role": {"includedPermissions": ["secretmanager.*"]}}))
    patched = iam.projects().roles().patch(name=made["name"], updateMask="title", body={"title": "Reader"}).execute()
    assert patched["title"] == "Reader" and patched["includedPermissions"] == ["secretmanager.versions.access"], patched
    expect_http_error(409, "ABORTED", "stale etag", iam.projects().roles().patch(
        name=made["name"], updateMask="title", body={"title": "x", "etag": made["etag"]}))
    expect_http_error(400, "INVALID_ARGUMENT", "unknown mask path", iam.projects().roles().patch(
        name=made["name"], updateMask="bogus", body={}))
    basic = iam.projects().roles().list(parent=parent).execute()["roles"]
    assert "includedPermissions" not in basic[0], "BASIC view leaves permissions out"
    full = iam.projects().roles().list(parent=parent, view="FULL").execute()["roles"]
    reader = [r for r in full if r["name"].endswith("/secretReader")]
    assert reader and reader[0]["includedPermissions"] == ["secretmanager.versions.access"], full
    viewer = iam.roles().get(name="roles/viewer").execute()
    assert "secretmanager.secrets.list" in viewer["includedPermissions"], viewer
    assert "secretmanager.versions.access" not in viewer["includedPermissions"], viewer
    expect_http_error(404, "NOT_FOUND", "unknown role", iam.projects().roles().get(name=f"{parent}/roles/nope"))


# ------------------------------------------------------------------ policy versions


def versions(endpoint: str, project: str) -> None:
    """setIamPolicy over a policy with conditions (the `Policy` reference: "Any operation
    that affects conditional role bindings must specify version 3 ... Removing any role
    binding, with or without a condition, from a policy that includes conditions"; "If
    no etag is provided in the call to setIamPolicy, version compliance checks against
    the stored policy is skipped")."""
    crm = build("cloudresourcemanager", "v1", endpoint)
    cond = {"title": "adoption", "expression": 'request.time < timestamp("2030-01-01T00:00:00Z")'}
    crm.projects().setIamPolicy(resource=project, body={"policy": {"version": 3, "bindings": [
        {"role": "roles/secretmanager.secretAccessor", "members": ["user:carol@example.com"], "condition": cond},
        {"role": "roles/viewer", "members": ["user:carol@example.com", "user:dan@example.com"]},
    ]}}).execute()
    policy = crm.projects().getIamPolicy(resource=project, body={"options": {"requestedPolicyVersion": 3}}).execute()
    assert policy["version"] == 3, policy
    # Removing the conditional binding with the etag but without version 3: refused.
    viewer_only = [{"role": "roles/viewer", "members": ["user:carol@example.com"]}]
    for version in (None, 1):
        body = {"policy": {"etag": policy["etag"], "bindings": viewer_only}}
        if version is not None:
            body["policy"]["version"] = version
        expect_http_error(400, "INVALID_ARGUMENT", f"version {version} with the etag over conditions",
                          crm.projects().setIamPolicy(resource=project, body=body))
    after = crm.projects().getIamPolicy(resource=project, body={"options": {"requestedPolicyVersion": 3}}).execute()
    assert after == policy, ("a refused write changes nothing", after)
    # The same removal at version 3 with the etag: accepted.
    done = crm.projects().setIamPolicy(resource=project, body={"policy": {
        "version": 3, "etag": policy["etag"], "bindings": viewer_only}}).execute()
    assert done["bindings"] == viewer_only, done
    # Without an etag the stored version is not checked: a version 1 write overwrites.
    crm.projects().setIamPolicy(resource=project, body={"policy": {"version": 3, "bindings": [
        {"role": "roles/secretmanager.secretAccessor", "members": ["user:carol@example.com"], "condition": cond}]}}).execute()
    crm.projects().setIamPolicy(resource=project, body={"policy": {"bindings": viewer_only}}).execute()
    last = crm.projects().getIamPolicy(resource=project, body={"options": {"requestedPolicyVersion": 3}}).execute()
    assert last["bindings"] == viewer_only, last


# ------------------------------------------------------------------ main

SECTIONS = {"filters": filters, "masks": masks, "validation": validation, "roles": roles, "versions": versions}

if __name__ == "__main__":
    endpoint, project, section = sys.argv[1], sys.argv[2], sys.argv[3]
    SECTIONS[section](endpoint, project)
    print("ok")
