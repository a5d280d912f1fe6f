"""Pure rules of the stock postings (shared/domain/stock_postings.py) and the chart as tenant records
(shared/domain/finance_entities.py), with hand-computed fixtures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain import stock_postings as sp
from shared.domain.accounts import Dimension, dims
from shared.domain.costing import StockPosition
from shared.domain.finance_entities import chart_from_records, check_account_record, required_dimensions
from shared.domain.finance_errors import ChartError, UnknownDimensionError
from shared.domain.inventory import MovementKind as K
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError

DAY = date(2026, 7, 1)


def test_every_movement_kind_moves_the_position_by_exactly_what_it_posts_to_inventory() -> None:
    pos = StockPosition()
    moves = [sp.StockMove(K.RECEIPT, D(10), D("12.35")),  # +123.50
             sp.StockMove(K.ISSUE, D(3)),  # 123.50 × 3/10 = 37.05
             sp.StockMove(K.TRANSFER_OUT, D(2)),  # 86.45 × 2/7 = 24.70
             sp.StockMove(K.COUNT_ADJUSTMENT, D(-1)),  # 61.75 × 1/5 = 12.35
             sp.StockMove(K.COUNT_ADJUSTMENT, D(2)),  # found at the average 12.35: +24.70
             sp.StockMove(K.TRANSFER_IN, D(4), value=D("50.00"))]
    amounts = []
    for mv in moves:
        costed = sp.cost(pos, mv)
        amounts.append(costed.amount)
        assert costed.position.value - pos.value == {K.ISSUE: -costed.amount, K.TRANSFER_OUT: -costed.amount}.get(
            mv.kind, costed.amount + costed.revaluation)
        pos = costed.position
    assert amounts == [D("123.50"), D("37.05"), D("24.70"), D("-12.35"), D("24.70"), D("50.00")]
    assert (pos.quantity, pos.value) == (D(10), D("124.10"))  # 74.10 held before the 50.00 came in


def test_a_transfer_into_negative_stock_revalues_the_units_issued_short() -> None:
    short = StockPosition(D(-2), D("-20.00"), D("10"))  # 2 issued ahead at 10.00
    costed = sp.receive_value(short, D(5), D("60.00"))  # 5 arrive worth 12.00 each
    # 3 left at 12.00 = 36.00; the position held −20.00 + 60.00 = 40.00: 4.00 back to price variance.
    assert (costed.position.quantity, costed.position.value, costed.revaluation) == (D(3), D("36.00"), D("-4.00"))
    entry = sp.transfer_in("M1", DAY, costed, "s2", "s1", "T1")
    assert entry is not None
    assert [(ln.account, ln.debit, ln.credit, dict(ln.dimensions)[Dimension.SITE]) for ln in entry.lines] == [
        ("1400", D("60.00"), 0, "s2"), ("1450", 0, D("60.00"), "s1"), ("1400", 0, D("4.00"), "s2"),
        ("5400", D("4.00"), 0, "s2")]


def test_counts_post_against_stock_adjustments_and_nothing_of_value_posts_nothing() -> None:
    found = sp.count_adjustment("C1", DAY, D("24.70"), "s1")
    missing = sp.count_adjustment("C2", DAY, D("-12.35"), "s1", "broken on the road")
    assert found is not None and [(ln.account, ln.debit, ln.credit) for ln in found.lines] == [
        ("1400", D("24.70"), 0), ("5500", 0, D("24.70"))]
    assert missing is not None and missing.lines[0].memo == "broken on the road" and missing.key == "stock_count:C2"
    assert sp.count_adjustment("C3", DAY, D(0), "s1") is None
    never_costed = sp.cost(StockPosition(), sp.StockMove(K.ISSUE, D(2)))
    assert sp.issue_entry("I1", DAY, never_costed, "s1", None, None, None) is None  # quantity moves, no value
    free = sp.cost(StockPosition(), sp.StockMove(K.RECEIPT, D(2), D(0)))
    assert sp.receipt("R1", DAY, D(2), free, D(0), "s1") is None


def test_an_issue_without_a_cost_centre_goes_to_the_work_orders_or_unallocated() -> None:
    costed = sp.cost(StockPosition(D(4), D("10.00")), sp.StockMove(K.ISSUE, D(1)))
    wo = sp.issue_entry("I1", DAY, costed, "s1", None, "EX-01", "WO1")
    loose = sp.issue_entry("I2", DAY, costed, "s1", None, None, None)
    assert wo is not None and dict(wo.lines[0].dimensions) == {
        Dimension.SITE: "s1", Dimension.COST_CENTRE: "maintenance", Dimension.EQUIPMENT: "EX-01"}
    assert loose is not None and dict(loose.lines[0].dimensions)[Dimension.COST_CENTRE] == "unallocated"
    moved = sp.with_memo(sp.with_date(wo, date(2026, 8, 1)), "posted later")
    assert moved is not None and moved.posting_date == date(2026, 8, 1)
    assert moved.lines[0].memo == "issued to work order WO1; posted later"


def test_the_tenant_chart_overlays_the_default_chart_and_lists_close_a_dimension() -> None:
    base = sp.default_accounts()
    chart, open_dims = chart_from_records([], [], base)
    assert {"1400", "1450", "5500", "6100"} <= set(chart.accounts) and open_dims == frozenset(Dimension)
    records = [{"code": "6110", "name": "Tyres", "type": "expense", "parent": "6000", "required": "site"},
               {"code": "6100", "name": "Parts", "type": "expense", "parent": "6000", "required": "site, project"},
               {"code": "1590", "name": "x", "type": "asset", "active": False}]
    values = [{"dimension": "project", "value": "PIT-3"}, {"dimension": "project", "value": "OLD", "active": False}]
    chart, open_dims = chart_from_records(records, values, base)
    assert "6110" in chart.accounts and "1590" not in chart.accounts
    assert chart.accounts["6100"].required == {Dimension.SITE, Dimension.PROJECT}
    assert Dimension.PROJECT not in open_dims and chart.dimension_values[Dimension.PROJECT] == {"PIT-3"}
    with pytest.raises(UnknownDimensionError, match="project 'OLD' is not a known project"):
        chart.check_line("6110", dims(site="s1", project="OLD"))
    with pytest.raises(ChartError, match="sits under 6999, which is not in the chart"):
        chart_from_records([{"code": "6120", "name": "x", "type": "expense", "parent": "6999"}], [], base)


def test_account_records_are_refused_with_the_field_to_fix() -> None:
    assert required_dimensions(" site,cost_centre ,") == {Dimension.SITE, Dimension.COST_CENTRE}
    with pytest.raises(ChartError, match="'shift' is not a dimension") as exc:
        required_dimensions("site, shift")
    assert exc.value.field_errors == {"required": "unknown dimension shift"}
    with pytest.raises(ChartError, match="cannot require dimensions"):
        check_account_record({"code": "6000", "name": "Opex", "type": "expense", "header": True, "required": "site"})
    with pytest.raises(ChartError, match="cannot sit under itself"):
        check_account_record({"code": "6100", "name": "x", "type": "expense", "parent": "6100"})
    with pytest.raises(ValidationError):  # the entity spec runs the same check on a create
        validate_mutation("finance.account", Op.CREATE, {"code": "6000", "name": "Opex", "type": "expense",
                                                         "header": True, "required": "site"})
    with pytest.raises(ValidationError):
        validate_mutation("finance.dimension_value", Op.CREATE, {"dimension": "project", "value": "  "})
