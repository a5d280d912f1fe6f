"""Payables and receivables screens driven through the real widgets on a real encrypted store (offline): the
three-way match shown per line before saving and why a line waits for approval, payments and receipts
allocated (over-allocation refused beside the field), a customer invoice generated from a rental contract's
hours for a period, and AP/AR ageing from the replica with its CSV export; then one invoice synced to a real hub,
posted line by line as it matches and as it is approved, with the hub's ageing equal to the PC's."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import httpx
from PySide6.QtCore import Qt
from PySide6.QtPdf import QPdfDocument

from desktop import ap_replica
from desktop.approval_actions import decide, views_by_document
from shared.domain.approvals import Verdict
from shared.envelopes import Op
from shared.ids import new_ulid
from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into
from tests.hub.test_identity_users import PASSWORD, add_user, signin
from tests.hub.test_push import db_fetch

FINANCE = frozenset({"finance"})
PURCHASE = [
    ("procurement.vendor", "V1", {"code": "V1", "name": "Parts Co", "payment_terms_days": 30}),
    ("procurement.purchase_order", "PO1", {"vendor_id": "V1", "total": 445, "lines": [
        {"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 10, "unit_price": 12.5},
        {"line_id": "2", "item_id": "BELT", "store_id": "MAIN", "quantity": 4, "unit_price": 80}]}),
    ("procurement.goods_receipt", "GR1", {"po_id": "PO1", "line_id": "1", "item_id": "FILTER", "store_id": "MAIN",
                                          "quantity": 10, "received_at": "2026-10-03T08:00:00+00:00"}),
    ("procurement.goods_receipt", "GR2", {"po_id": "PO1", "line_id": "2", "item_id": "BELT", "store_id": "MAIN",
                                          "quantity": 2, "received_at": "2026-10-03T08:00:00+00:00"}),
]
INVOICE = {"vendor_id": "V1", "invoice_no": "INV-77", "po_id": "PO1", "invoice_date": "2026-10-05",
           "status": "matched", "lines": [{"po_line_id": "1", "quantity": "10", "unit_price": "12.50"},
                                          {"po_line_id": "2", "quantity": "2", "unit_price": "80.00"}]}


def cells(model, row: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [model.cell(row, c) for c in range(len(model.headers))]


def test_the_match_shows_per_line_before_saving_and_a_mismatch_is_sent_for_approval(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="fay", roles=FINANCE)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, PURCHASE)
    desk.window.show_module("Vendor invoices")
    screen = desk.window.ops["Vendor invoices"]
    form = screen.form
    type_into(qtbot, form, {"vendor_id": "V1", "invoice_no": "INV-77", "po_id": "PO1", "invoice_date": "2026-10-05"})
    form.line_model.set_rows([])
    form.line_model.append(["1", "10", "13.00"])
    form.line_model.append(["2", "2", "80.00"])
    rows = [cells(form.match_model, r) for r in range(form.match_model.rowCount())]
    assert [r[:8] for r in rows] == [["1", "1", "10", "10", "0", "12.5", "130.00", "waits for approval"],
                                     ["2", "2", "4", "2", "0", "80", "160.00", "matches"]]
    assert "unit price 13.00 against PO price 12.5 (tolerance ±0.25)" in rows[0][8] and rows[1][8] == ""
    assert "1 of 2 lines do not match (130.00 of 290.00)" in form.match_summary.text()
    assert "due 2026-11-04" in form.match_summary.text()  # the vendor's 30 days
    assert "No approver can take it yet (no approval chain for vendor_invoice_mismatch)" in form.match_summary.text()
    from_hub(desk.store, [("approvals.chain", "CH1", {"document_type": "vendor_invoice_mismatch",
                                                      "levels": [{"min_amount": 0, "approver_role": "finance"}]})])
    form.check()
    assert "No approver" not in form.match_summary.text()
    assert desk.store.outbox_depth() == 0  # shown, nothing written yet
    click(qtbot, form.save_button)
    invoice, request = desk.store.outbox_batch(10)
    assert invoice.entity == "finance.vendor_invoice" and invoice.payload["status"] == "awaiting_approval"
    assert invoice.payload["lines"][0] == {"po_line_id": "1", "quantity": "10", "unit_price": "13.00"}
    assert (request.entity, request.payload["document_type"], request.payload["document_id"],
            request.payload["amount"]) == ("approvals.request", "vendor_invoice_mismatch", invoice.entity_id, 130.0)
    assert cells(screen.model, 0) == ["V1", "INV-77", "PO1", "2026-10-05", "2026-11-04", "290.00", "0.00",
                                      "290.00", "waits for approval"]
    # The same vendor invoice again is refused beside its number; nothing is written, what was typed is kept.
    type_into(qtbot, form, {"vendor_id": "V1", "invoice_no": "inv-77", "po_id": "PO1", "invoice_date": "2026-10-06"})
    form.line_model.set_rows([["1", "1", "12.50"]])
    click(qtbot, form.save_button)
    assert "already entered" in form.errors["invoice_no"].text() and desk.store.outbox_depth() == 2
    type_into(qtbot, form, {"invoice_no": "INV-78", "po_id": "PO9"})
    click(qtbot, form.save_button)
    assert "unknown purchase order" in form.errors["po_id"].text() and desk.store.outbox_depth() == 2
    assert form.inputs["invoice_no"].text() == "INV-78"
    desk.close()


def test_a_partial_payment_and_an_over_allocation_refused_beside_the_field(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="fay", roles=FINANCE)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [*PURCHASE, ("finance.vendor_invoice", "VI1", INVOICE)])
    desk.window.show_module("Payments")
    form = desk.window.ops["Payments"].form
    type_into(qtbot, form, {"vendor_id": "V1", "paid_on": "2026-11-01", "amount": "300.00",
                            "allocations": "INV-77=300.00"})
    click(qtbot, form.save_button)
    assert "only 285.00 open on INV-77" in form.errors["allocations"].text() and desk.store.outbox_depth() == 0
    type_into(qtbot, form, {"amount": "100.00", "allocations": "INV-77=100.00"})
    click(qtbot, form.save_button)
    assert form.errors["allocations"].text() == ""
    [payment] = desk.store.outbox_batch(10)
    assert payment.payload["allocations"] == [{"invoice_id": "VI1", "amount": "100.00"}]
    assert payment.payload["amount"] == "100.00"
    payments = desk.window.ops["Payments"].model
    assert cells(payments, 0) == ["V1", "2026-11-01", "100.00", "INV-77 100.00", ""]
    desk.window.show_module("Vendor invoices")
    invoices = desk.window.ops["Vendor invoices"].model
    assert cells(invoices, 0)[5:] == ["285.00", "100.00", "185.00", "matched"]
    type_into(qtbot, form, {"vendor_id": "V1", "paid_on": "2026-11-02", "amount": "200.00",
                            "allocations": "INV-77=200.00"})
    click(qtbot, form.save_button)
    assert "185.00 open" in form.errors["allocations"].text() and desk.store.outbox_depth() == 1
    desk.close()


RENTAL = [
    ("equipment.rental_contract", "C1", {"equipment_id": "EX-01", "customer": "Acme", "rate_per_hour": 150,
                                         "starts_on": "2026-10-20"}),
    *[("equipment.usage_log", f"EX-01:{d}:{s}{suffix}", {"equipment_id": "EX-01", "shift_date": d, "shift": s,
                                                          "operating_hours": op, "idle_hours": idle, "source": src})
      for d, s, op, idle, src, suffix in (
          ("2026-10-31", "night", 9.5, 1.0, "manual", ""),  # October's, though it runs into November
          ("2026-11-01", "day", 8, 0.5, "manual", ""),
          ("2026-11-01", "day", 8.25, 0.5, "telematics", ":telematics"),  # the gateway's count wins
          ("2026-11-30", "night", 10, 0, "manual", ""),
          ("2026-12-01", "day", 5, 0, "manual", ""))],
]


def test_a_customer_invoice_from_a_contracts_hours_for_a_period_and_a_receipt(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="fay", roles=FINANCE)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, RENTAL)
    desk.window.show_module("Customer invoices")
    screen = desk.window.ops["Customer invoices"]
    form = screen.form
    type_into(qtbot, form, {"customer": "Acme", "period_start": "2026-11-01", "period_end": "2026-11-30",
                            "invoice_date": "2026-12-01", "number": "AR-11"})
    # 8.75 (telematics) + 10 = 18.75 h × 150 = 2,812.50; due 30 days after the invoice date.
    assert screen.preview.text() == ("EX-01 (C1) 2026-11-01..2026-11-30: 18.75 h × 150 = 2812.50; hours from "
                                     "gateway 8.75 h; log 10.00 h\nTotal 2812.50, due 2026-12-31")
    click(qtbot, form.save_button)
    [invoice] = desk.store.outbox_batch(10)
    assert invoice.payload["lines"] == [{"contract_id": "C1", "equipment_id": "EX-01", "hours": "18.75",
                                         "rate": "150", "amount": "2812.50", "first_day": "2026-11-01",
                                         "last_day": "2026-11-30", "source": "gateway 8.75 h; log 10.00 h"}]
    assert invoice.payload["total"] == "2812.50" and invoice.payload["status"] == "issued"
    assert cells(screen.model, 0) == ["AR-11", "Acme", "2026-11-01..2026-11-30", "2026-12-01", "2026-12-31",
                                      "2812.50", "0.00", "2812.50", "issued"]
    # The same days again are refused: nothing billed twice.
    type_into(qtbot, form, {"customer": "Acme", "period_start": "2026-11-15", "period_end": "2026-12-15",
                            "invoice_date": "2026-12-16"})
    click(qtbot, form.save_button)
    assert "already billed" in form.errors["period_start"].text() and desk.store.outbox_depth() == 1
    desk.window.show_module("Customer receipts")
    receipts = desk.window.ops["Customer receipts"].form
    type_into(qtbot, receipts, {"customer": "Acme", "received_on": "2026-12-20", "amount": "1000.00",
                                "allocations": "AR-11=1000.00"})
    click(qtbot, receipts.save_button)
    assert desk.store.outbox_depth() == 2
    desk.window.show_module("Customer invoices")
    assert cells(screen.model, 0)[5:8] == ["2812.50", "1000.00", "1812.50"]
    desk.close()


ANNA = {"number": "E100", "name": "Anna Byrne", "position": "Operator", "department": "Mining", "crew_id": "A",
        "hire_date": "2025-01-01", "status": "active"}
RECONCILED = [
    ("hr.employee", "emp-anna", ANNA),
    ("hr.attendance", "at-anna", {"employee_id": "emp-anna", "shift_date": "2026-07-01", "shift": "day",
                                  "clock_in": "2026-07-01T06:00:00+00:00", "clock_out": "2026-07-01T18:00:00+00:00",
                                  "source": "office", "status": "approved"}),
    ("equipment.rental_contract", "C7", {"equipment_id": "DT01", "customer": "Beta", "rate_per_hour": 100}),
    ("equipment.usage_log", "u1", {"equipment_id": "DT01", "shift_date": "2026-07-01", "shift": "day",
                                   "operating_hours": 10, "source": "manual", "operator": "E100"}),
    ("equipment.usage_log", "u2", {"equipment_id": "DT01", "shift_date": "2026-07-01", "shift": "day",
                                   "operating_hours": 8, "source": "telematics"}),
    ("equipment.usage_log", "u3", {"equipment_id": "DT01", "shift_date": "2026-07-02", "shift": "day",
                                   "operating_hours": 6, "source": "telematics"}),  # nobody logged it: not flagged
]


def test_a_customer_invoice_waits_for_the_reconciliation_then_bills_the_accepted_hours(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="fay", roles=FINANCE)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, RECONCILED)
    desk.window.show_module("Customer invoices")
    screen = desk.window.ops["Customer invoices"]
    form = screen.form
    # Anna logged 10 h on DT01, the gateway measured 8: flagged (over 0.5 h) and nobody has decided it.
    type_into(qtbot, form, {"customer": "Beta", "period_start": "2026-07-01", "period_end": "2026-07-02",
                            "invoice_date": "2026-07-03"})
    assert "DT01 2026-07-01 day shift: operator emp-anna's hours are flagged (logged_vs_gateway) and not decided" \
        in screen.preview.text()
    click(qtbot, form.save_button)
    assert form.errors["period_start"].text() == "DT01 2026-07-01 day not reconciled"
    assert desk.store.outbox_depth() == 0
    # The supervisor corrects the machine hours to 9: the invoice bills 9 + 6 = 15 h × 100 = 1,500.00.
    from_hub(desk.store, [("hr.reconciliation_review", "emp-anna:2026-07-01:day", {
        "employee_id": "emp-anna", "shift_date": "2026-07-01", "shift": "day", "equipment_ids": ["DT01"],
        "gateway_hours": 8.0, "logged_hours": 10.0, "attendance_hours": 12.0, "flags": ["logged_vs_gateway"],
        "decision": "corrected", "paid_hours": 10.0, "machine_hours": 9.0, "reason": "gateway dropped out"})])
    form.inputs["invoice_date"].setText("2026-07-04")  # any change re-reads the preview
    assert screen.preview.text() == (
        "DT01 (C7) 2026-07-01..2026-07-02: 15.00 h × 100 = 1500.00; hours from gateway 6.00 h; reconciled 9.00 h "
        "(2026-07-01 day: 8.00 measured, 9.00 billed, emp-anna corrected to 9.00 h (measured 8.00 h))\n"
        "Total 1500.00, due 2026-08-03")
    click(qtbot, form.save_button)
    [invoice] = desk.store.outbox_batch(10)
    assert (invoice.payload["lines"][0]["hours"], invoice.payload["total"]) == ("15.00", "1500.00")
    assert ap_replica.billable(desk.store, date(2026, 7, 1), date(2026, 7, 2)).open == []
    desk.close()


def test_ap_and_ar_ageing_from_the_replica_and_its_csv_and_pdf_export(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="fay", roles=FINANCE)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [
        *PURCHASE, ("finance.vendor_invoice", "VI1", INVOICE),  # 285.00 due 2026-11-04
        ("finance.vendor_invoice", "VI2", {**INVOICE, "invoice_no": "INV-70", "invoice_date": "2026-08-01",
                                           "lines": [{"po_line_id": "2", "quantity": "2", "unit_price": "80.00"}]}),
        ("finance.payment", "P1", {"vendor_id": "V1", "paid_on": "2026-11-01", "amount": "150.00",
                                   "allocations": [{"invoice_id": "VI1", "amount": "100.00"}]}),
        ("finance.customer_invoice", "CI1", {
            "number": "AR-1", "customer": "Acme", "invoice_date": "2026-11-01", "due_date": "2026-11-15",
            "period_start": "2026-10-01", "period_end": "2026-10-31", "status": "issued",
            "lines": [{"contract_id": "C1", "equipment_id": "EX-01", "hours": "10", "rate": "150.00"}]}),
    ])
    desk.window.show_module("AP/AR ageing")
    screen = desk.window.ops["AP/AR ageing"]
    screen.as_of.setText("2026-12-15")
    # VI1: 41 days past due, 285.00 − 100.00 = 185.00 in 31-60; VI2 (due 2026-08-31): 106 days, 160.00 in 90+;
    # the payment's 50.00 not allocated is unapplied.
    assert cells(screen.model, 0) == ["V1", "0.00", "0.00", "185.00", "0.00", "160.00", "50.00", "295.00"]
    assert cells(screen.model, 1) == ["TOTAL", "0.00", "0.00", "185.00", "0.00", "160.00", "50.00", "295.00"]
    screen.export_folder = tmp_path / "exports"
    path = screen.export()
    assert path == tmp_path / "exports" / "ap-ageing-2026-12-15.csv"
    assert path.read_text(encoding="utf-8") == (
        "party,current,1-30,31-60,61-90,90+,unapplied,total\n"
        "V1,0.00,0.00,185.00,0.00,160.00,50.00,295.00\n"
        "TOTAL,0.00,0.00,185.00,0.00,160.00,50.00,295.00\n")
    click(qtbot, screen.pdf_button)  # the same table as a PDF, read back with Qt's own PDF reader
    pdf = tmp_path / "exports" / "ap-ageing-2026-12-15.pdf"
    assert screen.export_status.text() == f"Exported to {pdf} (1 page)"
    doc = QPdfDocument()
    assert doc.load(str(pdf)) == QPdfDocument.Error.None_ and doc.pageCount() == 1
    text = doc.getAllText(0).text()
    doc.close()
    for words in ("Accounts payable ageing", "as of 2026-12-15, days past due", "Vendor", "31-60", "Unapplied",
                  "185.00", "160.00", "50.00", "TOTAL", "295.00", "page 1 of 1"):
        assert words in text, words
    screen.kind.setCurrentIndex(1)
    # AR-1: 1,500.00 due 2026-11-15, 30 days past due at 2026-12-15.
    assert cells(screen.model, 0) == ["Acme", "0.00", "1500.00", "0.00", "0.00", "0.00", "0.00", "1500.00"]
    assert screen.export() == tmp_path / "exports" / "ar-ageing-2026-12-15.csv"
    screen.as_of.setText("15/12/2026")
    assert "YYYY-MM-DD" in screen.as_of_error.text() and not screen.export_button.isEnabled()
    assert not screen.pdf_button.isEnabled()
    desk.close()


def test_finance_screens_are_for_roles_that_read_finance_and_forms_for_writers(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    storeman = open_ops(tmp_path / "desk.db", actor="sam", roles=frozenset({"storeman"}))
    qtbot.addWidget(storeman.window)
    assert "Vendor invoices" not in storeman.window.ops
    assert not storeman.window.nav.findItems("AP/AR ageing", Qt.MatchFlag.MatchExactly)
    storeman.close()
    manager = open_ops(tmp_path / "desk.db", actor="max", roles=frozenset({"site_manager"}))
    qtbot.addWidget(manager.window)
    assert manager.window.ops["Vendor invoices"].form is None and manager.window.ops["Payments"].form is None
    assert manager.window.ops["Customer invoices"].form is None
    assert "AP/AR ageing" in manager.window.ops
    manager.close()


def test_an_invoice_keyed_offline_syncs_posts_its_matched_line_then_the_approved_one(  # type: ignore[no-untyped-def]
        qtbot, live_hub, tmp_path: Path) -> None:
    tenant = f"t-apd-{new_ulid()[-6:].lower()}"
    hq = open_ops(tmp_path / "hq.db", actor="hq", hub=live_hub, tenant=tenant, device="hq-1")
    for entity, entity_id, payload in [*PURCHASE, ("approvals.chain", "CH1", {
            "document_type": "vendor_invoice_mismatch", "levels": [{"min_amount": 0, "approver_role": "finance"}]})]:
        hq.store.enqueue(entity, entity_id, Op.CREATE, payload, actor="hq")
    assert hq.bridge is not None
    hq.bridge.client.sync_once()
    assert hq.store.outbox_depth() == 0 and not hq.store.rejections()
    hq.close()

    desk = open_ops(tmp_path / "desk.db", actor="fay", roles=FINANCE, hub=live_hub, tenant=tenant)
    qtbot.addWidget(desk.window)
    assert desk.bridge is not None
    desk.bridge.client.catch_up()
    desk.window.show_module("Vendor invoices")
    form = desk.window.ops["Vendor invoices"].form
    type_into(qtbot, form, {"vendor_id": "V1", "invoice_no": "INV-90", "po_id": "PO1", "invoice_date": "2026-10-05"})
    form.line_model.set_rows([["1", "10", "13.00"], ["2", "2", "80.00"]])
    click(qtbot, form.save_button)
    invoice_id = desk.store.outbox_batch(1)[0].entity_id
    desk.bridge.client.sync_once()
    assert desk.store.outbox_depth() == 0 and not desk.store.rejections()

    def keys() -> set[str]:
        return {r["key"] for r in db_fetch(live_hub.dsn, "SELECT key FROM finance.journal_entries WHERE tenant_id = "
                                                          "$1", tenant)}
    assert keys() == {f"vendor_invoice:{invoice_id}:2"}  # the matched line; line 1 waits
    # A controller decides on this PC (the requester cannot approve their own request); the sync posts line 1.
    decide(desk.store, views_by_document(desk.store)[invoice_id], Verdict.APPROVE, "con", frozenset({"finance"}))
    desk.bridge.client.sync_once()
    assert not desk.store.rejections()
    assert keys() == {f"vendor_invoice:{invoice_id}:1", f"vendor_invoice:{invoice_id}:2"}
    assert ap_replica.approval_status(desk.store, invoice_id) == "approved"
    # The hub's ageing and this PC's, by the same rule, agree.
    add_user(live_hub.dsn, tenant, "fin-apd", [("finance", None)])
    tok = signin(live_hub.url, "fin-apd", PASSWORD).json()["access_token"]
    hub_rows = httpx.get(f"{live_hub.url}/v1/finance/ap-ageing", params={"as_of": "2026-12-15"},
                         headers={"Authorization": f"Bearer {tok}"}, timeout=30).json()["rows"]
    mine = ap_replica.ap_ageing(desk.store, date(2026, 12, 15))
    assert [(r["party"], r["31-60"], r["total"]) for r in hub_rows] == [(r.party, str(r.buckets["31-60"]),
                                                                         str(r.total)) for r in mine.rows]
    assert hub_rows[0]["31-60"] == "290.00"
    desk.close()


def test_an_approval_that_covers_less_than_the_mismatch_is_sent_again(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="fay", roles=FINANCE)
    qtbot.addWidget(desk.window)
    chain = {"document_type": "vendor_invoice_mismatch", "levels": [{"min_amount": 0, "approver_role": "finance"}]}
    waiting = {**INVOICE, "status": "awaiting_approval",
               "lines": [{"po_line_id": "1", "quantity": "10", "unit_price": "14.00"}]}  # 140.00, 12 % over
    from_hub(desk.store, [*PURCHASE, ("approvals.chain", "CH1", chain), ("finance.vendor_invoice", "VI1", waiting),
                          ("approvals.request", "R1", {"document_type": "vendor_invoice_mismatch", "document_id": "VI1",
                                                       "amount": 130.0, "requested_by": "fay"}),
                          ("approvals.decision", "D1", {"request_id": "R1", "level": 0, "verdict": "approve",
                                                        "by": "con", "roles": ["finance"], "amount": 130.0,
                                                        "at": "2026-10-06T09:00:00+00:00"})])
    desk.window.show_module("Vendor invoices")
    screen = desk.window.ops["Vendor invoices"]
    assert cells(screen.model, 0)[-1] == "approval covers less"  # 130.00 approved, the line is worth 140.00
    assert not screen.resend_button.isEnabled()
    assert screen.select("VI1") and screen.resend_button.isEnabled()
    click(qtbot, screen.resend_button)
    [request] = desk.store.outbox_batch(10)
    assert (request.entity, request.payload["document_id"], request.payload["amount"]) == (
        "approvals.request", "VI1", 140.0)
    assert cells(screen.model, 0)[-1] == "waits for approval"
    desk.close()
