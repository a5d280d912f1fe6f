"""The poster of the manual journal (`finance.journal_entry`, shared/domain/manual_journal.py, D75): the record
posts as the entry `manual_journal:<record id>` on its own date. Through the posting hook the entry meets the
checks every posting does (balanced, the tenant's chart, the closed periods): a refusal rejects the mutation with
the rule's message and posts nothing. Unlike goods that moved (D36), a journal in a closed period is refused, not
moved: its date is what finance chose.

A record with `reverses` (D84) is the ledger's reversal of `manual_journal:<that id>`. The hook's `admit` does not
check reversals (only `post_entries` does, at commit, where a refusal would fail the whole push), so it is checked
here against the target as this push sees it and whatever already reverses it: a second reversal (from another
office that was offline), a reversal of a reversal or a non-mirror rejects only that mutation, with the shared
rule's message. Two offices' pushes reversing one journal at the same moment are serialised on a transaction lock
named after the target, so the second waits, then sees the first's reversal and is rejected the same way (without
it, both would pass here and the loser's whole push would fail at commit on the `reverses` unique index)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.finance.posting import PostingWrite, posted_entries, register_poster
from shared.domain.journal import LedgerEntry
from shared.domain.manual_journal import ENTITY, check_journal_reversal, manual_entry

if TYPE_CHECKING:
    from hub.sync.context import ApplyContext


def reversal_lock(tenant: str, target: str) -> str:
    """The advisory lock every push reversing `target` holds to its commit."""
    return f"{tenant}/reverses/{target}"


async def _reversed_by(ctx: ApplyContext, target: str) -> str | None:
    admitted = next((e.key for e in ctx.posting.entries if e.reverses == target), None)
    if admitted is not None:
        return admitted
    row = await ctx.conn.fetchrow("SELECT key FROM finance.journal_entries WHERE tenant_id = $1 AND reverses = $2",
                                  ctx.principal.tenant_id, target)
    return None if row is None else str(row["key"])


async def post_journal(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
    if w.data is None:
        return []  # create-only: nothing deletes a journal through sync; a correction is another journal
    entry = manual_entry(w.entity_id, w.data)
    if entry.reverses is None:
        return [entry]
    await ctx.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                           reversal_lock(ctx.principal.tenant_id, entry.reverses))
    found = await posted_entries(ctx, [entry.reverses])
    target = found.get(entry.reverses)
    check_journal_reversal(w.entity_id, w.data, target, await _reversed_by(ctx, entry.reverses))
    return [entry]


register_poster(ENTITY, post_journal, keyed_by_record=True)
