"""The finance report routes on a real hub over real PostgreSQL (hub/finance/reports.py): the general ledger of
an account (opening balance, running balance, totals, dimension filters, keyset pages that add up to the
unpaged result) and the stock valuation per site against account 1400; both read on finance.* tenant-wide, and
bad parameters are a 422 naming the parameter. Entries are posted with hub.finance.store.post_entries; every
expected figure below is worked out by hand."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import httpx
import orjson
import pytest

from hub.finance.report_queries import GlQuery, Position
from hub.finance.reports import encode_cursor
from shared.domain.accounts import dims
from shared.domain.journal import LedgerEntry, credit, debit
from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_identity import setup_tenant
from tests.hub.test_identity_users import PASSWORD, add_user, from_address, signin
from tests.hub.test_ledger_store import post, with_conn
from tests.hub.test_push import make_device

TENANT = "t-fin-reports"
PAGED = "t-fin-paged"
STOCK = "t-fin-stock"
ADDRESS = "127.0.0.61"


def entries() -> list[LedgerEntry]:
    s1, s2 = dims(site="s1"), dims(site="s2")
    return [
        LedgerEntry("goods_receipt:A1", date(2026, 10, 15), (debit("1400", D("100.00"), s1),
                                                             credit("2100", D("100.00"), s1))),
        LedgerEntry("goods_receipt:A2", date(2026, 11, 2), (debit("1400", D("50.00"), s2),
                                                            debit("1400", D("25.00"), s1),
                                                            credit("2100", D("75.00")))),
        LedgerEntry("goods_issue:B1", date(2026, 11, 10), (
            debit("5100", D("30.00"), dims(site="s1", cost_centre="MINING", equipment="EX01")),
            credit("1400", D("30.00"), s1, "filters to EX01"))),
        LedgerEntry("goods_receipt:A3", date(2026, 12, 1), (debit("1400", D("10.00"), s1),
                                                            credit("2100", D("10.00"), s1))),
    ]


def paged_entries(seed: int = 13) -> list[LedgerEntry]:
    """150 entries over 9 days with one to three 1400 lines each (many lines share a day and an entry), so
    page boundaries fall inside days and inside entries."""
    rnd = random.Random(seed)
    out = []
    for n in range(150):
        day = date(2026, 11, 1) + timedelta(days=rnd.randrange(9))
        lines = []
        for _ in range(rnd.randint(1, 3)):
            amount = D(rnd.randint(1, 99999)).scaleb(-2)
            site = rnd.choice(["s1", "s2", None])
            where = dims(site=site) if site else ()
            lines += [debit("1400", amount, where) if rnd.random() < 0.7 else credit("1400", amount, where)]
        net = sum((ln.debit - ln.credit for ln in lines), D(0))
        if net:
            lines.append(credit("2100", net) if net > 0 else debit("2100", -net))
        else:
            lines += [debit("2100", D("1.00")), credit("2200", D("1.00"))]
        out.append(LedgerEntry(f"goods_receipt:P{n:03d}", day, tuple(lines)))
    return out


@pytest.fixture(scope="module")
def hub(hub_server: HubProcess) -> HubProcess:
    for tenant in (TENANT, PAGED, STOCK):
        setup_tenant(hub_server.dsn, tenant, ("s1", "s2"))
    post(hub_server.dsn, TENANT, entries())
    post(hub_server.dsn, PAGED, paged_entries())
    return hub_server


def token(hub: HubProcess, tenant: str, username: str, grants: list[tuple[str, str | None]]) -> str:
    add_user(hub.dsn, tenant, username, grants)
    with from_address(ADDRESS) as client:  # this module's own sign-in rate bucket, not the suite's 127.0.0.1
        r = signin(hub.url, username, PASSWORD, client)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def get(hub: HubProcess, tok: str | None, path: str, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {tok}"} if tok else {}
    return httpx.get(f"{hub.url}/v1/finance/{path}", params=params, headers=headers, timeout=30)


def ledger(hub: HubProcess, tok: str, **params: Any) -> dict[str, Any]:
    r = get(hub, tok, "ledger", **params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def walk(hub: HubProcess, tok: str, limit: int, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every line of the query, page by page; and how many pages it took."""
    body = ledger(hub, tok, limit=limit, **params)
    lines, pages = list(body["lines"]), 1
    while body["next_cursor"]:
        body = ledger(hub, tok, limit=limit, cursor=body["next_cursor"], **params)
        assert body["opening_balance"] is None and body["page_opening_balance"] == lines[-1]["balance"]
        assert len(body["lines"]) <= limit
        lines += body["lines"]
        pages += 1
    return lines, pages


