"""Drives the GCP test server with Google's own Secret Manager client (REST transport,
anonymous credentials) through `versions/latest` and payload rules, asserting Google's
documented answers:

- `projects/*/secrets/*/versions/latest` is "an alias to the most recently created
  SecretVersion" (AccessSecretVersionRequest.name, GetSecretVersionRequest.name), so when
  that version is disabled or destroyed, access answers 400 FAILED_PRECONDITION
  "Secret Version [.../versions/N] is in DISABLED state." (or DESTROYED), and get
  describes that version with its state;
- an empty payload is refused: 400 INVALID_ARGUMENT "Field [payload] is required."

Usage: python secretmanager_latest.py ENDPOINT PROJECT
Exits non-zero (with a traceback) on the first mismatch; prints "ok" at the end.
"""

import sys

from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager

State = secretmanager.SecretVersion.State


def error_of(call) -> tuple:
    """Runs `call`, which must fail; returns (HTTP code, status, message)."""
    try:
        call()
    except exceptions.GoogleAPICallError as exc:
        body = exc.response.json()["error"] if exc.response is not None else {}
        return exc.code, body.get("status"), body.get("message")
    raise AssertionError("the call succeeded")


def main(endpoint: str, project: str) -> None:
    client = secretmanager.SecretManagerServiceClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": endpoint},
    )
    parent = f"projects/{project}"
    for name, newest in [("py-latest-disabled", "disable"), ("py-latest-destroyed", "destroy")]:
        secret = client.create_secret(
            request={"parent": parent, "secret_id": name, "secret": {"replication": {"automatic": {}}}}
        )
        for value in [b"v1", b"v2", b"v3"]:
            client.add_secret_version(request={"parent": secret.name, "payload": {"data": value}})
        latest = f"{secret.name}/versions/latest"
        assert client.access_secret_version(request={"name": latest}).name.endswith("/versions/3")
        if newest == "disable":
            client.disable_secret_version(request={"name": f"{secret.name}/versions/3"})
            state, word = State.DISABLED, "DISABLED"
        else:
            client.destroy_secret_version(request={"name": f"{secret.name}/versions/3"})
            state, word = State.DESTROYED, "DESTROYED"
        code, status, message = error_of(lambda: client.access_secret_version(request={"name": latest}))
        assert (code, status) == (400, "FAILED_PRECONDITION"), (code, status, message)
        assert message == f"Secret Version [{secret.name}/versions/3] is in {word} state.", message
        described = client.get_secret_version(request={"name": latest})
        assert described.name == f"{secret.name}/versions/3", described.name
        assert described.state == state, described.state
        # The newest enabled one is still there, by number.
        got = client.access_secret_version(request={"name": f"{secret.name}/versions/2"})
        assert got.payload.data == b"v2"
        # A new version becomes `latest` again.
        client.add_secret_version(request={"parent": secret.name, "payload": {"data": b"v4"}})
        got = client.access_secret_version(request={"name": latest})
        assert got.name.endswith("/versions/4") and got.payload.data == b"v4", got.name

    # Empty payloads are refused, with or without a checksum, and add no version.
    target = f"{parent}/secrets/py-latest-disabled"
    for payload in [{"data": b""}, {"data": b"", "data_crc32c": 0}]:
        code, status, message = error_of(
            lambda: client.add_secret_version(request={"parent": target, "payload": payload})
        )
        assert (code, status, message) == (400, "INVALID_ARGUMENT", "Field [payload] is required."), (code, status, message)
    versions = list(client.list_secret_versions(request={"parent": target}))
    assert len(versions) == 4, [v.name for v in versions]

    print("ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
