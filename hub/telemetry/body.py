"""Read a telemetry body: size limit on the wire, decompression (zstd, gzip, identity) with a limit on
the inflated size (a small bomb is refused before it fills memory), then the TelemetryBatch model."""

from __future__ import annotations

import io
import zlib

import zstandard
from pydantic import ValidationError

from hub.errors import BadRequest, PayloadTooLarge, Unprocessable
from hub.request_body import read_limited
from shared.telemetry import MAX_BATCH_POINTS, TelemetryBatch

ENCODINGS = ("zstd", "gzip", "identity")


read_raw = read_limited  # the wire body, before decompression


def decompress(raw: bytes, encoding: str, limit: int) -> bytes:
    """The inflated body; 400 bad_compression if it does not decode, 413 if it inflates past `limit`."""
    encoding = encoding.strip().lower() or "identity"
    try:
        if encoding == "identity":
            out = raw
        elif encoding == "zstd":
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True) as reader:
                out = reader.read(limit + 1)
                if len(out) <= limit and reader.read(1):
                    raise zstandard.ZstdError("data after the decoded frames")
            if not out and raw:
                raise zstandard.ZstdError("no complete zstd frame")
        elif encoding == "gzip":
            d = zlib.decompressobj(wbits=31)
            out = d.decompress(raw, limit + 1)
            if len(out) <= limit and not d.eof:
                raise zlib.error("truncated gzip stream")
        else:
            raise BadRequest(f"Content-Encoding {encoding!r} is not supported; send one of {', '.join(ENCODINGS)}",
                             code="unsupported_encoding")
    except (zstandard.ZstdError, zlib.error) as exc:
        raise BadRequest(f"the body does not decode as {encoding}: {exc}", code="bad_compression") from None
    if len(out) > limit:
        raise PayloadTooLarge(f"the body inflates past the limit of {limit} bytes", code="inflated_too_large")
    return out


def parse_batch(body: bytes) -> TelemetryBatch:
    if body.count(b'"equipment_id"') > MAX_BATCH_POINTS:
        raise PayloadTooLarge(f"at most {MAX_BATCH_POINTS} points per batch; split it", code="batch_too_large")
    try:
        return TelemetryBatch.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise BadRequest(f"the body is not valid JSON: {first['msg']}", code="malformed_json") from None
        where = ".".join(str(p) for p in first["loc"]) or "body"
        errors = exc.errors(include_url=False, include_context=False, include_input=False)[:20]
        raise Unprocessable(f"{where}: {first['msg']}", details={"errors": errors}) from None
