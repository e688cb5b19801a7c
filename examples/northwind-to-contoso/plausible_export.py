"""Makes the emulator's AWS export read like a real account's (called by make-snapshot.sh).

moto answers two calls with fixed values that no real account returns, and the example's
audit header showed them ("credential report of 2015-02-02", "audited as ...user/moto").
This rewrites exactly two fields of two files of snapshot/aws/ACCOUNT/, and nothing else:

- credential-report.json, GeneratedTime: moto always says 2015-02-02T20:02:02Z. AWS
  says when it generated the report, which GenerateCredentialReport does on request and
  reuses for up to four hours; so the time of the export (--generated-at) is what a
  real export taken then would show. It must not be before the newest user_creation_time
  in the report (a report cannot list a user created after it), and is refused if it is.
  The report's rows (Content) are kept byte for byte.
- caller-identity.json, Arn and UserId: moto always says arn:aws:sts::ACCOUNT:user/moto
  and the example access key id. For an IAM user, GetCallerIdentity returns the user's
  IAM ARN (arn:aws:iam::ACCOUNT:user/NAME) and its unique id (the aws:userid of the IAM
  policy-variables table). The export is made by --caller (the customer's admin), so
  both are copied from that user's entry in account-authorization-details.json, which
  the same export holds. Account is kept.

The files keep the aws CLI's layout (JSON, four-space indent, a final newline). Running
it twice gives the same files.
"""

import argparse
import base64
import csv
import io
import json
import pathlib
import sys
from datetime import datetime, timezone


def write(path, doc):
    path.write_text(json.dumps(doc, indent=4) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--account-dir", required=True, type=pathlib.Path)
    ap.add_argument("--generated-at", required=True, help="UTC, YYYY-MM-DDTHH:MM:SSZ")
    ap.add_argument("--caller", required=True, help="the IAM user name who exported")
    a = ap.parse_args()

    at = datetime.strptime(a.generated_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    report_path = a.account_dir / "credential-report.json"
    report = json.loads(report_path.read_text())
    rows = csv.DictReader(io.StringIO(base64.b64decode(report["Content"]).decode()))
    newest = max(datetime.fromisoformat(r["user_creation_time"]) for r in rows)
    if at < newest:
        sys.exit(f"--generated-at {a.generated_at} is before the newest user ({newest})")
    report["GeneratedTime"] = a.generated_at
    write(report_path, report)

    details = json.loads((a.account_dir / "account-authorization-details.json").read_text())
    users = [u for u in details["UserDetailList"] if u["UserName"] == a.caller]
    if len(users) != 1:
        sys.exit(f"no user {a.caller!r} in account-authorization-details.json")
    caller_path = a.account_dir / "caller-identity.json"
    caller = json.loads(caller_path.read_text())
    caller["UserId"] = users[0]["UserId"]
    caller["Arn"] = users[0]["Arn"]
    write(caller_path, caller)


if __name__ == "__main__":
    main()
