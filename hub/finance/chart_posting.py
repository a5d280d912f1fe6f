"""Posters that post nothing: a change to the chart (`finance.account`) or to a dimension list
(`finance.dimension_value`) pushed by a device is checked as the whole chart it makes, through the posting hook,
so a change that would break the chart (a parent that does not exist, a header under a posting account, an account
the hub posts to taken out or made a header) is that mutation's rejection, not every later posting's (D35). Later
postings of the same push are checked against the changed chart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.finance.chart import check_posting_accounts, load_chart
from hub.finance.posting import PostingWrite, register_poster
from shared.domain.finance_entities import ACCOUNT_ENTITY, DIMENSION_VALUE_ENTITY
from shared.domain.journal import LedgerEntry

if TYPE_CHECKING:
    from hub.sync.context import ApplyContext


async def check_chart_change(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
    ctx.posting.chart = None  # whatever happens, the next posting reads the chart again
    chart = await load_chart(ctx.conn, ctx.principal.tenant_id, ctx.writes)  # with this push's writes, this one's
    check_posting_accounts(chart.chart)
    ctx.posting.chart = chart
    return []


register_poster(ACCOUNT_ENTITY, check_chart_change)
register_poster(DIMENSION_VALUE_ENTITY, check_chart_change)
