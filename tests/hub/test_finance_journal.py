"""The manual journal on a real hub (D75): a `finance.journal_entry` posts as `manual_journal:<id>` on its date; a
replayed push posts nothing; every refusal (unbalanced, a float amount, a header account, a required dimension
missing, a dimension value the tenant does not list, a closed period, an edit of a posted journal) rejects that
mutation only, with the rule's message, and posts nothing. A reversal (D84) is a new journal mirroring a posted
one: the trial balance returns to what it was, the original stays, and a second reversal from another office, a
reversal of a reversal, a non-mirror or a reversal of nothing posted is refused with the ledger rule's message."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

import hub.finance.chart as hub_chart
from hub.cli import app
from hub.db import connect
from hub.finance.journal_posting import reversal_lock
from hub.finance.store import post_entries, trial_balance
from pitline.harness import run_sync
from shared.domain import chart_guard
from shared.domain.manual_journal import manual_entry, reversal_payload
from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_ledger_store import with_conn
from tests.hub.test_push import db_fetch, make_device

ACCRUAL: dict[str, Any] = {
    "posted_on": "2026-11-30", "reference": "ACC-11", "description": "November power accrual",
    "lines": [{"account": "6100", "debit": "1250.00", "credit": "0", "memo": "power",
               "dimensions": {"site": "s1", "cost_centre": "CC-A"}},
              {"account": "2100", "debit": "0", "credit": "1250.00", "dimensions": {"site": "s1"}}]}


def with_line(n: int, **change: Any) -> dict[str, Any]:
    lines = [dict(ln) for ln in ACCRUAL["lines"]]
    lines[n].update(change)
    return {**ACCRUAL, "lines": lines}


def ledger(hub: HubProcess, tenant: str) -> list[tuple[str, str, str, int, int]]:
    rows = db_fetch(hub.dsn, "SELECT entry_key, account, coalesce(cost_centre, '') AS cc, debit_cents, credit_cents "
                             "FROM finance.ledger_lines WHERE tenant_id = $1 ORDER BY entry_key, line_no", tenant)
    return [(r["entry_key"], r["account"], r["cc"], r["debit_cents"], r["credit_cents"]) for r in rows]


def test_a_manual_journal_posts_once_and_every_bad_one_is_refused_with_its_reason(
        live_hub: HubProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = f"t-mj-{new_ulid()[-6:].lower()}"
    dev = make_device(live_hub, tenant, "s1", "fin-desk")
    good = dev.mutation("finance.journal_entry", "J1", "create", ACCRUAL)
    out = dev.push_ok([good])
    assert out[0]["status"] == "applied", out
    posted = [("manual_journal:J1", "2100", "", 0, 125000), ("manual_journal:J1", "6100", "CC-A", 125000, 0)]
    assert sorted(ledger(live_hub, tenant)) == posted
    [entry] = db_fetch(live_hub.dsn, "SELECT posting_date, description, source FROM finance.journal_entries WHERE "
                                     "tenant_id = $1", tenant)
    assert (str(entry["posting_date"]), entry["description"], entry["source"]) == (
        "2026-11-30", "November power accrual", "manual_journal")
    assert dev.push_ok([good])[0]["status"] == "duplicate"  # the office never heard: nothing posts twice

    dev.push_ok([dev.mutation("finance.dimension_value", "cost_centre:CC-A", "create",
                              {"dimension": "cost_centre", "value": "CC-A"})])
    monkeypatch.setenv("PITLINE_DATABASE_URL", live_hub.dsn)
    closed = CliRunner().invoke(app, ["finance", "close-period", "2026-10", "--tenant", tenant])
    assert closed.exit_code == 0, closed.output
    bad = {
        "J-UNBAL": (with_line(1, credit="1200.00"), "'manual_journal:ACC-11' is not balanced"),
        "J-FLOAT": (with_line(0, debit=1250.0), "amounts travel as strings"),
        "J-HEAD": (with_line(1, account="2000"), "2000"),
        "J-NOCC": (with_line(0, dimensions={"site": "s1"}), "needs a cost centre"),
        "J-CC": (with_line(0, dimensions={"site": "s1", "cost_centre": "CC-ZZ"}), "CC-ZZ"),
        "J-OCT": ({**ACCRUAL, "posted_on": "2026-10-31"}, "period 2026-10 is closed"),
    }
    out = dev.push_ok([dev.mutation("finance.journal_entry", jid, "create", body) for jid, (body, _) in bad.items()]
                      + [dev.mutation("finance.journal_entry", "J1", "update", {"description": "edited"},
                                      base_version=1)])
    for o, (jid, (_, reason)) in zip(out, bad.items(), strict=False):
        assert o["status"] == "rejected" and reason in o["message"], (jid, o)
    assert out[-1]["status"] == "rejected", out[-1]  # create-only: a posted journal is never edited
    assert sorted(ledger(live_hub, tenant)) == posted
    assert db_fetch(live_hub.dsn, "SELECT count(*) AS n FROM sync.records WHERE tenant_id = $1 AND entity = "
                                  "'finance.journal_entry'", tenant)[0]["n"] == 1


def balances(hub: HubProcess, tenant: str) -> dict[str, Decimal]:
    """The hub's trial balance as account → balance, accounts at zero left out (a reversal nets them to zero)."""
    tb = with_conn(hub.dsn, lambda conn: trial_balance(conn, tenant))
    return {a: t.balance for a, t in tb.accounts.items() if t.balance}


