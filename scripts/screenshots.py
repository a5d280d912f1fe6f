"""PNG of each main screen of the real desktop app (offscreen Qt), on a standalone demo site.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [out_dir]
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop.app import build  # noqa: E402
from desktop.first_run import start_standalone  # noqa: E402
from desktop.signin import SignInDialog, Verifiers  # noqa: E402
from shared.envelopes import Event  # noqa: E402
from shared.store import DeviceIdentity, PassphraseKeyProvider  # noqa: E402

SCREENS = [("Equipment", "equipment"), ("Hours per shift", "hours"), ("Breakdowns", "breakdowns"),
           ("Gateway vs logged hours", "gateway-hours"), ("Rental hours", "rental-hours"),
           ("KPI dashboard", "kpi-dashboard"), ("Conflicts inbox", "conflicts")]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    qt = QApplication.instance() or QApplication([])
    qt.setStyle("Fusion")
    path = Path(tempfile.mkdtemp(prefix="pitline-shots-")) / "desk.db"
    desk = build(path, PassphraseKeyProvider("screenshots", n=2**10),
                 identity=DeviceIdentity("desk-1", "demo", "north"), actor="supervisor")
    start_standalone(desk.store, "supervisor", "demo password")
    desk.store.apply_events([Event(
        seq=1, id="e1", tenant_id="demo", site_id="north", type="sync.conflict.opened", entity="sync.conflict",
        entity_id="01JDEMOCONFLICT", version=1, timestamp=datetime.now(UTC), correlation_id="m1",
        payload={"entity": "equipment.rental_contract", "entity_id": "RC-DT01", "mutation_id": "m1",
                 "device_id": "desk-1", "actor": "supervisor", "strategy": "client_override", "status": "open",
                 "needs_person": True, "base_version": 1, "server_version": 2,
                 "server_data": {"equipment_id": "DT01", "customer": "Kumba Haulage", "rate_per_hour": 300,
                                 "starts_on": "2026-11-01"},
                 "client_op": "update", "client_payload": {"rate_per_hour": 340, "ends_on": "2027-01-31"},
                 "fields": ["rate_per_hour"], "resolution": "held for a person", "created_at": "2026-11-24"})])
    window = desk.window
    window.refresh_tables()
    window.resize(1280, 760)
    window.show()
    for title, name in SCREENS:
        window.show_module(title)
        qt.processEvents()
        window.grab().save(str(out / f"{name}.png"))
    dialog = SignInDialog(Verifiers(desk.store))
    dialog.username.setText("supervisor")
    dialog.password.setText("wrong")
    dialog.attempt()
    dialog.show()
    qt.processEvents()
    dialog.grab().save(str(out / "sign-in.png"))
    desk.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
