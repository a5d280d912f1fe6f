"""A global request body limit: 413 `payload_too_large` for any route, before the body is read whole.

A declared Content-Length past the limit is refused at once; a body without one (chunked) is counted as it
arrives and refused as soon as it passes the limit (the error travels through the app's ApiError handler,
so the answer is the usual `{code, message, details}`)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import PayloadTooLarge, error_response


class BodyTooLarge(PayloadTooLarge, HTTPException):  # type: ignore[misc]  # both keep `headers`
    """Raised from `receive`. Also an HTTPException, so FastAPI's body parsing lets it through (it turns any other
    error into a 400); the ApiError handler, first in the MRO, renders it."""

    def __init__(self, message: str) -> None:
        PayloadTooLarge.__init__(self, message)
        self.status_code, self.detail = 413, message


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = error_response(413, "payload_too_large",
                                      f"the body is {declared} bytes; the limit is {self.max_bytes}")
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(f"the body is larger than the limit of {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