def test_a_reversal_is_a_new_journal_that_restores_the_trial_balance_and_is_refused_a_second_time(
        live_hub: HubProcess) -> None:
    tenant = f"t-mjr-{new_ulid()[-6:].lower()}"
    office_a = make_device(live_hub, tenant, "s1", "fin-a")
    office_b = make_device(live_hub, tenant, "s1", "fin-b")
    opening = {**ACCRUAL, "reference": "OPEN", "lines": [
        {"account": "1100", "debit": "5000.00", "credit": "0", "dimensions": {"site": "s1"}},
        {"account": "3100", "debit": "0", "credit": "5000.00"}]}
    assert office_a.push_ok([office_a.mutation("finance.journal_entry", "J0", "create", opening)])[0]["status"] == \
        "applied"
    before = balances(live_hub, tenant)
    assert before == {"1100": Decimal("5000.00"), "3100": Decimal("-5000.00")}
    assert office_a.push_ok([office_a.mutation("finance.journal_entry", "J1", "create", ACCRUAL)])[0]["status"] == \
        "applied"
    assert balances(live_hub, tenant) != before
    # Both offices were offline when each decided to reverse J1: each wrote its own new record.
    reversal = reversal_payload("J1", ACCRUAL, "2026-12-01")
    assert reversal["reverses"] == "J1" and reversal["lines"][0]["credit"] == "1250.00"
    out = office_a.push_ok([office_a.mutation("finance.journal_entry", "R1", "create", reversal)])
    assert out[0]["status"] == "applied", out
    assert balances(live_hub, tenant) == before  # the trial balance is back where it was
    stored = db_fetch(live_hub.dsn, "SELECT key, reverses, posting_date FROM finance.journal_entries WHERE "
                                    "tenant_id = $1 ORDER BY key", tenant)
    assert [(r["key"], r["reverses"], str(r["posting_date"])) for r in stored] == [
        ("manual_journal:J0", None, "2026-11-30"), ("manual_journal:J1", None, "2026-11-30"),
        ("manual_journal:R1", "manual_journal:J1", "2026-12-01")]  # the original stays, untouched
    posted = sorted(ledger(live_hub, tenant))

    bad_mirror = reversal_payload("J0", opening, "2026-12-01")
    bad_mirror["lines"] = [{**ln, "dimensions": {}} for ln in bad_mirror["lines"]]  # balanced, but not J0's lines
    out = office_b.push_ok([
        office_b.mutation("finance.journal_entry", "R2", "create", reversal_payload("J1", ACCRUAL, "2026-12-02")),
        office_b.mutation("finance.journal_entry", "R3", "create", reversal_payload("R1", reversal, "2026-12-02")),
        office_b.mutation("finance.journal_entry", "R4", "create", bad_mirror),
        office_b.mutation("finance.journal_entry", "R5", "create", reversal_payload("J9", ACCRUAL, "2026-12-02")),
        office_b.mutation("finance.journal_entry", "R6", "create", reversal_payload("J0", opening, "2026-12-02")),
        office_b.mutation("finance.journal_entry", "R7", "create", reversal_payload("J0", opening, "2026-12-03")),
    ])
    reasons = {
        "R2": "'manual_journal:J1' was already reversed by 'manual_journal:R1'",
        "R3": "'manual_journal:R1' is itself a reversal",
        "R4": "does not mirror the lines of 'manual_journal:J0'",
        "R5": "reverses 'manual_journal:J9', which was never posted",
        "R7": "'manual_journal:J0' was already reversed by 'manual_journal:R6'",  # two in one push: the first wins
    }
    by_id = dict(zip(["R2", "R3", "R4", "R5", "R6", "R7"], out, strict=True))
    for jid, reason in reasons.items():
        assert by_id[jid]["status"] == "rejected" and reason in by_id[jid]["message"], (jid, by_id[jid])
    assert by_id["R6"]["status"] == "applied", by_id["R6"]
    assert balances(live_hub, tenant) == {}  # J0 reversed too: nothing left
    assert sorted(ledger(live_hub, tenant)) == sorted([*posted, ("manual_journal:R6", "1100", "", 0, 500000),
                                                       ("manual_journal:R6", "3100", "", 500000, 0)])
    records = db_fetch(live_hub.dsn, "SELECT entity_id FROM sync.records WHERE tenant_id = $1 AND entity = "
                                     "'finance.journal_entry' ORDER BY entity_id", tenant)
    assert [r["entity_id"] for r in records] == ["J0", "J1", "R1", "R6"]  # nothing refused was kept or posted


