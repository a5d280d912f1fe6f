"""The tenant's dimension lists from the admin CLI against a real hub and PostgreSQL (D78): `finance dimensions`
lists them, `finance dimension-import` checks the whole file and writes all or nothing (exit 2 naming the line),
and postings are checked against what it wrote: a cost centre not in the list is refused with the shared rule's
message, a deactivated one too, and a value added as the desktop adds it posts at once."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_finance_periods import cli, run  # noqa: F401  (the fixture and the runner)
from tests.hub.test_finance_posting import lines, movement
from tests.hub.test_push import make_device

GOOD = """dimension,value,name
cost_centre,MAINT,Maintenance
cost_centre,CRUSH,Crusher
project,PIT-3,Pit three
"""


def tenant_id() -> str:
    return f"t-dim-{new_ulid()[-6:].lower()}"


def test_dimension_import_is_checked_whole_and_writes_all_or_nothing(cli: CliRunner, live_hub: HubProcess,  # noqa: F811
                                                                     tmp_path: Path) -> None:
    tenant = tenant_id()
    assert "no tenant" in run(cli, "finance", "dimensions", "-t", tenant, code=4)["error"]
    run(cli, "tenants", "add", tenant)
    assert run(cli, "finance", "dimensions", "-t", tenant) == {
        "values": [], "open_dimensions": ["cost_centre", "equipment", "project", "site"]}
    bad = tmp_path / "bad.csv"
    cases = [
        (GOOD + "machine,EX01,\n", "line 5: 'machine' is not a dimension"),
        (GOOD + "site,north,\n", "line 5: site values come from the site register"),
        (GOOD + "cost_centre,maint,\n", "line 5: cost_centre maint appears already on line 2"),
        (GOOD + "project,,\n", "line 5 (project '')"),
        (GOOD + "project,PIT-4,,yes\n", "line 5 has more fields than the header names"),
        ("dimension,value,active\nproject,PIT-4,perhaps\n", "line 2 active: 'perhaps' is not yes/no"),
        ("dimension,name\ncost_centre,Maintenance\n", "needs the columns dimension, value (missing: value)"),
        ("dimension,value,colour\n", "unknown column(s) colour"),
        ("dimension,value\n", "the CSV has no values"),
    ]
    for text, words in cases:
        bad.write_text(text)
        assert words in run(cli, "finance", "dimension-import", str(bad), "-t", tenant, code=2)["error"], text
    assert run(cli, "finance", "dimensions", "-t", tenant)["values"] == []  # nothing written
    assert "cannot read" in run(cli, "finance", "dimension-import", str(tmp_path / "none.csv"), "-t", tenant,
                                code=2)["error"]

    good = tmp_path / "dims.csv"
    good.write_text(GOOD)
    assert run(cli, "finance", "dimension-import", str(good), "-t", tenant) == {
        "values": 3, "changed": 3, "unchanged": 0}
    assert run(cli, "finance", "dimension-import", str(good), "-t", tenant)["changed"] == 0
    listed = run(cli, "finance", "dimensions", "-t", tenant)
    assert listed["open_dimensions"] == ["equipment", "site"]
    assert listed["values"][0] == {"dimension": "cost_centre", "value": "CRUSH", "name": "Crusher", "active": True}
    # A value differing only in case from a listed one, or deactivating the last project, is refused whole.
    bad.write_text("dimension,value,active\ncost_centre,WASH,yes\ncost_centre,Crush,yes\n")
    assert "line 3: cost_centre CRUSH is listed already; Crush differs only in case" in run(
        cli, "finance", "dimension-import", str(bad), "-t", tenant, code=2)["error"]
    bad.write_text("dimension,value,active\ncost_centre,WASH,yes\nproject,PIT-3,no\n")
    assert "line 3: this deactivates the last active project" in run(
        cli, "finance", "dimension-import", str(bad), "-t", tenant, code=2)["error"]
    assert len(run(cli, "finance", "dimensions", "-t", tenant)["values"]) == 3  # WASH was not written either


def test_postings_follow_the_imported_list_and_a_value_added_from_a_desktop(cli: CliRunner,  # noqa: F811
                                                                            live_hub: HubProcess,
                                                                            tmp_path: Path) -> None:
    tenant = tenant_id()
    run(cli, "tenants", "add", tenant)
    good = tmp_path / "dims.csv"
    good.write_text(GOOD)
    run(cli, "finance", "dimension-import", str(good), "-t", tenant)
    dev = make_device(live_hub, tenant, "s1", "store-1")
    assert dev.push_ok([movement(dev, "receipt", 5, unit_cost=4)])[0]["status"] == "applied"
    listed, unknown = new_ulid(), new_ulid()
    out = dev.push_ok([movement(dev, "issue", 1, movement_id=listed, cost_centre="CRUSH"),
                       movement(dev, "issue", 1, movement_id=unknown, cost_centre="WASH")])
    assert [o["status"] for o in out] == ["applied", "rejected"], out
    assert out[1]["code"] == "posting_refused" and "'WASH' is not a known cost centre" in out[1]["message"]
    got = lines(live_hub, tenant)
    assert got[f"goods_issue:{listed}"][0] == ("6100", "4.00", "0.00", {"site": "s1", "cost_centre": "CRUSH"})
    assert f"goods_issue:{unknown}" not in got

    # Deactivated by the CLI: refused from then on.
    (tmp_path / "off.csv").write_text("dimension,value,active\ncost_centre,CRUSH,no\n")
    assert run(cli, "finance", "dimension-import", str(tmp_path / "off.csv"), "-t", tenant)["changed"] == 1
    out = dev.push_ok([movement(dev, "issue", 1, cost_centre="CRUSH")])
    assert out[0]["status"] == "rejected" and "'CRUSH' is not a known cost centre" in out[0]["message"]

    # Added as the desktop's Dimension values screen writes it (record `cost_centre:WASH`): the issue now posts.
    again = new_ulid()
    out = dev.push_ok([dev.mutation("finance.dimension_value", "cost_centre:WASH", "create",
                                    {"dimension": "cost_centre", "value": "WASH", "name": "Wash bay", "active": True}),
                       movement(dev, "issue", 1, movement_id=again, cost_centre="WASH")])
    assert [o["status"] for o in out] == ["applied", "applied"], out
    assert lines(live_hub, tenant)[f"goods_issue:{again}"][0][3] == {"site": "s1", "cost_centre": "WASH"}
    assert {v["value"]: v["active"] for v in run(cli, "finance", "dimensions", "-t", tenant)["values"]} == {
        "CRUSH": False, "MAINT": True, "PIT-3": True, "WASH": True}
