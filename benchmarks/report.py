"""Merge saved result files into one Markdown table.

Usage: ``python -m benchmarks.report benchmarks/results/A.json [B.json ...]``.
Each file keeps its own medians and ratios (ratios only compare runs made in the
same invocation, on the same machine state). Failover results (scenario 5) get a
second table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.failover import FAILOVER_HEADERS, failover_table_rows
from benchmarks.tables import HEADERS, table_rows

__all__ = ["merge"]


def merge(paths: list[Path]) -> str:
    files: list[dict[str, Any]] = [json.loads(p.read_text()) for p in paths]
    if not files:
        return ""
    first = files[0]
    m = first["machine"]
    versions: dict[str, str] = {}
    for f in files:
        versions.update(f["versions"])
    lines = [
        f"- Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['ram_gb']} GB RAM, "
        f"kernel {m['kernel']}; Python {m['python']}",
        "- Versions: " + "; ".join(f"{k}: {v}" for k, v in versions.items()),
        "- nexthop code per invocation: "
        + "; ".join(f"{f['date']}: {f.get('nexthop_code', 'not recorded')}" for f in files),
        "",
        "| started (UTC) | load avg | " + " | ".join(HEADERS) + " |",
        "|" + "---|" * (len(HEADERS) + 2),
    ]
    for f in files:
        load = " ".join(f["machine"]["loadavg_start"])
        for cells in table_rows(f["summary"]):
            lines.append(f"| {f['date']} | {load} | " + " | ".join(cells) + " |")
    failover = [f for f in files if f.get("failover")]
    if failover:
        lines += [
            "",
            "| started (UTC) | load avg | " + " | ".join(FAILOVER_HEADERS) + " |",
            "|" + "---|" * (len(FAILOVER_HEADERS) + 2),
        ]
        for f in failover:
            load = " ".join(f["machine"]["loadavg_start"])
            for cells in failover_table_rows(f["failover"]["summary"]):
                lines.append(f"| {f['date']} | {load} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(merge([Path(a) for a in sys.argv[1:]]))
