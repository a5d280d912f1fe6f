"""The entity registry: each synced entity declares its fields, its conflict strategy and which
fields move as deltas. The hub validates every mutation against it; the desktop validates forms
with the same rules, so a form that saves offline is never rejected later for a rule the desktop knew.

Modules add their entities with `register()` at import time (see `shared.domain`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from shared.conflicts import Strategy
from shared.envelopes import MAX_PAYLOAD_BYTES, Op
from shared.errors import UnknownEntityError, ValidationError

FieldType = Literal["str", "int", "number", "bool", "date", "datetime", "dict", "list"]


@dataclass(frozen=True)
class FieldSpec:
    type: FieldType
    required: bool = False
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    choices: tuple[str, ...] | None = None
    label: str | None = None  # shown next to form fields in the desktop


@dataclass(frozen=True)
class EntitySpec:
    name: str  # "<context>.<thing>", e.g. "inventory.item"; the context is the hub schema
    fields: Mapping[str, FieldSpec]
    strategy: Strategy = Strategy.SERVER_WINS
    adjustable: frozenset[str] = field(default_factory=frozenset)  # fields that move by op=adjust
    create_only: bool = False  # ledger-like entities: rows are appended, never changed
    site_scoped: bool = True  # False: visible to the whole tenant
    # Kept by the hub from other records (D27): devices read it, never write it (a device's write would count
    # a movement the hub may refuse).
    derived_by: str | None = None
    # A rule across fields of a whole record (clock-out after clock-in), run on a create once every field passed
    # its own check; raises ValidationError naming the field to fix. Device and hub run the same function.
    record_check: Callable[[Mapping[str, Any]], None] | None = field(default=None, compare=False)

    @property
    def context(self) -> str:
        return self.name.split(".", 1)[0]


_REGISTRY: dict[str, EntitySpec] = {}


def register(spec: EntitySpec) -> EntitySpec:
    """Add an entity to the registry (idempotent for an identical spec)."""
    existing = _REGISTRY.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"entity {spec.name!r} is registered twice with different specs")
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> EntitySpec:
    """The spec of an entity, or UnknownEntityError."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownEntityError(f"unknown entity {name!r}", {"entity": "not a known entity"}) from None


def all_specs() -> list[EntitySpec]:
    _ensure_loaded()
    return sorted(_REGISTRY.values(), key=lambda s: s.name)


def _ensure_loaded() -> None:
    # The domain modules register their entities on import; importing here keeps callers simple.
    import shared.domain  # noqa: F401


def _check_value(name: str, spec: FieldSpec, value: Any) -> str | None:
    if value is None:
        return "is required" if spec.required else None
    t = spec.type
    if t == "str":
        if not isinstance(value, str):
            return "must be text"
        if spec.required and not value.strip():
            return "is required"
        if spec.max_length is not None and len(value) > spec.max_length:
            return f"must be at most {spec.max_length} characters"
        if spec.choices is not None and value not in spec.choices:
            return "must be one of " + ", ".join(spec.choices)
        return None
    if t in ("int", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if t == "int" and not float(value).is_integer():
            return "must be a whole number"
        if value != value or value in (float("inf"), float("-inf")):
            return "must be a finite number"
        if spec.min is not None and value < spec.min:
            return f"must be at least {spec.min:g}"
        if spec.max is not None and value > spec.max:
            return f"must be at most {spec.max:g}"
        return None
    if t == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if t == "date":
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return "must be a date (YYYY-MM-DD)"
        return None
    if t == "datetime":
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return "must be a date and time (ISO 8601)"
        return None if parsed.tzinfo is not None else "must carry a time zone"
    if t == "dict":
        return None if isinstance(value, dict) else "must be an object"
    if t == "list":
        return None if isinstance(value, list) else "must be a list"
    return f"has unknown type {t}"


def validate_mutation(entity: str, op: Op, payload: Mapping[str, Any]) -> EntitySpec:
    """Check one mutation's payload against the registry. Raises ValidationError (with
    per-field messages) or UnknownEntityError; returns the spec when the payload is acceptable."""
    spec = get_spec(entity)
    if not isinstance(payload, Mapping):
        raise ValidationError("payload must be an object")
    if len(_json_size_hint(payload)) > MAX_PAYLOAD_BYTES:
        raise ValidationError(f"payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    if spec.derived_by is not None:
        raise ValidationError(f"{entity} is kept by the hub from {spec.derived_by}; write those instead",
                              {"entity": f"derived from {spec.derived_by}"})
    if spec.create_only and op is not Op.CREATE:
        raise ValidationError(f"{entity} records are append-only: only 'create' is allowed")
    errors: dict[str, str] = {}
    unknown = [k for k in payload if k not in spec.fields]
    if op is not Op.DELETE:
        for k in unknown:
            errors[k] = "is not a field of " + entity
    if op is Op.CREATE:
        for name, fspec in spec.fields.items():
            problem = _check_value(name, fspec, payload.get(name))
            if problem:
                errors[name] = problem
    elif op is Op.UPDATE:
        if not payload:
            errors["payload"] = "an update must change at least one field"
        for name, value in payload.items():
            field_spec = spec.fields.get(name)
            if field_spec is None:
                continue
            if name in spec.adjustable:
                errors[name] = "moves only by adjustment (op=adjust), never by overwrite"
                continue
            problem = _check_value(name, field_spec, value)
            if problem:
                errors[name] = problem
    elif op is Op.ADJUST:
        if not payload:
            errors["payload"] = "an adjustment must move at least one field"
        for name, delta in payload.items():
            if name not in spec.adjustable:
                errors[name] = "cannot be adjusted"
            elif isinstance(delta, bool) or not isinstance(delta, int | float) or delta != delta:
                errors[name] = "delta must be a number"
    if errors:
        first = next(iter(errors.items()))
        raise ValidationError(f"{entity}: {first[0]} {first[1]}", errors)
    if op is Op.CREATE and spec.record_check is not None:
        spec.record_check(payload)
    return spec


def _json_size_hint(payload: Mapping[str, Any]) -> bytes:
    import orjson

    try:
        return orjson.dumps(payload)
    except TypeError as exc:
        raise ValidationError(f"payload is not JSON: {exc}") from None
