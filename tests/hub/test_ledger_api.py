"""GET /v1/finance/trial-balance on a real hub: the SQL trial balance of what was posted, per account and per
dimension, as of a day; read on finance.* at every site required; bad query parameters are a 4xx with a
message."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import httpx
import pytest

from shared.domain.accounts import dims
from shared.domain.journal import LedgerEntry, credit, debit
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_identity import setup_tenant
from tests.hub.test_identity_users import PASSWORD, add_user, signin
from tests.hub.test_ledger_store import post
from tests.hub.test_push import make_device

TENANT = "t-ledger-api"


@pytest.fixture(scope="module")
def hub(hub_server: HubProcess) -> HubProcess:
    setup_tenant(hub_server.dsn, TENANT, ("s1", "s2"))
    post(hub_server.dsn, TENANT, [
        LedgerEntry("goods_receipt:M1", date(2026, 11, 30), (debit("1400", D("125.00"), dims(site="s1")),
                                                              credit("2100", D("125.00"), dims(site="s1")))),
        LedgerEntry("goods_receipt:M2", date(2026, 12, 2), (debit("1400", D("10.50"), dims(site="s2")),
                                                             credit("2100", D("10.50")))),
    ])
    return hub_server


def token(hub: HubProcess, username: str, grants: list[tuple[str, str | None]]) -> str:
    add_user(hub.dsn, TENANT, username, grants)
    r = signin(hub.url, username, PASSWORD)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def get(hub: HubProcess, tok: str | None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {tok}"} if tok else {}
    return httpx.get(f"{hub.url}/v1/finance/trial-balance", params=params, headers=headers, timeout=30)


def test_finance_reads_the_trial_balance_per_account_per_site_and_as_of_a_day(hub: HubProcess) -> None:
    fin = token(hub, "led-fin", [("finance", None)])
    r = get(hub, fin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["balanced"] and body["total"] == {"debit": "135.50", "credit": "135.50", "balance": "0.00"}
    assert body["accounts"] == [{"account": "1400", "debit": "135.50", "credit": "0.00", "balance": "135.50"},
                                {"account": "2100", "debit": "0.00", "credit": "135.50", "balance": "-135.50"}]
    r = get(hub, fin, as_of="2026-11-30", by="site")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [a["balance"] for a in body["accounts"]] == ["125.00", "-125.00"]
    assert [(x["account"], x["value"], x["balance"]) for x in body["by_dimension"]] == [
        ("1400", "s1", "125.00"), ("2100", "s1", "-125.00")]
    by_site = get(hub, fin, by="site").json()["by_dimension"]
    assert ("2100", None, "-10.50") in [(x["account"], x["value"], x["balance"]) for x in by_site]


def test_a_viewer_a_site_only_manager_a_device_and_no_token_are_refused(hub: HubProcess) -> None:
    for who, tok in (("viewer", token(hub, "led-viewer", [("viewer", None)])),
                     ("manager at s1 only", token(hub, "led-mgr-s1", [("site_manager", "s1")])),
                     ("bare device", make_device(hub, TENANT, "s1", "led-dev").token)):
        r = get(hub, tok)
        assert r.status_code == 403 and r.json()["code"] == "forbidden_role" and r.json()["message"], (who, r.text)
    r = get(hub, None)
    assert r.status_code == 401 and r.json()["message"]


def test_bad_query_parameters_are_a_4xx_that_names_the_parameter(hub: HubProcess) -> None:
    fin = token(hub, "led-fin2", [("finance", None)])
    for params, name in (({"as_of": "2026-13-01"}, "as_of"), ({"as_of": "yesterday"}, "as_of"),
                         ({"by": "colour"}, "by"), ({"by": ""}, "by")):
        r = get(hub, fin, **params)
        assert 400 <= r.status_code < 500 and name in r.json()["message"], (params, r.status_code, r.text)
