"""Finance → Dimension values (desktop/dimension_screen.py) on a real encrypted store: adding cost centres and
projects offline, every list rule refused beside its field or button with nothing written (D78), reactivating a
deactivated value; then a value added here synced to a real hub, after which a goods issue to it posts where it
was refused before."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from desktop.dimension_screen import DimensionScreen
from hub.finance.dimension_admin import import_dimensions
from hub.identity.admin import admin_principal
from shared.ids import new_ulid
from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_finance_posting import lines, movement
from tests.hub.test_ledger_store import with_conn
from tests.hub.test_push import make_device

FINANCE = frozenset({"finance"})
LISTED = [("finance.dimension_value", "cost_centre:MAINT", {"dimension": "cost_centre", "value": "MAINT",
                                                            "name": "Maintenance"}),
          ("finance.dimension_value", "cost_centre:CRUSH", {"dimension": "cost_centre", "value": "CRUSH"}),
          ("finance.dimension_value", "project:PIT-3", {"dimension": "project", "value": "PIT-3"})]


def screen_of(qtbot, tmp_path: Path, roles: frozenset[str] = FINANCE, **kw: Any):  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="fran", roles=roles, **kw)
    qtbot.addWidget(desk.window)
    desk.window.show_module("Dimension values")
    screen = desk.window.ops["Dimension values"]
    assert isinstance(screen, DimensionScreen)
    return desk, screen


def outbox(desk) -> list[tuple[str, str, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    return [(m.op.value, m.entity_id, m.payload) for m in desk.store.outbox_batch()]


def add(qtbot, screen: DimensionScreen, values: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    assert screen.form is not None
    for edit in screen.form.inputs.values():
        edit.clear()
    type_into(qtbot, screen.form, values)
    click(qtbot, screen.form.save_button)


def test_each_list_rule_is_refused_beside_its_field_and_nothing_is_written(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = screen_of(qtbot, tmp_path)
    from_hub(desk.store, LISTED)
    screen.refresh()
    assert "cost centre: 2 listed, only these are accepted" in screen.note.text()
    assert "project: 1 listed" in screen.note.text() and "machine: from the equipment register" in screen.note.text()
    form = screen.form
    assert form is not None
    cases = [
        ({"dimension": "cost_centre", "value": "MAINT"}, "value", "cost centre MAINT is listed already (Maintenance)"),
        ({"dimension": "cost_centre", "value": "maint"}, "value", "MAINT is listed already; maint differs"),
        ({"dimension": "site", "value": "north"}, "dimension", "come from the site register"),
        ({"dimension": "equipment", "value": "EX01"}, "dimension", "come from the equipment register"),
        ({"dimension": "machine", "value": "EX01"}, "dimension", "'machine' is not a dimension"),
        ({"dimension": "project", "name": "Pit three"}, "value", "is required"),
    ]
    for values, field, words in cases:
        add(qtbot, screen, values)
        assert words in form.errors[field].text(), (values, form.errors[field].text())
        assert "Not saved" in form.status.text() and form.inputs["dimension"].text() == values["dimension"]
        assert desk.store.outbox_depth() == 0, values
    desk.close()


def test_values_are_added_deactivated_and_reactivated_offline(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = screen_of(qtbot, tmp_path)
    from_hub(desk.store, LISTED)
    screen.refresh()
    click(qtbot, screen.deactivate_button)
    assert "choose a value in the list first" in screen.deactivate_error.text() and desk.store.outbox_depth() == 0
    add(qtbot, screen, {"dimension": "cost_centre", "value": "WASH", "name": "Wash bay"})
    assert "waiting for the hub" in screen.form.status.text()  # type: ignore[union-attr]
    assert outbox(desk) == [("create", "cost_centre:WASH", {"dimension": "cost_centre", "value": "WASH",
                                                            "name": "Wash bay", "active": True})]
    assert screen.model.rowCount() == 4 and "cost centre: 3 listed" in screen.note.text()
    screen.dimension.setCurrentText("project")  # the list per dimension
    assert [r.entity_id for r in screen.model.rows] == ["project:PIT-3"]
    # The last project cannot go: the hub would accept any project again.
    assert screen.select_value("project:PIT-3")
    click(qtbot, screen.deactivate_button)
    assert "PIT-3 is the last active project" in screen.deactivate_error.text() and desk.store.outbox_depth() == 1
    # A cost centre an unsent issue of this office charges cannot go either: the hub would refuse the issue.
    desk.store.enqueue("inventory.movement", new_ulid(), "create", {
        "kind": "issue", "store_id": "MAIN", "item_id": "FILTER", "quantity": 1, "cost_centre": "CRUSH",
        "occurred_at": "2026-07-01T08:00:00+00:00"}, actor="fran")
    screen.dimension.setCurrentText("cost_centre")
    assert screen.select_value("cost_centre:CRUSH")
    click(qtbot, screen.deactivate_button)
    assert "1 change(s) not sent to the hub yet charge cost centre CRUSH" in screen.deactivate_error.text()
    assert desk.store.outbox_depth() == 2
    assert screen.select_value("cost_centre:MAINT")
    click(qtbot, screen.deactivate_button)
    assert outbox(desk)[-1] == ("update", "cost_centre:MAINT", {"active": False})
    assert "cost_centre:MAINT deactivated" in screen.deactivate_error.text()
    assert "cost centre: 2 listed" in screen.note.text()
    # Adding it again reactivates the same record rather than writing a second one.
    add(qtbot, screen, {"dimension": "cost_centre", "value": "MAINT"})
    assert "MAINT is active again" in screen.form.status.text()  # type: ignore[union-attr]
    assert outbox(desk)[-1] == ("update", "cost_centre:MAINT", {"active": True})
    assert "cost centre: 3 listed" in screen.note.text()
    desk.close()


@pytest.mark.parametrize(("roles", "writes"), [(frozenset({"finance"}), True), (frozenset({"site_manager"}), False)])
def test_finance_keeps_the_lists_and_a_site_manager_only_reads_them(qtbot, tmp_path: Path, roles: frozenset[str],  # type: ignore[no-untyped-def]
                                                                    writes: bool) -> None:
    desk, screen = screen_of(qtbot, tmp_path, roles)
    assert (screen.form is not None) is writes and (screen.deactivate_button is not None) is writes
    desk.close()
    viewer = open_ops(tmp_path / "viewer.db", actor="vic", roles=frozenset({"storeman"}))
    assert "Dimension values" not in viewer.window.ops
    viewer.close()


def test_a_cost_centre_added_here_lets_the_hub_post_the_issue_it_refused(qtbot, live_hub: HubProcess,  # type: ignore[no-untyped-def]
                                                                       tmp_path: Path) -> None:
    tenant = f"t-dims-{new_ulid()[-6:].lower()}"
    dev = make_device(live_hub, tenant, "s1", "store-1")
    # Finance listed its cost centres with the admin CLI's import (tenant-wide records every desktop pulls).
    with_conn(live_hub.dsn, lambda conn: import_dimensions(conn, admin_principal(tenant, "fran"), [
        (2, {"dimension": "cost_centre", "value": "MAINT", "active": True})]))
    out = dev.push_ok([movement(dev, "receipt", 4, unit_cost=5)])
    assert out[0]["status"] == "applied", out
    out = dev.push_ok([movement(dev, "issue", 1, cost_centre="WASH")])
    assert (out[0]["status"], out[0]["code"]) == ("rejected", "posting_refused")
    assert "'WASH' is not a known cost centre" in out[0]["message"]

    desk, screen = screen_of(qtbot, tmp_path, hub=live_hub, tenant=tenant)
    assert desk.bridge is not None
    desk.bridge.client.sync_once()
    screen.refresh()
    assert [r.entity_id for r in screen.model.rows] == ["cost_centre:MAINT"]  # the hub's list, pulled
    add(qtbot, screen, {"dimension": "cost_centre", "value": "WASH", "name": "Wash bay"})
    desk.bridge.client.sync_once()
    assert desk.store.outbox_depth() == 0 and not desk.store.rejections()

    issue = new_ulid()
    out = dev.push_ok([movement(dev, "issue", 1, movement_id=issue, cost_centre="WASH")])
    assert out[0]["status"] == "applied", out
    assert lines(live_hub, tenant)[f"goods_issue:{issue}"][0] == ("6100", "5.00", "0.00",
                                                                   {"site": "s1", "cost_centre": "WASH"})
    desk.close()
