"""The hub's error hierarchy and the handlers that turn every failure into a 4xx/5xx with a message.

Every 4xx body is `shared.envelopes.ErrorBody`: `{code, message, details}`. No pydantic or database error
leaks to a client as a bare 500."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shared.errors import PitlineError

log = logging.getLogger(__name__)


class SchemaVersionError(PitlineError):
    """The database schema is not the one this hub was built for."""


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details
        self.headers = headers


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Gone(ApiError):
    status, code = 410, "gone"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class Unprocessable(ApiError):
    status, code = 422, "validation_failed"


class TooManyRequests(ApiError):
    status, code = 429, "rate_limited"


class ServiceUnavailable(ApiError):
    status, code = 503, "unavailable"


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = {"code": code, "message": message, "details": details}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


_BUSY = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError, asyncpg.TooManyConnectionsError,
         asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError)


def exception_response(exc: Exception, method: str, path: str) -> Response:
    """The answer to an exception a route raised: shared by the app's handlers and the fast routes
    (`hub.ops.fast_routes`), so a failure reads the same whichever path served the request."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
    if isinstance(exc, StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))
    if isinstance(exc, asyncpg.DataError):
        # A value PostgreSQL refuses (NUL in text, out of range): the client's input, and the transaction rolled back.
        return error_response(422, "unstorable_value", f"the database refused a value: {exc}")
    if isinstance(exc, _BUSY):
        log.warning("database busy or unavailable: %s", exc)
        return error_response(503, "unavailable", "the hub's database is busy or restarting; retry shortly",
                              headers={"Retry-After": "1"})
    log.error("unhandled error on %s %s", method, path, exc_info=exc)
    return error_response(500, "internal_error", "the hub failed to handle this request; it was logged")


def install_error_handlers(app: FastAPI) -> None:
    async def _any(request: Request, exc: Exception) -> Response:
        return exception_response(exc, request.method, request.url.path)

    for kind in (ApiError, StarletteHTTPException, asyncpg.DataError, *_BUSY, Exception):
        app.add_exception_handler(kind, _any)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()[:50]
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"][1:]) or "body"
        return error_response(422, "validation_failed", f"{where}: {first['msg']}", {"errors": errors})
