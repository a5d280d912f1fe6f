"""Two devices create the same new record at the same moment (two offices raising the same reorder
requisition, D16): whichever commits second meets the first's row. That is a conflict outcome like any
other, never a 500, and each mutation is answered once."""

from __future__ import annotations

import threading
from typing import Any

from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import db_fetch, make_device

TENANT = "t-create-race"
RECORDS = 40


def test_the_same_new_record_created_by_two_devices_at_once_is_a_conflict_not_a_500(live_hub: HubProcess) -> None:
    devices = [make_device(live_hub, TENANT, "s1", f"race-{n}") for n in (1, 2)]
    statuses: dict[str, list[tuple[int, list[str]]]] = {d.device_id: [] for d in devices}
    start = threading.Barrier(len(devices))

    def run(dev: Any) -> None:
        for i in range(RECORDS):
            m = dev.mutation("procurement.requisition", f"reorder:MAIN:ITEM{i}:1", "create",
                             {"status": "submitted", "source": "reorder", "requested_by": dev.device_id,
                              "lines": [{"item_id": f"ITEM{i}", "store_id": "MAIN", "quantity": 5}]})
            start.wait()  # both creates of record i leave at once
            r = dev.push([m])
            statuses[dev.device_id].append(
                (r.status_code, [o["status"] for o in r.json()["outcomes"]] if r.status_code == 200 else [r.text]))

    threads = [threading.Thread(target=run, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for device, answers in statuses.items():
        assert len(answers) == RECORDS, device
        assert all(code == 200 for code, _ in answers), [a for a in answers if a[0] != 200][:3]
    per_record = list(zip(*(statuses[d.device_id] for d in devices), strict=True))
    for (_, first), (_, second) in per_record:
        assert sorted(first + second) == ["applied", "conflict"], (first, second)  # one wins, one meets it
    rows = db_fetch(live_hub.dsn, "SELECT count(*) AS n, max(version) AS v FROM sync.records "
                                  "WHERE tenant_id = $1 AND entity = 'procurement.requisition'", TENANT)
    assert (rows[0]["n"], rows[0]["v"]) == (RECORDS, 1)
