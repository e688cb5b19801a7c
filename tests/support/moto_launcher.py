#!/usr/bin/env python3
"""Test support: serve moto's own server app (exactly what `moto_server` runs) on a
free loopback port, print `listening on http://127.0.0.1:PORT` and serve until killed.

It adds test-only routes under /_handover/ for what no AWS API can do:
  POST /_handover/backdate  {"user", "access_key_id", "created_days_ago",
                             "last_used_days_ago"?, "service"?, "region"?}
     makes an access key old, or used long ago (moto stamps keys with "now").
  GET  /_handover/requests   request counts since start or the last reset, and the
                             actions in order (`sequence`, the last 10,000)
  POST /_handover/freeze-credential-report
     from now on GetCredentialReport answers with the next report moto makes, however
     the account changes after it: AWS reuses a report for up to four hours, moto
     never does. A reset (POST /moto-api/reset) thaws it.
Everything else goes to moto unchanged, including POST /moto-api/reset and
POST /moto-api/reset-auth.
"""
import json
import os
import sys
import threading
from datetime import datetime, timedelta, timezone

# AWS managed policies (AdministratorAccess, ...) exist in every real account.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

try:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.iam.models import AccessKeyLastUsed, iam_backends
    from werkzeug.serving import make_server
except ImportError as e:  # pragma: no cover - the message is the point
    print(
        f"moto is not installed ({e}); run ./scripts/test.sh, which installs "
        "tests/requirements.txt into .venv, or `pip install 'moto[server]'`",
        file=sys.stderr,
    )
    sys.exit(3)

ACCOUNT = os.environ.get("MOTO_ACCOUNT_ID", "123456789012")


class Routes:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.counts = {}
        # Actions in the order they came (the last 10,000), for tests of call order.
        self.sequence = []
        # None: reports are live. True: freeze the next one. bytes: the frozen response.
        self.frozen_report = None

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_handover/backdate":
            return self.backdate(environ, start_response)
        if path == "/_handover/requests":
            with self.lock:
                body = json.dumps({"total": sum(self.counts.values()), "by_action": self.counts, "sequence": self.sequence}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/_handover/freeze-credential-report":
            with self.lock:
                self.frozen_report = True
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
            return [b"{}"]
        if path == "/moto-api/reset":
            with self.lock:
                self.counts = {}
                self.sequence = []
                self.frozen_report = None
        elif not path.startswith("/moto-api"):
            action = environ.get("HTTP_X_AMZ_TARGET") or self.query_action(environ)
            with self.lock:
                self.counts[action] = self.counts.get(action, 0) + 1
                self.sequence = (self.sequence + [action])[-10000:]
                frozen = self.frozen_report
            if action == "GetCredentialReport" and frozen is not None:
                return self.stale_report(environ, start_response, frozen)
        return self.app(environ, start_response)

    def stale_report(self, environ, start_response, frozen):
        if isinstance(frozen, bytes):
            start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(frozen)))])
            return [frozen]
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        body = b"".join(self.app(environ, capture))
        if captured["status"].startswith("200"):
            with self.lock:
                self.frozen_report = body
        start_response(captured["status"], captured["headers"])
        return [body]

    @staticmethod
    def query_action(environ):
        # Query-protocol (IAM, STS) actions are in the form body; peek without consuming.
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        for part in body.split(b"&"):
            if part.startswith(b"Action="):
                return part[7:].decode()
        return "other"

    def backdate(self, environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            req = json.loads(environ["wsgi.input"].read(length))
            backend = iam_backends[ACCOUNT]["aws"]
            user = backend.users[req["user"]]
            key = next(k for k in user.access_keys if k.access_key_id == req["access_key_id"])
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            key.create_date = now - timedelta(days=req["created_days_ago"])
            if req.get("last_used_days_ago") is not None:
                key.last_used = AccessKeyLastUsed(
                    timestamp=now - timedelta(days=req["last_used_days_ago"]),
                    service=req.get("service", "s3"),
                    region=req.get("region", "us-east-1"),
                )
        except Exception as e:  # noqa: BLE001 - report any seeding mistake to the test
            body = f"backdate failed: {e!r}".encode()
            start_response("400 Bad Request", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]


def exit_with_parent():
    # The test process holds our stdin open; when it exits (even killed), stdin closes
    # and this server goes too, so no emulator outlives its tests.
    try:
        sys.stdin.read()
    finally:
        os._exit(0)


def main():
    # One log line per request would fill a pipe nobody reads; keep errors only.
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if "--exit-with-stdin" in sys.argv:
        threading.Thread(target=exit_with_parent, daemon=True).start()
    port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 0
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", port, Routes(app), threaded=True)
    os.environ["MOTO_PORT"] = str(server.server_port)
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
