#!/usr/bin/env python3
"""`handover docs check` timed on N generated documents of SIZE KiB each (issue 18: "docs
check on 1,000 documents of 100 KiB each finishes in seconds"). The documents are
playbooks in the config's `playbooks` folder, so each is parsed as Markdown, checked and
scanned for credentials; every 100th has a planted (fake) AWS access key id, so the scan
has hits to report. Wall time, CPU time and peak RSS (/usr/bin/time -v); medians of --runs.

    python3 bench/docs.py --docs 1000 --kib 100 --out /tmp/docs-bench [--runs 3] [--json FILE]

Use a release build (see bench/binaries.py: `cargo build --release --bin handover`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from binaries import find_binary  # noqa: E402

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def document(r: random.Random, i: int, kib: int) -> str:
    """A playbook of about `kib` KiB: the sections the check wants, then filler sections
    of prose, lists, tables and code (with a planted key id in every 100th)."""
    parts = [
        f"# Playbook {i}: service {i} degraded\n\n## Trigger\n\nThe alert `svc-{i}-errors` fires.\n\n"
        "## Steps\n\n1. Check the dashboard.\n2. Roll back.\n\n## Escalation\n\nThe customer's on-call, then its manager.\n\n"
        "## Incident roles\n\n- Incident commander: on-call lead\n- Communications lead: support lead\n- Operations lead: on-call engineer\n\n"
    ]
    words = "the service queue latency error budget deploy rollback region replica cache token owner page alert".split()
    size = len(parts[0])
    n = 0
    while size < kib * 1024:
        n += 1
        prose = " ".join(r.choice(words) for _ in range(60))
        block = (
            f"## Notes {n}\n\n{prose}.\n\n- item {n} one {r.choice(words)}\n- item {n} two {r.choice(words)}\n  - nested {n}\n\n"
            f"| step | owner | note |\n|---|---|---|\n| {n} | team {n % 7} | {r.choice(words)} |\n\n"
            f"```sh\nkubectl rollout undo deploy/svc-{i} --to-revision={n}\n```\n\n"
        )
        parts.append(block)
        size += len(block)
    if i % 100 == 0:
        key = "AKIA" + "".join(r.choice(B32) for _ in range(16))
        parts.insert(1, f"Old notes: the deploy user's key was {key}.\n\n")
    return "".join(parts)


def generate(out: Path, docs: int, kib: int) -> Path:
    r = random.Random(18)
    play = out / "playbooks"
    play.mkdir(parents=True, exist_ok=True)
    for i in range(docs):
        (play / f"playbook-{i:05}.md").write_text(document(r, i, kib))
    cfg = out / "handover.toml"
    cfg.write_text(
        'scenario = "full-transfer"\nhandover_date = "2026-12-01"\n'
        '[agency]\nname = "Northwind"\nemail_domains = ["northwind-agency.example"]\n'
        '[customer]\nname = "Contoso"\n'
        '[documentation]\nplaybooks = ["playbooks"]\n'
    )
    return cfg


def timed(cmd: list[str]) -> dict:
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    err = p.stderr

    def field(name: str) -> str:
        m = re.search(rf"{re.escape(name)}: (.*)", err)
        return m.group(1).strip() if m else "0"

    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall.split(":"))))
    return {
        "code": p.returncode,
        "wall_s": round(secs, 3),
        "cpu_s": round(float(field("User time (seconds)")) + float(field("System time (seconds)")), 3),
        "peak_rss_mib": round(int(field("Maximum resident set size (kbytes)")) / 1024, 1),
        "stdout": p.stdout,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--kib", type=int, default=100)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    cfg = generate(a.out, a.docs, a.kib)
    binary, build = find_binary()
    cmd = [str(binary), "docs", "check", "--config", str(cfg), "--format", "json"]
    total = sum(p.stat().st_size for p in (a.out / "playbooks").iterdir())
    runs = []
    for _ in range(a.runs):
        t = timed(cmd)
        report = json.loads(t.pop("stdout"))
        secrets = sum(1 for f in report["findings"] if f["check"] == "secret-in-document")
        if t["code"] != 1 or len(report["files"]) != a.docs or secrets != a.docs // 100 + (1 if a.docs % 100 else 0):
            raise SystemExit(f"FAIL: unexpected result: code {t['code']}, {len(report['files'])} files, {secrets} secrets")
        t["files"], t["secrets"] = len(report["files"]), secrets
        runs.append(t)
    result = {
        "build": build,
        "docs": a.docs,
        "kib": a.kib,
        "total_mib": round(total / 2**20, 1),
        "median_wall_s": statistics.median(r["wall_s"] for r in runs),
        "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "median_peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
        "runs": runs,
    }
    print(json.dumps(result, indent=2))
    if a.json:
        a.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
