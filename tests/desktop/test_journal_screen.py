"""Finance → Manual journals (desktop/journal_screen.py) on a real encrypted store, and against a real hub: live
totals as lines are typed, every journal the hub would refuse refused beside the field with nothing written, the
list's statuses (queued, posted, refused), "Reverse" writing a new mirroring journal and never editing the
original, a closed period refused by the hub and shown with its message on "Refused by the hub", and a second
office's reversal of the same journal refused with the ledger rule's reason on that office's desk. Also the chart
screen refusing, beside the field, a change that drops an account the hub posts to."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtWidgets import QLineEdit, QStyleOptionViewItem
from typer.testing import CliRunner

from desktop.chart_screen import ChartScreen
from desktop.journal_screen import JournalScreen
from hub.cli import app
from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import db_fetch

FINANCE = frozenset({"finance"})
ACCRUAL_ROWS = [["6100", "1250.00", "", "north", "CC-A", "", "", "power"], ["2100", "", "1250.00", "north"]]
POSTED = {"posted_on": "2026-11-30", "reference": "ACC-11", "description": "November power accrual",
          "lines": [{"account": "6100", "debit": "1250.00", "credit": "0", "memo": "power",
                     "dimensions": {"site": "north", "cost_centre": "CC-A"}},
                    {"account": "2100", "debit": "0", "credit": "1250.00", "dimensions": {"site": "north"}}]}


def journals_of(qtbot, tmp_path: Path, roles: frozenset[str] = FINANCE, name: str = "desk.db", **kw: Any):  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / name, actor="fran", roles=roles, **kw)
    qtbot.addWidget(desk.window)
    desk.window.show_module("Manual journals")
    screen = desk.window.ops["Manual journals"]
    assert isinstance(screen, JournalScreen)
    return desk, screen


def key_in(qtbot, screen: JournalScreen, values: dict[str, str], rows: list[list[str]]) -> None:  # type: ignore[no-untyped-def]
    form = screen.form
    assert form is not None
    type_into(qtbot, form, values)
    form.line_model.set_rows(rows)


def listed(screen: JournalScreen) -> list[tuple[str, str, str, str]]:
    """(reference, reverses, status, reason) per row of the list."""
    return sorted((screen.model.cell(r, 1), screen.model.cell(r, 4), screen.model.cell(r, 5), screen.model.cell(r, 6))
                  for r in range(screen.model.rowCount()))


def test_totals_follow_the_lines_and_every_bad_journal_is_refused_beside_the_field(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = journals_of(qtbot, tmp_path)
    from_hub(desk.store, [("finance.dimension_value", "cost_centre:CC-A", {"dimension": "cost_centre",
                                                                           "value": "CC-A"})])
    form = screen.form
    assert form is not None
    key_in(qtbot, screen, {"posted_on": "2026-11-30", "description": "power"},
           [["6100", "1250.00", "", "north", "CC-A"], ["2100", "", "1200.00", "north"]])
    assert form.totals.text().startswith("Debits 1250.00   Credits 1200.00   Difference 50.00")
    form.line_model.set_cell(1, 2, "1250.00")
    assert form.totals.text().endswith("Difference 0.00   balanced")
    cases = [
        ({}, [["6100", "1250.00", "", "north", "CC-A"], ["2100", "", "1200.00", "north"]], "lines",
         "is not balanced: debits 1250.00 ≠ credits 1200.00 (debits exceed by 50.00)"),
        ({}, [["6100", "1250.00", "", "north", "CC-A"], ["2000", "", "1250.00", "north"]], "lines",
         "line 2: account 2000 Liabilities is a header account"),
        ({}, [["6100", "1250.00", "", "north", "CC-A"], ["2999", "", "1250.00", "north"]], "lines",
         "line 2: account '2999' is not in the chart of accounts"),
        ({}, [["6100", "1250.00", "", "north"], ["2100", "", "1250.00", "north"]], "lines",
         "line 1: account 6100 Parts and materials consumed needs a cost centre"),
        ({}, [["6100", "1250.00", "", "north", "CC-ZZ"], ["2100", "", "1250.00", "north"]], "lines",
         "line 1: cost centre 'CC-ZZ' is not a known cost centre"),
        ({}, [["6100", "12.345", "", "north", "CC-A"], ["2100", "", "12.345", "north"]], "lines",
         "fractions of a cent"),
        ({"posted_on": "30/11/2026"}, ACCRUAL_ROWS, "posted_on", "is not a date (YYYY-MM-DD)"),
    ]
    for values, rows, field, words in cases:
        key_in(qtbot, screen, {"posted_on": "2026-11-30", **values}, rows)
        click(qtbot, form.save_button)
        assert words in form.errors[field].text(), (rows, form.errors[field].text())
        assert "Not posted" in form.status.text() and form.inputs["description"].text() == "power"  # kept
        assert desk.store.outbox_depth() == 0 and screen.model.rowCount() == 0
    form.inputs["posted_on"].clear()
    form.line_model.set_rows(ACCRUAL_ROWS)
    click(qtbot, form.save_button)
    assert "is required" in form.errors["posted_on"].text() and desk.store.outbox_depth() == 0

    key_in(qtbot, screen, {"posted_on": "2026-11-30", "reference": "ACC-11"}, ACCRUAL_ROWS)
    click(qtbot, form.save_button)
    assert form.errors["lines"].text() == "" and "queued until the hub posts it" in form.status.text()
    [m] = desk.store.outbox_batch()
    assert (m.entity, m.op.value, m.payload["lines"]) == ("finance.journal_entry", "create", [
        {"account": "6100", "debit": "1250.00", "credit": "0", "dimensions": {"site": "north", "cost_centre": "CC-A"},
         "memo": "power"},
        {"account": "2100", "debit": "0", "credit": "1250.00", "dimensions": {"site": "north"}}])
    assert listed(screen) == [("ACC-11", "", "queued", "")]
    desk.close()


def test_the_account_cell_offers_the_offices_posting_accounts_and_keeps_the_code(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = journals_of(qtbot, tmp_path)
    from_hub(desk.store, [("finance.account", "6150", {"code": "6150", "name": "Tyres", "type": "expense",
                                                       "parent": "6000", "required": "site", "active": True})])
    form = screen.form
    assert form is not None
    index = form.line_model.index(0, 0)
    delegate = form.lines.itemDelegateForColumn(0)
    editor = delegate.createEditor(form.lines.viewport(), QStyleOptionViewItem(), index)
    assert isinstance(editor, QLineEdit)
    offered = editor.completer().model().stringList()
    assert "6150 Tyres" in offered and "1400 Inventory" in offered  # the office's record over the standard chart
    assert not any(o.startswith(("1000 ", "6000 ")) for o in offered)  # headers take no postings
    qtbot.keyClicks(editor, "6150 Tyres")
    delegate.setModelData(editor, form.line_model, index)
    assert form.line_model.cell(0, 0) == "6150"
    desk.close()


def test_a_half_typed_journal_survives_closing_the_desk(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = journals_of(qtbot, tmp_path)
    key_in(qtbot, screen, {"posted_on": "2026-11-30", "reference": "ACC-11"}, ACCRUAL_ROWS[:1])
    desk.close()
    again, screen = journals_of(qtbot, tmp_path)
    assert screen.form is not None and screen.form.inputs["reference"].text() == "ACC-11"
    assert screen.form.line_model.rows[0][:5] == ACCRUAL_ROWS[0][:5]
    assert screen.form.totals.text().startswith("Debits 1250.00   Credits 0.00   Difference 1250.00")
    again.close()


def test_reverse_writes_a_new_mirroring_journal_and_never_edits_the_original(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = journals_of(qtbot, tmp_path)
    from_hub(desk.store, [("finance.journal_entry", "J1", POSTED)])
    screen.refresh()
    assert listed(screen) == [("ACC-11", "", "posted", "")]
    assert not screen.reverse_button.isEnabled()  # nothing chosen
    assert screen.select("J1")
    qtbot.keyClicks(screen.reverse_date, "2026-12-01")
    click(qtbot, screen.reverse_button)
    [m] = desk.store.outbox_batch()
    assert m.entity_id != "J1" and m.op.value == "create"
    assert (m.payload["reverses"], m.payload["posted_on"], m.payload["reference"]) == ("J1", "2026-12-01",
                                                                                      "REV ACC-11")
    assert [(ln["account"], ln["debit"], ln["credit"], ln["dimensions"]) for ln in m.payload["lines"]] == [
        ("6100", "0", "1250.00", {"site": "north", "cost_centre": "CC-A"}), ("2100", "1250.00", "0", {"site": "north"})]
    original = desk.store.get("finance.journal_entry", "J1")
    assert original is not None and original.state == POSTED and not original.pending  # untouched
    assert listed(screen) == [("ACC-11", "", "posted", f"reversed by {m.entity_id}"),
                              ("REV ACC-11", "J1", "queued", "")]
    # Twice on this desk: the ledger's rule, with its message, beside the button; nothing more written.
    assert screen.select("J1")
    click(qtbot, screen.reverse_button)
    assert f"was already reversed by 'manual_journal:{m.entity_id}'" in screen.reverse_error.text()
    assert desk.store.outbox_depth() == 1
    # A queued journal cannot be reversed yet; a posted reversal cannot be reversed at all.
    assert screen.select(m.entity_id) and not screen.reverse_button.isEnabled()
    from_hub(desk.store, [("finance.journal_entry", "R0", {**POSTED, "reference": "R0", "reverses": "J9", "lines": [
        {**ln, "debit": ln["credit"], "credit": ln["debit"]} for ln in POSTED["lines"]]})])
    screen.refresh()
    assert screen.select("R0")
    click(qtbot, screen.reverse_button)
    assert "'manual_journal:R0' is itself a reversal" in screen.reverse_error.text()
    assert desk.store.outbox_depth() == 1
    desk.close()


@pytest.mark.parametrize(("roles", "writes"), [(frozenset({"finance"}), True), (frozenset({"site_manager"}), False)])
def test_finance_keys_and_reverses_journals_and_a_site_manager_only_reads_them(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path, roles: frozenset[str], writes: bool) -> None:
    desk, screen = journals_of(qtbot, tmp_path, roles)
    assert (screen.form is not None) is writes and screen.reverse_button.isVisibleTo(screen) is writes
    desk.close()
    viewer = open_ops(tmp_path / "viewer.db", actor="vic", roles=frozenset({"storeman"}))
    assert "Manual journals" not in viewer.window.ops
    viewer.close()


def test_the_chart_screen_refuses_dropping_an_account_the_hub_posts_to_beside_the_field(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="fran", roles=FINANCE)
    qtbot.addWidget(desk.window)
    desk.window.show_module("Chart of accounts")
    screen = desk.window.ops["Chart of accounts"]
    assert isinstance(screen, ChartScreen) and screen.form is not None
    # This tenant's 1400 requires no dimension, so only the posting-account guard stands in the way.
    from_hub(desk.store, [("finance.account", "1400", {"code": "1400", "name": "Inventory", "type": "asset",
                                                       "parent": "1000", "active": True}),
                          ("finance.account", "1800", {"code": "1800", "name": "Deposits", "type": "asset",
                                                       "parent": "1000", "active": True})])
    screen.refresh()
    for field, text in (("active", "no"), ("header", "yes")):
        assert screen.select_code("1800") and screen.select_code("1400")  # loads 1400 afresh
        type_into(qtbot, screen.form, {field: text})
        click(qtbot, screen.form.save_button)
        assert "the hub posts operations to 1400: it must stay an active posting account" in \
            screen.form.errors[field].text(), field
        assert desk.store.outbox_depth() == 0
    assert screen.select_code("1800")  # an account no rule posts to may go
    type_into(qtbot, screen.form, {"active": "no"})
    click(qtbot, screen.form.save_button)
    assert screen.form.errors["active"].text() == "" and desk.store.outbox_depth() == 1
    desk.close()


def test_the_hub_refuses_a_closed_period_and_a_second_offices_reversal_and_each_desk_shows_why(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path, live_hub: HubProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = "t-journal-desk"
    desk_a, screen_a = journals_of(qtbot, tmp_path, hub=live_hub, tenant=tenant, device="desk-a")
    desk_b, screen_b = journals_of(qtbot, tmp_path, name="b.db", hub=live_hub, tenant=tenant, device="desk-b")
    assert desk_a.bridge is not None and desk_b.bridge is not None
    monkeypatch.setenv("PITLINE_DATABASE_URL", live_hub.dsn)
    closed = CliRunner().invoke(app, ["finance", "close-period", "2026-10", "--tenant", tenant])
    assert closed.exit_code == 0, closed.output
    key_in(qtbot, screen_a, {"posted_on": "2026-10-31", "reference": "OCT"}, ACCRUAL_ROWS)
    assert screen_a.form is not None
    click(qtbot, screen_a.form.save_button)  # the desk does not hold the calendar: it queues
    key_in(qtbot, screen_a, {"posted_on": "2026-11-30", "reference": "ACC-11"}, ACCRUAL_ROWS)
    click(qtbot, screen_a.form.save_button)
    desk_a.bridge.client.sync_once()
    screen_a.refresh()
    rows = listed(screen_a)
    assert rows[0] == ("ACC-11", "", "posted", "")
    assert rows[1][:3] == ("OCT", "", "refused") and "period 2026-10 is closed" in rows[1][3]
    refused = desk_a.window.rejected
    desk_a.window.show_module("Refused by the hub")
    refused.refresh()
    assert refused.model.rowCount() == 1 and "period 2026-10 is closed" in refused.model.cell(0, 3)

    desk_b.bridge.client.sync_once()  # office B sees ACC-11 posted, then goes offline
    screen_b.refresh()
    journal_id = next(r.key for r in screen_a.model.rows if r.data["status"] == "posted")
    for screen in (screen_a, screen_b):
        assert screen.select(journal_id, "posted")
        click(qtbot, screen.reverse_button)
    desk_a.bridge.client.sync_once()
    desk_b.bridge.client.sync_once()
    screen_b.refresh()
    mine = [r for r in listed(screen_b) if r[0] == "REV ACC-11"]
    assert len(mine) == 2  # A's reversal, come down the sync, and B's own, refused
    assert sorted(r[2] for r in mine) == ["posted", "refused"]
    refused_b = next(r for r in mine if r[2] == "refused")
    assert f"'manual_journal:{journal_id}' was already reversed by" in refused_b[3]
    lines = db_fetch(live_hub.dsn, "SELECT entry_key, sum(debit_cents - credit_cents) AS net FROM "
                                   "finance.ledger_lines WHERE tenant_id = $1 AND account = '6100' GROUP BY entry_key",
                     tenant)
    assert sorted(r["net"] for r in lines) == [-125000, 125000]  # posted once, reversed once
    desk_a.close()
    desk_b.close()
