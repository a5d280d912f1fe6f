"""The match tolerances screen driven through its real widgets on a real encrypted store (offline): the current
rule in words pre-filled in the form, bad figures refused beside their field with nothing written, the first
save creating the `default` record, a later one updating only what changed, and the vendor invoice match
using the new figures; readers without the write grant get no form."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop import ap_replica
from shared.domain import payables as ap
from tests.desktop.test_ops_finance_ap_ar import FINANCE, PURCHASE
from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into


def test_tolerances_are_shown_validated_beside_the_field_saved_and_used_by_the_match(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor="fay", roles=FINANCE)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, PURCHASE)
    desk.window.show_module("Match tolerances")
    screen = desk.window.ops["Match tolerances"]
    form = screen.form
    # No record: the match's defaults, 2 % on price and nothing on quantity.
    assert [form.inputs[n].text() for n in ("price_pct", "price_abs", "quantity_pct", "quantity_abs")] == \
        ["2", "0", "0", "0"]
    assert "at a PO price of 100.00: 98.00 to 102.00" in screen.summary.text()
    assert "No tolerance record yet" in screen.summary.text()
    for name, text, message in (("price_pct", "two", "must be a number"), ("price_pct", "150", "100"),
                                ("price_abs", "-1", "0"), ("quantity_abs", "", "is required")):
        type_into(qtbot, form, {"price_pct": "2", "price_abs": "0", "quantity_pct": "0", "quantity_abs": "0"})
        type_into(qtbot, form, {name: text})
        click(qtbot, form.save_button)
        assert message in form.errors[name].text(), (name, text, form.errors[name].text())
        assert desk.store.outbox_depth() == 0 and form.inputs[name].text() == text  # kept, nothing written
    type_into(qtbot, form, {"price_pct": "5", "price_abs": "0.5", "quantity_pct": "0", "quantity_abs": "1"})
    click(qtbot, form.save_button)
    [created] = desk.store.outbox_batch(10)
    assert (created.entity, created.entity_id, created.op.value, created.payload) == (
        ap.TOLERANCE, ap.TOLERANCE_ID, "create",
        {"price_pct": 5, "price_abs": 0.5, "quantity_pct": 0, "quantity_abs": 1})
    assert "at a PO price of 100.00: 95.00 to 105.00" in screen.summary.text()
    assert "with 100 received: up to 101" in screen.summary.text()
    assert form.inputs["price_pct"].text() == "5"  # the form shows the figures now in force
    # A price of 13.00 against the PO's 12.50 is 4 % off: within 5 % now, so the line matches.
    invoice = ap.invoice_from_payload("VI9", {"vendor_id": "V1", "invoice_no": "INV-9", "po_id": "PO1",
                                              "invoice_date": "2026-10-05", "lines": [
                                                  {"po_line_id": "1", "quantity": "10", "unit_price": "13.00"}]})
    assert [m.matched for m in ap_replica.match(desk.store, invoice)] == [True]
    click(qtbot, form.save_button)
    assert "nothing changed" in form.status.text() and desk.store.outbox_depth() == 1
    type_into(qtbot, form, {"quantity_pct": "10"})
    click(qtbot, form.save_button)
    update = desk.store.outbox_batch(10)[1]
    assert (update.op.value, update.payload) == ("update", {"quantity_pct": 10})  # only what changed
    assert ap_replica.match(desk.store, invoice)[0].result.price_variance == Decimal("5.00")
    desk.close()


def test_site_managers_read_the_tolerances_without_a_form(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manager = open_ops(tmp_path / "desk.db", actor="max", roles=frozenset({"site_manager"}))
    qtbot.addWidget(manager.window)
    screen = manager.window.ops["Match tolerances"]
    assert screen.form is None and "98.00 to 102.00" in screen.summary.text()
    manager.close()
    storeman = open_ops(tmp_path / "desk.db", actor="sam", roles=frozenset({"storeman"}))
    qtbot.addWidget(storeman.window)
    assert "Match tolerances" not in storeman.window.ops
    storeman.close()
