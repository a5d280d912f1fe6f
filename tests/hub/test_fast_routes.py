"""The hot routes' fast path answers exactly as the FastAPI routes do: same status, same body, for well-formed
requests and for every kind of bad input (those it hands to FastAPI), and metrics label them the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from hub.api import HOT_ROUTES
from hub.app import create_app
from hub.ops.fast_routes import FastRoutes
from hub.settings import HubSettings
from pitline.harness import provision_device, run_sync
from shared.ids import new_ulid

TENANT = f"fast-{new_ulid()[-8:].lower()}"

GETS: list[tuple[str, str]] = [
    ("/v1/sync/changes", q) for q in (
        "", "after=0&limit=2", "after=2&limit=1", "after=-1", "after=abc", "after=1e3", "after=+1", "after=%201",
        "after=%D9%A1", "limit=0", "limit=5001", "after=9223372036854775807", "after=9223372036854775808",
        "after=1&after=2", "limit=", "after=%31&limit=1", "unknown=1&limit=1", "after=00001")
] + [
    ("/v1/sync/snapshot", q) for q in (
        "", "limit=1", "cursor=zz", "cursor=", "seq=5&limit=1", "seq=-1", "cursor=" + "a" * 401, "limit=10001")
] + [
    ("/v1/conflicts", q) for q in ("", "status=all", "status=bogus", "limit=1001", "status=open&limit=1",
                                   "status=ALL")
] + [
    ("/v1/audit", q) for q in ("", "order=oldest&limit=2", "order=x", "entity=" + "e" * 65, "actor=ann",
                               "entity=forms.submission&entity_id=F1", "limit=0")
]


AUTHS = [None, "Bearer nope", "Basic abc", "Bearer ", "bearer  "]
PUSHES = [b"not json", b"{}", b'{"device_id": "other", "mutations": []}',
          b'{"device_id": "dev", "mutations": [{"id": 1}]}', b"[]"]
Answer = tuple[int, str, Any]


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield client


def answer(r: httpx.Response) -> Answer:
    return r.status_code, r.headers.get("content-type", ""), r.json()


def middleware_chain(app: FastAPI) -> list[object]:
    chain, layer = [], app.middleware_stack
    while layer is not None:
        chain.append(layer)
        layer = getattr(layer, "app", None)
    return chain


@pytest.fixture(scope="module")
def answers(pg_dsn: str) -> dict[str, Any]:
    """Every case asked of a hub with the fast path and of one without, in one event loop (the pools live there)."""
    device = provision_device(pg_dsn, TENANT, "s1", "dev")

    async def run() -> dict[str, Any]:
        from hub.auth.tokens import issue_access_token
        from hub.db import connect

        conn = await connect(pg_dsn)
        try:
            admin = await issue_access_token(conn, tenant_id=TENANT, device_id="dev", roles=["administrator"],
                                             ttl=timedelta(minutes=30))
        finally:
            await conn.close()
        fast_app = create_app(HubSettings.load(database_url=pg_dsn, fast_routes=True))
        plain_app = create_app(HubSettings.load(database_url=pg_dsn, fast_routes=False))
        out: dict[str, Any] = {}
        async with running(fast_app) as fast, running(plain_app) as plain:
            mutations = [{"id": new_ulid(), "device_id": "dev", "device_seq": i, "tenant_id": TENANT,
                          "site_id": "s1", "actor": "ann", "entity": "forms.submission", "entity_id": f"F{i}",
                          "op": "create", "base_version": 0, "payload": {"form": "pre-start", "title": f"t{i}"},
                          "created_at": datetime.now(UTC).isoformat()} for i in range(1, 4)]
            pushed = await fast.post("/v1/sync/push", headers={"Authorization": f"Bearer {admin}"},
                                     content=orjson.dumps({"device_id": "dev", "mutations": mutations}))
            out["push"] = answer(pushed)
            headers = {"Authorization": f"Bearer {admin}"}
            for path, query in GETS:
                out[f"GET {path}?{query}"] = (answer(await fast.get(f"{path}?{query}", headers=headers)),
                                              answer(await plain.get(f"{path}?{query}", headers=headers)))
            for auth in AUTHS:
                h = {} if auth is None else {"Authorization": auth}
                for path in ("/v1/sync/changes", "/v1/audit"):
                    out[f"auth {auth} {path}"] = (answer(await fast.get(path, headers=h)),
                                                  answer(await plain.get(path, headers=h)))
                out[f"auth {auth} push"] = (answer(await fast.post("/v1/sync/push", headers=h, content=b"{}")),
                                            answer(await plain.post("/v1/sync/push", headers=h, content=b"{}")))
            for body in PUSHES:
                h = {"Authorization": f"Bearer {device}"}
                out[f"push {body!r}"] = (answer(await fast.post("/v1/sync/push", headers=h, content=body)),
                                         answer(await plain.post("/v1/sync/push", headers=h, content=body)))
            hits = fast_app.state.token_cache.hits
            for _ in range(3):
                await fast.get("/v1/sync/changes?after=0&limit=1", headers=headers)
            out["cache_hits"] = fast_app.state.token_cache.hits - hits
            out["metrics"] = (await fast.get("/metrics", headers=headers)).text
            out["fast_routes"] = [sorted(layer.routes) for layer in middleware_chain(fast_app)
                                  if isinstance(layer, FastRoutes)]
        return out

    return run_sync(run())


@pytest.mark.parametrize(("path", "query"), GETS)
def test_every_answer_is_the_fastapi_routes_answer(answers: dict[str, Any], path: str, query: str) -> None:
    fast, plain = answers[f"GET {path}?{query}"]
    assert fast == plain and fast[0] < 500


@pytest.mark.parametrize("authorization", AUTHS)
def test_callers_without_a_working_token_get_the_same_401(answers: dict[str, Any], authorization: str | None
                                                          ) -> None:
    for path in ("/v1/sync/changes", "/v1/audit", "push"):
        fast, plain = answers[f"auth {authorization} {path}"]
        assert fast == plain and fast[0] == 401


@pytest.mark.parametrize("body", PUSHES)
def test_bad_pushes_get_the_same_4xx(answers: dict[str, Any], body: bytes) -> None:
    fast, plain = answers[f"push {body!r}"]
    assert fast == plain and 400 <= fast[0] < 500


def test_the_fast_path_serves_the_hot_routes_and_metrics_label_them_by_route(answers: dict[str, Any]) -> None:
    assert answers["push"][0] == 200
    assert answers["fast_routes"] == [sorted(HOT_ROUTES)]
    assert answers["cache_hits"] >= 2  # looked up at most once, then answered from the token cache
    assert 'pitline_http_requests_total{method="GET",route="/v1/sync/changes",status="200"}' in answers["metrics"]
