"""Payables, receivables and depreciation on a real hub and PostgreSQL: a vendor invoice line that does not match
waits for its approval and posts once approved; a replayed push and a re-saved invoice post nothing twice; an
over-allocated payment and a contract billed twice are rejected; AP/AR ageing and the depreciation run give
hand-computed figures; the run is idempotent per asset × month (API and CLI)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from hub.cli import app
from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.test_identity_users import PASSWORD, add_user, signin
from tests.hub.test_push import db_fetch, make_device

WHEN = "2026-10-03T08:00:00+00:00"


def lines(hub: HubProcess, tenant: str) -> dict[str, list[tuple[str, str, str]]]:
    rows = db_fetch(hub.dsn, "SELECT entry_key, account, debit_cents, credit_cents FROM finance.ledger_lines "
                             "WHERE tenant_id = $1 ORDER BY entry_key, line_no", tenant)
    out: dict[str, list[tuple[str, str, str]]] = {}
    for r in rows:
        out.setdefault(r["entry_key"], []).append(
            (r["account"], str(Decimal(r["debit_cents"]).scaleb(-2)), str(Decimal(r["credit_cents"]).scaleb(-2))))
    return out


def entry_count(hub: HubProcess, tenant: str) -> int:
    return int(db_fetch(hub.dsn, "SELECT count(*) AS n FROM finance.journal_entries WHERE tenant_id = $1",
                        tenant)[0]["n"])


def statuses(out: list[dict[str, Any]]) -> list[str]:
    return [o["status"] for o in out]


def token(hub: HubProcess, tenant: str, username: str, role: str) -> str:
    add_user(hub.dsn, tenant, username, [(role, None)])
    r = signin(hub.url, username, PASSWORD)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def api(hub: HubProcess, tok: str, method: str, path: str, **params: str) -> httpx.Response:
    return httpx.request(method, f"{hub.url}{path}", params=params, headers={"Authorization": f"Bearer {tok}"},
                         timeout=60)


@pytest.fixture
def tenant() -> str:
    return f"t-apar-{new_ulid()[-6:].lower()}"


def setup_purchase(dev: DeviceClient) -> None:
    """V1 (30 days' terms) ordered 10 filters at 12.50 and 4 belts at 80.00; 10 filters and 2 belts arrived."""
    out = dev.push_ok([
        dev.mutation("procurement.vendor", "V1", "create", {"code": "V1", "name": "Parts Co",
                                                            "payment_terms_days": 30}),
        dev.mutation("approvals.chain", "CH1", "create", {"document_type": "vendor_invoice_mismatch",
                                                          "levels": [{"min_amount": 0, "approver_role": "finance"}]}),
        dev.mutation("procurement.purchase_order", "PO1", "create", {"vendor_id": "V1", "total": 445, "lines": [
            {"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 10, "unit_price": 12.5},
            {"line_id": "2", "item_id": "BELT", "store_id": "MAIN", "quantity": 4, "unit_price": 80}]}),
        *(dev.mutation("procurement.goods_receipt", new_ulid(), "create", {
            "po_id": "PO1", "line_id": line, "item_id": item, "store_id": "MAIN", "quantity": qty,
            "received_at": WHEN}) for line, item, qty in (("1", "FILTER", 10), ("2", "BELT", 2))),
    ])
    assert statuses(out) == ["applied"] * 5, out


def invoice(dev: DeviceClient, inv_id: str, lines_: list[tuple[str, str, str]], day: str = "2026-10-05",
            **extra: Any) -> dict[str, Any]:
    return dev.mutation("finance.vendor_invoice", inv_id, "create", {
        "vendor_id": "V1", "invoice_no": f"INV-{inv_id}", "po_id": "PO1", "invoice_date": day, "status": "entered",
        "lines": [{"po_line_id": ln, "quantity": q, "unit_price": p} for ln, q, p in lines_], **extra})


def decision(dev: DeviceClient, request_id: str, amount: float) -> dict[str, Any]:
    return dev.mutation("approvals.decision", new_ulid(), "create", {
        "request_id": request_id, "level": 0, "verdict": "approve", "by": "controller", "roles": ["finance"],
        "at": "2026-10-06T09:00:00+00:00", "amount": amount})


def test_a_mismatched_line_waits_for_approval_then_posts_and_nothing_posts_twice(live_hub: HubProcess,
                                                                                 tenant: str) -> None:
    dev = make_device(live_hub, tenant, "s1", "ap-desk")
    setup_purchase(dev)
    # Line 1 at 13.00 against 12.50 (4 %, beyond the default 2 %); line 2 as ordered.
    inv = invoice(dev, "VI1", [("1", "10", "13.00"), ("2", "2", "80.00")])
    request = dev.mutation("approvals.request", "REQ1", "create", {
        "document_type": "vendor_invoice_mismatch", "document_id": "VI1", "amount": 130.0,
        "requested_by": "clerk", "title": "INV-VI1: line 1 price"})
    first = [inv, request]
    assert statuses(dev.push_ok(first)) == ["applied", "applied"]
    got = lines(live_hub, tenant)
    assert "vendor_invoice:VI1:1" not in got
    assert got["vendor_invoice:VI1:2"] == [("2150", "160.00", "0.00"), ("2100", "0.00", "160.00")]

    approve = decision(dev, "REQ1", 130.0)
    assert statuses(dev.push_ok([approve])) == ["applied"]
    got = lines(live_hub, tenant)
    # GR/IR cleared at the PO price (10 × 12.50), the 5.00 more to price variance, AP at the invoice price.
    assert got["vendor_invoice:VI1:1"] == [("2150", "125.00", "0.00"), ("2100", "0.00", "130.00"),
                                           ("5400", "5.00", "0.00")]
    count = entry_count(live_hub, tenant)

    # The same pushes again (a device that never got the answers): duplicates, nothing posted.
    assert statuses(dev.push_ok([*first, approve])) == ["duplicate"] * 3
    # Re-saving the invoice (a note) rebuilds its posted lines: a replay, nothing new.
    note = dev.mutation("finance.vendor_invoice", "VI1", "update", {"notes": "checked"}, base_version=1)
    assert statuses(dev.push_ok([note])) == ["applied"]
    assert entry_count(live_hub, tenant) == count
    # Changing a posted line's price is refused; the record keeps what was posted.
    changed = dev.mutation("finance.vendor_invoice", "VI1", "update", {
        "lines": [{"po_line_id": "1", "quantity": "10", "unit_price": "13.50"},
                  {"po_line_id": "2", "quantity": "2", "unit_price": "80.00"}]}, base_version=2)
    (out,) = dev.push_ok([changed])
    assert out["status"] == "rejected" and out["code"] == "posting_refused", out
    assert entry_count(live_hub, tenant) == count


def test_payments_partial_and_over_allocated_and_ap_ageing(live_hub: HubProcess, tenant: str) -> None:
    dev = make_device(live_hub, tenant, "s1", "ap-desk")
    setup_purchase(dev)
    # VI1 matches in full (285.00, due 2026-11-04). VI2 bills 2 more belts than arrived: it waits (no request),
    # but the vendor claims it, so it ages (160.00, dated 2026-08-01, due 2026-08-31).
    out = dev.push_ok([invoice(dev, "VI1", [("1", "10", "12.50"), ("2", "2", "80.00")]),
                       invoice(dev, "VI2", [("2", "2", "80.00")], day="2026-08-01")])
    assert statuses(out) == ["applied", "applied"]
    assert {k for k in lines(live_hub, tenant) if k.startswith("vendor_invoice")} == {
        "vendor_invoice:VI1:1", "vendor_invoice:VI1:2"}
    pay = dev.mutation("finance.payment", "P1", "create", {
        "vendor_id": "V1", "paid_on": "2026-11-01", "amount": "100.00",
        "allocations": [{"invoice_id": "VI1", "amount": "100.00"}]})
    over = dev.mutation("finance.payment", "P2", "create", {
        "vendor_id": "V1", "paid_on": "2026-11-02", "amount": "200.00",
        "allocations": [{"invoice_id": "VI1", "amount": "200.00"}]})
    ok, refused = dev.push_ok([pay, over])
    assert ok["status"] == "applied"
    assert refused["status"] == "rejected" and "185.00 open of 285.00" in refused["message"], refused
    got = lines(live_hub, tenant)
    assert got["payment:P1"] == [("2100", "100.00", "0.00"), ("1100", "0.00", "100.00")]
    assert "payment:P2" not in got

    fin = token(live_hub, tenant, f"{tenant}-fin", "finance")
    r = api(live_hub, fin, "GET", "/v1/finance/ap-ageing", as_of="2026-12-15")
    assert r.status_code == 200, r.text
    body = r.json()
    # VI1: 41 days past due, 285.00 − 100.00 = 185.00 in 31-60; VI2: 106 days, 160.00 in 90+.
    assert body["rows"] == [{"party": "V1", "current": "0.00", "1-30": "0.00", "31-60": "185.00", "61-90": "0.00",
                             "90+": "160.00", "unapplied": "0.00", "total": "345.00"}]
    early = api(live_hub, fin, "GET", "/v1/finance/ap-ageing", as_of="2026-10-31").json()
    # Before the payment: VI1 not yet due (current, 285.00); VI2 61 days past due.
    assert (early["totals"]["current"], early["totals"]["61-90"]) == ("285.00", "160.00")
    bad = api(live_hub, fin, "GET", "/v1/finance/ap-ageing", as_of="2026-02-30")
    assert bad.status_code == 422 and "as_of" in bad.json()["message"]


def rental_records(dev: DeviceClient) -> list[dict[str, Any]]:
    return [
        dev.mutation("equipment.rental_contract", "C1", "create", {"equipment_id": "EX-01", "customer": "Acme",
                                                                   "rate_per_hour": 150}),
        dev.mutation("equipment.usage_log", "EX-01:2026-10-10:day:telematics", "create", {
            "equipment_id": "EX-01", "shift_date": "2026-10-10", "shift": "day", "operating_hours": 8.25,
            "idle_hours": 0.5, "source": "telematics"}),
        dev.mutation("equipment.usage_log", "EX-01:2026-10-20:day", "create", {
            "equipment_id": "EX-01", "shift_date": "2026-10-20", "shift": "day", "operating_hours": 10,
            "source": "manual"})]


def test_customer_invoice_receipt_double_billing_and_ar_ageing(live_hub: HubProcess, tenant: str) -> None:
    dev = make_device(live_hub, tenant, "s1", "ar-desk")
    inv = {"number": "AR-1", "customer": "Acme", "invoice_date": "2026-11-01", "due_date": "2026-11-15",
           "period_start": "2026-10-01", "period_end": "2026-10-31", "status": "issued", "total": "2812.50",
           "lines": [{"contract_id": "C1", "equipment_id": "EX-01", "hours": "18.75", "rate": "150.00",
                      "amount": "2812.50", "first_day": "2026-10-01", "last_day": "2026-10-31"}]}
    again = {**inv, "number": "AR-2", "period_start": "2026-10-15", "period_end": "2026-11-15",
             "lines": [{**inv["lines"][0], "first_day": "2026-10-15", "last_day": "2026-11-15"}]}
    receipt = {"customer": "Acme", "received_on": "2026-11-20", "amount": "1000.00",
               "allocations": [{"invoice_id": "CI1", "amount": "1000.00"}]}
    # EX-01 in October: 8.25 + 0.5 idle measured on the 10th, 10 typed on the 20th = 18.75 h.
    out = dev.push_ok([*rental_records(dev), dev.mutation("finance.customer_invoice", "CI1", "create", inv),
                       dev.mutation("finance.customer_invoice", "CI2", "create", again),
                       dev.mutation("finance.customer_receipt", "R1", "create", receipt)])
    assert statuses(out) == ["applied"] * 3 + ["applied", "rejected", "applied"], out
    assert "already billed from 2026-10-01 to 2026-10-31" in out[4]["message"]
    got = lines(live_hub, tenant)
    assert got["customer_invoice:CI1:1"] == [("1200", "2812.50", "0.00"), ("4100", "0.00", "2812.50")]
    assert got["customer_receipt:R1"] == [("1100", "1000.00", "0.00"), ("1200", "0.00", "1000.00")]
    fin = token(live_hub, tenant, f"{tenant}-fin", "finance")
    body = api(live_hub, fin, "GET", "/v1/finance/ar-ageing", as_of="2026-12-20").json()
    # Due 2026-11-15, 35 days past due at 2026-12-20: 2,812.50 − 1,000.00 = 1,812.50 in 31-60.
    assert body["rows"][0]["31-60"] == "1812.50" and body["totals"]["total"] == "1812.50"
    assert body["items"] == [{"document_id": "CI1", "reference": "AR-1", "kind": "invoice", "party": "Acme",
                              "due_date": "2026-11-15", "amount": "2812.50", "open": "1812.50", "bucket": "31-60"}]


def test_depreciation_run_posts_both_methods_once_per_month_by_api_and_cli(
        live_hub: HubProcess, tenant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    dev = make_device(live_hub, tenant, "s1", "fa-desk")
    out = dev.push_ok([
        # 90,000.00 over 60 months from August: 1,500.00 a month.
        dev.mutation("finance.asset", "A-SL", "create", {"equipment_id": "EX-01", "cost": "100000.00",
                                                         "salvage": "10000.00", "in_service": "2026-08-15",
                                                         "method": "straight_line", "life_months": 60}),
        # 48,000.00 over 12,000 engine hours: 4.00 an hour.
        dev.mutation("finance.asset", "A-UP", "create", {"equipment_id": "HT-07", "cost": "50000.00",
                                                         "salvage": "2000.00", "in_service": "2026-10-01",
                                                         "method": "units_of_production", "rated_hours": 12000}),
        dev.mutation("equipment.usage_log", "HT-07:2026-09-30:day", "create", {
            "equipment_id": "HT-07", "shift_date": "2026-09-30", "shift": "day", "operating_hours": 12}),
        dev.mutation("equipment.usage_log", "HT-07:2026-10-05:day", "create", {
            "equipment_id": "HT-07", "shift_date": "2026-10-05", "shift": "day", "operating_hours": 10,
            "idle_hours": 2}),
        dev.mutation("equipment.usage_log", "HT-07:2026-10-31:night", "create", {
            "equipment_id": "HT-07", "shift_date": "2026-10-31", "shift": "night", "operating_hours": 8}),
        dev.mutation("equipment.usage_log", "HT-07:2026-11-02:day", "create", {
            "equipment_id": "HT-07", "shift_date": "2026-11-02", "shift": "day", "operating_hours": 5}),
    ])
    assert statuses(out) == ["applied"] * 6, out
    fin = token(live_hub, tenant, f"{tenant}-fin", "finance")
    r = api(live_hub, fin, "POST", "/v1/finance/depreciation/2026-10")
    assert r.status_code == 200, r.text
    # August and September never ran: October catches up 3 × 1,500.00. Units: 20 engine hours since 1 October
    # (the 30 September shift is before service; November's is after) × 4.00 = 80.00.
    assert {p["asset_id"]: p["amount"] for p in r.json()["posted"]} == {"A-SL": "4500.00", "A-UP": "80.00"}
    got = lines(live_hub, tenant)
    assert got["depreciation:A-UP:2026-10"] == [("6500", "80.00", "0.00"), ("1590", "0.00", "80.00")]
    count = entry_count(live_hub, tenant)
    again = api(live_hub, fin, "POST", "/v1/finance/depreciation/2026-10").json()
    assert again["posted"] == [] and {s["reason"] for s in again["skipped"]} == {"2026-10 is already posted"}
    assert entry_count(live_hub, tenant) == count

    monkeypatch.setenv("PITLINE_DATABASE_URL", live_hub.dsn)
    result = CliRunner().invoke(app, ["finance", "depreciate", "2026-11", "--tenant", tenant, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout.splitlines()[-1])
    # November: 1,500.00; 25 h to date × 4.00 = 100.00 − 80.00 = 20.00.
    assert {p["asset_id"]: p["amount"] for p in body["posted"]} == {"A-SL": "1500.00", "A-UP": "20.00"}
    bad = CliRunner().invoke(app, ["finance", "depreciate", "2026-13", "--tenant", tenant])
    assert bad.exit_code == 2
    manager = token(live_hub, tenant, f"{tenant}-mgr", "site_manager")
    assert api(live_hub, manager, "POST", "/v1/finance/depreciation/2026-12").status_code == 403
    assert api(live_hub, fin, "POST", "/v1/finance/depreciation/26-12").status_code == 422


def reject(dev: DeviceClient, request_id: str, amount: float) -> dict[str, Any]:
    return {**decision(dev, request_id, amount), "payload": {
        "request_id": request_id, "level": 0, "verdict": "reject", "by": "controller", "roles": ["finance"],
        "at": "2026-10-06T09:00:00+00:00", "amount": amount}}


def test_an_approval_after_the_invoice_period_closed_posts_on_the_first_open_day_and_a_rejection_posts_nothing(
        live_hub: HubProcess, tenant: str) -> None:
    dev = make_device(live_hub, tenant, "s1", "ap-desk")
    setup_purchase(dev)
    request = {"document_type": "vendor_invoice_mismatch", "amount": 130.0, "requested_by": "clerk"}
    out = dev.push_ok([
        invoice(dev, "VI9", [("1", "10", "13.00")], day="2026-09-28"),
        dev.mutation("approvals.request", "REQ9", "create", {**request, "document_id": "VI9"}),
        invoice(dev, "VI8", [("2", "2", "90.00")], day="2026-10-02"),
        dev.mutation("approvals.request", "REQ8", "create", {**request, "document_id": "VI8", "amount": 180.0}),
    ])
    assert statuses(out) == ["applied"] * 4, out
    fin = token(live_hub, tenant, f"{tenant}-fin", "finance")
    r = api(live_hub, fin, "POST", "/v1/finance/periods/2026-09/close")
    assert r.status_code == 200, r.text
    assert statuses(dev.push_ok([decision(dev, "REQ9", 130.0), reject(dev, "REQ8", 180.0)])) == ["applied"] * 2
    rows = db_fetch(live_hub.dsn, "SELECT key, posting_date, description FROM finance.journal_entries WHERE "
                                  "tenant_id = $1 AND source = 'vendor_invoice'", tenant)
    # September closed while VI9 waited: its approved line posts on 1 October and says why; VI8 was refused.
    assert [(r["key"], r["posting_date"].isoformat()) for r in rows] == [("vendor_invoice:VI9:1", "2026-10-01")]
    assert "closed period 2026-09" in rows[0]["description"]


def test_an_approval_covers_what_it_saw_a_line_raised_since_waits_for_a_new_one(live_hub: HubProcess,
                                                                                 tenant: str) -> None:
    dev = make_device(live_hub, tenant, "s1", "ap-desk")
    setup_purchase(dev)
    request = {"document_type": "vendor_invoice_mismatch", "document_id": "VI5", "requested_by": "clerk"}
    assert statuses(dev.push_ok([
        invoice(dev, "VI5", [("1", "10", "13.00")]),
        dev.mutation("approvals.request", "REQ5", "create", {**request, "amount": 130.0}),
        # Before anyone decides, the clerk corrects the price upwards: the line is now worth 140.00.
        dev.mutation("finance.vendor_invoice", "VI5", "update", {
            "lines": [{"po_line_id": "1", "quantity": "10", "unit_price": "14.00"}]}, base_version=1),
    ])) == ["applied"] * 3
    assert statuses(dev.push_ok([decision(dev, "REQ5", 130.0)])) == ["applied"]
    assert "vendor_invoice:VI5:1" not in lines(live_hub, tenant)  # 130.00 approved does not cover 140.00
    assert statuses(dev.push_ok([dev.mutation("approvals.request", "REQ5b", "create", {**request, "amount": 140.0}),
                                 decision(dev, "REQ5b", 140.0)])) == ["applied"] * 2
    assert lines(live_hub, tenant)["vendor_invoice:VI5:1"] == [
        ("2150", "125.00", "0.00"), ("2100", "0.00", "140.00"), ("5400", "15.00", "0.00")]


def _invoice(number: str, day: str, hours: str, amount: str) -> dict[str, Any]:
    return {"number": number, "customer": "Beta", "invoice_date": "2026-07-03", "period_start": day,
            "period_end": day, "status": "issued", "total": amount,
            "lines": [{"contract_id": "C7", "equipment_id": "DT01", "hours": hours, "rate": "100",
                       "amount": amount, "first_day": day, "last_day": day}]}


def test_the_hub_bills_only_the_accepted_hours_and_refuses_an_undecided_flagged_shift(live_hub: HubProcess,
                                                                                     tenant: str) -> None:
    dev = make_device(live_hub, tenant, "s1", "ar-desk")
    shift = {"shift": "day", "source": "office", "status": "approved"}
    setup = dev.push_ok([
        dev.mutation("hr.employee", "emp-anna", "create", {
            "number": "E100", "name": "Anna Byrne", "position": "Operator", "department": "Mining",
            "hire_date": "2025-01-01", "status": "active"}),
        dev.mutation("equipment.rental_contract", "C7", "create", {"equipment_id": "DT01", "customer": "Beta",
                                                                   "rate_per_hour": 100}),
        *(dev.mutation("hr.attendance", f"at-{d}", "create", {
            **shift, "employee_id": "emp-anna", "shift_date": d, "clock_in": f"{d}T06:00:00+00:00",
            "clock_out": f"{d}T18:00:00+00:00"}) for d in ("2026-07-01", "2026-07-02")),
        # Both days: Anna logged 10 h on DT01, the gateway measured 8 (flagged: over the site's 0.5 h).
        *(dev.mutation("equipment.usage_log", f"u-{d}-{src}", "create", {
            "equipment_id": "DT01", "shift_date": d, "shift": "day", "operating_hours": h, "source": src,
            **({"operator": "E100"} if src == "manual" else {})})
          for d in ("2026-07-01", "2026-07-02") for src, h in (("manual", 10), ("telematics", 8))),
        dev.mutation("hr.reconciliation_review", "emp-anna:2026-07-01:day", "create", {
            "employee_id": "emp-anna", "shift_date": "2026-07-01", "shift": "day", "equipment_ids": ["DT01"],
            "decision": "corrected", "paid_hours": 10, "machine_hours": 9, "reason": "gateway dropped out"}),
    ])
    assert statuses(setup) == ["applied"] * 9, setup
    out = dev.push_ok([
        dev.mutation("finance.customer_invoice", "B1", "create", _invoice("AR-7", "2026-07-01", "8", "800.00")),
        dev.mutation("finance.customer_invoice", "B2", "create", _invoice("AR-8", "2026-07-02", "8", "800.00")),
        dev.mutation("finance.customer_invoice", "B3", "create", _invoice("AR-9", "2026-07-01", "9", "900.00")),
    ])
    assert statuses(out) == ["rejected", "rejected", "applied"], out
    # The 1st was corrected to 9 machine hours: the gateway's 8 is not what bills.
    assert "line 1 (DT01) bills 8 h × 100 over 2026-07-01..2026-07-01; the hub holds 9.00 h × 100" in \
        out[0]["message"]
    assert "corrected to 9.00 h" in out[0]["message"]
    # The 2nd is flagged and nobody decided it: not billed, naming the machine and shift.
    assert "DT01 2026-07-02 day shift: operator emp-anna's hours are flagged (logged_vs_gateway) and not " \
           "decided" in out[1]["message"]
    got = lines(live_hub, tenant)
    assert got["customer_invoice:B3:1"] == [("1200", "900.00", "0.00"), ("4100", "0.00", "900.00")]
    assert "customer_invoice:B1:1" not in got and "customer_invoice:B2:1" not in got
    # Rejected once decided: Anna's whole part (8 h) comes out; an invoice of 0 h has nothing to bill.
    decided = dev.push_ok([dev.mutation("hr.reconciliation_review", "emp-anna:2026-07-02:day", "create", {
        "employee_id": "emp-anna", "shift_date": "2026-07-02", "shift": "day", "equipment_ids": ["DT01"],
        "decision": "rejected", "reason": "not her shift"}),
        dev.mutation("finance.customer_invoice", "B4", "create", _invoice("AR-10", "2026-07-02", "8", "800.00"))])
    assert statuses(decided) == ["applied", "rejected"], decided
    assert "the hub holds no accepted hours" in decided[1]["message"]
