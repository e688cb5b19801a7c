#!/usr/bin/env python3
"""Seeds a running GCP test server (gcp-test-server) with the GCP project of the
fictional Northwind-to-Contoso handover.

Northwind (the agency, northwind-agency.example) built and ran the Contoso shop in
Contoso's project `contoso-shop-prod` and hands it to Contoso (contoso.example). The
project holds every kind of GCP credential an audit must find; the secret values are
canaries that must never appear in anything the tool prints or writes.

Everything goes through Google's own Python clients where an API exists
(google-cloud-secret-manager over REST; google-api-python-client discovery clients for
IAM v1 and Cloud Resource Manager v1). The server's `/_admin/seed` is used only for
what no API can do: naming the project, back-dating keys and secrets, and making a
SYSTEM_MANAGED key.

Usage: seed_gcp.py --endpoint http://127.0.0.1:PORT [--project contoso-shop-prod]
Prints one JSON object on stdout:
  project, project_number,
  service_accounts: {deployer, app_runtime, legacy_batch}          (emails)
  keys: {deployer_old, deployer_new, app_runtime_system, legacy_batch}
        (full key resource names, projects/PROJECT/serviceAccounts/EMAIL/keys/ID)
  key_ids: the same, only the trailing ID
  secrets: {db_password, stripe_key, payments_signing}              (full names, with
        the project number, as Google returns them)
  secret_ids: the short ids
  members: the principals of the project policy, by role of the person
  canaries: every secret value used (text values as they are; the binary value as its
        embedded ASCII marker and as standard base64), to grep for in output
The server must be fresh (or reset): creating what already exists fails.
"""
import argparse
import base64
import datetime as dt
import json
import sys
import urllib.request

from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager
from googleapiclient import discovery

DEFAULT_PROJECT = "contoso-shop-prod"
AGENCY = "northwind-agency.example"
CUSTOMER = "contoso.example"
TAG = "4b2e"


def canary(name: str) -> str:
    return f"CANARY-gcp-{name}-{TAG}"


# Secret values. Distinct per secret and version so a leak tells which path leaked.
DB_PASSWORD_V1 = canary("db-password-v1")
DB_PASSWORD_V2 = canary("db-password")
STRIPE_KEY = canary("stripe-key")
# The one binary value: not UTF-8 (0xff, 0xfe, NUL), with an ASCII marker inside.
SIGNING_MARKER = canary("payments-signing")
SIGNING_VALUE = b"\x00\xff\xfe" + SIGNING_MARKER.encode() + b"\x80\x81\xc3("


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def build(api: str, version: str, endpoint: str):
    return discovery.build(
        api,
        version,
        credentials=AnonymousCredentials(),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": endpoint},
    )


