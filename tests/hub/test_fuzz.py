"""Schemathesis against the hub's own OpenAPI document, on a real hub process and the test database, with a
valid bearer token (a device that is also an administrator, so every route is reachable past auth).

Every generated request must get a non-5xx answer whose status code, content type and body are the ones the
document declares. The default run is bounded (a few examples per operation, well under a minute); the
`slow` run generates many more. The SSE stream is left out: a valid request to it never ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.fixtures.hubserver import HubProcess
from tests.fixtures.postgres import run_sync

FAST_EXAMPLES = 12
SLOW_EXAMPLES = 400
SKIPPED = "^/v1/sync/stream$"


def _admin_device_token(dsn: str) -> str:
    from hub.auth.tokens import ensure_tenant_site_device, issue_access_token
    from hub.db import connect

    async def run() -> str:
        conn = await connect(dsn)
        try:
            async with conn.transaction():
                await ensure_tenant_site_device(conn, tenant_id="t-fuzz", site_id="s1", device_id="fuzz-1")
                return await issue_access_token(conn, tenant_id="t-fuzz", device_id="fuzz-1",
                                                roles=["administrator"], ttl=timedelta(hours=2))
        finally:
            await conn.close()

    return run_sync(run())


@pytest.fixture
def fuzz_token(live_hub: HubProcess) -> str:
    return _admin_device_token(live_hub.dsn)


def _fuzz(hub: HubProcess, token: str, examples: int) -> None:
    """Every operation of the served document, `examples` generated cases each; all failures reported together."""
    schema = schemathesis.openapi.from_url(f"{hub.url}/openapi.json").exclude(path_regex=SKIPPED)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, timeout=30,
                                   excluded_checks=[positive_data_acceptance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # one operation's failure must not hide the others'
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert operations >= 10
    assert not failures, "\n\n".join(failures)


def test_no_server_error_and_answers_as_documented(live_hub: HubProcess, fuzz_token: str) -> None:
    _fuzz(live_hub, fuzz_token, FAST_EXAMPLES)


@pytest.mark.slow
def test_no_server_error_long_run(live_hub: HubProcess, fuzz_token: str) -> None:
    _fuzz(live_hub, fuzz_token, SLOW_EXAMPLES)


def test_every_route_refuses_a_body_past_the_limit(live_hub: HubProcess, fuzz_token: str) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {fuzz_token}", "Content-Type": "application/json"}
    huge = b'{"choice": "server", "data": {"x": "' + b"a" * (9 * 1024 * 1024) + b'"}}'
    declared = httpx.post(f"{live_hub.url}/v1/conflicts/c1/resolve", content=huge, headers=headers, timeout=60)
    assert declared.status_code == 413 and declared.json()["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b"a" * (1024 * 1024)

    chunked = httpx.post(f"{live_hub.url}/v1/devices/enroll", content=chunks(), headers=headers, timeout=60)
    assert chunked.status_code == 413 and chunked.json()["code"] == "payload_too_large"
    small = httpx.post(f"{live_hub.url}/v1/conflicts/c1/resolve", json={"choice": "server"}, headers=headers)
    assert small.status_code in (404, 409)  # under the limit: the route answers as usual (no such conflict)


def test_the_openapi_document_declares_bodies_and_error_answers(live_hub: HubProcess) -> None:
    import httpx

    doc = httpx.get(f"{live_hub.url}/openapi.json").json()
    error = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            responses = op["responses"]
            assert "200" in responses, (method, path)
            for code, answer in responses.items():
                if code.startswith(("4", "5")):
                    assert answer["content"]["application/json"]["schema"] == error, (method, path, code)
            if path.startswith("/v1/"):
                assert {"401", "422", "503"} <= set(responses), (method, path)
    push = doc["paths"]["/v1/sync/push"]["post"]
    assert push["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PushRequest"}
    assert push["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PushResponse"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
