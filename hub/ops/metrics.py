"""Prometheus text metrics for one hub process: requests and latencies by route, push outcomes, streams.

Kept dependency-free and small; each process exposes its own numbers (Prometheus sums across processes).

`GET /metrics` is not public (docs/decisions.md D28): it answers the configured metrics token (a scraper: the
whole hub) or a token whose roles allow `metrics.read` (an administrator: their own tenant's device gauges).
Labels are route templates and statuses, never ids; per-device gauges are aggregates unless
`metrics_device_labels` asks for one series per device."""

from __future__ import annotations

import hmac
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.auth.principal import principal_for
from hub.errors import Forbidden, Unauthorized
from shared.envelopes import Outcome
from shared.permissions import allows

router = APIRouter()

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.latency_buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.latency_sum: dict[tuple[str, str], float] = defaultdict(float)
        self.latency_count: Counter[tuple[str, str]] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.telemetry_points: Counter[str] = Counter()  # accepted | duplicate
        self.telemetry_batches: Counter[str] = Counter()  # stored | replayed

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        key = (method, route)
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.latency_buckets[key][i] += 1
        self.latency_sum[key] += seconds
        self.latency_count[key] += 1

    def count_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        for o in outcomes:
            self.outcomes[str(o.status)] += 1

    def count_telemetry(self, accepted: int, duplicates: int, replayed: bool) -> None:
        self.telemetry_batches["replayed" if replayed else "stored"] += 1
        if not replayed:
            self.telemetry_points["accepted"] += accepted
            self.telemetry_points["duplicate"] += duplicates

    def render(self, streams: int) -> str:
        lines = ["# HELP pitline_http_requests_total Requests served, by method, route and status.",
                 "# TYPE pitline_http_requests_total counter"]
        for (method, route, status), n in sorted(self.requests.items()):
            lines.append(f'pitline_http_requests_total{{method="{method}",route="{route}",status="{status}"}} {n}')
        lines += ["# HELP pitline_http_request_seconds Request latency.",
                  "# TYPE pitline_http_request_seconds histogram"]
        for (method, route), counts in sorted(self.latency_buckets.items()):
            labels = f'method="{method}",route="{route}"'
            total = self.latency_count[(method, route)]
            for bound, n in zip(BUCKETS, counts, strict=True):
                lines.append(f'pitline_http_request_seconds_bucket{{{labels},le="{bound}"}} {n}')
            lines.append(f'pitline_http_request_seconds_bucket{{{labels},le="+Inf"}} {total}')
            lines.append(f"pitline_http_request_seconds_sum{{{labels}}} {self.latency_sum[(method, route)]:.6f}")
            lines.append(f"pitline_http_request_seconds_count{{{labels}}} {total}")
        lines += ["# HELP pitline_push_outcomes_total Outcomes answered to pushed mutations.",
                  "# TYPE pitline_push_outcomes_total counter"]
        lines += [f'pitline_push_outcomes_total{{status="{s}"}} {n}' for s, n in sorted(self.outcomes.items())]
        lines += ["# HELP pitline_sse_streams Open event streams in this process.", "# TYPE pitline_sse_streams gauge",
                  f"pitline_sse_streams {streams}"]
        lines += ["# HELP pitline_telemetry_rows_total Telemetry points received, by result.",
                  "# TYPE pitline_telemetry_rows_total counter"]
        lines += [f'pitline_telemetry_rows_total{{result="{r}"}} {n}'
                  for r, n in sorted(self.telemetry_points.items())]
        lines += ["# HELP pitline_telemetry_batches_total Telemetry batches received, stored or replayed.",
                  "# TYPE pitline_telemetry_batches_total counter"]
        lines += [f'pitline_telemetry_batches_total{{result="{r}"}} {n}'
                  for r, n in sorted(self.telemetry_batches.items())]
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Times every HTTP request by its route template (not its raw path: no unbounded label sets).
    A stream is counted when its response starts, not when it ends."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                self.metrics.observe(scope["method"], _route(scope), status, time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, recording_send)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


@dataclass(frozen=True)
class Scraper:
    tenant_id: str | None  # None: the metrics token, every tenant


async def scraper(request: Request) -> Scraper:
    """Who is scraping: the metrics token, or an access token allowed `metrics.read`; else 401 / 403."""
    authorization = request.headers.get("authorization", "")
    expected = request.app.state.settings.metrics_token
    scheme, _, presented = authorization.partition(" ")
    if expected and scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), expected.encode()):
        return Scraper(None)
    try:
        principal = await principal_for(request.app.state, authorization)
    except Unauthorized:
        raise Unauthorized("send 'Authorization: Bearer <metrics token>' (PITLINE_METRICS_TOKEN) or an "
                           "administrator's access token", code="unauthorized") from None
    if not allows(principal.roles, "metrics.read"):
        raise Forbidden("the metrics need the metrics token or a role that allows metrics.read (administrator)",
                        code="forbidden_role")
    return Scraper(principal.tenant_id)


@router.get("/metrics", summary="Prometheus metrics of this hub process (metrics token or administrator)",
            response_class=PlainTextResponse)
async def metrics(request: Request) -> PlainTextResponse:
    from hub.ops.device_status import device_gauges  # it reads the database; this module stays import-light

    who = await scraper(request)
    state = request.app.state
    fanout = state.fanout
    text = state.metrics.render(streams=fanout.stream_count if fanout is not None else 0)
    cache = getattr(state, "token_cache", None)
    if cache is not None:
        text += ("# HELP pitline_token_cache_lookups_total Access token lookups answered by this process's cache.\n"
                 "# TYPE pitline_token_cache_lookups_total counter\n"
                 f'pitline_token_cache_lookups_total{{result="hit"}} {cache.hits}\n'
                 f'pitline_token_cache_lookups_total{{result="miss"}} {cache.misses}\n'
                 "# HELP pitline_token_cache_active Whether the token cache may answer (its LISTEN is up).\n"
                 "# TYPE pitline_token_cache_active gauge\n"
                 f"pitline_token_cache_active {int(cache.active)}\n")
    text += await device_gauges(state.pool, tenant_id=who.tenant_id, labelled=state.settings.metrics_device_labels)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")
