"""The poster of the manual journal (`finance.journal_entry`, shared/domain/manual_journal.py, D75): the record
posts as the entry `manual_journal:<record id>` on its own date. Through the posting hook the entry meets the
checks every posting does (balanced, the tenant's chart, the closed periods): a refusal rejects the mutation with
the rule's message and posts nothing. Unlike goods that moved (D36), a journal in a closed period is refused, not
moved: its date is what finance chose."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.finance.posting import PostingWrite, register_poster
from shared.domain.journal import LedgerEntry
from shared.domain.manual_journal import ENTITY, manual_entry

if TYPE_CHECKING:
    from hub.sync.context import ApplyContext


async def post_journal(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
    if w.data is None:
        return []  # create-only: nothing deletes a journal through sync; a correction is another journal
    return [manual_entry(w.entity_id, w.data)]


register_poster(ENTITY, post_journal, keyed_by_record=True)
