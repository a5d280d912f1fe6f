"""A fixed asset bought on account on the desktop, offline (D89), through the real widgets on a real encrypted
store: the asset form refuses an asset on account without its vendor or the vendor's invoice number beside the
field; a payment is allocated to the asset by that invoice number (over-allocation refused beside the field); and
the AP/AR ageing screen shows the asset's open amount under its vendor."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop.record_form import RecordForm
from tests.desktop.test_ops_finance_ap_ar import FINANCE, cells
from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into

TRUCK = {"equipment_id": "HT-07", "cost": "48000.00", "salvage": "0.00", "in_service": "2026-10-01",
         "method": "straight_line", "life_months": 48, "paid_from": "payable", "acquired_on": "2026-10-01",
         "vendor_id": "V-CAT", "invoice_no": "TD-4807"}
RECORDS = [("procurement.vendor", "V-CAT", {"code": "V-CAT", "name": "Truck dealer", "payment_terms_days": 30}),
           ("finance.asset", "A-HT07", TRUCK)]
FIELDS = ["equipment_id", "cost", "in_service", "method", "life_months", "paid_from", "acquired_on", "vendor_id",
          "invoice_no", "due_date"]


def test_an_asset_on_account_without_its_vendor_is_refused_beside_the_field(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="fay", roles=FINANCE)
    qtbot.addWidget(desk.window)
    form = RecordForm(desk.store, "finance.asset", FIELDS, "fay")
    qtbot.addWidget(form)
    typed = {k: str(v) for k, v in TRUCK.items() if k in FIELDS and k not in ("vendor_id", "invoice_no")}
    type_into(qtbot, form, typed)
    assert form.save() is None
    assert "which vendor" in form.errors["vendor_id"].text() and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"vendor_id": "V-CAT"})
    assert form.save() is None
    assert form.errors["vendor_id"].text() == "" and "invoice number" in form.errors["invoice_no"].text()
    type_into(qtbot, form, {"invoice_no": "TD-4807", "due_date": "2026-09-30"})
    assert form.save() is None
    assert form.errors["due_date"].text() == "on or after 2026-10-01" and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"due_date": "2026-11-30"})
    assert form.save() is not None
    [written] = desk.store.outbox_batch(10)
    assert (written.payload["vendor_id"], written.payload["invoice_no"], written.payload["due_date"]) == (
        "V-CAT", "TD-4807", "2026-11-30")
    desk.close()


def test_a_payment_is_allocated_to_an_asset_by_its_invoice_number_and_the_ageing_shows_the_rest(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path) -> None:
    desk = open_ops(tmp_path / "desk.db", actor="fay", roles=FINANCE)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, RECORDS)
    desk.window.show_module("Payments")
    screen = desk.window.ops["Payments"]
    form = screen.form
    type_into(qtbot, form, {"vendor_id": "V-CAT", "paid_on": "2026-11-15", "amount": "50000.00",
                            "allocations": "TD-4807=50000.00"})
    click(qtbot, form.save_button)
    assert "only 48000.00 open on TD-4807" in form.errors["allocations"].text() and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"amount": "20000.00", "allocations": "TD-4807=20000.00"})
    click(qtbot, form.save_button)
    [payment] = desk.store.outbox_batch(10)
    assert payment.payload["allocations"] == [{"invoice_id": "A-HT07", "amount": "20000.00"}]
    assert cells(screen.model, 0) == ["V-CAT", "2026-11-15", "20000.00", "TD-4807 20000.00", ""]
    desk.window.show_module("AP/AR ageing")
    ageing = desk.window.ops["AP/AR ageing"]
    ageing.as_of.setText("2026-12-15")
    # Acquired 1 October, 30 days' terms: due 31 October, 45 days past due; 48,000.00 − 20,000.00 in 31-60.
    assert cells(ageing.model, 0) == ["V-CAT", "0.00", "0.00", "28000.00", "0.00", "0.00", "0.00", "28000.00"]
    desk.close()
