"""Conflict resolution: pure functions shared by the hub (authoritative) and devices (optimistic).

The hub calls `decide()` once per mutation with the record as it stands. A mutation is *stale*
when the record moved past `base_version` because of someone else's write (the caller decides that:
versions written by the same device's earlier mutations are its own lineage and do not count).

Strategies (roadmap 1.4.3):
- server_wins: a stale change is discarded; an informational conflict record keeps it.
- client_override: a stale change waits in a conflict record and takes effect only once approved.
- field_merge: three-way per field against the base version; fields both sides changed differently
  keep the server's value and are listed in the conflict record.
- manual: a stale change waits in a conflict record that a person resolves.
- adjustment: quantities move as deltas (op=adjust); deltas commute and are never stale.

Whatever the strategy, a create of a record that already exists with exactly the same data changes nothing
(`UNCHANGED`, D61): two devices that compute the same id from the same inputs (roster rows, payroll results)
converge without a new version and without a conflict record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.envelopes import Op


class Strategy(StrEnum):
    SERVER_WINS = "server_wins"
    CLIENT_OVERRIDE = "client_override"
    FIELD_MERGE = "field_merge"
    MANUAL = "manual"
    ADJUSTMENT = "adjustment"


class DecisionKind(StrEnum):
    APPLY = "apply"  # write new_state as the next version
    MERGE = "merge"  # write new_state (a three-way merge) as the next version
    CONFLICT = "conflict"  # record a conflict; write new_state only if it is not None
    REJECT = "reject"  # nothing written
    UNCHANGED = "unchanged"  # nothing written: the record already is what the mutation says (accepted as applied)


@dataclass(frozen=True)
class Record:
    """A record as the hub holds it. `data is None` means it does not exist (or never did)."""

    version: int
    data: dict[str, Any] | None
    deleted: bool = False

    @property
    def exists(self) -> bool:
        return self.data is not None and not self.deleted


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    new_state: dict[str, Any] | None = None  # the state to write; None = write nothing
    delete: bool = False  # the write is a deletion
    needs_person: bool = False  # the conflict record stays open until someone resolves it
    resolution: str | None = None  # in words, for the outcome and the conflict record
    conflicting_fields: tuple[str, ...] = ()
    code: str | None = None  # for REJECT
    message: str | None = None


@dataclass(frozen=True)
class FieldMerge:
    merged: dict[str, Any]
    conflicting: tuple[str, ...] = field(default_factory=tuple)


class OperationError(ValueError):
    """The operation cannot be applied to this state (e.g. adjusting a non-numeric field)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def apply_op(state: Mapping[str, Any] | None, op: Op, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The state after applying one operation without any conflict check (devices use it for the
    optimistic local effect; the hub for non-stale writes). Returns None for a deletion."""
    if op is Op.DELETE:
        return None
    if op is Op.CREATE:
        return dict(payload)
    base = dict(state or {})
    if op is Op.UPDATE:
        base.update(payload)
        return base
    if op is Op.ADJUST:
        for name, delta in payload.items():
            if isinstance(delta, bool) or not isinstance(delta, int | float):
                raise OperationError("bad_delta", f"adjustment of '{name}' must be a number, got {delta!r}")
            current = base.get(name, 0)
            if current is None:
                current = 0
            if isinstance(current, bool) or not isinstance(current, int | float):
                raise OperationError("not_numeric", f"field '{name}' is not numeric and cannot be adjusted")
            base[name] = current + delta
        return base
    raise OperationError("unknown_op", f"unknown operation {op!r}")


def three_way_merge(
    base: Mapping[str, Any], server: Mapping[str, Any], client_changes: Mapping[str, Any]
) -> FieldMerge:
    """Merge the client's changed fields into the server state, per field, from the base version.

    A field the server left at its base value takes the client's value. A field both sides changed
    to the same value is not a conflict. A field both changed differently keeps the server's value
    and is reported as conflicting."""
    merged = dict(server)
    conflicting: list[str] = []
    for name, client_value in client_changes.items():
        base_value = base.get(name)
        server_value = server.get(name)
        if server_value == base_value or server_value == client_value:
            merged[name] = client_value
        else:
            conflicting.append(name)
    return FieldMerge(merged=merged, conflicting=tuple(sorted(conflicting)))


def same_data(a: Any, b: Any) -> bool:
    """Equal as JSON values: like `==`, except that a boolean never equals a number (`True == 1` in Python, not
    in JSON); 1 and 1.0 are the same JSON number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_data(v, b[k]) for k, v in a.items())
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_data(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def decide(
    strategy: Strategy,
    op: Op,
    payload: Mapping[str, Any],
    current: Record,
    *,
    stale: bool,
    base_state: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide what one mutation does to `current`.

    `stale` is True when someone else wrote the record after the mutation's base version.
    `base_state` is the record's state at the base version (needed for field_merge)."""
    try:
        if op is Op.ADJUST:
            if not current.exists:
                return Decision(
                    DecisionKind.REJECT, code="not_found", message="cannot adjust a record that does not exist"
                )
            return Decision(DecisionKind.APPLY, new_state=apply_op(current.data, op, payload))
        if op is Op.CREATE and current.exists and same_data(current.data, payload):
            # Created again exactly as it stands (another device's identical create, or this device's own
            # again): nothing to write, nothing to record, whatever was written in between.
            return Decision(DecisionKind.UNCHANGED, resolution="already so: the hub holds this record as created")
        if op is Op.CREATE and current.exists and not stale:
            # The device's own earlier create: a re-create replaces its state.
            return Decision(DecisionKind.APPLY, new_state=apply_op(None, op, payload))
        if op is Op.CREATE and not current.exists and current.version == 0:
            return Decision(DecisionKind.APPLY, new_state=apply_op(None, op, payload))
        if op in (Op.UPDATE, Op.DELETE) and not current.exists and not stale:
            return Decision(DecisionKind.REJECT, code="not_found", message="the record does not exist (or was deleted)")
        if not stale:
            new_state = apply_op(current.data, op, payload)
            return Decision(DecisionKind.APPLY, new_state=new_state, delete=new_state is None)
    except OperationError as exc:
        return Decision(DecisionKind.REJECT, code=exc.code, message=str(exc))

    return _decide_stale(strategy, op, payload, current, base_state)


def _decide_stale(
    strategy: Strategy,
    op: Op,
    payload: Mapping[str, Any],
    current: Record,
    base_state: Mapping[str, Any] | None,
) -> Decision:
    if strategy is Strategy.ADJUSTMENT:
        # Non-delta writes to an adjustment entity still must not overwrite a moved quantity.
        return Decision(
            DecisionKind.CONFLICT,
            needs_person=True,
            resolution="quantities move only as deltas: the overwrite waits for a person",
        )
    if strategy is Strategy.SERVER_WINS:
        return Decision(DecisionKind.CONFLICT, resolution="server_wins: the hub's version was kept")
    if strategy is Strategy.CLIENT_OVERRIDE:
        return Decision(
            DecisionKind.CONFLICT,
            needs_person=True,
            resolution="client_override: the device's version waits for approval",
        )
    if strategy is Strategy.MANUAL:
        return Decision(DecisionKind.CONFLICT, needs_person=True, resolution="manual: waits for a person")
    if strategy is Strategy.FIELD_MERGE:
        if op is not Op.UPDATE or not current.exists or base_state is None:
            # Deletes and re-creates cannot be merged field by field: the server's version stands.
            return Decision(DecisionKind.CONFLICT, resolution="field_merge: cannot merge a delete or create; hub kept")
        result = three_way_merge(base_state, current.data or {}, payload)
        if not result.conflicting:
            return Decision(DecisionKind.MERGE, new_state=result.merged, resolution="field_merge: merged")
        return Decision(
            DecisionKind.CONFLICT,
            new_state=result.merged,
            conflicting_fields=result.conflicting,
            resolution="field_merge: merged; the hub's value kept for " + ", ".join(result.conflicting),
        )
    raise ValueError(f"unknown strategy {strategy!r}")


def is_own_lineage(writers_since_base: list[str], device_id: str) -> bool:
    """True when every version written after the base was written by this device: its own earlier
    mutations (pushed before this one) do not make this one stale."""
    return all(writer == device_id for writer in writers_since_base)
