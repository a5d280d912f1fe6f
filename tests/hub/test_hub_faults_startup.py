"""A hub refuses a database whose schema it does not know; several hub processes on one database act as one."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from hub.db import connect, with_database
from hub.errors import SchemaVersionError
from hub.migrate import check_schema
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.fixtures.postgres import run_sync
from tests.hub.device import DeviceClient
from tests.hub.test_push import assert_applied_once


@pytest.fixture
def empty_database(pg_server_url: str) -> Iterator[str]:
    name = f"pitline_empty_{random.getrandbits(40):x}"

    async def execute(url: str, sql: str) -> None:
        conn = await connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_sync(execute(pg_server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(pg_server_url, name)
    finally:
        run_sync(execute(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_the_hub_refuses_to_serve_a_database_without_or_with_an_unknown_schema(empty_database: str) -> None:
    hub = HubProcess(empty_database)
    with pytest.raises(RuntimeError, match="no Pitline schema: run `pitline hub migrate`"):
        hub.start(timeout=20)
    hub.kill()

    async def stamp() -> None:
        conn = await connect(empty_database)
        try:
            await conn.execute("CREATE TABLE public.alembic_version (version_num varchar(32) PRIMARY KEY)")
            await conn.execute("INSERT INTO public.alembic_version VALUES ('9999_from_the_future')")
        finally:
            await conn.close()

    run_sync(stamp())
    with pytest.raises(SchemaVersionError, match="does not know"):
        check_schema(empty_database)


def test_two_hub_processes_on_one_database_apply_each_mutation_once(pg_dsn: str) -> None:
    hubs = [HubProcess(pg_dsn), HubProcess(pg_dsn)]
    for hub in hubs:
        hub.start()
    try:
        tenant = "t-two-hubs"
        devices: list[tuple[list[DeviceClient], list[dict[str, Any]]]] = []
        for d in range(3):
            token = provision_device(pg_dsn, tenant, "s1", f"d{d}")
            clients = [DeviceClient(h.url, token, tenant, "s1", f"d{d}") for h in hubs]
            muts = [clients[0].mutation("forms.submission", f"F{d}-{i}", "create",
                                        {"form": "pre-start", "title": f"check {i}"}) for i in range(300)]
            devices.append((clients, muts))
        errors: list[BaseException] = []

        def replay(clients: list[DeviceClient], muts: list[dict[str, Any]], seed: int) -> None:
            rnd = random.Random(seed)
            try:
                for _ in range(3):
                    order = list(muts)
                    rnd.shuffle(order)
                    i = 0
                    while i < len(order):
                        n = rnd.randint(1, 80)
                        # Each batch goes to either process: both must answer as the same hub.
                        outcomes = rnd.choice(clients).push_ok(order[i : i + n])
                        assert all(o["status"] in ("applied", "duplicate", "held") for o in outcomes), outcomes
                        i += n
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=replay, args=(c, m, k)) for k, (c, m) in enumerate(devices)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        for d, (_, muts) in enumerate(devices):
            assert_applied_once(pg_dsn, tenant, f"d{d}", muts)
    finally:
        for hub in hubs:
            hub.stop()
