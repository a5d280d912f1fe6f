"""The manual journal on a real hub (D75): a `finance.journal_entry` posts as `manual_journal:<id>` on its date; a
replayed push posts nothing; every refusal (unbalanced, a float amount, a header account, a required dimension
missing, a dimension value the tenant does not list, a closed period, an edit of a posted journal) rejects that
mutation only, with the rule's message, and posts nothing."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import app
from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
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
