"""`pitline seed` into the hub's database, then a site office follows the hub and its operations screens
show the seeded site: the seed goes through the contract (event log), not around it."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from typer.testing import CliRunner

from pitline.seed import app
from shared.ids import new_ulid
from tests.desktop.test_ops_maintenance import open_ops
from tests.fixtures.hubserver import HubProcess


def test_seed_a_site_and_an_office_sees_it(qtbot, live_hub: HubProcess, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tenant = f"t-seed-{new_ulid()[-6:].lower()}"
    # No --database-url: the seed goes where the hub itself looks (here its configuration file names the server).
    monkeypatch.delenv("PITLINE_DATABASE_URL", raising=False)
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\ndatabase_url = "{live_hub.dsn}"\n')
    monkeypatch.setenv("PITLINE_CONFIG", str(config))
    result = CliRunner().invoke(app, ["--tenant", tenant, "--site", "north",
                                      "--days", "4"])  # 2024-11-04 is a Monday: the weekly reorder run
    assert result.exit_code == 0, result.output
    assert f"seeding the hub's database at {live_hub.dsn}" in result.output
    assert f"seeded tenant '{tenant}', site 'north'" in result.output
    assert "inventory.item" in result.output and "5,000" in result.output
    assert "rejected" not in result.output.split("outcomes:")[1]

    desk = open_ops(tmp_path / "desk.db", actor="supervisor", hub=live_hub, tenant=tenant, device="desk-seed")
    qtbot.addWidget(desk.window)
    assert desk.bridge is not None
    desk.bridge.client.catch_up()
    assert desk.store.count("equipment.unit") == 120 and desk.store.count("inventory.item") == 5_000
    desk.window.show_module("Stock")
    stock = desk.window.ops["Stock"]
    assert stock.model.rowCount() >= 5_000 and "0 need review" in stock.summary.text()
    desk.window.show_module("PM plans")
    plans = desk.window.ops["PM plans"]
    assert plans.model.rowCount() >= 240 and all(r.cells[4] for r in plans.model.rows)  # every machine has a meter
    desk.window.show_module("Purchase orders")
    assert desk.window.ops["Purchase orders"].model.rowCount() >= 1
    desk.close()
