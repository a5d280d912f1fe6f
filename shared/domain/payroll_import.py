"""Importing the payroll result file of a period (issue 14): parse and check the whole file, then plan the record
changes, so a file with one bad row applies nothing and the same file twice changes nothing.

Layout (docs/people.md, "Payroll result file"): UTF-8 (a BOM is allowed), comma-separated, RFC 4180 quoting,
a header row with exactly these columns in any order, then one row per employee:

    period,employee_number,gross,deductions,net,hours_paid,leave_days_paid

`period` is `<first day>..<last day>` as in the export and is the same on every row; money has at most two
decimals, never negative, and `net = gross - deductions` to the cent; hours and leave days at most two decimals,
0 to 744 h / 0 to 31 d; `leave_days_paid` may be empty (0). An employee number (case and spaces aside) must be
an employee's and appear once.

Records (D53): `hr.payroll_import` id `<period>` (the file's SHA-256, its row count, who imported it) and one
`hr.payroll_result` per employee, id `<period>:<EMPLOYEE NUMBER>`. Importing a file for a period already imported
from another file is refused, naming the earlier file, unless the caller replaces it explicitly: then changed rows
are updated, new ones created, and rows no longer in the file deleted. Pure: no clock, no I/O."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.errors import ValidationError

IMPORT = "hr.payroll_import"
RESULT = "hr.payroll_result"
COLUMNS = ("period", "employee_number", "gross", "deductions", "net", "hours_paid", "leave_days_paid")
META_FIELDS = frozenset({"imported_by", "imported_at", "file_name"})  # who/when: not the file's figures
MAX_HOURS = Decimal(744)  # a 31-day month of every hour
MAX_LEAVE_DAYS = Decimal(31)
CENT = Decimal("0.01")


class PayrollFileError(ValidationError):
    """The file cannot be imported; `problems` lists (line number, message), nothing was applied."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        shown = "; ".join(f"line {n}: {msg}" for n, msg in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} problem(s), nothing imported: {shown}{more}", {"file": shown})
        self.problems = problems


class ImportRefused(ValidationError):
    """The period was already imported from another file and the caller did not ask to replace it."""


@dataclass(frozen=True)
class ResultRow:
    line: int
    employee_id: str
    employee_number: str
    gross: Decimal
    deductions: Decimal
    net: Decimal
    hours_paid: Decimal
    leave_days_paid: Decimal


