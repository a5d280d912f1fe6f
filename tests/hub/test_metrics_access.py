"""`/metrics` on a real hub: only the configured metrics token or an administrator may scrape it (docs/decisions.md
D28), and it names no tenant or device unless `metrics_device_labels` asks for them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.hubserver import HubProcess, private_hub
from tests.hub.device import DeviceClient, person_client
from tests.hub.test_push import make_device
from tests.waiting import wait_until

METRICS_TOKEN = "scrape-me-" + "x" * 32
SECRET_TENANT, OTHER_TENANT = "t-metrics-acme", "t-metrics-zenith"


def scrape(hub: HubProcess, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return httpx.get(f"{hub.url}/metrics", headers=headers, timeout=10)


def lagging_device(hub: HubProcess, tenant: str, device: str) -> DeviceClient:
    """A device that pushed (outbox depth 3), read the log once, and has events to receive since."""
    dev = make_device(hub, tenant, "s1", device)
    r = dev.push([dev.mutation("forms.submission", f"{device}-1", "create", {"form": "f", "title": "t"})],
                 outbox_depth=3)
    assert r.status_code == 200, r.text
    dev.changes(after=dev.changes().json()["next_after"])  # its next poll acknowledges what it has
    dev.push_ok([dev.mutation("forms.submission", f"{device}-2", "create", {"form": "f", "title": "t"})])
    return dev


@pytest.fixture(scope="module")
def hub(pg_server_url: str) -> Iterator[HubProcess]:
    with private_hub(pg_server_url, "pitline_metrics", env=lambda _: {"PITLINE_METRICS_TOKEN": METRICS_TOKEN}) as h:
        lagging_device(h, SECRET_TENANT, "dev-acme-truck-7")
        lagging_device(h, OTHER_TENANT, "dev-zenith-loader-2")
        yield h


def test_metrics_need_the_metrics_token_or_an_administrator(hub: HubProcess) -> None:
    assert scrape(hub, None).status_code == 401 and scrape(hub, None).json()["message"]
    assert scrape(hub, "Bearer wrong-token").status_code == 401
    device = make_device(hub, SECRET_TENANT, "s1", "dev-acme-desk")
    for who, client in (("bare device", device.client),
                        ("viewer", person_client(hub.url, hub.dsn, SECRET_TENANT, ("viewer",))),
                        ("site manager", person_client(hub.url, hub.dsn, SECRET_TENANT, ("site_manager",)))):
        r = client.get("/metrics")
        assert r.status_code == 403 and r.json()["message"], (who, r.text)
    assert scrape(hub, f"Bearer {METRICS_TOKEN}").status_code == 200
    admin = person_client(hub.url, hub.dsn, SECRET_TENANT).get("/metrics")
    assert admin.status_code == 200 and "pitline_http_requests_total" in admin.text


def test_metrics_name_no_tenant_or_device_by_default(hub: HubProcess) -> None:
    def lag_counted() -> bool:
        return "pitline_devices_lagging 2" in scrape(hub, f"Bearer {METRICS_TOKEN}").text

    assert wait_until(lag_counted, 15)  # read positions are written every 2 s
    text = scrape(hub, f"Bearer {METRICS_TOKEN}").text
    for secret in (SECRET_TENANT, OTHER_TENANT, "dev-acme-truck-7", "dev-zenith-loader-2", 'tenant="', 'device="'):
        assert secret not in text, secret
    assert "pitline_device_event_lag_max 1" in text and "pitline_device_outbox_depth_max 3" in text
    [devices] = [line for line in text.splitlines() if line.startswith("pitline_devices ")]
    assert int(devices.split()[1]) >= 2  # both tenants' devices, counted (the metrics token is the whole hub's)


def test_device_labels_only_when_asked_and_an_administrator_sees_their_own_tenant(hub: HubProcess) -> None:
    labelled = HubProcess(hub.dsn, env={"PITLINE_METRICS_TOKEN": METRICS_TOKEN,
                                        "PITLINE_METRICS_DEVICE_LABELS": "true"})
    labelled.start()
    try:
        text = scrape(labelled, f"Bearer {METRICS_TOKEN}").text
        assert f'pitline_device_event_lag{{tenant="{SECRET_TENANT}",device="dev-acme-truck-7"}} 1' in text
        assert f'pitline_device_outbox_depth{{tenant="{OTHER_TENANT}",device="dev-zenith-loader-2"}} 3' in text
        mine = person_client(labelled.url, labelled.dsn, SECRET_TENANT).get("/metrics").text
        assert "dev-acme-truck-7" in mine and OTHER_TENANT not in mine and "dev-zenith" not in mine
    finally:
        labelled.stop()
