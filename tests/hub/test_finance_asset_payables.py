"""A fixed asset bought on account on a real hub and PostgreSQL (D89): it is its vendor's invoice in AP, so the AP
ageing shows it (kind "asset"), it is paid in two parts by payments allocated to it, an over-allocation is
refused with nothing posted, and at every step AP (2100 in the ledger) equals the AP ageing total. Its vendor
cannot change under the payments allocated to it, and an asset on account that names no vendor is refused."""

from __future__ import annotations

from decimal import Decimal

from tests.fixtures.hubserver import HubProcess
from tests.hub.test_finance_ap_ar import api, lines, statuses, tenant, token  # noqa: F401
from tests.hub.test_push import db_fetch, make_device

ASSET = {"equipment_id": "EX-01", "cost": "100000.00", "salvage": "10000.00", "in_service": "2026-08-15",
         "method": "straight_line", "life_months": 60, "paid_from": "payable", "acquired_on": "2026-08-10",
         "vendor_id": "V-CAT", "invoice_no": "CAT-9001"}
AS_OF = "2026-12-31"


def ap_balance(hub: HubProcess, tenant_id: str) -> str:
    """2100's credit balance in the ledger, as text in cents."""
    [row] = db_fetch(hub.dsn, "SELECT COALESCE(SUM(credit_cents - debit_cents), 0) AS n FROM finance.ledger_lines "
                              "WHERE tenant_id = $1 AND account = '2100'", tenant_id)
    return str(Decimal(row["n"]).scaleb(-2).quantize(Decimal("0.01")))


def test_an_asset_on_account_is_paid_in_two_parts_and_ap_equals_the_ap_ageing_at_each_step(
        live_hub: HubProcess, tenant: str) -> None:  # noqa: F811
    dev = make_device(live_hub, tenant, "s1", "fa-desk")
    fin = token(live_hub, tenant, f"{tenant}-fin", "finance")

    def ageing() -> dict:  # type: ignore[type-arg]
        r = api(live_hub, fin, "GET", "/v1/finance/ap-ageing", as_of=AS_OF)
        assert r.status_code == 200, r.text
        return dict(r.json())

    out = dev.push_ok([dev.mutation("procurement.vendor", "V-CAT", "create", {"code": "V-CAT", "name": "Cat dealer",
                                                                              "payment_terms_days": 30}),
                       dev.mutation("finance.asset", "A-SL", "create", ASSET)])
    assert statuses(out) == ["applied", "applied"], out
    assert lines(live_hub, tenant)["asset_acquisition:A-SL"] == [("1500", "100000.00", "0.00"),
                                                                 ("2100", "0.00", "100000.00")]
    body = ageing()
    # Acquired 10 August, the dealer's 30 days: due 9 September, 113 days past due at 31 December.
    assert body["items"] == [{"document_id": "A-SL", "reference": "CAT-9001", "kind": "asset", "party": "V-CAT",
                              "due_date": "2026-09-09", "amount": "100000.00", "open": "100000.00",
                              "bucket": "90+"}]
    assert ap_balance(live_hub, tenant) == body["totals"]["total"] == "100000.00"

    first = dev.push_ok([dev.mutation("finance.payment", "P1", "create", {
        "vendor_id": "V-CAT", "paid_on": "2026-09-01", "amount": "40000.00",
        "allocations": [{"invoice_id": "A-SL", "amount": "40000.00"}]})])
    assert statuses(first) == ["applied"], first
    body = ageing()
    assert [i["open"] for i in body["items"]] == ["60000.00"]
    assert ap_balance(live_hub, tenant) == body["totals"]["total"] == "60000.00"

    [over] = dev.push_ok([dev.mutation("finance.payment", "P2", "create", {
        "vendor_id": "V-CAT", "paid_on": "2026-10-01", "amount": "70000.00",
        "allocations": [{"invoice_id": "A-SL", "amount": "70000.00"}]})])
    assert over["status"] == "rejected" and "60000.00 open of 100000.00" in over["message"], over
    assert "payment:P2" not in lines(live_hub, tenant)
    assert ap_balance(live_hub, tenant) == ageing()["totals"]["total"] == "60000.00"

    # The payments are the dealer's: the asset's vendor cannot change under them.
    [moved] = dev.push_ok([dev.mutation("finance.asset", "A-SL", "update", {"vendor_id": "V-OTHER"})])
    assert moved["status"] == "rejected" and "P1" in moved["message"], moved

    rest = dev.push_ok([dev.mutation("finance.payment", "P3", "create", {
        "vendor_id": "V-CAT", "paid_on": "2026-10-01", "amount": "60000.00",
        "allocations": [{"invoice_id": "A-SL", "amount": "60000.00"}]})])
    assert statuses(rest) == ["applied"], rest
    body = ageing()
    assert body["items"] == [] and body["rows"] == []
    assert ap_balance(live_hub, tenant) == body["totals"]["total"] == "0.00"


def test_an_asset_on_account_without_its_vendor_or_invoice_number_is_refused_and_posts_nothing(
        live_hub: HubProcess, tenant: str) -> None:  # noqa: F811
    dev = make_device(live_hub, tenant, "s1", "fa-desk")
    no_vendor, no_number = dev.push_ok([
        dev.mutation("finance.asset", "A-1", "create", {**ASSET, "vendor_id": None}),
        dev.mutation("finance.asset", "A-2", "create", {**ASSET, "invoice_no": ""})])
    assert no_vendor["status"] == "rejected" and "names no vendor" in no_vendor["message"], no_vendor
    assert no_number["status"] == "rejected" and "invoice number" in no_number["message"], no_number
    assert lines(live_hub, tenant) == {}
