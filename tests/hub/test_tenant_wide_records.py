"""D91 against a real hub: a record of a tenant-wide entity (`site_scoped=False`: vendors, the chart, dimension
values, leave types...) belongs to no site, whichever device wrote it, so every site's devices read it and may
update it; a site-scoped record stays its site's."""

from __future__ import annotations

from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import db_fetch, make_device


def test_a_tenant_wide_record_written_at_one_site_is_read_and_updated_at_another(live_hub: HubProcess) -> None:
    tenant = f"t-wide-{new_ulid()[-6:].lower()}"
    north = make_device(live_hub, tenant, "north", "desk-north")
    south = make_device(live_hub, tenant, "south", "desk-south")

    created = north.push_ok([
        north.mutation("finance.dimension_value", "cost_centre:CRUSH", "create",
                       {"dimension": "cost_centre", "value": "CRUSH", "name": "Crusher", "active": True}),
        north.mutation("procurement.vendor", "V-1", "create", {"code": "V-1", "name": "Belts Ltd"}),
        north.mutation("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "truck"}),
    ])
    assert [o["status"] for o in created] == ["applied"] * 3, created
    stored = {r["entity"]: r["site_id"] for r in db_fetch(
        live_hub.dsn, "SELECT entity, site_id FROM sync.records WHERE tenant_id = $1", tenant)}
    assert stored == {"finance.dimension_value": None, "procurement.vendor": None, "equipment.unit": "north"}

    seen = {e["entity_id"] for e in south.all_events()}
    assert {"cost_centre:CRUSH", "V-1"} <= seen and "DT01" not in seen  # the other site's machine stays its own

    updated = south.push_ok([
        south.mutation("finance.dimension_value", "cost_centre:CRUSH", "update", {"active": False}, base_version=1),
        south.mutation("procurement.vendor", "V-1", "update", {"name": "Belts Limited"}, base_version=1),
        south.mutation("equipment.unit", "DT01", "update", {"equipment_class": "loader"}, base_version=1),
    ])
    assert [o["status"] for o in updated[:2]] == ["applied", "applied"], updated
    assert updated[2]["status"] == "rejected" and updated[2]["code"] == "forbidden_site", updated[2]
