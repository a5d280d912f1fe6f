"""The manual journal (`finance.journal_entry`): an entry finance keys by hand (an accrual, an opening balance, a
correction), posted by the hub as the ledger entry `manual_journal:<record id>` (D75).

The record is create-only: a posted entry is never edited; a mistake is corrected by another journal. Its
payload: `posted_on` (the posting date, which decides the period), `description`, `reference`, and `lines`, each
`{"account", "debit", "credit", "memo", "dimensions": {"site": ..., ...}}` with amounts as text in cents.

A reversal is another journal record with `reverses: <record id of the original>` and the original's lines
mirrored (`reversal_payload`); it posts as the ledger's reversal of `manual_journal:<original id>`, so the
ledger's rule (`ledger.check_reversal`) refuses reversing twice, reversing a reversal, or a non-mirror (D84).

Checked where it is written (the record check: balanced, whole cents, one-sided non-zero lines, at least two)
and again at the hub, which also checks what only it knows: the tenant's chart (an unknown or header account, a
dimension value not listed, a required dimension missing) and the closed periods. A refused journal posts
nothing and its mutation is rejected with the rule's message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.conflicts import Strategy
from shared.domain.accounts import ChartOfAccounts, Dimension
from shared.domain.chart_guard import check_line_open
from shared.domain.journal import LedgerEntry, entry_from_payload
from shared.domain.ledger import check_reversal
from shared.entities import EntitySpec, FieldSpec, register
from shared.errors import ValidationError

ENTITY = "finance.journal_entry"
KEY_PREFIX = "manual_journal"


def entry_key(record_id: str) -> str:
    return f"{KEY_PREFIX}:{record_id}"


def manual_entry(record_id: str, payload: Mapping[str, Any]) -> LedgerEntry:
    """The ledger entry of a manual journal record; raises FinanceError (UnbalancedEntryError, a bad amount or
    date) naming what is wrong. A record with `reverses` is the ledger's reversal of that journal's entry."""
    target = str(payload.get("reverses") or "").strip()
    return entry_from_payload({"key": entry_key(record_id), "posting_date": payload.get("posted_on"),
                               "description": str(payload.get("description") or payload.get("reference") or
                                                  "manual journal"),
                               "reverses": entry_key(target) if target else None,
                               "lines": payload.get("lines")})


def reversal_payload(original_id: str, original: Mapping[str, Any], posted_on: str,
                     description: str = "") -> dict[str, Any]:
    """The NEW journal record that reverses `original` (never an edit of it): every line mirrored, debit for
    credit, with its memo and dimensions, dated `posted_on` (an open period's day, as finance chooses)."""
    lines = [{"account": ln.get("account"), "debit": ln.get("credit") or "0", "credit": ln.get("debit") or "0",
              "memo": ln.get("memo") or "", "dimensions": dict(ln.get("dimensions") or {})}
             for ln in original.get("lines") or []]
    reference = str(original.get("reference") or original_id)
    return {"posted_on": posted_on, "reference": f"REV {reference}"[:128], "reverses": original_id,
            "description": (description or f"reversal of {reference}: {original.get('description') or ''}"
                            ).strip().rstrip(":")[:400],
            "lines": lines}


def check_journal_reversal(record_id: str, payload: Mapping[str, Any], target: LedgerEntry | None,
                           reversed_by: str | None) -> LedgerEntry:
    """The reversal record's entry, held to the ledger's reversal rule against its target's entry (None: not
    posted) and the key that already reverses it; raises ReversalError with the rule's message."""
    entry = manual_entry(record_id, payload)
    check_reversal(entry, target, reversed_by)
    return entry


def check_against_chart(entry: LedgerEntry, chart: ChartOfAccounts, open_dimensions: frozenset[Dimension]
                        ) -> dict[int, str]:
    """Line number (0-based) → the chart's refusal (unknown or header account, a dimension value not listed, a
    required dimension missing), as the hub will check it; {} when every line may post."""
    problems: dict[int, str] = {}
    for n, ln in enumerate(entry.lines):
        try:
            check_line_open(chart, open_dimensions, ln.account, ln.dimensions)
        except ValidationError as exc:
            problems[n] = str(exc)
    return problems


def _check(payload: Mapping[str, Any]) -> None:
    # The record's id is not known here: the message names the journal by the reference the person typed.
    manual_entry(str(payload.get("reference") or "(no reference)"), payload)


JOURNAL_ENTRY = register(
    EntitySpec(
        name=ENTITY,
        strategy=Strategy.SERVER_WINS,
        create_only=True,
        record_check=_check,
        fields={
            "posted_on": FieldSpec("date", required=True, label="Posting date"),
            "reference": FieldSpec("str", max_length=128, label="Reference"),
            "description": FieldSpec("str", max_length=400, label="Description"),
            "lines": FieldSpec("list", required=True, label="Lines"),
            "reverses": FieldSpec("str", max_length=64, label="Reverses journal"),
        },
    )
)
