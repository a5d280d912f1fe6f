"""Period close and the chart as tenant master data, against a real hub and PostgreSQL: closing and reopening over
the API (finance, administrator) and the admin CLI; a posting dated in a closed period is refused with the shared
rule's message, while goods that physically moved still post, on the first open day, saying so (D36); a chart
imported from CSV is checked whole and becomes what postings are checked against."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import app
from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import person_client
from tests.hub.test_finance_posting import balances, lines, movement
from tests.hub.test_push import db_fetch, make_device


def tenant_id() -> str:
    return f"t-glp-{new_ulid()[-6:].lower()}"


def entry_head(hub: HubProcess, tenant: str, key: str) -> tuple[date, list[str]]:
    [row] = db_fetch(hub.dsn, "SELECT posting_date FROM finance.journal_entries WHERE tenant_id = $1 AND key = $2",
                     tenant, key)
    memos = [r["memo"] for r in db_fetch(hub.dsn, "SELECT memo FROM finance.ledger_lines WHERE tenant_id = $1 AND "
                                                  "entry_key = $2 ORDER BY line_no", tenant, key)]
    return row["posting_date"], memos


def test_a_period_closed_over_the_api_moves_stock_postings_to_the_first_open_day(live_hub: HubProcess) -> None:
    tenant = tenant_id()
    dev = make_device(live_hub, tenant, "s1", "store-1")
    fin = person_client(live_hub.url, live_hub.dsn, tenant, roles=("finance",), user_id="fin")
    manager = person_client(live_hub.url, live_hub.dsn, tenant, roles=("site_manager",), user_id="mgr")

    r = manager.post("/v1/finance/periods/2026-06/close")
    assert r.status_code == 403 and "close or reopen accounting periods" in r.json()["message"]
    r = fin.post("/v1/finance/periods/2026-13/close")
    assert r.status_code == 422 and "month 13 does not exist" in r.json()["message"]
    r = fin.post("/v1/finance/periods/June/close")
    assert r.status_code == 422 and "write it as YYYY-MM" in r.json()["message"]
    r = fin.post("/v1/finance/periods/2026-06/close")
    assert r.status_code == 200 and r.json() == {"period": "2026-06", "status": "closed", "changed": True}
    assert fin.post("/v1/finance/periods/2026-06/close").json()["changed"] is False  # idempotent
    listed = manager.get("/v1/finance/periods").json()["closed"]  # a site manager reads finance
    assert [(p["period"], p["closed_by"]) for p in listed] == [("2026-06", "fin")]

    # Goods received on 15 June, synced after June closed: the stock moves, the entry lands on 1 July.
    late = new_ulid()
    out = dev.push_ok([movement(dev, "receipt", 4, movement_id=late, unit_cost=2.5,
                                occurred_at="2026-06-15T09:00:00+00:00")])
    assert out[0]["status"] == "applied", out
    day, memos = entry_head(live_hub, tenant, f"goods_receipt:{late}")
    assert day == date(2026, 7, 1)
    assert all("dated 2026-06-15 in closed period 2026-06; posted on 2026-07-01" in m for m in memos), memos
    assert balances(live_hub, tenant)["1400"] == 10

    # Reopened, June takes June's postings again.
    assert fin.post("/v1/finance/periods/2026-06/reopen").json() == {"period": "2026-06", "status": "open",
                                                                     "changed": True}
    assert fin.get("/v1/finance/periods").json()["closed"] == []
    on_time = new_ulid()
    dev.push_ok([movement(dev, "issue", 1, movement_id=on_time, cost_centre="CC",
                          occurred_at="2026-06-20T09:00:00+00:00")])
    assert entry_head(live_hub, tenant, f"goods_issue:{on_time}") == (date(2026, 6, 20),
                                                                      ["issued to cost centre CC"] * 2)
    audit = db_fetch(live_hub.dsn, "SELECT action, actor FROM audit.log WHERE tenant_id = $1 AND entity = "
                                   "'finance.period' ORDER BY at", tenant)
    assert [(a["action"], a["actor"]) for a in audit] == [("finance.period.close", "fin"),
                                                          ("finance.period.reopen", "fin")]


def test_a_document_posting_dated_in_a_closed_period_is_refused_with_the_shared_message(
        live_hub: HubProcess) -> None:
    """The hook's check for every poster (an invoice is a document, not goods: it is refused, not moved)."""
    from hub.db import connect
    from hub.finance.admin import set_period
    from hub.finance.posting import admit
    from hub.identity.admin import admin_principal
    from hub.sync.apply import ApplyContext
    from pitline.harness import run_sync
    from shared.domain.accounts import dims
    from shared.domain.finance_errors import ClosedPeriodError
    from shared.domain.journal import LedgerEntry, credit, debit

    tenant = tenant_id()
    principal = admin_principal(tenant, "test")
    ten, site = Decimal("10.00"), dims(site="s1")
    entry = LedgerEntry("payment:P1", date(2026, 5, 31), (debit("2100", ten, site), credit("1100", ten, site)))

    async def go() -> str:
        conn = await connect(live_hub.dsn)
        try:
            async with conn.transaction():
                await set_period(conn, principal, "2026-05", close=True)
            async with conn.transaction():
                ctx = ApplyContext(conn=conn, principal=principal, now=datetime.now(UTC))
                with pytest.raises(ClosedPeriodError) as exc:
                    await admit(ctx, [entry])
                assert ctx.posting.entries == []
                return str(exc.value)
        finally:
            await conn.close()

    message = run_sync(go())
    assert message.startswith("period 2026-05 is closed: entry 'payment:P1' dated 2026-05-31 cannot be posted")


