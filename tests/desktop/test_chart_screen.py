"""Finance → Chart of accounts (desktop/chart_screen.py) on a real encrypted store: starting from the standard
chart, adding and editing accounts offline, and every rule the hub builds the chart by refused beside its field
with nothing written; then the office's chart synced to a real hub, which builds it and posts against it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from desktop.chart_screen import ChartScreen, account_names, account_record
from hub.finance.chart import load_chart
from shared.domain.accounts import dims
from shared.domain.finance_errors import HeaderAccountError
from shared.domain.stock_postings import default_accounts
from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_ledger_store import with_conn
from tests.hub.test_push import db_fetch

FINANCE = frozenset({"finance"})
STANDARD = [("finance.account", a.code, account_record(a)) for a in default_accounts()]


def chart_of(qtbot, tmp_path: Path, roles: frozenset[str] = FINANCE, **kw: Any):  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="fran", roles=roles, **kw)
    qtbot.addWidget(desk.window)
    desk.window.show_module("Chart of accounts")
    screen = desk.window.ops["Chart of accounts"]
    assert isinstance(screen, ChartScreen)
    return desk, screen


def outbox(desk) -> list[tuple[str, str, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    return [(m.op.value, m.entity_id, m.payload) for m in desk.store.outbox_batch()]


def test_an_empty_tenant_starts_from_the_standard_chart(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = chart_of(qtbot, tmp_path)
    assert "standard chart" in screen.note.text() and screen.standard_button is not None
    assert screen.model.rowCount() == 0
    click(qtbot, screen.standard_button)
    assert screen.model.rowCount() == len(STANDARD) == desk.store.outbox_depth()
    assert ("create", "6100", {"code": "6100", "name": "Parts and materials consumed", "type": "expense",
                               "header": False, "active": True, "parent": "6000",
                               "required": "cost_centre, site"}) in outbox(desk)
    assert screen.note.text() == "" and not screen.standard_button.isVisible()
    desk.close()


def test_the_chart_rules_are_refused_beside_the_field_and_nothing_is_written(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = chart_of(qtbot, tmp_path)
    from_hub(desk.store, STANDARD)
    screen.refresh()
    form = screen.form
    assert form is not None
    cases = [
        ({"code": "6150", "name": "Tyres", "type": "expense", "parent": "6100"}, "parent", "a posting account"),
        ({"code": "6150", "name": "Tyres", "type": "expense", "parent": "4000"}, "parent",
         "rolls up into a header of its own type"),
        ({"code": "6150", "name": "Tyres", "type": "expense", "parent": "6900"}, "parent", "not in the chart"),
        ({"code": "6150", "name": "Tyres", "type": "expense", "header": "yes", "required": "site"}, "required",
         "only posting accounts require dimensions"),
        ({"code": "6150", "name": "Tyres", "type": "expense", "parent": "6000", "required": "site, machine"},
         "required", "unknown dimension machine"),
        ({"code": "6100", "name": "Tyres", "type": "expense", "parent": "6000"}, "code", "exists already"),
        ({"code": "6150", "name": "Tyres", "type": "cost", "parent": "6000"}, "type", "must be one of"),
    ]
    for values, field, words in cases:
        for name in form.inputs:
            form.inputs[name].clear()
        type_into(qtbot, form, values)
        click(qtbot, form.save_button)
        assert words in form.errors[field].text(), (values, form.errors[field].text())
        assert "Not saved" in form.status.text() and form.inputs["name"].text() == "Tyres"  # what was typed is kept
        assert desk.store.outbox_depth() == 0, values
    # Turning a header with accounts under it into a posting account would orphan them: refused on "header".
    assert screen.select_code("6000")
    assert form.editing == "6000" and form.inputs["header"].text() == "yes"
    type_into(qtbot, form, {"header": "no"})
    click(qtbot, form.save_button)
    assert "only header accounts have accounts under them" in form.errors["header"].text()
    assert desk.store.outbox_depth() == 0
    desk.close()


def test_adding_and_editing_accounts_offline_sends_only_what_changed(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = chart_of(qtbot, tmp_path)
    from_hub(desk.store, STANDARD)
    screen.refresh()
    form = screen.form
    assert form is not None
    type_into(qtbot, form, {"code": "6150", "name": "Tyres", "type": "expense", "parent": "6000",
                            "required": "site, equipment"})
    click(qtbot, form.save_button)
    assert form.errors["parent"].text() == "" and "waiting for the hub" in form.status.text()
    assert outbox(desk) == [("create", "6150", {"code": "6150", "name": "Tyres", "type": "expense", "parent": "6000",
                                                "required": "site, equipment"})]
    assert screen.model.rowCount() == len(STANDARD) + 1
    assert screen.select_code("1400")
    type_into(qtbot, form, {"name": "Inventory (stores)"})
    click(qtbot, form.save_button)
    assert outbox(desk)[1] == ("update", "1400", {"name": "Inventory (stores)"})
    # The report screens name accounts by the office's chart: its records over the standard chart.
    names = account_names(desk.store)
    assert names["1400"] == "Inventory (stores)" and names["6150"] == "Tyres" and names["2100"] == "Accounts payable"
    assert screen.select_code("1400")
    type_into(qtbot, form, {"code": "1401"})
    click(qtbot, form.save_button)
    assert "cannot change" in form.errors["code"].text() and desk.store.outbox_depth() == 2
    desk.close()


@pytest.mark.parametrize(("roles", "form"), [(frozenset({"finance"}), True), (frozenset({"site_manager"}), False)])
def test_finance_edits_the_chart_and_a_site_manager_only_reads_it(qtbot, tmp_path: Path, roles: frozenset[str],  # type: ignore[no-untyped-def]
                                                                  form: bool) -> None:
    desk, screen = chart_of(qtbot, tmp_path, roles)
    assert (screen.form is not None) is form and (screen.standard_button is not None) is form
    desk.close()
    viewer = open_ops(tmp_path / "viewer.db", actor="vic", roles=frozenset({"storeman"}))
    assert "Chart of accounts" not in viewer.window.ops
    viewer.close()


def test_the_offices_chart_reaches_the_hub_which_builds_it_and_posts_against_it(qtbot, live_hub: HubProcess,  # type: ignore[no-untyped-def]
                                                                                 tmp_path: Path) -> None:
    tenant = "t-chart-desk"
    desk, screen = chart_of(qtbot, tmp_path, hub=live_hub, tenant=tenant)
    assert screen.standard_button is not None and screen.form is not None
    click(qtbot, screen.standard_button)
    type_into(qtbot, screen.form, {"code": "6150", "name": "Tyres", "type": "expense", "parent": "6000",
                                   "required": "site, equipment"})
    click(qtbot, screen.form.save_button)
    assert desk.bridge is not None
    desk.bridge.client.sync_once()
    assert desk.store.outbox_depth() == 0 and not desk.store.rejections()
    rows = db_fetch(live_hub.dsn, "SELECT entity_id FROM sync.records WHERE tenant_id = $1 AND entity = "
                                  "'finance.account'", tenant)
    assert len(rows) == len(STANDARD) + 1
    chart = with_conn(live_hub.dsn, lambda conn: load_chart(conn, tenant))
    assert chart.listed and chart.check_line("6150", dims(site="north", equipment="EX01")).name == "Tyres"
    with pytest.raises(HeaderAccountError):
        chart.check_line("6000", dims(site="north"))
    desk.close()

