"""The manual journal (`finance.journal_entry`): an entry finance keys by hand (an accrual, an opening balance, a
correction), posted by the hub as the ledger entry `manual_journal:<record id>` (D75).

The record is create-only: a posted entry is never edited; a mistake is corrected by another journal. Its
payload: `posted_on` (the posting date, which decides the period), `description`, `reference`, and `lines`, each
`{"account", "debit", "credit", "memo", "dimensions": {"site": ..., ...}}` with amounts as text in cents.

Checked where it is written (the record check: balanced, whole cents, one-sided non-zero lines, at least two)
and again at the hub, which also checks what only it knows: the tenant's chart (an unknown or header account, a
dimension value not listed, a required dimension missing) and the closed periods. A refused journal posts
nothing and its mutation is rejected with the rule's message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.conflicts import Strategy
from shared.domain.journal import LedgerEntry, entry_from_payload
from shared.entities import EntitySpec, FieldSpec, register

ENTITY = "finance.journal_entry"
KEY_PREFIX = "manual_journal"


def manual_entry(record_id: str, payload: Mapping[str, Any]) -> LedgerEntry:
    """The ledger entry of a manual journal record; raises FinanceError (UnbalancedEntryError, a bad amount or
    date) naming what is wrong."""
    return entry_from_payload({"key": f"{KEY_PREFIX}:{record_id}", "posting_date": payload.get("posted_on"),
                               "description": str(payload.get("description") or payload.get("reference") or
                                                  "manual journal"),
                               "lines": payload.get("lines")})


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
        },
    )
)
