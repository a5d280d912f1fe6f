"""`pitline seed`: build a realistic site in a hub database (120 machines, 5,000 items, two years of history
at --scale 1) with the deterministic generators of `shared.domain.seed`, so demos and benchmarks run on
something that looks real.

Nothing is written around the contract: the drafts become mutations of one provisioned seed device and go
through the hub's own apply path (`hub.sync.apply.push`, in process, 1,000 per transaction): validation,
conflict rules, the versioned records, the event log that desktops and gateways follow, the ledger (so a
re-run answers `duplicate`-free re-creates of the same ids), then the operations read models are rebuilt.

    pitline seed [--database-url postgresql://…] [--scale 1] [--days 730]   (default: the hub's own database)
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice

import typer

app = typer.Typer(help="Build a realistic seeded site in a hub database.", add_completion=False)


def _batches(items: Iterator[object], size: int) -> Iterator[list[object]]:
    while batch := list(islice(items, size)):
        yield batch


async def _seed(url: str, *, tenant: str, site: str, scale: int, days: int, seed: int, batch: int) -> tuple[
        Counter[str], Counter[str]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hub.auth.principal import Principal
    from hub.auth.tokens import ensure_tenant_site_device
    from hub.db import connect
    from hub.projections import rebuild
    from hub.sync.apply import push
    from shared.domain.seed import SeedDraft, SiteSpec, generate
    from shared.envelopes import Mutation, Op, PushRequest
    from shared.ids import new_ulid

    spec = SiteSpec(seed=seed, machines=120 * scale, items=5_000 * scale, days=days, site_id=site,
                    issues_per_day=40 * scale)
    device = f"seed-{site}"[:64]
    made: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    conn = await connect(url)
    try:
        async with conn.transaction():
            await ensure_tenant_site_device(conn, tenant_id=tenant, site_id=site, device_id=device, kind="desktop")
        last = await conn.fetchval("SELECT last_seq FROM sync.device_cursors WHERE tenant_id = $1 AND device_id = $2",
                                   tenant, device)
        seq = int(last or 0)
        principal = Principal(tenant_id=tenant, device_id=device, user_id=None, site_ids=None,
                              roles=frozenset({"admin"}))
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns) as progress:
            task = progress.add_task(f"seeding {site} ({days} days)", total=days + 1)
            for chunk in _batches(generate(spec), batch):
                created = datetime.now(UTC)
                mutations = []
                for draft in chunk:
                    assert isinstance(draft, SeedDraft)
                    seq += 1
                    mutations.append(Mutation(
                        id=new_ulid(), device_id=device, device_seq=seq, tenant_id=tenant, site_id=draft.site_id,
                        actor=draft.actor, entity=draft.entity, entity_id=draft.entity_id, op=Op(draft.op),
                        base_version=0, payload=draft.payload, created_at=created))
                    made[draft.entity] += 1
                response = await push(conn, principal, PushRequest(device_id=device, mutations=mutations))
                outcomes.update(o.status.value for o in response.outcomes)
                usage = made["equipment.usage_log"] // (2 * spec.machines)
                progress.update(task, completed=min(usage, days + 1))
            progress.update(task, completed=days + 1)
        await rebuild(conn, tenant)
    finally:
        await conn.close()
    return made, outcomes


@app.command()
def main(
    database_url: str = typer.Option(None, envvar="PITLINE_DATABASE_URL",
                                     help="a PostgreSQL to seed (migrated to head first if needed); default: the "
                                          "hub's own database, the embedded one in its data folder unless "
                                          "configured"),
    scale: int = typer.Option(1, min=1, help="1 = 120 machines and 5,000 items; 10 = ten times that"),
    days: int = typer.Option(730, min=1, help="days of history (730 = two years)"),
    tenant: str = typer.Option("demo", help="tenant to seed (created if missing)"),
    site: str = typer.Option("site-1", help="site to seed (created if missing)"),
    seed: int = typer.Option(1, help="random seed: the same seed makes the same site, ids included"),
    batch: int = typer.Option(1000, min=1, max=1000, help="mutations per transaction"),
) -> None:
    """Generate the site and apply it through the hub's push path; print what was made and how long it took."""
    from hub.migrate import migrate

    started = time.perf_counter()
    if not database_url:  # where `pitline hub serve` will look: seeding elsewhere would leave the hub empty
        from hub.cli import resolve_database_url
        from hub.settings import HubSettings

        database_url = resolve_database_url(HubSettings.load())
        typer.echo(f"seeding the hub's database at {database_url}")
    migrate(database_url)
    made, outcomes = asyncio.run(_seed(database_url, tenant=tenant, site=site, scale=scale, days=days, seed=seed,
                                       batch=batch))
    elapsed = time.perf_counter() - started
    total = sum(made.values())
    typer.echo(f"seeded tenant {tenant!r}, site {site!r}: {total:,} mutations in {elapsed:.1f} s "
               f"({total / elapsed:,.0f}/s)")
    for entity, count in made.most_common():
        typer.echo(f"  {entity:38s} {count:>10,}")
    typer.echo("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items())))
    if outcomes.get("rejected"):
        raise typer.Exit(1)
