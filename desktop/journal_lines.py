"""What the manual journal screen reads from the office's replica and checks before anything is written: the lines
a person typed as the record's payload, their live totals, the office's chart (its `finance.account` and
`finance.dimension_value` records over the standard chart, built as the hub builds it), and the journals with
their status (queued here, posted by the hub, or refused by it with the hub's reason).

The checks are the shared rules the hub runs (`manual_journal.manual_entry`, `check_against_chart`,
`check_journal_reversal`), so what the desk refuses is what the hub would refuse; only the closed periods are
the hub's alone (the desk does not hold them): such a journal is refused by the hub and shows as refused here
and on "Refused by the hub"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.domain.accounts import ChartOfAccounts, Dimension
from shared.domain.finance_entities import ACCOUNT_ENTITY, DIMENSION_VALUE_ENTITY, chart_from_records
from shared.domain.journal import LedgerEntry
from shared.domain.manual_journal import ENTITY, check_against_chart, entry_key, manual_entry
from shared.domain.stock_postings import default_accounts
from shared.errors import ValidationError
from shared.store import LocalStore

LINE_HEADERS = ["Account *", "Debit", "Credit", "Site", "Cost centre", "Equipment", "Project", "Memo"]
DIMENSION_COLUMNS = {3: Dimension.SITE, 4: Dimension.COST_CENTRE, 5: Dimension.EQUIPMENT, 6: Dimension.PROJECT}
ZERO = Decimal("0.00")


def typed_lines(rows: Sequence[Sequence[str]]) -> list[list[str]]:
    """The rows a person filled in (blank rows left out), each cell stripped."""
    return [cells for cells in ([c.strip() for c in row] for row in rows) if any(cells)]


def line_payloads(rows: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    """The record's `lines`: amounts as the text typed (the record check refuses what is not cents)."""
    out = []
    for cells in typed_lines(rows):
        line: dict[str, Any] = {"account": cells[0], "debit": cells[1] or "0", "credit": cells[2] or "0",
                                "dimensions": {d.value: cells[c] for c, d in DIMENSION_COLUMNS.items() if cells[c]}}
        if cells[7]:
            line["memo"] = cells[7]
        out.append(line)
    return out


@dataclass(frozen=True)
class Totals:
    debit: Decimal
    credit: Decimal
    unreadable: tuple[int, ...]  # 1-based line numbers whose amount is not a number

    @property
    def difference(self) -> Decimal:
        return self.debit - self.credit


def totals(rows: Sequence[Sequence[str]]) -> Totals:
    """Σ debits and Σ credits as typed so far (a line whose amount is not a number is named, not counted)."""
    debit = credit = ZERO
    bad: list[int] = []
    for n, cells in enumerate(typed_lines(rows), 1):
        try:
            d, c = Decimal(cells[1] or "0"), Decimal(cells[2] or "0")
        except InvalidOperation:
            bad.append(n)
            continue
        if not (d.is_finite() and c.is_finite()):
            bad.append(n)
            continue
        debit, credit = debit + d, credit + c
    return Totals(debit, credit, tuple(bad))


def _states(store: LocalStore, entity: str) -> list[dict[str, Any]]:
    return [dict(r.state) for r in store.query(entity) if r.state is not None]


def office_chart(store: LocalStore) -> tuple[ChartOfAccounts, frozenset[Dimension]]:
    """The chart as the hub builds it from the records this office holds (raises ChartError when it does not
    build: the chart screen says which account to fix)."""
    return chart_from_records(_states(store, ACCOUNT_ENTITY), _states(store, DIMENSION_VALUE_ENTITY),
                              default_accounts())


def journal_problems(store: LocalStore, payload: Mapping[str, Any]) -> dict[str, str]:
    """Field → what the hub would refuse in this journal ({} when it may be written). Lines' problems are under
    "lines", each naming its line number."""
    if not str(payload.get("posted_on") or "").strip():
        return {"posted_on": "is required: the posting date decides the period"}
    try:
        # Not written yet, so no record id: the message names it by the reference typed, as the record check does.
        entry = manual_entry(str(payload.get("reference") or "(new journal)"), payload)
    except ValidationError as exc:
        field = "posted_on" if "posting_date" in exc.field_errors else "lines"
        return {field: str(exc)}
    try:
        chart, open_dims = office_chart(store)
    except ValidationError as exc:
        return {"lines": f"this office's chart does not build ({exc}); fix it on the chart screen first"}
    refused = check_against_chart(entry, chart, open_dims)
    if refused:
        return {"lines": "; ".join(f"line {n + 1}: {message}" for n, message in sorted(refused.items()))}
    return {}


@dataclass(frozen=True)
class JournalRow:
    journal_id: str
    state: dict[str, Any]
    status: str  # queued / posted / refused
    reason: str = ""  # the hub's refusal, or who reversed it
    reversed_by: str = ""  # the record id of the journal that reverses this one (queued or posted)

    @property
    def total(self) -> Decimal:
        return sum((Decimal(str(ln.get("debit") or "0")) for ln in self.state.get("lines") or []
                    if isinstance(ln, Mapping)), ZERO)


def journal_rows(store: LocalStore) -> list[JournalRow]:
    """Every journal this office knows: the replica's (queued until the hub confirms, then posted: the hub
    posts in the write's transaction, so a confirmed journal is a posted one) and the ones the hub refused, which
    the store keeps in its rejections with the reason and what was typed."""
    records = [(r.entity_id, dict(r.state), r.pending) for r in store.query(ENTITY, order_by="-posted_on")
               if r.state is not None]
    reverser = {str(st["reverses"]): jid for jid, st, _ in records if st.get("reverses")}
    rows = [JournalRow(jid, st, "queued" if pending else "posted",
                       f"reversed by {reverser[jid]}" if jid in reverser else "", reverser.get(jid, ""))
            for jid, st, pending in records]
    for r in store.rejections():
        if r["entity"] == ENTITY and (r.get("mutation") or {}).get("op") == "create":
            rows.append(JournalRow(str(r["entity_id"]), dict(r["mutation"].get("payload") or {}), "refused",
                                   str(r.get("message") or r.get("code") or "")))
    return rows


def reversal_target(store: LocalStore, original_id: str) -> tuple[LedgerEntry, str | None]:
    """The original's entry and the key of what already reverses it here (queued or posted), for the ledger's
    reversal rule; raises ValidationError when the original is not a journal this office holds."""
    record = store.get(ENTITY, original_id)
    if record is None or record.state is None:
        raise ValidationError(f"journal {original_id} is not on this PC", {"reverse": "choose a posted journal"})
    if record.pending:
        raise ValidationError(f"journal {original_id} is still queued: reverse it once the hub has posted it",
                              {"reverse": "not posted yet"})
    by = next((r.entity_id for r in store.query(ENTITY, where={"reverses": original_id})), None)
    return manual_entry(original_id, record.state), None if by is None else entry_key(by)


def posting_choices(store: LocalStore) -> list[str]:
    """"code name" of every account a journal line may post to in the office's chart (headers left out), for the
    account cell's completer; [] while the chart does not build."""
    try:
        chart, _ = office_chart(store)
    except ValidationError:
        return []
    return [f"{a.code} {a.name}" for a in sorted(chart.accounts.values(), key=lambda a: a.code) if not a.header]
