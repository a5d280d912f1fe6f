"""/healthz, /readyz and /metrics on a real hub."""

from __future__ import annotations

import re

import httpx

from tests.fixtures.hubserver import HubProcess
from tests.hub.device import metrics_text
from tests.hub.sse import StreamReader
from tests.hub.test_push import make_device


def test_ready_and_metrics_count_requests_outcomes_and_streams(live_hub: HubProcess) -> None:
    assert httpx.get(f"{live_hub.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{live_hub.url}/readyz").json() == {"status": "ready"}
    dev = make_device(live_hub, "t-ops", "s1", "desk-1")
    dev.push_ok([dev.mutation("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "truck"}),
                 dev.mutation("equipment.unit", "DT02", "create", {"fleet_no": "DT02"})])
    reader = StreamReader(live_hub.url, dev.token).start()
    try:
        assert reader.wait_for(lambda r: r.connections >= 1)
        text = metrics_text(live_hub.url, live_hub.dsn)
    finally:
        reader.stop()
    assert 'pitline_http_requests_total{method="POST",route="/v1/sync/push",status="200"}' in text
    assert 'pitline_push_outcomes_total{status="applied"}' in text
    assert 'pitline_push_outcomes_total{status="rejected"}' in text
    assert 'pitline_http_request_seconds_bucket{method="POST",route="/v1/sync/push",le="+Inf"}' in text
    streams = next(line for line in text.splitlines() if line.startswith("pitline_sse_streams "))
    assert int(streams.split()[1]) >= 1
    assert "/v1/sync/push/" not in text.replace('route="/v1/sync/push"', "")  # route templates, not raw paths


def test_the_api_docs_page_loads_everything_from_the_hub_itself(live_hub: HubProcess) -> None:
    # A site hub has no internet: FastAPI's default page pulls Swagger UI from a CDN and renders blank.
    page = httpx.get(f"{live_hub.url}/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert len(assets) >= 3, page.text
    for asset in assets:
        assert asset.startswith("/"), f"/docs loads {asset} from elsewhere"
        answer = httpx.get(f"{live_hub.url}{asset}")
        assert answer.status_code == 200 and len(answer.content) > 100, asset
    assert "/openapi.json" in page.text
