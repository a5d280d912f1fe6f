"""The per-process token cache: it answers repeated requests without the database, and any change to a device
or token (API, admin CLI, plain SQL) reaches every hub process through the triggers of migration 0007."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from hub.auth.principal import Principal
from hub.auth.token_cache import TokenCache
from hub.db import connect
from pitline.harness import HubProcess, provision_device, run_sync
from shared.ids import new_ulid


def sql(dsn: str, statement: str, *args: object) -> None:
    async def run() -> None:
        conn = await connect(dsn)
        try:
            await conn.execute(statement, *args)
        finally:
            await conn.close()

    run_sync(run())


METRICS_TOKEN = "token-cache-test-scraper"


def cache_hits(hub: HubProcess) -> int:
    # The metrics token, not an access token: scraping must not itself count as a cache lookup.
    text = httpx.get(f"{hub.url}/metrics", timeout=5, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    match = re.search(r'pitline_token_cache_lookups_total\{result="hit"\} (\d+)', text)
    assert match, "the hub does not report its token cache"
    return int(match.group(1))


@pytest.fixture(scope="module")
def two_hubs(pg_dsn: str) -> Iterator[tuple[HubProcess, HubProcess]]:
    """Two separate hub processes on one database, as two HQ machines would run."""
    env = {"PITLINE_METRICS_TOKEN": METRICS_TOKEN}
    a, b = HubProcess(pg_dsn, env=env), HubProcess(pg_dsn, env=env)
    a.start()
    try:
        b.start()
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()


def changes(hub: HubProcess, token: str) -> httpx.Response:
    return httpx.get(f"{hub.url}/v1/sync/changes", headers={"Authorization": f"Bearer {token}"}, timeout=5)


def warm(hubs: tuple[HubProcess, ...], token: str) -> None:
    """Each process has verified the token and answers it from its cache."""
    for hub in hubs:
        before = cache_hits(hub)
        for _ in range(3):
            assert changes(hub, token).status_code == 200
        assert cache_hits(hub) >= before + 2, "repeated requests were not answered from the cache"


def new_tenant(prefix: str) -> str:
    return f"{prefix}-{new_ulid()[-8:].lower()}"


@pytest.mark.parametrize("statement", [
    "UPDATE auth.devices SET revoked_at = now() WHERE tenant_id = $1 AND id = $2",
    "UPDATE auth.access_tokens SET revoked_at = now() WHERE tenant_id = $1 AND device_id = $2",
    "DELETE FROM auth.access_tokens WHERE tenant_id = $1 AND device_id = $2",
    "UPDATE auth.access_tokens SET expires_at = now() - interval '1 second' WHERE tenant_id = $1 AND device_id = $2",
], ids=["device-revoked", "token-revoked", "token-deleted", "token-expired"])
def test_a_change_made_in_the_database_refuses_the_next_request_on_every_process(
        two_hubs: tuple[HubProcess, HubProcess], statement: str) -> None:
    tenant = new_tenant("tc")
    token = provision_device(two_hubs[0].dsn, tenant, "s1", "dev")
    other = provision_device(two_hubs[0].dsn, tenant, "s1", "other")
    warm(two_hubs, token)
    warm(two_hubs, other)

    sql(two_hubs[0].dsn, statement, tenant, "dev")
    for hub in two_hubs:  # no wait: the notice was sent at commit
        r = changes(hub, token)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized", (hub.url, r.status_code, r.text)
        assert changes(hub, other).status_code == 200  # only what the change named


def test_the_admin_revocation_refuses_the_next_request_on_every_process(
        two_hubs: tuple[HubProcess, HubProcess]) -> None:
    from hub.identity.revocation import revoke_device

    tenant = new_tenant("tc-admin")
    token = provision_device(two_hubs[0].dsn, tenant, None, "dev")
    warm(two_hubs, token)

    async def revoke() -> None:
        conn = await connect(two_hubs[0].dsn)
        try:
            async with conn.transaction():
                assert await revoke_device(conn, tenant, "dev")
        finally:
            await conn.close()

    run_sync(revoke())
    assert [changes(hub, token).status_code for hub in two_hubs] == [401, 401]


def test_a_device_moved_to_another_site_reads_that_site_at_once(two_hubs: tuple[HubProcess, HubProcess]) -> None:
    tenant = new_tenant("tc-sites")
    token = provision_device(two_hubs[0].dsn, tenant, "north", "dev")
    sql(two_hubs[0].dsn, "INSERT INTO auth.sites (tenant_id, id, name) VALUES ($1, 'south', 'south')", tenant)
    sql(two_hubs[0].dsn,
        """INSERT INTO sync.events (tenant_id, seq, id, site_id, type, entity, entity_id, version, ts, payload)
           VALUES ($1, 1, $2, 'south', 'forms.submission.created', 'forms.submission', 'F1', 1, now(), '{}')""",
        tenant, new_ulid())
    sql(two_hubs[0].dsn, "UPDATE sync.tenant_heads SET head = 1 WHERE tenant_id = $1", tenant)
    warm(two_hubs, token)
    assert [changes(hub, token).json()["events"] for hub in two_hubs] == [[], []]

    sql(two_hubs[0].dsn, "UPDATE auth.devices SET site_ids = '{south}' WHERE tenant_id = $1 AND id = 'dev'", tenant)
    for hub in two_hubs:
        assert [e["entity_id"] for e in changes(hub, token).json()["events"]] == ["F1"]


# --- the cache itself ----------------------------------------------------------------------------------
P = Principal("t", "d", None, frozenset({"s"}), frozenset())


def listening_cache(**kwargs: object) -> TokenCache:
    cache = TokenCache(**kwargs)  # type: ignore[arg-type]
    cache._listening = True  # as if its LISTEN connection were up and every round trip came back

    async def synced() -> bool:
        return True

    cache._sync_point = synced  # type: ignore[method-assign]
    return cache


def get(cache: TokenCache, key: bytes) -> Principal | None:
    return asyncio.run(cache.get(key))


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_an_answer_read_before_an_invalidation_is_not_kept() -> None:
    cache = listening_cache()
    generation = cache.generation
    cache.drop_device("t", "d")  # a revocation notice arrives while the lookup was in the database
    cache.put(b"k", P, later(600), generation)
    assert get(cache, b"k") is None
    cache.put(b"k", P, later(600), cache.generation)
    assert get(cache, b"k") == P


def test_entries_end_at_the_ttl_or_the_token_expiry_whichever_is_first() -> None:
    now = [0.0]
    cache = listening_cache(ttl=30.0, clock=lambda: now[0])
    cache.put(b"long", P, later(600), cache.generation)
    cache.put(b"short", P, later(5), cache.generation)
    cache.put(b"expired", P, later(-1), cache.generation)
    assert get(cache, b"expired") is None
    now[0] = 6.0
    assert get(cache, b"short") is None and get(cache, b"long") == P
    now[0] = 31.0
    assert get(cache, b"long") is None


def test_notices_drop_what_they_name_and_an_unreadable_one_drops_everything() -> None:
    cache = listening_cache()
    other = Principal("t", "e", None, None, frozenset())
    for key, p in ((b"\x01", P), (b"\x02", other), (b"\x03", P)):
        cache.put(key, p, later(600), cache.generation)
    cache._on_notice(None, 0, "pitline_auth_changes", '{"tenant_id": "t", "token_hash": "03"}')
    assert get(cache, b"\x03") is None and get(cache, b"\x01") == P
    cache._on_notice(None, 0, "pitline_revocations", '{"tenant_id" : "t", "device_id" : "d"}')
    assert get(cache, b"\x01") is None and get(cache, b"\x02") == other
    cache._on_notice(None, 0, "pitline_auth_changes", "not json")
    assert len(cache) == 0


def test_the_cache_is_off_while_its_listen_connection_is_down(pg_dsn: str) -> None:
    async def scenario() -> None:
        cache = TokenCache()
        assert not cache.active  # nothing is cached before the connection is up
        await cache.start(pg_dsn)
        try:
            assert cache.active
            cache.put(b"k", P, later(600), cache.generation)
            admin = await connect(pg_dsn)
            try:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1",
                    cache._conn.get_server_pid())  # type: ignore[union-attr]
            finally:
                await admin.close()
            for _ in range(1000):
                if await cache.get(b"k") is None:
                    break
                await asyncio.sleep(0.01)
            assert await cache.get(b"k") is None  # forgotten when the connection went
            for _ in range(200):
                if cache.active:
                    break
                await asyncio.sleep(0.05)
            assert cache.active and len(cache) == 0  # back, and starting empty
        finally:
            await cache.stop()

    run_sync(scenario())
