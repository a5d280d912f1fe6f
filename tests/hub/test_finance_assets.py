"""Fixed-asset acquisition and disposal on a real hub and PostgreSQL, hand-computed: an asset bought on account
and one paid from the bank post Dr 1500 at cost; a disposal charges the depreciation still due to its month,
takes cost and accumulated depreciation out, puts the proceeds in the bank and the difference to 4900; the
run charges nothing from the disposal month on; a replay posts nothing and a changed posted figure is refused."""

from __future__ import annotations

from tests.fixtures.hubserver import HubProcess
from tests.hub.test_finance_ap_ar import api, entry_count, lines, statuses, tenant, token  # noqa: F401
from tests.hub.test_push import make_device

LINE = {"equipment_id": "EX-01", "cost": "100000.00", "salvage": "10000.00", "in_service": "2026-08-15",
        "method": "straight_line", "life_months": 60, "paid_from": "payable", "acquired_on": "2026-08-10",
        "vendor_id": "V-CAT", "invoice_no": "CAT-9001"}
UNITS = {"equipment_id": "HT-07", "cost": "50000.00", "salvage": "2000.00", "in_service": "2026-10-01",
         "method": "units_of_production", "rated_hours": 12000, "paid_from": "bank"}


def test_acquisition_disposal_at_a_loss_and_scrapped_and_the_run_stops(live_hub: HubProcess, tenant: str) -> None:  # noqa: F811
    dev = make_device(live_hub, tenant, "s1", "fa-desk")
    out = dev.push_ok([
        dev.mutation("finance.asset", "A-SL", "create", LINE),
        dev.mutation("finance.asset", "A-UP", "create", UNITS),
        # An opening-balance asset whose id A-SL's starts with: A-SL's posted acquisition is not its own.
        dev.mutation("finance.asset", "A-S", "create", {**LINE, "equipment_id": "EX-02", "paid_from": None,
                                                        "in_service": "2027-06-01", "acquired_on": None}),
        *(dev.mutation("equipment.usage_log", f"HT-07:{d}:{s}", "create", {
            "equipment_id": "HT-07", "shift_date": d, "shift": s, "operating_hours": h})
          for d, s, h in (("2026-10-05", "day", 10), ("2026-10-05", "night", 10), ("2026-11-02", "day", 5),
                          ("2026-11-20", "day", 12))),
    ])
    assert statuses(out) == ["applied"] * 7, out
    got = lines(live_hub, tenant)
    assert "asset_acquisition:A-S" not in got
    assert got["asset_acquisition:A-SL"] == [("1500", "100000.00", "0.00"), ("2100", "0.00", "100000.00")]
    assert got["asset_acquisition:A-UP"] == [("1500", "50000.00", "0.00"), ("1100", "0.00", "50000.00")]
    fin = token(live_hub, tenant, f"{tenant}-fin", "finance")
    # October catches up August to October: 4,500.00; the machine: 20 h × 4.00 = 80.00.
    r = api(live_hub, fin, "POST", "/v1/finance/depreciation/2026-10")
    assert {p["asset_id"]: p["amount"] for p in r.json()["posted"]} == {"A-SL": "4500.00", "A-UP": "80.00"}

    sold = dev.mutation("finance.asset", "A-SL", "update", {"disposed_on": "2026-12-10", "proceeds": "92000.00"},
                        base_version=1)
    scrapped = dev.mutation("finance.asset", "A-UP", "update", {"disposed_on": "2026-11-02"}, base_version=1)
    out = dev.push_ok([sold, scrapped])
    assert statuses(out) == ["applied", "applied"], out
    got = lines(live_hub, tenant)
    # A-SL: November and December still due, 5/60 × 90,000.00 − 4,500.00 = 3,000.00; book value 92,500.00 sold
    # for 92,000.00: a loss of 500.00.
    assert got["depreciation:A-SL:2026-12"] == [("6500", "3000.00", "0.00"), ("1590", "0.00", "3000.00")]
    assert sorted(got["asset_disposal:A-SL"]) == [("1100", "92000.00", "0.00"), ("1500", "0.00", "100000.00"),
                                                  ("1590", "7500.00", "0.00"), ("4900", "500.00", "0.00")]
    # A-UP scrapped on 2 November: 25 h to that day × 4.00 = 100.00 − 80.00 = 20.00 more (the 20th's 12 h come
    # after); the 49,900.00 left of its cost is a loss.
    assert got["depreciation:A-UP:2026-11"] == [("6500", "20.00", "0.00"), ("1590", "0.00", "20.00")]
    assert sorted(got["asset_disposal:A-UP"]) == [("1500", "0.00", "50000.00"), ("1590", "100.00", "0.00"),
                                                  ("4900", "49900.00", "0.00")]
    balances = {a: sum(float(d) - float(c) for e in got.values() for acc, d, c in e if acc == a)
                for a in ("1500", "1590")}
    assert balances == {"1500": 0.0, "1590": 0.0}  # both machines gone from the books
    count = entry_count(live_hub, tenant)
    for month in ("2026-11", "2026-12", "2027-01"):
        run = api(live_hub, fin, "POST", f"/v1/finance/depreciation/{month}").json()
        assert run["posted"] == [], run
    assert {s["reason"] for s in run["skipped"]} == {"disposed on 2026-12-10 (its last month posts with the "
                                                     "disposal)", "disposed on 2026-11-02 (its last month posts "
                                                     "with the disposal)", "not in service until 2027-06-01"}
    # A re-save posts nothing; a posted figure changed is refused and nothing of it applied.
    again = dev.push_ok([dev.mutation("finance.asset", "A-SL", "update", {"description": "sold to Beta"},
                                      base_version=2)])
    assert statuses(again) == ["applied"] and entry_count(live_hub, tenant) == count
    changed = dev.push_ok([dev.mutation("finance.asset", "A-SL", "update", {"proceeds": "93000.00"},
                                        base_version=3)])
    assert statuses(changed) == ["rejected"] and changed[0]["code"] == "posting_refused", changed
    assert entry_count(live_hub, tenant) == count
