"""Per-device sync status: last seen, the outbox depth the device reported, and its lag behind the event log.

`GET /v1/admin/devices/status` (a person whose roles allow `devices.list`: the devices of the sites where
they do; an all-sites device token or a tenant-wide viewer is not enough),
`pitline hub devices-status`, and the device gauges of /metrics all read `status_rows`.

- last seen: the later of its last push (`sync.device_cursors.last_seen_at`) and its last read
  (`sync.device_read_cursors.read_at`, see hub/ops/read_cursors.py);
- outbox depth: what the device said in its last push (`PushRequest.outbox_depth`);
- event lag: tenant head − the highest event seq the device acknowledged or was delivered (null: never read).
  Past the last event a device may see, /changes moves its cursor to the head, and a live stream counts as
  current up to what its process has read: so the lag is what the device has yet to receive, not the events of
  other sites it will never see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from hub.auth.principal import Principal
from hub.errors import Forbidden
from hub.identity.access import action_sites, require_action, who

router = APIRouter()
MAX_ROWS = 5000

_QUERY = """
SELECT d.tenant_id, d.id AS device_id, d.kind, d.name, d.site_ids, d.revoked_at,
       c.last_seq AS last_device_seq, c.last_seen_at AS last_push_at, c.reported_outbox_depth AS outbox_depth,
       r.event_seq, r.read_at AS last_read_at, COALESCE(h.head, 0) AS head_seq,
       GREATEST(c.last_seen_at, r.read_at) AS last_seen_at,
       CASE WHEN r.event_seq IS NULL THEN NULL ELSE GREATEST(COALESCE(h.head, 0) - r.event_seq, 0) END AS event_lag
FROM auth.devices d
LEFT JOIN sync.device_cursors c ON c.tenant_id = d.tenant_id AND c.device_id = d.id
LEFT JOIN sync.device_read_cursors r ON r.tenant_id = d.tenant_id AND r.device_id = d.id
LEFT JOIN sync.tenant_heads h ON h.tenant_id = d.tenant_id
WHERE ($1::text IS NULL OR d.tenant_id = $1)
  AND ($2::text[] IS NULL OR d.site_ids && $2::text[])
  AND ($3 OR d.revoked_at IS NULL)
ORDER BY event_lag DESC NULLS LAST, d.tenant_id, d.id
LIMIT $4
"""


class DeviceStatus(BaseModel):
    tenant_id: str
    device_id: str
    kind: str
    name: str
    site_ids: list[str] | None = Field(description="null: every site of the tenant")
    revoked_at: datetime | None
    last_seen_at: datetime | None = Field(description="the later of its last push and its last read")
    last_push_at: datetime | None
    last_read_at: datetime | None
    last_device_seq: int | None = Field(description="the last device_seq the hub applied from it")
    outbox_depth: int | None = Field(description="mutations waiting on the device, as it reported in its last push")
    event_seq: int | None = Field(description="the highest event seq it acknowledged or was delivered")
    head_seq: int = Field(description="the tenant's event-log head")
    event_lag: int | None = Field(description="head_seq − event_seq; null: it never read the log")


class DevicesStatus(BaseModel):
    devices: list[DeviceStatus]
    truncated: bool


async def status_rows(conn: asyncpg.Connection | asyncpg.Pool, *, tenant_id: str | None,
                      site_ids: frozenset[str] | None = None, include_revoked: bool = False,
                      limit: int = MAX_ROWS) -> list[DeviceStatus]:
    """Devices by lag, largest first (every tenant when `tenant_id` is None: the CLI and /metrics)."""
    sites = None if site_ids is None else sorted(site_ids)
    rows = await conn.fetch(_QUERY, tenant_id, sites, include_revoked, limit)
    return [DeviceStatus(**_row(r)) for r in rows]


def _row(r: asyncpg.Record) -> dict[str, Any]:
    data = dict(r)
    data["site_ids"] = None if data["site_ids"] is None else list(data["site_ids"])
    return data


@router.get("/v1/admin/devices/status", response_model=DevicesStatus,
            summary="Per-device sync status: last seen, reported outbox depth, event lag (largest first)")
async def devices_status(
    request: Request,
    include_revoked: bool = Query(False, description="list revoked devices too"),
    limit: int = Query(1000, ge=1, le=MAX_ROWS),
    principal: Principal = Depends(require_action("devices.list")),
) -> DevicesStatus:
    pool: asyncpg.Pool = request.app.state.pool
    sites = await action_sites(pool, principal, "devices.list")  # where the person's grants allow it, now
    if sites is not None and not sites:
        raise Forbidden(f"{who(principal)} holds no role that may list devices (any more)", code="forbidden_role")
    rows = await status_rows(pool, tenant_id=principal.tenant_id, site_ids=sites,
                             include_revoked=include_revoked, limit=limit + 1)
    return DevicesStatus(devices=rows[:limit], truncated=len(rows) > limit)


async def device_gauges(pool: asyncpg.Pool, *, tenant_id: str | None = None, labelled: bool = False) -> str:
    """The device gauges for /metrics, over one tenant or all (None); a database that cannot answer leaves them
    out (never a failed scrape)."""
    try:
        rows = await status_rows(pool, tenant_id=tenant_id, limit=2**31 - 1)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return f"# pitline_device_event_lag unavailable: {type(exc).__name__}\n"
    return render_aggregates(rows) + (render_gauges(rows) if labelled else "")


def render_aggregates(rows: list[DeviceStatus]) -> str:
    """Prometheus text over the unrevoked devices, naming none: how many, how far behind, how much waits."""
    lags = [r.event_lag for r in rows if r.event_lag is not None]
    depths = [r.outbox_depth for r in rows if r.outbox_depth is not None]
    gauges = (
        ("pitline_devices", "Unrevoked devices.", len(rows)),
        ("pitline_devices_lagging", "Devices with events yet to receive.", sum(1 for lag in lags if lag > 0)),
        ("pitline_devices_never_read", "Devices that never read the event log.", len(rows) - len(lags)),
        ("pitline_device_event_lag_max", "The largest event lag of any device.", max(lags, default=0)),
        ("pitline_device_outbox_depth_max", "The largest outbox depth a device last reported.", max(depths, default=0)),
        ("pitline_device_outbox_depth_sum", "Mutations waiting on all devices, as they last reported.", sum(depths)),
    )
    lines: list[str] = []
    for name, help_text, value in gauges:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
    return "\n".join(lines) + "\n"


def render_gauges(rows: list[DeviceStatus]) -> str:
    """Prometheus text: per device, its event lag and reported outbox depth (same on every hub process).
    Only with `metrics_device_labels`: the labels name tenants and devices."""
    lines = ["# HELP pitline_device_event_lag Events the device has yet to receive (tenant head - its cursor).",
             "# TYPE pitline_device_event_lag gauge"]
    lines += [f'pitline_device_event_lag{{tenant="{_esc(r.tenant_id)}",device="{_esc(r.device_id)}"}} {r.event_lag}'
              for r in rows if r.event_lag is not None]
    lines += ["# HELP pitline_device_outbox_depth Mutations waiting on the device, as it last reported.",
              "# TYPE pitline_device_outbox_depth gauge"]
    lines += [f'pitline_device_outbox_depth{{tenant="{_esc(r.tenant_id)}",device="{_esc(r.device_id)}"}} '
              f"{r.outbox_depth}" for r in rows if r.outbox_depth is not None]
    return "\n".join(lines) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
