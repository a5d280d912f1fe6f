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
    bad.write_text(CHART.replace("1400,Stores inventory,asset,,1000,site\n", ""))
    assert "lacks the posting account(s) 1400" in run(cli, "finance", "chart-import", str(bad), "-t", tenant,
                                                      code=2)["error"]
    bad.write_text(CHART.replace("6100,Parts consumed,expense,,6000", "6100,Parts consumed,expense,,6500"))
    assert "only header accounts have accounts under them" in run(
        cli, "finance", "chart-import", str(bad), "-t", tenant, code=2)["error"]
    bad.write_text(CHART.replace("site,cost_centre,project", "site,shift"))
    assert "line 19 (account '6100')" in run(cli, "finance", "chart-import", str(bad), "-t", tenant,
                                             code=2)["error"]
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
