"""The chart, calendar and dimension values the finance tests post against."""

from __future__ import annotations

from shared.domain.accounts import ChartOfAccounts, Dimension
from shared.domain.postings import standard_chart

DIMENSION_VALUES = {
    Dimension.SITE: {"S1", "S2"},
    Dimension.COST_CENTRE: {"CC-MAINT", "CC-HAUL"},
    Dimension.EQUIPMENT: {"EX-01", "HT-07"},
    Dimension.PROJECT: {"P-PIT3"},
}


def chart() -> ChartOfAccounts:
    return standard_chart(DIMENSION_VALUES)