@pytest.fixture
def cli(live_hub: HubProcess, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PITLINE_DATABASE_URL", live_hub.dsn)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> Any:
    result = cli.invoke(app, [*args, "--json"])
    assert result.exit_code == code, (args, result.exit_code, result.output)
    out = [line for line in result.stdout.splitlines() if line.strip()]
    return json.loads(out[-1]) if out else None


CHART = """code,name,type,header,parent,required
1000,Assets,asset,yes,,
1100,Bank,asset,,1000,site
1200,Receivables,asset,,1000,site
1400,Stores inventory,asset,,1000,site
1450,In transit,asset,,1000,site
1500,Plant,asset,,1000,site
1590,Accumulated depreciation,asset,,1000,"site,equipment"
2000,Liabilities,liability,yes,,
2100,Payables,liability,,2000,site
2150,GR/IR,liability,,2000,site
3000,Equity,equity,yes,,
4000,Income,income,yes,,
4100,Rental income,income,,4000,"site,equipment"
5000,Purchases,expense,yes,,
5400,Price variance,expense,,5000,site
5500,Stock adjustments,expense,,5000,site
6000,Operating,expense,yes,,
6100,Parts consumed,expense,,6000,"site,cost_centre,project"
6500,Depreciation,expense,,6000,"site,equipment"
"""


def test_periods_and_the_chart_from_the_admin_cli(cli: CliRunner, live_hub: HubProcess, tmp_path: Path) -> None:
    tenant = tenant_id()
    assert "no tenant" in run(cli, "finance", "close-period", "2026-11", "-t", tenant, code=4)["error"]
    run(cli, "tenants", "add", tenant)
    assert run(cli, "finance", "close-period", "2026-11", "-t", tenant) == {
        "period": "2026-11", "status": "closed", "changed": True}
    assert [p["period"] for p in run(cli, "finance", "periods", "-t", tenant)] == ["2026-11"]
    assert "write it as YYYY-MM" in run(cli, "finance", "close-period", "Nov", "-t", tenant, code=2)["error"]
    assert run(cli, "finance", "reopen-period", "2026-11", "-t", tenant)["status"] == "open"
    assert run(cli, "finance", "reopen-period", "2026-11", "-t", tenant)["changed"] is False
    assert run(cli, "finance", "periods", "-t", tenant) == []

    chart = run(cli, "finance", "chart", "-t", tenant)
    assert chart["source"] == "default chart" and chart["open_dimensions"] == [
        "cost_centre", "equipment", "project", "site"]
    assert {"1400", "1450", "2150", "5500", "6100"} <= {a["code"] for a in chart["accounts"]}

    bad = tmp_path / "bad.csv"
    bad.write_text(CHART.replace("1400,Stores inventory,asset,,1000,site", "1400,Stores inventory,asset,yes,1000,"))
    assert "lacks the posting account(s) 1400" in run(cli, "finance", "chart-import", str(bad), "-t", tenant,
                                                      code=2)["error"]
    bad.write_text(CHART.replace("6100,Parts consumed,expense,,6000", "6100,Parts consumed,expense,,6500"))
    assert "only header accounts have accounts under them" in run(
        cli, "finance", "chart-import", str(bad), "-t", tenant, code=2)["error"]
    bad.write_text(CHART.replace("site,cost_centre,project", "site,shift"))
    assert "line 19 (account '6100')" in run(cli, "finance", "chart-import", str(bad), "-t", tenant,
                                             code=2)["error"]
    bad.write_text(CHART.replace("1200,Receivables,asset", "1200,Receivables, trade,asset"))  # unquoted comma
    assert "line 4 has more fields than the header names" in run(cli, "finance", "chart-import", str(bad), "-t",
                                                                 tenant, code=2)["error"]
    assert run(cli, "finance", "chart", "-t", tenant)["source"] == "default chart"  # nothing written

    good = tmp_path / "chart.csv"
    good.write_text(CHART)
    assert run(cli, "finance", "chart-import", str(good), "-t", tenant) == {
        "accounts": 19, "changed": 19, "unchanged": 0}
    assert run(cli, "finance", "chart-import", str(good), "-t", tenant)["changed"] == 0
    chart = run(cli, "finance", "chart", "-t", tenant)
    assert chart["source"] == "tenant records"
    assert {a["code"]: a["name"] for a in chart["accounts"]}["1400"] == "Stores inventory"

    # Postings are now checked against it: this tenant's 6100 needs a project, so an issue without one is refused.
    dev = make_device(live_hub, tenant, "s1", "store-1")
    dev.push_ok([movement(dev, "receipt", 2, unit_cost=5)])
    out = dev.push_ok([movement(dev, "issue", 1, cost_centre="CC")])
    assert (out[0]["status"], out[0]["code"]) == ("rejected", "posting_refused")
    assert "account 6100 Parts consumed needs a project on every line" in out[0]["message"]
    assert balances(live_hub, tenant)["1400"] == 10 and len(lines(live_hub, tenant)) == 1
    # The accounts travel to desktops like any record.
    events = db_fetch(live_hub.dsn, "SELECT count(*) AS n FROM sync.events WHERE tenant_id = $1 AND entity = "
                                    "'finance.account'", tenant)
    assert events[0]["n"] == 19


def test_a_chart_change_pushed_by_a_device_is_checked_as_the_whole_chart(live_hub: HubProcess) -> None:
    """Through the posting hook: the change that would break the chart is refused, not every posting after it."""
    tenant = tenant_id()
    dev = make_device(live_hub, tenant, "s1", "finance-desk")

    def account(code: str, **fields: Any) -> dict[str, Any]:
        return dev.mutation("finance.account", code, "create", {"code": code, "name": f"account {code}",
                                                                "type": "expense", **fields})

    out = dev.push_ok([
        account("6110", parent="6000", required="site, cost_centre"),  # a new posting account under 6000
        account("6120", parent="6999"),  # under an account that does not exist
        account("1400", type="asset", parent="1000", active=False),  # takes out an account the hub posts to
        account("6200", header=True, required="site"),  # a header cannot require dimensions (record check)
        movement(dev, "receipt", 2, unit_cost=5),  # and stock still posts, in the same push
    ])
    assert [o["status"] for o in out] == ["applied", "rejected", "rejected", "rejected", "applied"], out
    assert "sits under 6999, which is not in the chart" in out[1]["message"]
    assert "lacks the posting account(s) 1400" in out[2]["message"]
    assert out[3]["code"] == "validation_failed" and "cannot require dimensions" in out[3]["message"]
    assert set(records_of(live_hub, tenant, "finance.account")) == {"6110"}
    assert balances(live_hub, tenant)["1400"] == 10
    # The tenant lists project values: a line carrying an unlisted project is refused from then on.
    out = dev.push_ok([dev.mutation("finance.dimension_value", "project:PIT-3", "create",
                                    {"dimension": "project", "value": "PIT-3"})])
    assert out[0]["status"] == "applied"
    from hub.db import connect
    from hub.finance.chart import load_chart
    from pitline.harness import run_sync

    async def chart() -> Any:
        conn = await connect(live_hub.dsn)
        try:
            return await load_chart(conn, tenant)
        finally:
            await conn.close()

    tc = run_sync(chart())
    assert tc.listed and "6110" in tc.chart.accounts and "project" not in {d.value for d in tc.open_dimensions}
    from shared.domain.accounts import dims
    from shared.domain.finance_errors import UnknownDimensionError

    tc.check_line("6110", dims(site="s1", cost_centre="ANY", project="PIT-3"))  # open cost centres, listed project
    with pytest.raises(UnknownDimensionError, match="project 'PIT-9' is not a known project"):
        tc.check_line("6110", dims(site="s1", cost_centre="ANY", project="PIT-9"))


def records_of(hub: HubProcess, tenant: str, entity: str) -> dict[str, Any]:
    rows = db_fetch(hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2",
                    tenant, entity)
    return {r["entity_id"]: r["data"] for r in rows}


def test_stock_booked_before_the_ledger_existed_is_valued_as_if_posted_from_the_start(
        cli: CliRunner, live_hub: HubProcess) -> None:
    tenant = tenant_id()
    main, pit = make_device(live_hub, tenant, "s1", "store-1"), make_device(live_hub, tenant, "s2", "pit")
    main.push_ok([main.mutation("maintenance.work_order", "WO1", "create", {"equipment_id": "EX-01", "title": "x"}),
                  movement(main, "receipt", 10, unit_cost=2.35, occurred_at="2026-06-01T08:00:00+00:00"),
                  movement(main, "issue", 3, work_order_id="WO1", occurred_at="2026-06-02T08:00:00+00:00"),
                  movement(main, "receipt", 4, unit_cost=3.1, occurred_at="2026-06-03T08:00:00+00:00"),
                  movement(main, "transfer_out", 5, unit_cost=1, transfer_id="T1", to_store_id="PIT",
                           occurred_at="2026-06-04T08:00:00+00:00"),
                  movement(main, "count_adjustment", -1, note="broken", occurred_at="2026-06-05T08:00:00+00:00")])
    pit.push_ok([movement(pit, "transfer_in", 5, store_id="PIT", unit_cost=1, transfer_id="T1",
                          occurred_at="2026-06-06T08:00:00+00:00")])
    posted, values = lines(live_hub, tenant), {k: v["value_cents"] for k, v in records_of(
        live_hub, tenant, "inventory.stock").items()}
    # 23.50 in, 3 out at 7.05, 12.40 in (11 worth 28.85), 5 shipped at 13.11, 1 broken at 15.74 / 6 = 2.62.
    assert len(posted) == 6 and values == {"MAIN:FILTER": 1312, "PIT:FILTER": 1311}
    # What a hub that booked the same rows before this change holds: balances without value, no entries.
    run_sql(live_hub.dsn, "DELETE FROM finance.ledger_lines WHERE tenant_id = $1", tenant)
    run_sql(live_hub.dsn, "DELETE FROM finance.journal_entries WHERE tenant_id = $1", tenant)
    run_sql(live_hub.dsn, "UPDATE sync.records SET data = data - 'value_cents' - 'last_cost' WHERE tenant_id = $1 "
                          "AND entity = 'inventory.stock'", tenant)
    run(cli, "finance", "close-period", "2026-06", "-t", tenant)  # June closed since: the entries move to 1 July

    out = run(cli, "finance", "value-stock", "-t", tenant)
    assert out == {"balances": 2, "movements": 6, "entries": 6, "value": "26.23", "quantity_mismatches": []}
    again = lines(live_hub, tenant)
    assert {k: [ln[:3] for ln in v] for k, v in again.items()} == {k: [ln[:3] for ln in v] for k, v in posted.items()}
    assert {k: v["value_cents"] for k, v in records_of(live_hub, tenant, "inventory.stock").items()} == values
    days = db_fetch(live_hub.dsn, "SELECT DISTINCT posting_date FROM finance.journal_entries WHERE tenant_id = $1",
                    tenant)
    assert [r["posting_date"] for r in days] == [date(2026, 7, 1)]
    assert run(cli, "finance", "value-stock", "-t", tenant)["balances"] == 0  # once
    # Movements after it go on from the valued position: 5 left at MAIN worth 13.12 → 2 out at 5.25.
    issue = new_ulid()
    main.push_ok([movement(main, "issue", 2, movement_id=issue, cost_centre="CC")])
    assert lines(live_hub, tenant)[f"goods_issue:{issue}"][0][1] == "5.25"


def run_sql(dsn: str, sql: str, *args: Any) -> None:
    from hub.db import connect
    from pitline.harness import run_sync

    async def go() -> None:
        conn = await connect(dsn)
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    run_sync(go())


def test_a_push_checks_its_later_postings_against_its_own_earlier_chart_changes(live_hub: HubProcess) -> None:
    tenant = tenant_id()
    dev = make_device(live_hub, tenant, "s1", "finance-desk")
    out = dev.push_ok([
        movement(dev, "receipt", 5, unit_cost=2),
        dev.mutation("finance.dimension_value", "cost_centre:CRUSH", "create",
                     {"dimension": "cost_centre", "value": "CRUSH"}),
        dev.mutation("finance.account", "6120", "create", {"code": "6120", "name": "x", "type": "expense",
                                                           "parent": "6999"}),  # refused: the chart reloads
        movement(dev, "issue", 1, cost_centre="OTHER"),  # cost centres are listed now (CRUSH), in this very push
        movement(dev, "issue", 1, cost_centre="CRUSH"),
    ])
    assert [o["status"] for o in out] == ["applied", "applied", "rejected", "rejected", "applied"], out
    assert "cost centre 'OTHER' is not a known cost centre" in out[3]["message"]