def admin_seed(endpoint: str, doc: dict) -> dict:
    req = urllib.request.Request(
        endpoint.rstrip("/") + "/_admin/seed",
        data=json.dumps(doc).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True, help="http://127.0.0.1:PORT of a running gcp-test-server")
    ap.add_argument("--project", default=DEFAULT_PROJECT)
    args = ap.parse_args()
    endpoint = args.endpoint.rstrip("/")
    project = args.project
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    # The project itself: no API creates one on the test server (nor names it), so seed.
    seeded = admin_seed(endpoint, {"projects": [{
        "projectId": project, "displayName": "Contoso shop (production)",
        "labels": {"app": "shop", "built-by": "northwind-agency"},
    }]})
    number = seeded["projects"][0]["projectNumber"]

    # --- Service accounts and keys (IAM v1) -------------------------------------------
    iam = build("iam", "v1", endpoint)
    accounts = iam.projects().serviceAccounts()
    keys = accounts.keys()

    def create_sa(account_id: str, display: str, description: str) -> str:
        sa = accounts.create(
            name=f"projects/{project}",
            body={"accountId": account_id, "serviceAccount": {"displayName": display, "description": description}},
        ).execute()
        return sa["email"]

    def create_key(email: str) -> str:
        key = keys.create(
            name=f"projects/{project}/serviceAccounts/{email}",
            body={"privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE", "keyAlgorithm": "KEY_ALG_RSA_2048"},
        ).execute()
        # The private key is secret material too; it is dropped here, never printed.
        return key["name"]

    deployer = create_sa("deployer", "Deployer (Northwind CI)", "Deploys the shop from Northwind's CI")
    app_runtime = create_sa("app-runtime", "Shop runtime", "Identity of the running shop")
    legacy = create_sa("legacy-batch", "Legacy batch jobs", "Nightly export, replaced in 2025")

    deployer_old = create_key(deployer)
    deployer_new = create_key(deployer)
    legacy_key = create_key(legacy)
    accounts.disable(name=f"projects/{project}/serviceAccounts/{legacy}", body={}).execute()

    # Back-dating keys and a Google-managed key: only the admin API can do that.
    legacy_after = now - dt.timedelta(days=800)
    seeded = admin_seed(endpoint, {
        "systemManagedKeys": [{"serviceAccount": f"projects/{project}/serviceAccounts/{app_runtime}",
                               "validAfterTime": rfc3339(now - dt.timedelta(days=3))}],
        "keyTimes": [
            {"name": deployer_old, "validAfterTime": rfc3339(now - dt.timedelta(days=400))},
            # Made when an expiry constraint gave keys a year: expired 435 days ago.
            {"name": legacy_key, "validAfterTime": rfc3339(legacy_after),
             "validBeforeTime": rfc3339(legacy_after + dt.timedelta(days=365))},
        ],
    })
    app_runtime_key = seeded["systemManagedKeys"][0]["name"]

    # Who may act as the deployer.
    sa_resource = f"projects/{project}/serviceAccounts/{deployer}"
    policy = accounts.getIamPolicy(resource=sa_resource).execute()
    policy["bindings"] = [
        {"role": "roles/iam.serviceAccountUser", "members": [f"user:bob@{AGENCY}"]},
        {"role": "roles/iam.serviceAccountTokenCreator", "members": [f"group:ops@{AGENCY}"]},
    ]
    accounts.setIamPolicy(resource=sa_resource, body={"policy": policy}).execute()

    # --- Project IAM policy (Resource Manager v1, version 3 for the condition) ---------
    crm = build("cloudresourcemanager", "v1", endpoint).projects()
    policy = crm.getIamPolicy(resource=project, body={"options": {"requestedPolicyVersion": 3}}).execute()
    members = {
        "agency_owner": f"user:alice@{AGENCY}",
        "agency_editor": f"user:bob@{AGENCY}",
        "agency_domain": f"domain:{AGENCY}",
        "agency_ops_group": f"group:ops@{AGENCY}",
        "customer_owner": f"user:carol@{CUSTOMER}",
        "deployer": f"serviceAccount:{deployer}",
        "deleted_user": f"deleted:user:mallory@{AGENCY}?uid=123456789",
        "adoption_period_user": f"user:dan@{AGENCY}",
        "public": "allAuthenticatedUsers",
    }
    # Two things here real Google would refuse through setIamPolicy and the test server
    # stores (it validates member syntax only): `allAuthenticatedUsers` on a *project*
    # ("Project does not support allUsers and allAuthenticatedUsers", v1 setIamPolicy
    # docs), and making users owners without the console invitation Google requires for
    # users outside the organization. Both are here because audits meet such policies
    # (made through the console, or left from older rules) and must report them.
    policy["version"] = 3
    policy["bindings"] = [
        {"role": "roles/owner", "members": [members["agency_owner"], members["customer_owner"]]},
        {"role": "roles/editor", "members": [members["agency_editor"], members["deployer"]]},
        {"role": "roles/viewer", "members": [members["agency_domain"], members["deleted_user"]]},
        {"role": "roles/iam.serviceAccountTokenCreator", "members": [members["agency_ops_group"]]},
        {"role": "roles/secretmanager.secretAccessor", "members": [members["adoption_period_user"]],
         "condition": {"title": "adoption period",
                       "description": "Northwind keeps read access to secrets until the adoption period ends",
                       "expression": 'request.time < timestamp("2027-01-31T00:00:00Z")'}},
        {"role": "roles/storage.objectViewer", "members": [members["public"]]},
    ]
    crm.setIamPolicy(resource=project, body={"policy": policy}).execute()

    # --- Secret Manager (google-cloud-secret-manager over REST) ------------------------
    sm = secretmanager.SecretManagerServiceClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": endpoint},
    )
    parent = f"projects/{project}"

    def add_version(secret_name: str, value: bytes):
        return sm.add_secret_version(request={
            "parent": secret_name, "payload": {"data": value, "data_crc32c": crc32c(value)}})

    db = sm.create_secret(request={
        "parent": parent, "secret_id": "db-password",
        "secret": {"replication": {"automatic": {}}, "labels": {"app": "shop"}},
    })
    first = add_version(db.name, DB_PASSWORD_V1.encode())
    add_version(db.name, DB_PASSWORD_V2.encode())
    sm.disable_secret_version(request={"name": first.name})

    stripe = sm.create_secret(request={
        "parent": parent, "secret_id": "stripe-key",
        "secret": {"replication": {"automatic": {}}, "labels": {"app": "shop", "vendor": "stripe"}},
    })
    add_version(stripe.name, STRIPE_KEY.encode())
    policy = sm.get_iam_policy(request={"resource": stripe.name})
    policy.bindings.add(role="roles/secretmanager.secretAccessor", members=[f"user:alice@{AGENCY}"])
    sm.set_iam_policy(request={"resource": stripe.name, "policy": policy})

    signing = sm.create_secret(request={
        "parent": parent, "secret_id": "payments-signing",
        "secret": {
            "replication": {"user_managed": {"replicas": [
                {"location": "europe-west1"}, {"location": "europe-west4"}]}},
            "labels": {"app": "shop"},
            # The test server does not check that the topic exists (no Pub/Sub).
            "topics": [{"name": f"projects/{project}/topics/secret-rotation"}],
            "rotation": {"rotation_period": dt.timedelta(days=30),
                         "next_rotation_time": now + dt.timedelta(days=7)},
            "expire_time": now + dt.timedelta(days=365),
        },
    })
    add_version(signing.name, SIGNING_VALUE)

    # Secrets made long ago (the API stamps createTime itself): db-password's current
    # value is 200 days old, stripe-key's was never changed in 500 days.
    def ago(days: int) -> str:
        return rfc3339(now - dt.timedelta(days=days))

    admin_seed(endpoint, {"createTimes": [
        {"name": db.name, "createTime": ago(700)},
        {"name": f"{db.name}/versions/1", "createTime": ago(700)},
        {"name": f"{db.name}/versions/2", "createTime": ago(200)},
        {"name": stripe.name, "createTime": ago(500)},
        {"name": f"{stripe.name}/versions/1", "createTime": ago(500)},
        {"name": signing.name, "createTime": ago(20)},
        {"name": f"{signing.name}/versions/1", "createTime": ago(20)},
    ]})

    out = {
        "project": project,
        "project_number": number,
        "service_accounts": {"deployer": deployer, "app_runtime": app_runtime, "legacy_batch": legacy},
        "keys": {"deployer_old": deployer_old, "deployer_new": deployer_new,
                 "app_runtime_system": app_runtime_key, "legacy_batch": legacy_key},
        "secrets": {"db_password": db.name, "stripe_key": stripe.name, "payments_signing": signing.name},
        "secret_ids": {"db_password": "db-password", "stripe_key": "stripe-key", "payments_signing": "payments-signing"},
        "members": members,
        "canaries": [DB_PASSWORD_V1, DB_PASSWORD_V2, STRIPE_KEY, SIGNING_MARKER,
                     base64.b64encode(SIGNING_VALUE).decode()],
    }
    out["key_ids"] = {k: v.rsplit("/", 1)[1] for k, v in out["keys"].items()}
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
