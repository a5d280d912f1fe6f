"""Per-device sync status on a real hub: last seen, reported outbox depth, event lag (API, /metrics, CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import httpx

from pitline.harness import ROOT
from tests.fixtures.hubserver import HubProcess
from tests.fixtures.postgres import run_sync
from tests.hub.device import metrics_text
from tests.hub.sse import StreamReader
from tests.hub.test_push import make_device
from tests.waiting import wait_until

TENANT = "t-status"


def user_token(dsn: str, roles: list[str], site_ids: list[str] | None) -> str:
    from hub.auth.tokens import issue_access_token
    from hub.db import connect

    async def run() -> str:
        conn = await connect(dsn)
        try:
            return await issue_access_token(conn, tenant_id=TENANT, user_id="u-" + "-".join(roles), roles=roles,
                                            site_ids=site_ids, ttl=timedelta(hours=1))
        finally:
            await conn.close()

    return run_sync(run())


def status(hub: HubProcess, token: str) -> httpx.Response:
    return httpx.get(f"{hub.url}/v1/admin/devices/status", headers={"Authorization": f"Bearer {token}"})


def by_device(hub: HubProcess, token: str) -> dict[str, dict[str, Any]]:
    r = status(hub, token)
    assert r.status_code == 200, r.text
    return {d["device_id"]: d for d in r.json()["devices"]}


def form(i: int) -> dict[str, Any]:
    return {"form": "pre-start", "title": f"check {i}"}


def test_status_shows_last_seen_outbox_depth_and_event_lag(live_hub: HubProcess) -> None:
    a = make_device(live_hub, TENANT, "s1", "st-a")
    b = make_device(live_hub, TENANT, "s2", "st-b")
    c = make_device(live_hub, TENANT, "s1", "st-c")
    admin = user_token(live_hub.dsn, ["administrator"], None)

    r = a.push([a.mutation("forms.submission", f"A{i}", "create", form(i)) for i in range(3)], outbox_depth=7)
    assert r.status_code == 200, r.text
    b.push_ok([b.mutation("forms.submission", f"B{i}", "create", form(i)) for i in range(2)])
    assert len(a.all_events()) == 3
    page = a.changes(after=a.changes().json()["next_after"]).json()  # its next poll acknowledges what it has
    assert page["events"] == [] and page["next_after"] == page["head_seq"]

    def settled() -> bool:
        devs = by_device(live_hub, admin)
        return devs["st-a"]["event_lag"] == 0

    assert wait_until(settled, timeout=15)
    devs = by_device(live_hub, admin)
    head = devs["st-a"]["head_seq"]
    assert head >= 5
    assert devs["st-a"]["outbox_depth"] == 7 and devs["st-a"]["last_device_seq"] == 3
    assert devs["st-a"]["last_seen_at"] is not None and devs["st-a"]["event_seq"] == head
    assert devs["st-b"]["event_lag"] is None and devs["st-b"]["last_push_at"] is not None  # pushed, never read
    assert devs["st-c"]["last_seen_at"] is None and devs["st-c"]["event_lag"] is None  # provisioned, silent

    reader = StreamReader(live_hub.url, c.token).start()  # C follows the stream (site s1)
    try:
        assert reader.wait_for(lambda rd: len(rd.events) == 3)
        b.push_ok([b.mutation("forms.submission", f"B{i}", "create", form(i)) for i in range(2, 6)])  # site s2
        new_head = head + 4

        def current(device: str, lag: int) -> Any:
            return lambda: by_device(live_hub, admin)[device]["event_lag"] == lag

        # C sees none of B's events, yet is current: its stream was offered everything up to the head.
        assert wait_until(current("st-c", 0), timeout=15)
        assert wait_until(current("st-a", 4), timeout=15)  # A has not asked since: 4 events to receive
        assert by_device(live_hub, admin)["st-a"]["head_seq"] == new_head
        metrics = metrics_text(live_hub.url, live_hub.dsn, TENANT).splitlines()
    finally:
        reader.stop()
    # The tenant's administrator sees its devices in aggregate (per-device series need metrics_device_labels).
    assert "pitline_device_event_lag_max 4" in metrics and "pitline_device_outbox_depth_max 7" in metrics
    assert not [line for line in metrics if "st-a" in line or TENANT in line]
    listed = list(by_device(live_hub, admin))
    assert listed.index("st-a") < listed.index("st-c")  # largest lag first


def test_who_may_read_the_status(live_hub: HubProcess) -> None:
    a = make_device(live_hub, TENANT, "s1", "sc-a")
    make_device(live_hub, TENANT, "s2", "sc-b")
    manager = user_token(live_hub.dsn, ["site_manager"], ["s1"])
    seen = by_device(live_hub, manager)
    assert "sc-a" in seen and "sc-b" not in seen  # a site manager sees the devices of their sites only
    forbidden = status(live_hub, a.token)  # a site device with no role
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden_role"
    all_sites = make_device(live_hub, TENANT, None, "all-sites")  # every site, but a device acting as itself
    assert status(live_hub, all_sites.token).status_code == 403
    make_device(live_hub, "t-status-other", None, "other-tenant")
    admin = user_token(live_hub.dsn, ["administrator"], None)
    assert {d["tenant_id"] for d in status(live_hub, admin).json()["devices"]} == {TENANT}  # its own tenant only
    assert status(live_hub, "nope").status_code == 401
    assert httpx.get(f"{live_hub.url}/v1/admin/devices/status", params={"limit": 0},
                     headers={"Authorization": f"Bearer {manager}"}).status_code == 422


def test_cli_lists_devices_as_json_and_as_a_table(live_hub: HubProcess) -> None:
    make_device(live_hub, TENANT, "s1", "cli-a")
    env = {**os.environ, "PITLINE_DATABASE_URL": live_hub.dsn}
    cmd = [sys.executable, "-m", "pitline", "hub", "devices-status", "--tenant", TENANT]
    out = subprocess.run([*cmd, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert "cli-a" in {r["device_id"] for r in rows} and {r["tenant_id"] for r in rows} == {TENANT}
    table = subprocess.run(cmd, cwd=ROOT, env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and "cli-a" in table.stdout and "never" in table.stdout
    bad = subprocess.run(cmd, cwd=ROOT, env={**env, "PITLINE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"},
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 7 and "cannot be read" in bad.stderr and "Traceback" not in bad.stderr