def test_the_ledger_of_an_account_has_its_opening_running_and_closing_balance(hub: HubProcess) -> None:
    fin = token(hub, TENANT, "rep-fin", [("finance", None)])
    body = ledger(hub, fin, account="1400", **{"from": "2026-11-01", "to": "2026-11-30"})
    # Before November: A1's 100.00. In it: A2's two debits (50.00 at s2, 25.00 at s1), then B1's credit 30.00.
    assert body["opening_balance"] == "100.00" and body["page_opening_balance"] == "100.00"
    assert [(ln["date"], ln["entry_key"], ln["line_no"], ln["debit"], ln["credit"], ln["balance"])
            for ln in body["lines"]] == [
        ("2026-11-02", "goods_receipt:A2", 1, "50.00", "0.00", "150.00"),
        ("2026-11-02", "goods_receipt:A2", 2, "25.00", "0.00", "175.00"),
        ("2026-11-10", "goods_issue:B1", 2, "0.00", "30.00", "145.00")]
    assert body["lines"][2]["memo"] == "filters to EX01" and body["lines"][0]["dimensions"] == {"site": "s2"}
    assert body["totals"] == {"debit": "75.00", "credit": "30.00", "closing_balance": "145.00"}
    assert body["next_cursor"] is None
    # All dates: A3 on 1 December closes at 155.00.
    whole = ledger(hub, fin, account="1400")
    assert whole["opening_balance"] == "0.00" and whole["totals"]["closing_balance"] == "155.00"
    assert [ln["balance"] for ln in whole["lines"]] == ["100.00", "150.00", "175.00", "145.00", "155.00"]


def test_dimension_filters_keep_only_the_lines_carrying_those_values(hub: HubProcess) -> None:
    fin = token(hub, TENANT, "rep-fin-dims", [("finance", None)])
    s1 = ledger(hub, fin, account="1400", site="s1", **{"from": "2026-11-01", "to": "2026-11-30"})
    assert s1["filters"] == {"site": "s1"} and s1["opening_balance"] == "100.00"
    assert [ln["balance"] for ln in s1["lines"]] == ["125.00", "95.00"]
    assert s1["totals"] == {"debit": "25.00", "credit": "30.00", "closing_balance": "95.00"}
    consumed = ledger(hub, fin, account="5100", equipment="EX01", cost_centre="MINING")
    assert [(ln["entry_key"], ln["balance"]) for ln in consumed["lines"]] == [("goods_issue:B1", "30.00")]
    assert ledger(hub, fin, account="5100", equipment="EX02")["lines"] == []
    # Site s2 has no line in 1400 before November and one 50.00 in it.
    s2 = ledger(hub, fin, account="1400", site="s2", **{"from": "2026-11-01"})
    assert s2["opening_balance"] == "0.00" and [ln["balance"] for ln in s2["lines"]] == ["50.00"]


