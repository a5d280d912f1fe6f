"""A customer invoice generated on a finance PC from the hours reconciliation it pulled from a real hub (a
supervisor's correction in it) is accepted by the hub's own re-derivation (D65) and posts the corrected hours:
the desktop's lines (HR's reconciliation_lines) and the hub's (shared lines_from_records) agree."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from shared.envelopes import Op
from shared.ids import new_ulid
from tests.desktop.test_ops_finance_ap_ar import FINANCE, RECONCILED
from tests.desktop.test_ops_maintenance import click, open_ops, type_into
from tests.hub.test_push import db_fetch

CORRECTED = ("hr.reconciliation_review", "emp-anna:2026-07-01:day", {
    "employee_id": "emp-anna", "shift_date": "2026-07-01", "shift": "day", "equipment_ids": ["DT01"],
    "gateway_hours": 8.0, "logged_hours": 10.0, "attendance_hours": 12.0, "flags": ["logged_vs_gateway"],
    "decision": "corrected", "paid_hours": 10.0, "machine_hours": 9.0, "reason": "gateway dropped out"})


def test_an_invoice_of_reconciled_hours_made_on_the_pc_is_the_one_the_hub_derives(  # type: ignore[no-untyped-def]
        qtbot, live_hub, tmp_path: Path) -> None:
    tenant = f"t-arh-{new_ulid()[-6:].lower()}"
    hq = open_ops(tmp_path / "hq.db", actor="hq", roles=frozenset({"administrator"}), hub=live_hub, tenant=tenant,
                  device="hq-1")
    for entity, entity_id, payload in [*RECONCILED, CORRECTED]:
        hq.store.enqueue(entity, entity_id, Op.CREATE, payload, actor="hq")
    assert hq.bridge is not None
    hq.bridge.client.sync_once()
    assert hq.store.outbox_depth() == 0 and not hq.store.rejections()
    hq.close()

    desk = open_ops(tmp_path / "desk.db", actor="fay", roles=FINANCE, hub=live_hub, tenant=tenant)
    qtbot.addWidget(desk.window)
    assert desk.bridge is not None
    desk.bridge.client.catch_up()
    desk.window.show_module("Customer invoices")
    screen = desk.window.ops["Customer invoices"]
    type_into(qtbot, screen.form, {"customer": "Beta", "period_start": "2026-07-01", "period_end": "2026-07-02",
                                   "invoice_date": "2026-07-03", "number": "AR-77"})
    assert "15.00 h × 100 = 1500.00" in screen.preview.text()  # 9 corrected + 6 measured
    click(qtbot, screen.form.save_button)
    invoice_id = desk.store.outbox_batch(1)[0].entity_id
    desk.bridge.client.sync_once()
    assert desk.store.outbox_depth() == 0 and not desk.store.rejections()
    rows = db_fetch(live_hub.dsn, "SELECT account, debit_cents, credit_cents FROM finance.ledger_lines WHERE "
                                  "tenant_id = $1 AND entry_key = $2 ORDER BY line_no", tenant,
                    f"customer_invoice:{invoice_id}:1")
    assert [(r["account"], r["debit_cents"], r["credit_cents"]) for r in rows] == [("1200", 150000, 0),
                                                                                  ("4100", 0, 150000)]
    desk.close()
