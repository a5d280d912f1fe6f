"""Wire envelopes of the sync contract (DESIGN.md, "The sync contract").

A *mutation* is a command made on a device; an *outcome* is the hub's answer to one mutation;
an *event* is one committed change in the hub's event log. These models are the only shapes that
cross the wire between devices and the hub.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.ids import is_ulid

MAX_PUSH_BATCH = 1000
"""Largest number of mutations in one push; larger batches are refused with 413."""

MAX_PAYLOAD_BYTES = 64 * 1024
"""Largest JSON payload of a single mutation."""

MAX_PAYLOAD_DEPTH = 32
"""Deepest nesting of a mutation payload (the payload object itself is level 1). Forms nest a few levels (lines,
their fields); past this a payload is refused, by the device's store at enqueue and by the hub at push, long
before the hub's JSON encoder (255 levels) or Python's recursion limit would fail on it."""

MAX_BODY_DEPTH = MAX_PAYLOAD_DEPTH + 3
"""Deepest nesting of a push body: the body, its `mutations` list and a mutation object wrap each payload."""


def nests_deeper_than(value: object, limit: int) -> bool:
    """Whether JSON-like `value` (dicts, lists, scalars) has more than `limit` levels of containers. Walked
    level by level, never recursively: a hostile document cannot exhaust the stack, and the walk stops at
    the first level past the limit."""
    level: list[object] = [value]
    depth = 0
    while level:
        containers = [v for v in level if isinstance(v, (dict, list))]
        if not containers:
            return False
        depth += 1
        if depth > limit:
            return True
        level = []
        for c in containers:
            level.extend(c.values() if isinstance(c, dict) else c)
    return False


def contains_nul(value: object) -> bool:
    """Whether any string or object key in JSON-like `value` holds NUL (U+0000), which PostgreSQL's text and jsonb
    cannot store. Iterative, so no nesting can exhaust the stack."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                return True
        elif isinstance(v, dict):
            if any(isinstance(k, str) and "\x00" in k for k in v):
                return True
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


class Op(StrEnum):
    CREATE = "create"
    UPDATE = "update"  # payload: the changed fields only
    DELETE = "delete"  # payload: {} (or a reason)
    ADJUST = "adjust"  # payload: {field: numeric delta}; commutative, never overwrites


class OutcomeStatus(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # seen before: `original` carries the first outcome, replayed
    MERGED = "merged"
    CONFLICT = "conflict"
    REJECTED = "rejected"
    HELD = "held"  # arrived past a device_seq gap: stored by the hub, applied when the gap fills

    @property
    def is_final(self) -> bool:
        """A final outcome was committed by the hub: the device may delete the mutation."""
        return self is not OutcomeStatus.HELD


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mutation(_Wire):
    id: str = Field(description="ULID; the idempotency key")
    device_id: str = Field(min_length=1, max_length=64)
    device_seq: int = Field(ge=1, description="1, 2, 3… per device, no gaps")
    tenant_id: str = Field(min_length=1, max_length=64)
    site_id: str | None = Field(default=None, max_length=64)
    actor: str = Field(min_length=1, max_length=128, description="user id, or 'device:<id>' for agents")
    entity: str = Field(min_length=1, max_length=64, description="registry name, e.g. 'inventory.item'")
    entity_id: str = Field(min_length=1, max_length=128)
    op: Op
    base_version: int = Field(ge=0, description="version the change was made against; 0 = did not exist")
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime

    @field_validator("id")
    @classmethod
    def _id_is_ulid(cls, v: str) -> str:
        if not is_ulid(v):
            raise ValueError("id must be a ULID")
        return v.upper()

    @field_validator("created_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("created_at must carry a time zone")
        try:
            return v.astimezone(UTC)
        except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past year 9999 in UTC
            raise ValueError(f"created_at {v.isoformat()} is out of range: in UTC it falls outside years "
                             "1 to 9999") from None


class Outcome(_Wire):
    mutation_id: str
    device_seq: int
    status: OutcomeStatus
    version: int | None = Field(default=None, description="entity version after applying, if any")
    seq: int | None = Field(default=None, description="event-log seq of the resulting event, if any")
    resolution: str | None = None  # how a conflict or merge was resolved, in words
    conflict_id: str | None = None
    code: str | None = None  # machine-readable reason for rejected / held
    message: str | None = None  # a sentence a person can act on
    original: Outcome | None = None  # for duplicate: the first outcome


class PushRequest(_Wire):
    device_id: str = Field(min_length=1, max_length=64)
    mutations: list[Mutation] = Field(max_length=MAX_PUSH_BATCH)
    outbox_depth: int | None = Field(default=None, ge=0, description="reported for the hub's status view")


class PushResponse(_Wire):
    outcomes: list[Outcome]
    head_seq: int = Field(description="the tenant's event-log head after this push")


class Event(_Wire):
    seq: int
    id: str
    tenant_id: str
    site_id: str | None
    type: str  # "<entity>.<created|updated|deleted|adjusted|resolved>"
    entity: str
    entity_id: str
    version: int
    timestamp: datetime
    payload: dict[str, Any]  # the entity's full state after the change ({} when deleted)
    correlation_id: str | None  # the mutation id (or conflict id for a resolution)


class ChangesPage(_Wire):
    events: list[Event]
    next_after: int = Field(description="pass as ?after= to get the next page")
    head_seq: int
    has_more: bool


class ErrorBody(_Wire):
    """The body of every 4xx answer."""

    code: str
    message: str
    details: dict[str, Any] | None = None


class SnapshotRecord(_Wire):
    entity: str
    entity_id: str
    site_id: str | None
    version: int
    data: dict[str, Any]


class Snapshot(_Wire):
    """Every record the caller may see, consistent as of `seq`: resume the stream with after=seq."""

    seq: int
    records: list[SnapshotRecord]
    next_cursor: str | None = None  # paging through large snapshots


def event_type(entity: str, op: Op) -> str:
    """The event type for an operation, e.g. ('inventory.item', UPDATE) → 'inventory.item.updated'."""
    suffix = {Op.CREATE: "created", Op.UPDATE: "updated", Op.DELETE: "deleted", Op.ADJUST: "adjusted"}[op]
    return f"{entity}.{suffix}"