@dataclass(frozen=True)
class PayrollFile:
    start: date
    end: date
    sha256: str
    rows: tuple[ResultRow, ...]

    @property
    def period_id(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class Change:
    entity: str
    entity_id: str
    op: str  # "create" | "update" | "delete"
    payload: dict[str, Any]


def normal_number(number: str) -> str:
    return "".join(number.split()).upper()


def result_id(period_id: str, employee_number: str) -> str:
    return f"{period_id}:{normal_number(employee_number)}"


def _period(text: str) -> tuple[date, date]:
    first, sep, last = text.strip().partition("..")
    if not sep:
        raise ValueError("period must be <first day>..<last day> (YYYY-MM-DD..YYYY-MM-DD)")
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    if end < start:
        raise ValueError("the period ends before it starts")
    return start, end


def _amount(text: str, name: str, limit: Decimal | None = None, *, empty_is_zero: bool = False) -> Decimal:
    text = text.strip()
    if not text and empty_is_zero:
        return Decimal(0)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{name} {text!r} is not a number")
    if value != value.quantize(CENT):
        raise ValueError(f"{name} {text} has more than two decimals")
    if value < 0:
        raise ValueError(f"{name} {text} is negative")
    if limit is not None and value > limit:
        raise ValueError(f"{name} {text} is more than {limit}")
    return value.quantize(CENT)


def parse(data: bytes, employees_by_number: Mapping[str, str]) -> PayrollFile:
    """Check the whole file against the layout and the employees (number → id, any case and spacing); every
    problem with its line number, or the file's rows. `PayrollFileError` when anything is wrong."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PayrollFileError([(1, f"the file is not UTF-8 text (byte {exc.start})")]) from None
    known = {normal_number(n): i for n, i in employees_by_number.items()}
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[tuple[int, str]] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise PayrollFileError([(1, f"unreadable header: {exc}")]) from None
    if header is None:
        raise PayrollFileError([(1, "the file is empty")])
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    extra = [n for n in names if n not in COLUMNS]
    if missing or extra or len(set(names)) != len(names):
        said = [f"missing {', '.join(missing)}"] * bool(missing) + [f"unknown {', '.join(extra)}"] * bool(extra)
        raise PayrollFileError([(1, "the header must name " + ", ".join(COLUMNS) + ": " +
                                 ("; ".join(said) or "a column appears twice"))])
    index = {n: names.index(n) for n in COLUMNS}
    rows: list[ResultRow] = []
    periods: set[tuple[date, date]] = set()
    seen: dict[str, int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append((reader.line_num, f"unreadable row: {exc}"))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # a blank line (often the last)
        if len(cells) != len(names):
            problems.append((line, f"{len(cells)} columns, the header has {len(names)}"))
            continue
        cell = {n: cells[i] for n, i in index.items()}
        try:
            period = _period(cell["period"])
            number = normal_number(cell["employee_number"])
            if not number:
                raise ValueError("employee_number is empty")
            if number not in known:
                raise ValueError(f"employee number {cell['employee_number'].strip()} is nobody's")
            if number in seen:
                raise ValueError(f"employee {number} appears again (first on line {seen[number]})")
            gross, deductions = _amount(cell["gross"], "gross"), _amount(cell["deductions"], "deductions")
            net = _amount(cell["net"], "net")
            if gross - deductions != net:
                raise ValueError(f"net {net} is not gross {gross} less deductions {deductions}")
            hours = _amount(cell["hours_paid"], "hours_paid", MAX_HOURS)
            leave = _amount(cell["leave_days_paid"], "leave_days_paid", MAX_LEAVE_DAYS, empty_is_zero=True)
        except ValueError as exc:
            problems.append((line, str(exc)))
            continue
        seen[number] = line
        periods.add(period)
        rows.append(ResultRow(line, known[number], number, gross, deductions, net, hours, leave))
    if len(periods) > 1:
        problems.append((1, "the rows name more than one period: "
                         + ", ".join(f"{s}..{e}" for s, e in sorted(periods)) + "; import one file per period"))
    if not rows and not problems:
        problems.append((2, "the file has no rows"))
    if problems:
        raise PayrollFileError(sorted(problems))
    (start, end), = periods
    return PayrollFile(start, end, digest, tuple(rows))


def result_payload(file: PayrollFile, row: ResultRow) -> dict[str, Any]:
    return {"period_start": file.start.isoformat(), "period_end": file.end.isoformat(),
            "employee_id": row.employee_id, "employee_number": row.employee_number, "gross": str(row.gross),
            "deductions": str(row.deductions), "net": str(row.net), "hours_paid": str(row.hours_paid),
            "leave_days_paid": str(row.leave_days_paid), "file_sha256": file.sha256, "line": row.line}


def same_figures(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Two records of one import say the same, who imported them and when aside."""
    if a is None or b is None:
        return a is b
    def figures(d: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k not in META_FIELDS}

    return figures(a) == figures(b)


def plan(file: PayrollFile, imported: Mapping[str, Any] | None, results: Mapping[str, Mapping[str, Any]], *,
         actor: str, at: datetime, file_name: str = "", replace: bool = False) -> list[Change]:
    """The record changes that import `file` given what the replica holds: the period's import record (None if
    never imported) and its results (id → data). Empty when the same file was imported already."""
    header = {"period_start": file.start.isoformat(), "period_end": file.end.isoformat(),
              "file_sha256": file.sha256, "rows": len(file.rows)}
    meta = {"imported_by": actor, "imported_at": at.isoformat(), **({"file_name": file_name} if file_name else {})}
    wanted = {result_id(file.period_id, r.employee_number): result_payload(file, r) for r in file.rows}
    if imported is not None and imported.get("file_sha256") == file.sha256 and all(
            same_figures(results.get(i), p) for i, p in wanted.items()) and set(results) <= set(wanted):
        return []
    if imported is not None and imported.get("file_sha256") != file.sha256 and not replace:
        raise ImportRefused(
            f"{file.period_id} was already imported from another file "
            f"(SHA-256 {str(imported.get('file_sha256'))[:12]}…, {imported.get('rows')} employees, "
            f"by {imported.get('imported_by') or 'someone'} at "
            f"{imported.get('imported_at') or '?'}); replace it explicitly to import this one",
            {"file": "already imported from another file: tick 'replace' to import this one instead"})
    changes = [Change(IMPORT, file.period_id, "create" if imported is None else "update", {**header, **meta})]
    for rid, payload in sorted(wanted.items()):
        old = results.get(rid)
        if old is None:
            changes.append(Change(RESULT, rid, "create", payload))
        elif not same_figures(old, payload):
            changes.append(Change(RESULT, rid, "update", {k: v for k, v in payload.items() if old.get(k) != v}))
    changes += [Change(RESULT, rid, "delete", {}) for rid in sorted(set(results) - set(wanted))]
    return changes
