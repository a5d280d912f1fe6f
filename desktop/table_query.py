"""Paged reads for the desktop's big tables, fast at a million rows.

The store's generic `query` binds the JSON path as a parameter, which SQLite cannot match to an index, so
sorting or filtering a large entity scans every row (~0.6 s per action at 1,000,000 rows). Here the entity and
field names are checked against the entity registry and written into the SQL as literals, and the desktop adds
partial expression indexes for the columns people sort and filter by (its own migration, on its own indexes):
a page then walks an index and stops after PAGE matches."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from shared.entities import get_spec
from shared.store import LocalRecord, LocalStore

INDEXED = {
    "equipment.unit": ("fleet_no", "equipment_class", "make", "model", "status"),
    "equipment.usage_log": ("equipment_id", "shift_date", "shift", "operating_hours", "source"),
    "equipment.breakdown": ("equipment_id", "started_at", "cause", "fault_code"),
    # Payables' lookups by purchase order (a typed invoice's match) and an invoice's approval decisions: a scan
    # of two years of them per lookup was most of the Vendor invoices screen's 4 s. Appended: steps run in order.
    "finance.vendor_invoice": ("po_id",),
    "procurement.goods_receipt": ("po_id",),
    "approvals.decision": ("request_id",),
}
# Per (entity, group field, numeric field): an index on (group, number) over the numeric values only, so the top
# number of each group is one seek per group (each machine's last hour-meter reading) instead of a GROUP BY over
# every row (0.9 s over 292,000 shift logs).
TOP_INDEXED = {("equipment.usage_log", "equipment_id", "hour_meter_end")}
# Per entity: a version per value of (fields...), bumped by triggers on every write to one of its records, and an
# index on those fields: stock_ledger folds again only the store/items whose movements changed (D87).
FINGERPRINTED = {"inventory.movement": ("store_id", "item_id")}
_NAME = re.compile(r"^[a-z][a-z0-9_.]*$")


def _literal(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a plain name: {name!r}")
    return name


def _expr(field: str) -> str:
    return f"json_extract(local_state, '$.{_literal(field)}')"


def json_field(field: str) -> str:
    """The SQL of a field's value, spelled as the desk indexes spell it (a query must match it to use one)."""
    return _expr(field)


def index_name(entity: str, field: str) -> str:
    return f"desk_{_literal(entity).replace('.', '_')}_{_literal(field)}"


def _numeric(field: str) -> str:
    return f"typeof({_expr(field)}) IN ('integer', 'real')"


def top_index_name(entity: str, group: str, by: str) -> str:
    return f"{index_name(entity, group)}_top_{_literal(by)}"


def fingerprint_index_name(entity: str) -> str:
    return f"desk_{_literal(entity).replace('.', '_')}_fingerprint"


def versions_table(entity: str) -> str:
    return f"desk_{_literal(entity).replace('.', '_')}_versions"


