"""The busiest routes, served without FastAPI's per-request machinery when the request is well formed.

Why: measured in-process, FastAPI's routing, dependency solving and query validation cost ~150 µs of CPU on
a `GET /v1/sync/changes`, four times the request's own database work; at 500 users that is a large part of
what the two cores can give the hub. This middleware recognises the few hot routes by method and exact path,
parses their query parameters by the route's own declarations (read from the FastAPI route at start-up, so
they cannot drift apart), resolves the caller, and calls the route's endpoint function itself.

FastAPI stays the single source of every answer but the happy path: a parameter that is missing its value,
repeated, not plainly a number or out of range, a token that does not verify, or a route whose declaration
this does not understand all go to the FastAPI route untouched, which gives its usual 4xx. Exceptions the
endpoint raises are answered by `hub.errors.exception_response`, the same function as the app's handlers,
and the route is set in the scope so metrics label the request exactly as before."""

from __future__ import annotations

import types
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from annotated_types import Ge, Le, MaxLen
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.auth.principal import principal_for, require_principal
from hub.errors import Unauthorized, exception_response


@dataclass(frozen=True)
class _Param:
    key: str  # the query key (alias)
    name: str  # the endpoint's argument
    kind: str  # int | str | choice
    default: Any
    lo: int | None = None
    hi: int | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()

    def parse(self, text: str) -> Any:
        """The value, or `_INVALID` when FastAPI should judge it (it then answers with its own 422)."""
        if self.kind == "int":
            if not (text.isascii() and text.isdigit()) or len(text) > 19:
                return _INVALID
            value = int(text)
            if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
                return _INVALID
            return value
        if self.kind == "choice":
            return text if text in self.choices else _INVALID
        if not text or (self.max_length is not None and len(text) > self.max_length):
            return _INVALID
        return text


_INVALID = object()


@dataclass(frozen=True)
class _Route:
    api_route: APIRoute
    params: tuple[_Param, ...]
    endpoint: Callable[..., Awaitable[Response]]

    def arguments(self, query_string: bytes) -> dict[str, Any] | None:
        values = {p.name: p.default for p in self.params}
        if not query_string:
            return values
        by_key = {p.key: p for p in self.params}
        seen: set[str] = set()
        for key, text in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            param = by_key.get(key)
            if param is None:
                continue  # FastAPI ignores parameters a route does not declare; so does this
            if key in seen:
                return None
            seen.add(key)
            value = param.parse(text)
            if value is _INVALID:
                return None
            values[param.name] = value
        return values


def _param(field: Any) -> _Param:
    info = field.field_info
    if info.is_required():
        raise ValueError("required parameter")
    annotation = info.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) != 1 or info.default is not None:
            raise ValueError(f"union {annotation}")
        annotation = options[0]
    lo = hi = max_length = None
    for m in info.metadata:
        if isinstance(m, Ge):
            lo = int(m.ge)  # type: ignore[call-overload]
        elif isinstance(m, Le):
            hi = int(m.le)  # type: ignore[call-overload]
        elif isinstance(m, MaxLen):
            max_length = m.max_length
        else:
            raise ValueError(f"constraint {m!r}")
    if annotation is int:
        return _Param(field.alias, field.name, "int", info.default, lo=lo, hi=hi)
    if annotation is str:
        return _Param(field.alias, field.name, "str", info.default, max_length=max_length)
    if typing.get_origin(annotation) is typing.Literal:
        return _Param(field.alias, field.name, "choice", info.default, choices=tuple(typing.get_args(annotation)))
    raise ValueError(f"type {annotation}")


def fast_route(route: APIRoute) -> _Route | None:
    """The fast form of a route, or None when its declaration holds anything this does not reproduce exactly
    (a body, headers, cookies, path parameters, dependencies other than the caller, unusual types)."""
    d = route.dependant
    if d.path_params or d.header_params or d.cookie_params or d.body_params:
        return None
    if [sub.call for sub in d.dependencies] != [require_principal]:
        return None
    if typing.get_type_hints(route.endpoint).get("return") is not Response:
        return None
    try:
        params = tuple(_param(f) for f in d.query_params)
    except ValueError:
        return None
    return _Route(route, params, route.endpoint)


class FastRoutes:
    def __init__(self, app: ASGIApp, routes: Callable[[], Iterable[APIRoute]], hot: Iterable[tuple[str, str]]) -> None:
        self.app = app
        wanted = set(hot)
        self.routes: dict[tuple[str, str], _Route] = {}
        for route in routes():
            for method in route.methods or ():
                if (method, route.path) in wanted and (fast := fast_route(route)) is not None:
                    self.routes[(method, route.path)] = fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get((scope.get("method", ""), scope.get("path", ""))) if scope["type"] == "http" else None
        arguments = None if route is None else route.arguments(scope.get("query_string", b""))
        if route is None or arguments is None:
            await self.app(scope, receive, send)
            return
        authorization = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        scope["route"] = route.api_route  # the metrics label, as FastAPI's router would have set it
        try:
            principal = await principal_for(scope["app"].state, authorization)
        except Unauthorized:
            await self.app(scope, receive, send)  # FastAPI's answer, word for word
            return
        try:
            response = await route.endpoint(request=Request(scope, receive), principal=principal, **arguments)
        except Exception as exc:  # answered as the app's handlers answer it
            response = exception_response(exc, scope["method"], scope["path"])
        await response(scope, receive, send)
