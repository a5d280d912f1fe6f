"""Complete the hub's OpenAPI document: every error answer a route can give is declared with its body
(`ErrorBody {code, message, details}`), and the routes that read or write raw bytes for speed (push, changes,
snapshot, stream) declare the models they really speak. Route owners may declare more precisely in their
decorators; what they declare is kept (this only adds what is missing)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.envelopes import ChangesPage, ErrorBody, PushRequest, PushResponse, Snapshot

ERRORS: dict[int, str] = {
    400: "Malformed request (not JSON, a bad cursor)",
    401: "No valid access token (missing, unknown, expired or revoked), or credentials refused",
    403: "The caller may not do this (another device, tenant, site or role)",
    404: "No such resource",
    409: "The request conflicts with the hub's state",
    410: "The cursor is older than retention: take a snapshot",
    413: "The body (or batch) is larger than the limit",
    415: "Unsupported content encoding",
    422: "Validation failed; `details.errors` lists the fields",
    429: "Too many attempts: retry after the Retry-After seconds",
    503: "The database is busy or restarting: retry after the Retry-After seconds",
}
EVERY_V1 = (400, 401, 403, 422, 503)
EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/v1/sync/push"): (409,),
    ("get", "/v1/sync/changes"): (410,),
    ("get", "/v1/sync/stream"): (410,),
    ("get", "/v1/sync/snapshot"): (410,),
    ("post", "/v1/conflicts/{conflict_id}/resolve"): (404, 409),
    ("post", "/v1/devices/enroll"): (409, 429),
    ("post", "/v1/auth/challenge"): (429,),
    ("post", "/v1/auth/token"): (429,),
    ("post", "/v1/auth/signin"): (429,),
    ("post", "/v1/telemetry"): (415,),
}
REQUESTS: dict[tuple[str, str], type[BaseModel]] = {("post", "/v1/sync/push"): PushRequest}
RESPONSES: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/v1/sync/push"): PushResponse,
    ("get", "/v1/sync/changes"): ChangesPage,
    ("get", "/v1/sync/snapshot"): Snapshot,
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _add_models(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Put ErrorBody and the raw routes' models in components; return {model name: $ref} by (model, mode)."""
    wanted = [(ErrorBody, "serialization")] + [(m, "validation") for m in REQUESTS.values()] + [
        (m, "serialization") for m in RESPONSES.values()]
    refs, defs = models_json_schema(wanted, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in defs.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    return {f"{model.__name__}:{mode}": ref for (model, mode), ref in refs.items()}


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    refs = _add_models(doc)
    error = refs["ErrorBody:serialization"]
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            key = (method, path)
            responses = op.setdefault("responses", {})
            codes = set(EXTRA.get(key, ()))
            if path.startswith("/v1/"):
                codes |= set(EVERY_V1)
                if method in ("post", "put", "patch"):
                    codes.add(413)
                if "{" in path:
                    codes.add(404)
            elif path == "/readyz":
                codes.add(503)
            for code in sorted(codes):
                entry = responses.setdefault(str(code), {"description": ERRORS[code]})
                entry["content"] = {"application/json": {"schema": error}}  # ours, also for FastAPI's 422
            if key in REQUESTS:
                op["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": refs[f"{REQUESTS[key].__name__}:validation"]}}}
            if key in RESPONSES:
                responses["200"] = {"description": "OK", "content": {"application/json": {
                    "schema": refs[f"{RESPONSES[key].__name__}:serialization"]}}}
            if key == ("get", "/v1/sync/stream"):
                responses["200"] = {"description": "Server-Sent Events: `id:` seq, `event: change`, `data:` Event",
                                    "content": {"text/event-stream": {"schema": {"type": "string"}}}}
    schemas = doc.get("components", {}).get("schemas", {})
    if not any("HTTPValidationError" in str(op) for ops in doc.get("paths", {}).values() for op in ops.values()):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = complete(doc)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
