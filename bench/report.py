"""One row per benchmark: ours beside the peer (or the physical limit) measured in the same run."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass
class Row:
    name: str
    ours: float
    unit: str
    peer_name: str
    peer: float | None
    target: str
    passed: bool
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.peer in (None, 0):
            return None
        return self.ours / self.peer  # type: ignore[operator]


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cores": str(os.cpu_count()), "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def show(rows: list[Row], out: Path) -> None:
    table = Table(title="Pitline benchmarks (loopback, this machine)")
    for col in ("benchmark", "ours", "peer / limit", "peer", "ratio", "target", "ok"):
        table.add_column(col)
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}×"
        peer = "" if r.peer is None else f"{r.peer:,.0f} {r.unit}"
        table.add_row(r.name, f"{r.ours:,.1f} {r.unit}", r.peer_name, peer, ratio, r.target,
                      "yes" if r.passed else "NO")
    console = Console()
    info = machine()
    console.print(table)
    console.print(" · ".join(f"{k}: {v}" for k, v in info.items()))
    for r in rows:
        if r.note:
            console.print(f"[dim]{r.name}: {r.note}[/dim]")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "rows": [{**asdict(r), "ratio": r.ratio} for r in rows]}, indent=1))
