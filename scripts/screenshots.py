"""PNG of each main screen of the real desktop app (offscreen Qt), on a standalone demo site.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [out_dir]
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop.app import build  # noqa: E402
from desktop.first_run import start_standalone  # noqa: E402
from desktop.main_window import MainWindow  # noqa: E402
from desktop.signin import SignInDialog, Verifiers  # noqa: E402
from shared.envelopes import Event  # noqa: E402
from shared.store import DeviceIdentity, LocalStore, PassphraseKeyProvider  # noqa: E402

SCREENS = [("Equipment", "equipment"), ("Hours per shift", "hours"), ("Breakdowns", "breakdowns"),
           ("Gateway vs logged hours", "gateway-hours"), ("Rental hours", "rental-hours"),
           ("KPI dashboard", "kpi-dashboard"), ("Conflicts inbox", "conflicts"), ("Work orders", "work-orders"),
           ("PM plans", "pm-plans"), ("Stock", "stock"), ("Transfers", "transfers"), ("Requisitions", "requisitions"),
           ("Purchase orders", "purchase-orders"), ("Inbox", "inbox")]
ROLES = frozenset({"supervisor", "maintenance_supervisor", "storeman"})


def hub_event(seq: int, entity: str, entity_id: str, payload: dict[str, Any]) -> Event:
    return Event(seq=seq, id=f"e{seq}", tenant_id="demo", site_id="north", type=f"{entity}.created", entity=entity,
                 entity_id=entity_id, version=1, timestamp=datetime.now(UTC), payload=payload, correlation_id=None)


def operations_demo(store: LocalStore) -> None:
    """A few work orders, PM plans, stock, POs and an approval waiting, as the hub sent them."""
    now = datetime.now(UTC)
    at = (now - timedelta(days=3)).isoformat(timespec="seconds")
    records: list[tuple[str, str, dict[str, Any]]] = [
        ("approvals.chain", "chain-po", {"document_type": "procurement.purchase_order", "levels": [
            {"min_amount": 0, "approver_user": "supervisor"}, {"min_amount": 10000, "approver_role": "manager"}]})]
    items = [("FLT-0716", "Oil filter CAT 1R-0716", 40, 18.5), ("HOSE-19", "Hydraulic hose 19 mm", 12, 96.0),
             ("TOOTH-J350", "Bucket tooth J350", 24, 210.0), ("OIL-15W40", "Engine oil 15W-40 (l)", 2000, 4.1),
             ("BELT-FAN", "Fan belt 3E-4546", 6, 64.0)]
    for code, text, qty, cost in items:
        records.append(("inventory.item", code, {"code": code, "description": text, "unit": "ea"}))
        records.append(("inventory.movement", f"OPEN-{code}", {"kind": "receipt", "store_id": "MAIN", "item_id": code,
                                                               "quantity": qty, "unit_cost": cost, "occurred_at": at}))
        records.append(("inventory.stock", f"MAIN:{code}", {"store_id": "MAIN", "item_id": code, "on_hand": qty}))
    reorder = {"HOSE-19": (15, 30, "Pilbara Hydraulics"), "BELT-FAN": (4, 12, "Outback Bearings")}
    for code, (point, top, vendor) in reorder.items():
        item = next(r for r in records if r[0] == "inventory.item" and r[1] == code)
        item[2].update({"reorder_point": point, "max_qty": top, "preferred_vendor_id": vendor,
                        "standard_price": next(c for i, _t, _q, c in items if i == code)})
    records.append(("inventory.movement", "TRF-0412-OUT", {
        "kind": "transfer_out", "store_id": "MAIN", "item_id": "OIL-15W40", "quantity": 400, "unit_cost": 4.1,
        "transfer_id": "TRF-0412", "to_store_id": "PIT2", "occurred_at": at}))
    records.append(("inventory.movement", "ISS-BELT", {"kind": "issue", "store_id": "MAIN", "item_id": "BELT-FAN",
                                                       "quantity": 8, "occurred_at": at, "cost_centre": "MINING"}))
    steps = {"requested": [], "approved": ["approved"], "planned": ["approved", "planned"],
             "in_progress": ["approved", "planned", "in_progress"]}
    jobs = [("WO-1041", "DT01", "Brake fault: rear left", "high", "in_progress"),
            ("WO-1042", "EX01", "Boom cylinder seal leak", "emergency", "planned"),
            ("WO-1043", "DZ01", "Track tension check", "medium", "approved"),
            ("WO-1044", "DT02", "A/C not cooling", "low", "requested")]
    for number, unit, title, priority, status in jobs:
        records.append(("maintenance.work_order", number, {"number": number, "equipment_id": unit, "title": title,
                                                           "priority": priority, "kind": "corrective",
                                                           "status": status, "requested_by": "operator",
                                                           "requested_at": at}))
        previous = "requested"
        for n, to in enumerate(steps[status]):
            records.append(("maintenance.work_order_transition", f"{number}-{n}", {
                "work_order_id": number, "from_status": previous, "to_status": to, "by": "supervisor",
                "roles": ["maintenance_supervisor", "planner"], "at": (now - timedelta(days=2, hours=-n)).isoformat()}))
            previous = to
    for unit, start in (("DT01", 12_000), ("EX01", 14_000), ("DZ01", 15_000)):
        records.append(("maintenance.pm_plan", f"PM-{unit}-250", {
            "equipment_id": unit, "title": "250 h service", "trigger": "hours", "schedule": "fixed",
            "interval_hours": 250, "lead_hours": 25, "start_hours": start}))
        records.append(("maintenance.pm_plan", f"PM-{unit}-90D", {
            "equipment_id": unit, "title": "Quarterly inspection", "trigger": "either", "schedule": "floating",
            "interval_hours": 1000, "interval_days": 90, "lead_days": 7, "start_hours": start,
            "start_date": (now.date() - timedelta(days=80)).isoformat()}))
    lines = [{"line_id": "1", "item_id": "FLT-0716", "store_id": "MAIN", "quantity": 40, "unit_price": 18.5},
             {"line_id": "2", "item_id": "HOSE-19", "store_id": "MAIN", "quantity": 10, "unit_price": 96}]
    records += [
        ("procurement.purchase_order", "PO-2201", {"number": "PO-2201", "vendor_id": "Pilbara Hydraulics",
                                                   "lines": lines, "total": 1700, "approval": "submitted"}),
        ("approvals.request", "REQ-2201", {"document_type": "procurement.purchase_order", "document_id": "PO-2201",
                                           "amount": 1700, "requested_by": "buyer", "title": "PO-2201"}),
        ("procurement.purchase_order", "PO-2198", {"number": "PO-2198", "vendor_id": "Outback Tyres", "total": 8000,
                                                   "approval": "approved", "lines": [
            {"line_id": "1", "item_id": "TOOTH-J350", "store_id": "MAIN", "quantity": 40, "unit_price": 200}]}),
        ("procurement.goods_receipt", "GR-88", {"po_id": "PO-2198", "line_id": "1", "item_id": "TOOTH-J350",
                                                "store_id": "MAIN", "quantity": 24, "received_at": at}),
        ("notifications.notification", "ntf-pm-dt01", {"user_id": "supervisor", "kind": "pm_due",
                                                       "subject": "maintenance.pm_plan:PM-DT01-250",
                                                       "title": "PM due: DT01 250 h service", "body": "at 12250 h",
                                                       "created_at": at}),
        ("notifications.notification", "ntf-stock-belt", {"user_id": "supervisor", "kind": "stock_below_reorder",
                                                          "subject": "inventory.stock:MAIN:BELT-FAN",
                                                          "title": "Below reorder point: Fan belt 3E-4546",
                                                          "body": "on hand -2, reorder at 4", "created_at": at}),
    ]
    store.apply_events([hub_event(100 + n, *r) for n, r in enumerate(records)])


def office_work(window: MainWindow) -> None:
    """What the office did offline since (pending until the hub confirms): a work order, an issue, a receipt."""
    orders = window.ops["Work orders"]
    form = orders.new_form
    for name, text in (("equipment_id", "DT02"), ("title", "Cracked mirror bracket"), ("requested_by", "operator")):
        form.inputs[name].setText(text)
    form.save()
    issue = window.ops["Stock"].issue
    for name, text in (("store_id", "MAIN"), ("item_id", "FLT-0716"), ("quantity", "6"),
                       ("work_order_id", "WO-1041")):
        issue.inputs[name].setText(text)
    issue.save()
    transfer = window.ops["Stock"].transfer
    for name, text in (("store_id", "MAIN"), ("to_store_id", "WORKSHOP"), ("item_id", "FLT-0716"),
                       ("quantity", "8")):
        transfer.inputs[name].setText(text)
    transfer.save()
    raised = window.ops["Requisitions"].raise_from_reorder()
    pos = window.ops["Purchase orders"]
    pos.refresh()
    pos.select("PO-2198")
    for name, text in (("line_id", "1"), ("quantity", "10")):
        pos.receipt.inputs[name].setText(text)
    pos.receipt.save()
    orders.refresh()
    orders.select("WO-1041")
    window.ops["Transfers"].refresh()
    window.ops["Transfers"].select("TRF-0412")
    window.ops["Requisitions"].refresh()
    window.ops["Requisitions"].select(raised[0])


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    qt = QApplication.instance() or QApplication([])
    qt.setStyle("Fusion")
    path = Path(tempfile.mkdtemp(prefix="pitline-shots-")) / "desk.db"
    desk = build(path, PassphraseKeyProvider("screenshots", n=2**10),
                 identity=DeviceIdentity("desk-1", "demo", "north"), actor="supervisor", roles=ROLES)
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
    operations_demo(desk.store)
    window = desk.window
    office_work(window)
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
