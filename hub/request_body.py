"""Read a request body up to a limit: 413 before reading it all when the declared length is too large,
and 413 as soon as a chunked body passes the limit. Shared by push and telemetry."""

from __future__ import annotations

from fastapi import Request

from hub.errors import PayloadTooLarge


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    # ASCII digits only before int() ('²'.isdigit() is true, int('²') raises); a declared length too long to
    # parse is too large anyway, and the stream below enforces the limit whatever was declared.
    if declared is not None and declared.isascii() and declared.isdigit() and (
            len(declared) > len(str(limit)) or int(declared) > limit):
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