def test_a_reversal_racing_another_offices_waits_for_it_and_is_refused_with_the_rules_message(
        live_hub: HubProcess) -> None:
    """Office A's reversal is mid-commit (its transaction holds the target's reversal lock and has posted) when
    office B's push reverses the same journal: B waits, then sees A's and is rejected; its push does not fail."""
    tenant = f"t-mjx-{new_ulid()[-6:].lower()}"
    office_b = make_device(live_hub, tenant, "s1", "fin-b")
    assert office_b.push_ok([office_b.mutation("finance.journal_entry", "J1", "create", ACCRUAL)])[0]["status"] == \
        "applied"
    theirs = office_b.mutation("finance.journal_entry", "RB", "create", reversal_payload("J1", ACCRUAL, "2026-12-02"))

    async def race() -> tuple[dict[str, Any], bool]:
        conn = await connect(live_hub.dsn)
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                                   reversal_lock(tenant, "manual_journal:J1"))
                await post_entries(conn, tenant, [manual_entry("RA", reversal_payload("J1", ACCRUAL, "2026-12-01"))])
                pushed = asyncio.get_running_loop().run_in_executor(None, office_b.push_ok, [theirs])
                await asyncio.sleep(1.0)
                waited = not pushed.done()  # B is held on the lock while A has not committed
            return (await pushed)[0], waited
        finally:
            await conn.close()

    outcome, waited = run_sync(race())
    assert waited
    assert outcome["status"] == "rejected" and "'manual_journal:J1' was already reversed by 'manual_journal:RA'" in \
        outcome["message"], outcome
    assert [k for k, *_ in ledger(live_hub, tenant) if k == "manual_journal:RB"] == []


def test_the_hubs_chart_guard_is_the_shared_one() -> None:
    assert hub_chart.posting_accounts is chart_guard.posting_accounts
    assert hub_chart.check_posting_accounts is chart_guard.check_posting_accounts
    assert "1400" in chart_guard.posting_accounts() and "3100" not in chart_guard.posting_accounts()
