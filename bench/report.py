#!/usr/bin/env python3
"""`handover report` timed on the synthetic inventories of bench/report_inventory.py
(issue 14: "an inventory of 50,000 credentials across 20 accounts renders in about a
second"): for each size, the report of the inventory alone and of the inventory with
its plan, as HTML and JSON; wall time, CPU time (user+sys), peak RSS (/usr/bin/time -v)
and output size; medians of --runs.

    .venv/bin/python bench/report.py --credentials 1000,10000,50000 --out /tmp/rb \\
        [--runs 3] [--json bench/report-release.json]

The inventories and plans are made first (report_inventory.py with one plan run); the
report makes no request. Use a release build (see bench/binaries.py).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from binaries import REPO_ROOT, find_binary  # noqa: E402


def timed(cmd: list[str]) -> dict:
    """Runs `cmd` under /usr/bin/time -v: wall and CPU seconds, peak RSS in MiB."""
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    def field(name: str) -> str:
        m = re.search(rf"{re.escape(name)}: (.+)", r.stderr)
        return m.group(1).strip() if m else "0"
    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return {"wall_s": seconds, "cpu_s": cpu, "peak_rss_mib": int(field("Maximum resident set size (kbytes)")) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--credentials", default="1000,10000,50000")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    binary, build = find_binary()
    sizes = [int(n) for n in a.credentials.split(",")]
    subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "report_inventory.py"),
                    "--credentials", a.credentials, "--out", str(a.out), "--runs", "1",
                    "--no-validate"], check=True, stdout=subprocess.DEVNULL)
    rows = []
    for n in sizes:
        d = a.out / str(n)
        for with_plan in (False, True):
            for fmt in ("html", "json"):
                out = d / f"report-{'plan' if with_plan else 'inventory'}.{fmt}"
                cmd = [str(binary), "-q", "report", "--inventory", str(d / "inventory.json"),
                       "-o", str(out), "--force"]
                if with_plan:
                    cmd[5:5] = ["--plan", str(d / "plan.json")]
                runs = [timed(cmd) for _ in range(a.runs)]
                row = {"credentials": n, "inputs": "inventory + plan" if with_plan else "inventory",
                       "format": fmt, "bytes": out.stat().st_size,
                       **{k: statistics.median(r[k] for r in runs) for k in runs[0]}}
                rows.append(row)
                print(f"{n:>6} {row['inputs']:<17} {fmt:<4} wall {row['wall_s']:6.2f} s  cpu {row['cpu_s']:6.2f} s  "
                      f"rss {row['peak_rss_mib']:7.1f} MiB  {row['bytes'] / 1e6:7.2f} MB", flush=True)
    if a.json:
        a.json.write_text(json.dumps({"build": build, "runs": a.runs, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
