"""`GET /v1/finance/ledger` against a real hub and PostgreSQL: the lines the hub posted from stock movements, by
account and dimension, within dates, with a running balance that is right on every page of a keyset-paged read."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import person_client
from tests.hub.test_finance_posting import balances, movement
from tests.hub.test_push import make_device


def day(n: int) -> str:
    return f"2026-07-{n:02d}T08:00:00+00:00"


def read_all(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    after = None
    while True:
        r = client.get("/v1/finance/ledger", params={**params, **({"after": after} if after else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        lines += page["lines"]
        after = page["next_after"]
        if after is None:
            return lines


def test_the_ledger_by_account_and_dimension_pages_with_a_running_balance(live_hub: HubProcess) -> None:
    tenant = f"t-gll-{new_ulid()[-6:].lower()}"
    s1, s2 = make_device(live_hub, tenant, "s1", "store-1"), make_device(live_hub, tenant, "s2", "store-2")
    out = s1.push_ok([movement(s1, "receipt", 10, unit_cost=2.5, occurred_at=day(1)),
                      movement(s1, "issue", 4, cost_centre="CC-A", occurred_at=day(2)),
                      movement(s1, "receipt", 10, unit_cost=4, occurred_at=day(3)),
                      movement(s1, "issue", 3, cost_centre="CC-B", occurred_at=day(4)),
                      movement(s1, "issue", 1, cost_centre="CC-A", occurred_at=day(5))])
    out += s2.push_ok([movement(s2, "receipt", 5, store_id="PIT", unit_cost=9, occurred_at=day(2))])
    assert {o["status"] for o in out} == {"applied"}
    fin = person_client(live_hub.url, live_hub.dsn, tenant, roles=("finance",), user_id="fin")

    full = read_all(fin, account="1400", site="s1")
    # 25.00 in; 4 of 10 out: 10.00; 40.00 in (16 worth 55.00); 3 of 16: 10.31; 1 of 13: 44.69 / 13 = 3.44.
    assert [(ln["posting_date"], ln["debit"], ln["credit"], ln["balance"]) for ln in full] == [
        ("2026-07-01", "25.00", "0.00", "25.00"), ("2026-07-02", "0.00", "10.00", "15.00"),
        ("2026-07-03", "40.00", "0.00", "55.00"), ("2026-07-04", "0.00", "10.31", "44.69"),
        ("2026-07-05", "0.00", "3.44", "41.25")]
    assert {ln["site"] for ln in full} == {"s1"} and full[0]["source"] == "goods_receipt"
    assert Decimal(full[-1]["balance"]) + 45 == balances(live_hub, tenant)["1400"]  # s2 holds 45.00

    # Pages of two give the same lines and the same balances; the cursor carries the balance across pages.
    first = fin.get("/v1/finance/ledger", params={"account": "1400", "site": "s1", "limit": 2}).json()
    assert [ln["balance"] for ln in first["lines"]] == ["25.00", "15.00"] and first["next_after"]
    assert read_all(fin, account="1400", site="s1", limit=2) == full
    # A date range starts from the opening balance before it.
    ranged = fin.get("/v1/finance/ledger", params={"account": "1400", "site": "s1", "from": "2026-07-03",
                                                   "to": "2026-07-04"}).json()
    assert ranged["opening_balance"] == "15.00"
    assert [ln["balance"] for ln in ranged["lines"]] == ["55.00", "44.69"]
    # By another dimension: consumption per cost centre, across accounts' lines of that dimension only.
    cc_a = read_all(fin, account="6100", cost_centre="CC-A")
    assert [ln["debit"] for ln in cc_a] == ["10.00", "3.44"] and cc_a[-1]["balance"] == "13.44"
    everything = read_all(fin, limit=3)
    assert len(everything) == 12 and all("balance" not in ln for ln in everything)  # no account: no balance

    # Bad input gets a 4xx naming it; people without tenant-wide finance reading get 403.
    for params, words in (({"from": "2026-07-05", "to": "2026-07-01"}, "is after"),
                          ({"after": "not-a-cursor"}, "is not a cursor"), ({"from": "July"}, "from"),
                          ({"limit": 0}, "limit")):
        r = fin.get("/v1/finance/ledger", params=params)
        assert r.status_code == 422 and words in r.text, (params, r.text)
    viewer = person_client(live_hub.url, live_hub.dsn, tenant, roles=("viewer",), user_id="v")
    assert viewer.get("/v1/finance/ledger").status_code == 403
    assert s1.client.get("/v1/finance/ledger").status_code == 403  # a site device