def _versions_step(entity: str, fields: tuple[str, ...]) -> str:
    """The index, the version table (filled from the rows already there) and the triggers that keep it: every
    insert, update (old and new values: a row may change group) and delete of the entity's records bumps the
    version of its group. The group is keyed by quote() of each JSON value: 5, '5' and NULL stay apart."""
    table, ent = versions_table(entity), _literal(entity)
    cols = ", ".join(f"v{n}" for n in range(len(fields)))
    keys = ", ".join(f"k{n}" for n in range(len(fields)))

    def of(row: str) -> str:
        values = [f"json_extract({row}.local_state, '$.{_literal(f)}')" for f in fields]
        return ", ".join([*(f"quote({v})" for v in values), *values])

    def bump(row: str) -> str:
        return (f"INSERT INTO {table} ({keys}, {cols}, version) VALUES ({of(row)}, 1) "
                f"ON CONFLICT ({keys}) DO UPDATE SET version = version + 1;")

    name = f"desk_{ent.replace('.', '_')}_bump"
    return (f"CREATE INDEX {fingerprint_index_name(entity)} ON records({', '.join(_expr(f) for f in fields)}, "
            f"entity_id) WHERE {_live(entity)};\n"
            f"CREATE TABLE {table} ({', '.join(f'k{n} TEXT NOT NULL' for n in range(len(fields)))}, {cols}, "
            f"version INTEGER NOT NULL, PRIMARY KEY ({keys}));\n"
            f"INSERT INTO {table} ({keys}, {cols}, version) SELECT DISTINCT {of('records')}, 1 FROM records "
            f"WHERE entity = '{ent}';\n"
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON records WHEN NEW.entity = '{ent}' BEGIN {bump('NEW')} END;\n"
            f"CREATE TRIGGER {name}_update AFTER UPDATE ON records WHEN NEW.entity = '{ent}' OR OLD.entity = '{ent}' "
            f"BEGIN {bump('OLD')} {bump('NEW')} END;\n"
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON records WHEN OLD.entity = '{ent}' BEGIN {bump('OLD')} END;")


def _live(entity: str) -> str:
    return f"entity = '{_literal(entity)}' AND deleted = 0"


def index_steps() -> list[str]:
    steps = []
    for entity, fields in INDEXED.items():
        for field in fields:
            name = index_name(entity, field)
            steps.append(f"CREATE INDEX IF NOT EXISTS {name} ON records({_expr(field)}, entity_id) "
                         f"WHERE {_live(entity)}")
    # Appended after the field indexes (a store that made those runs only these).
    for entity, group, by in sorted(TOP_INDEXED):
        steps.append(f"CREATE INDEX IF NOT EXISTS {top_index_name(entity, group, by)} ON records({_expr(group)}, "
                     f"{_expr(by)}, entity_id) WHERE {_live(entity)} AND {_numeric(by)}")
    for entity, fields in sorted(FINGERPRINTED.items()):
        steps.append(_versions_step(entity, fields))
    return steps


def ensure_indexes(store: LocalStore) -> None:
    store.migrate("desktop.table_indexes", index_steps())


def _check_field(entity: str, field: str) -> str:
    if field not in get_spec(entity).fields:
        raise ValueError(f"{entity} has no field {field!r}")
    return field


def _where(entity: str, where: Mapping[str, Any], index: str | None = None) -> tuple[str, list[Any]]:
    # Without statistics the planner prefers the primary key and sorts a million rows; INDEXED BY names the
    # partial index that already holds the order (or the filter's matches, in entity_id order).
    hint = f" INDEXED BY {index}" if index else ""
    sql = f"FROM records{hint} WHERE entity = '{_literal(entity)}' AND deleted = 0"
    params: list[Any] = []
    for field, value in where.items():
        sql += f" AND {_expr(_check_field(entity, field))} = ?"
        params.append(value)
    return sql, params


def page(store: LocalStore, entity: str, *, where: Mapping[str, Any], order_by: str | None, limit: int,
         offset: int) -> list[LocalRecord]:
    field = order_by.lstrip("-") if order_by else None
    indexed = INDEXED.get(entity, ())
    if field is not None:
        index = index_name(entity, field) if field in indexed else None
    else:
        index = next((index_name(entity, f) for f in where if f in indexed), None)
    if index is not None:
        ensure_indexes(store)  # INDEXED BY fails on a store whose window never made them (lines_for's was)
    sql, params = _where(entity, where, index)
    if order_by:
        field, desc = (order_by[1:], " DESC") if order_by.startswith("-") else (order_by, "")
        sql += f" ORDER BY {_expr(_check_field(entity, field))}{desc}, entity_id{desc}"
    else:
        sql += " ORDER BY entity_id"
    sql += " LIMIT ? OFFSET ?"
    rows = store.connection.execute("SELECT entity_id, local_state, server_version, pending, deleted, site_id "
                                    + sql, [*params, limit, offset]).fetchall()
    return _records(entity, rows)


def max_number(store: LocalStore, entity: str, field: str, where: Mapping[str, Any]) -> float | None:
    """The highest numeric `field` among the matching records (text and missing values ignored), read through
    the index of a filtered field: one machine's last hour-meter reading among 300,000 shift logs."""
    indexed = INDEXED.get(entity, ())
    index = next((index_name(entity, f) for f in where if f in indexed), None)
    if index is not None:
        ensure_indexes(store)
    sql, params = _where(entity, where, index)
    value = _expr(_check_field(entity, field))
    row = store.connection.execute(f"SELECT max(CASE WHEN typeof({value}) IN ('integer', 'real') THEN {value} END) "
                                   + sql, params).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def count(store: LocalStore, entity: str, where: Mapping[str, Any]) -> int:
    sql, params = _where(entity, where)
    return int(store.connection.execute("SELECT count(*) " + sql, params).fetchone()[0])


def _records(entity: str, rows: list[Any]) -> list[LocalRecord]:
    return [LocalRecord(entity, r[0], None if r[1] is None else orjson.loads(r[1]), r[2], bool(r[3]), bool(r[4]),
                        r[5]) for r in rows]


def between(store: LocalStore, entity: str, field: str, start: str, stop: str) -> list[LocalRecord]:
    """Records whose `field` is in [start, stop) in text order (ISO dates and timestamps), read through the
    field's index: a month of shift logs out of two years without parsing the other 23 months."""
    if field not in INDEXED.get(entity, ()):
        raise ValueError(f"{entity}.{field} has no desktop index")
    ensure_indexes(store)  # INDEXED BY fails on a store whose window never made them (two cheap reads after)
    sql, params = _where(entity, {}, index_name(entity, field))
    sql += f" AND {_expr(field)} >= ? AND {_expr(field)} < ? ORDER BY {_expr(field)}, entity_id"
    rows = store.connection.execute("SELECT entity_id, local_state, server_version, pending, deleted, site_id "
                                    + sql, [*params, start, stop]).fetchall()
    return _records(entity, rows)


def fields_between(store: LocalStore, entity: str, field: str, start: str, stop: str,
                   fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """`between`, but only the named fields of each record (missing ones left out, as a payload would), read by
    SQLite: a month of a site's shift logs (12,000) without building their records (0.15 s -> 0.03 s)."""
    if field not in INDEXED.get(entity, ()):
        raise ValueError(f"{entity}.{field} has no desktop index")
    ensure_indexes(store)
    sql, params = _where(entity, {}, index_name(entity, field))
    sql += f" AND {_expr(field)} >= ? AND {_expr(field)} < ? ORDER BY {_expr(field)}, entity_id"
    # json_type tells a missing field from a JSON null; json_extract gives numbers and text as the payload has them.
    columns = ", ".join(f"json_type(local_state, '$.{_literal(_check_field(entity, f))}'), {_expr(f)}"
                        for f in fields)
    out = []
    for row in store.connection.execute(f"SELECT {columns} " + sql, [*params, start, stop]).fetchall():
        out.append({f: row[2 * n + 1] for n, f in enumerate(fields) if row[2 * n] is not None})
    return out


def ids(store: LocalStore, entity: str) -> set[str]:
    """The ids of an entity's live records, without reading them (is this plan's work order raised?)."""
    return {r[0] for r in store.connection.execute(
        f"SELECT entity_id FROM records WHERE {_live(entity)}").fetchall()}


def top_per_group(store: LocalStore, entity: str, group: str, by: str) -> list[LocalRecord]:
    """Per value of `group`, the record with the highest numeric `by` (the highest entity_id among equal ones),
    e.g. each machine's highest hour-meter reading, through the (group, by) index: the groups are walked by
    seeking the next one past the last (a skip scan), and each group's top is the last entry of its range."""
    if (entity, group, by) not in TOP_INDEXED:
        raise ValueError(f"{entity} has no desktop index on ({group}, {by})")
    ensure_indexes(store)
    rows = store.connection.execute(top_per_group_sql(entity, group, by)).fetchall()
    return _records(entity, rows)


def top_per_group_sql(entity: str, group: str, by: str) -> str:
    """The statement `top_per_group` runs (tests read its plan: every step must be an index search)."""
    g, v = _expr(_check_field(entity, group)), _expr(_check_field(entity, by))
    source = f"records INDEXED BY {top_index_name(entity, group, by)} WHERE {_live(entity)} AND {_numeric(by)}"
    top = f"SELECT entity_id FROM {source} AND {g} IS k.g ORDER BY {v} DESC, entity_id DESC LIMIT 1"
    # min() skips NULL: a group of logs naming no machine is added by itself (GROUP BY made one of it too).
    return (f"WITH RECURSIVE k(g) AS (SELECT min({g}) FROM {source} UNION ALL "
            f"SELECT (SELECT min({g}) FROM {source} AND {g} > k.g) FROM k WHERE k.g IS NOT NULL), "
            f"groups(g) AS (SELECT g FROM k WHERE g IS NOT NULL UNION ALL "
            f"SELECT NULL WHERE EXISTS (SELECT 1 FROM {source} AND {g} IS NULL)) "
            f"SELECT r.entity_id, r.local_state, r.server_version, r.pending, r.deleted, r.site_id "
            f"FROM groups AS k JOIN records AS r ON r.entity = '{_literal(entity)}' AND r.entity_id = ({top})")
