"""Measure sorting and filtering a large local table through the desktop's model (not collected by pytest;
a benchmark, to move under bench/ by its owner):

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.desktop.bench_tables 1000000
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop.app import build
from shared.store import DeviceIdentity, MutationDraft, PassphraseKeyProvider

CLASSES = ["truck", "excavator", "dozer", "loader"]


def timed(label: str, action: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    median = sorted(times)[repeat // 2]
    print(f"{label}: median {median:.1f} ms, worst {max(times):.1f} ms", flush=True)
    return median


def main(rows: int) -> None:
    qt = QApplication.instance() or QApplication([])
    path = Path(tempfile.mkdtemp(prefix="bench-desk-")) / "desk.db"
    desk = build(path, PassphraseKeyProvider("bench", n=2**10), identity=DeviceIdentity("d", "t", "s"), actor="u")
    started = time.perf_counter()
    for first in range(0, rows, 50_000):
        desk.store.enqueue_many([MutationDraft("equipment.unit", f"U{i:07}", "create",
                                               {"fleet_no": f"U{(i * 7919) % rows:07}",
                                                "equipment_class": CLASSES[i % 4]}, "u")
                                 for i in range(first, min(rows, first + 50_000))])
    print(f"enqueue {rows} rows: {time.perf_counter() - started:.1f} s", flush=True)
    model = desk.window.models["equipment.unit"]
    timed("reload (first page)", model.reload)
    timed("sort by fleet number, descending", lambda: model.sort(0, Qt.SortOrder.DescendingOrder))
    timed("fetch the next page", lambda: model.fetchMore(model.index(-1, -1)))
    timed("filter class = dozer (sorted)", lambda: model.set_filter({"equipment_class": "dozer"}))
    model.sort(-1)
    model.order_by = None
    timed("filter class = dozer", lambda: model.set_filter({"equipment_class": "dozer"}))
    timed("filter one fleet number", lambda: model.set_filter({"fleet_no": f"U{rows // 2:07}"}))
    timed("count all matches (only when asked)", lambda: model.set_filter({}) or model.total, repeat=3)
    desk.close()
    qt.quit()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