@pytest.mark.parametrize("filters", [{}, {"site": "s1"}, {"from": "2026-11-03", "to": "2026-11-07"}])
def test_pages_of_the_ledger_add_up_to_the_unpaged_ledger(hub: HubProcess, filters: dict[str, str]) -> None:
    fin = token(hub, PAGED, f"rep-paged-{len(filters)}-{new_ulid()[-4:].lower()}", [("finance", None)])
    whole = ledger(hub, fin, account="1400", limit=1000, **filters)
    assert whole["next_cursor"] is None and len(whole["lines"]) > 40
    for limit in (3, 7, 50):
        lines, pages = walk(hub, fin, limit, account="1400", **filters)
        assert lines == whole["lines"], limit
        assert pages == -(-len(lines) // limit), limit  # one row read ahead: a full last page says it is the last
    # The order is (date, entry, line) and the running balance is opening + Σ(debit − credit) so far.
    keys = [(ln["date"], ln["entry_key"], ln["line_no"]) for ln in whole["lines"]]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    balance = D(whole["opening_balance"])
    for ln in whole["lines"]:
        balance += D(ln["debit"]) - D(ln["credit"])
        assert D(ln["balance"]) == balance
    assert str(balance) == whole["totals"]["closing_balance"]


def test_the_ledger_needs_finance_read_at_every_site(hub: HubProcess) -> None:
    refused: list[tuple[str, list[tuple[str, str | None]]]] = [
        ("rep-viewer", [("viewer", None)]), ("rep-site-fin", [("finance", "s1")]),
        ("rep-operator", [("operator", None)])]
    for name, grants in refused:
        tok = token(hub, TENANT, name, grants)
        for path in ("ledger", "stock-valuation"):
            r = get(hub, tok, path, account="1400")
            assert r.status_code == 403 and "finance" in r.json()["message"], (name, path, r.text)
    assert get(hub, None, "ledger", account="1400").status_code == 401
    manager = token(hub, TENANT, "rep-manager", [("site_manager", None)])
    assert get(hub, manager, "ledger", account="1400").status_code == 200


def test_bad_parameters_are_a_422_naming_the_parameter(hub: HubProcess) -> None:
    fin = token(hub, TENANT, "rep-fin-bad", [("finance", None)])
    first = ledger(hub, fin, account="1400", limit=2)
    assert first["next_cursor"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "account"), ({"account": ""}, "account"), ({"account": "1400", "from": "2026-13-01"}, "from"),
        ({"account": "1400", "from": "2026-12-01", "to": "2026-11-01"}, "from"),
        ({"account": "1400", "limit": 0}, "limit"), ({"account": "1400", "limit": 1001}, "limit"),
        ({"account": "1400", "cursor": "not-a-cursor"}, "cursor"),
        ({"account": "1400", "site": ""}, "site"),
        # A cursor is tied to its query: another account or filter must start again, not read a wrong balance.
        ({"account": "2100", "cursor": first["next_cursor"]}, "cursor"),
        ({"account": "1400", "site": "s1", "cursor": first["next_cursor"]}, "cursor"),
    ]
    # A cursor in the right shape but with numbers PostgreSQL cannot hold is refused, not a 500.
    forged = encode_cursor(GlQuery("1400"), Position(date(2026, 11, 2), "goods_receipt:A2", 2**40, 2**62))
    cases.append(({"account": "1400", "cursor": forged}, "cursor"))
    for params, field in cases:
        r = get(hub, fin, "ledger", **params)
        assert r.status_code == 422 and r.json()["message"].startswith(field), (params, r.text)
    for params in ({"as_of": "yesterday"}, {"detail": "maybe"}):
        r = get(hub, fin, "stock-valuation", **params)
        assert r.status_code == 422 and r.json()["message"].startswith(next(iter(params))), r.text


def stock_record(hub: HubProcess, tenant: str, site: str, key: str,
                 versions: list[tuple[datetime, int | None]]) -> None:
    """An `inventory.stock` balance as the hub keeps it (sync.records, each version in sync.record_versions),
    carrying `value_cents` as the hub's stock poster writes it (None: a balance kept before it did)."""
    store, item = key.split(":")

    async def work(conn: Any) -> None:
        for n, (when, cents) in enumerate(versions, 1):
            fields = {"store_id": store, "item_id": item, "on_hand": 10.0 * n}
            data = orjson.dumps(fields if cents is None else {**fields, "value_cents": cents})
            await conn.execute("INSERT INTO sync.record_versions (tenant_id, entity, entity_id, version, data, "
                               "deleted, written_at) VALUES ($1, 'inventory.stock', $2, $3, $4::text::jsonb, false, "
                               "$5)", tenant, key, n, data.decode(), when)
        await conn.execute("INSERT INTO sync.records (tenant_id, entity, entity_id, site_id, version, data, "
                           "updated_at) VALUES ($1, 'inventory.stock', $2, $3, $4, $5::text::jsonb, $6)",
                           tenant, key, site, len(versions), data.decode(), versions[-1][0])

    with_conn(hub.dsn, work)


