"""Drives the GCP test server with Google's own Secret Manager client
(google-cloud-secret-manager, REST transport, anonymous credentials).

Usage: python secretmanager_client.py ENDPOINT PROJECT
Exits non-zero (with a traceback) on the first mismatch; prints "ok" at the end.
"""

import sys

from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import field_mask_pb2


def expect_error(http: int, status: str, why: str, call) -> None:
    """Runs `call`, which must fail with this HTTP code and canonical status."""
    try:
        call()
    except exceptions.GoogleAPICallError as exc:
        got = exc.response.json()["error"] if exc.response is not None else {}
        assert exc.code == http and got.get("status") == status, (why, exc.code, got)
        assert got.get("code") == http and got.get("message"), got
        return
    raise AssertionError(why)


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli), written out so the check does not depend on the server's."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def main(endpoint: str, project: str) -> None:
    client = secretmanager.SecretManagerServiceClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": endpoint},
    )
    parent = f"projects/{project}"

    secret = client.create_secret(
        request={
            "parent": parent,
            "secret_id": "py-db-password",
            "secret": {
                "replication": {"automatic": {}},
                "labels": {"env": "prod", "owner": "agency"},
                "annotations": {"handover.owner": "agency"},
            },
        }
    )
    assert secret.name.startswith("projects/") and secret.name.endswith("/secrets/py-db-password"), secret.name
    assert dict(secret.labels) == {"env": "prod", "owner": "agency"}
    assert secret.replication.automatic is not None
    assert secret.create_time.year >= 2024

    client.create_secret(
        request={
            "parent": parent,
            "secret_id": "py-api-token",
            "secret": {"replication": {"user_managed": {"replicas": [{"location": "europe-west1"}]}}},
        }
    )
    expect_error(409, "ALREADY_EXISTS", "creating a secret twice must fail", lambda: (
        client.create_secret(
            request={"parent": parent, "secret_id": "py-api-token", "secret": {"replication": {"automatic": {}}}}
        )
    ))

    # Versions: add with a checksum, access round-trips the value.
    values = [b"first-value", b"second-value \x00\xff binary"]
    for value in values:
        crc = crc32c(value)
        version = client.add_secret_version(
            request={"parent": secret.name, "payload": {"data": value, "data_crc32c": crc}}
        )
        assert version.state == secretmanager.SecretVersion.State.ENABLED
        assert version.client_specified_payload_checksum
    latest = client.access_secret_version(request={"name": f"{secret.name}/versions/latest"})
    assert latest.payload.data == values[-1], latest.payload.data
    assert latest.payload.data_crc32c == crc32c(values[-1])
    assert latest.name.endswith("/versions/2"), latest.name
    first = client.access_secret_version(request={"name": f"{secret.name}/versions/1"})
    assert first.payload.data == values[0]

    # A wrong checksum is refused.
    expect_error(400, "INVALID_ARGUMENT", "a crc32c mismatch must be refused", lambda: (
        client.add_secret_version(
            request={"parent": secret.name, "payload": {"data": b"x", "data_crc32c": 12345}}
        )
    ))

    # Disable, enable, destroy; `latest` is the most recently created version, enabled
    # or not (secretmanager_latest.py asserts Google's answer for it in full).
    client.disable_secret_version(request={"name": f"{secret.name}/versions/2"})
    expect_error(400, "FAILED_PRECONDITION", "latest is version 2, which is disabled", lambda: (
        client.access_secret_version(request={"name": f"{secret.name}/versions/latest"})
    ))
    expect_error(400, "FAILED_PRECONDITION", "a disabled version must not be accessible", lambda: (
        client.access_secret_version(request={"name": f"{secret.name}/versions/2"})
    ))
    client.enable_secret_version(request={"name": f"{secret.name}/versions/2"})
    destroyed = client.destroy_secret_version(request={"name": f"{secret.name}/versions/1"})
    assert destroyed.state == secretmanager.SecretVersion.State.DESTROYED
    assert destroyed.destroy_time.year >= 2024
    expect_error(400, "FAILED_PRECONDITION", "a destroyed version must not be accessible", lambda: (
        client.access_secret_version(request={"name": f"{secret.name}/versions/1"})
    ))

    versions = list(client.list_secret_versions(request={"parent": secret.name}))
    assert [v.name.rsplit("/", 1)[1] for v in versions] == ["2", "1"], [v.name for v in versions]
    enabled = list(client.list_secret_versions(request={"parent": secret.name, "filter": "state:ENABLED"}))
    assert [v.name.rsplit("/", 1)[1] for v in enabled] == ["2"]

    # Listing pages through every secret, newest first.
    for i in range(5):
        client.create_secret(
            request={"parent": parent, "secret_id": f"py-bulk-{i}", "secret": {"replication": {"automatic": {}}}}
        )
    pager = client.list_secrets(request={"parent": parent, "page_size": 2})
    names = [s.name.rsplit("/", 1)[1] for s in pager]
    assert names[:5] == [f"py-bulk-{i}" for i in reversed(range(5))], names
    assert {"py-db-password", "py-api-token"} <= set(names)
    pages = list(client.list_secrets(request={"parent": parent, "page_size": 2}).pages)
    assert len(pages) >= 4 and all(len(p.secrets) <= 2 for p in pages)
    prod = [s.name for s in client.list_secrets(request={"parent": parent, "filter": "labels.env=prod"})]
    assert len(prod) == 1 and prod[0].endswith("/py-db-password"), prod

    # Patch with an update mask, guarded by the etag.
    current = client.get_secret(request={"name": secret.name})
    updated = client.update_secret(
        request={
            "secret": {"name": secret.name, "labels": {"env": "staging"}, "etag": current.etag},
            "update_mask": field_mask_pb2.FieldMask(paths=["labels"]),
        }
    )
    assert dict(updated.labels) == {"env": "staging"}
    assert updated.etag != current.etag
    expect_error(409, "ABORTED", "a stale etag must be refused", lambda: (
        client.update_secret(
            request={
                "secret": {"name": secret.name, "labels": {"env": "x"}, "etag": current.etag},
                "update_mask": field_mask_pb2.FieldMask(paths=["labels"]),
            }
        )
    ))

    # Secret-level IAM.
    policy = client.get_iam_policy(request={"resource": secret.name})
    # A Google-managed service agent: it exists outside the project, so the binding
    # needs no account created first (Google refuses bindings to missing accounts).
    policy.bindings.add(role="roles/secretmanager.secretAccessor", members=["serviceAccount:service-123456789012@gcp-sa-secretmanager.iam.gserviceaccount.com"])
    new = client.set_iam_policy(request={"resource": secret.name, "policy": policy})
    assert new.etag != policy.etag
    read = client.get_iam_policy(
        request={"resource": secret.name, "options": {"requested_policy_version": 3}}
    )
    assert [b.role for b in read.bindings] == ["roles/secretmanager.secretAccessor"]
    assert list(read.bindings[0].members) == ["serviceAccount:service-123456789012@gcp-sa-secretmanager.iam.gserviceaccount.com"]
    expect_error(409, "ABORTED", "setting a policy with a stale etag must fail", lambda: (
        client.set_iam_policy(request={"resource": secret.name, "policy": policy})
    ))

    # Regional secrets live under projects/*/locations/*, without a replication policy.
    regional_parent = f"{parent}/locations/europe-west1"
    regional = client.create_secret(
        request={"parent": regional_parent, "secret_id": "py-regional", "secret": {"labels": {"scope": "eu"}}}
    )
    assert "/locations/europe-west1/secrets/py-regional" in regional.name, regional.name
    client.add_secret_version(request={"parent": regional.name, "payload": {"data": b"eu-value"}})
    got = client.access_secret_version(request={"name": f"{regional.name}/versions/latest"})
    assert got.payload.data == b"eu-value"
    assert [s.name for s in client.list_secrets(request={"parent": regional_parent})] == [regional.name]
    assert regional.name not in [s.name for s in client.list_secrets(request={"parent": parent})]

    # Delete, then it is gone.
    client.delete_secret(request={"name": f"{parent}/secrets/py-api-token"})
    expect_error(404, "NOT_FOUND", "a deleted secret must be gone", lambda: (
        client.get_secret(request={"name": f"{parent}/secrets/py-api-token"})
    ))

    print("ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