def at(day: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def test_stock_valuation_per_site_against_the_inventory_account(hub: HubProcess) -> None:
    # The real push path: a receipt at s1 makes the hub keep MAIN:BELT at 20 × 3.00 and post Dr 1400 60.00 at s1.
    dev = make_device(hub, STOCK, "s1", "stock-desk")
    out = dev.push_ok([dev.mutation("inventory.movement", new_ulid(), "create", {
        "kind": "receipt", "store_id": "MAIN", "item_id": "BELT", "quantity": 20, "unit_cost": 3,
        "occurred_at": "2026-12-05T06:00:00+00:00"})])
    assert [o["status"] for o in out] == ["applied"], out
    stock_record(hub, STOCK, "s1", "WS:FILTER", [(at(20), 10000), (at(3, 12), 12550)])
    stock_record(hub, STOCK, "s2", "PIT:HOSE", [(at(25), 4000)])
    stock_record(hub, STOCK, "s2", "PIT:BOLT", [(at(26), None)])
    post(hub.dsn, STOCK, [
        LedgerEntry("goods_receipt:S1", date(2026, 11, 20), (debit("1400", D("100.00"), dims(site="s1")),
                                                             credit("2100", D("100.00")))),
        LedgerEntry("goods_receipt:S2", date(2026, 12, 3), (debit("1400", D("25.50"), dims(site="s1")),
                                                            credit("2100", D("25.50")))),
        LedgerEntry("goods_receipt:S3", date(2026, 11, 25), (debit("1400", D("45.00"), dims(site="s2")),
                                                             credit("2100", D("45.00")))),
        LedgerEntry("journal:S4", date(2026, 11, 26), (debit("1400", D("3.00")), credit("2100", D("3.00")))),
    ])
    fin = token(hub, STOCK, "stock-fin", [("finance", None)])
    r = get(hub, fin, "stock-valuation", detail="true")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["account"] == "1400"
    assert [(s["site"], s["stock_value"], s["ledger_balance"], s["difference"], s["reconciled"],
             s["unvalued_records"]) for s in body["sites"]] == [
        ("s1", "185.50", "185.50", "0.00", True, 0),  # 60.00 (BELT, posted by the hub) + 125.50
        ("s2", "40.00", "45.00", "-5.00", False, 1),
        (None, "0.00", "3.00", "-3.00", False, 0)]  # a 1400 line without a site is its own row
    assert [(i["store_id"], i["item_id"], i["value"]) for i in body["sites"][0]["items"]] == [
        ("MAIN", "BELT", "60.00"), ("WS", "FILTER", "125.50")]
    assert [(i["item_id"], i["value"]) for i in body["sites"][1]["items"]] == [("BOLT", None), ("HOSE", "40.00")]
    assert body["total"] == {"stock_value": "225.50", "ledger_balance": "233.50", "difference": "-8.00",
                             "reconciled": False}
    # At the end of 30 November: the first version of WS:FILTER, no BELT yet, S2 not yet posted.
    r = get(hub, fin, "stock-valuation", as_of="2026-11-30")
    assert r.status_code == 200, r.text
    nov = r.json()
    assert [(s["site"], s["stock_value"], s["ledger_balance"], s["unvalued_records"]) for s in nov["sites"]] == [
        ("s1", "100.00", "100.00", 0), ("s2", "40.00", "45.00", 1), (None, "0.00", "3.00", 0)]
    assert "items" not in nov["sites"][0]
    # Before anything: no site at all. The last day there is: everything (no overflow past it).
    assert get(hub, fin, "stock-valuation", as_of="2026-11-01").json()["sites"] == []
    last = get(hub, fin, "stock-valuation", as_of="9999-12-31")
    assert last.status_code == 200 and last.json()["total"] == body["total"], last.text
