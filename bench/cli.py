"""`pitline bench`: every benchmark, ours beside its peer, one table of ratios."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Benchmarks: ours beside the peer measured in the same run.", no_args_is_help=False)
RESULTS = Path(__file__).parent / "results" / "latest.json"


@app.callback(invoke_without_command=True)
def run(
    quick: bool = typer.Option(False, "--quick", help="small sizes: a smoke run of about a minute"),
    only: list[str] = typer.Option([], "--only", help="store, push, receipts, ledger, backfill, live, "
                                   "edge, telemetry, telemetry-query (the range query alone), load (repeatable)"),
    load_users: int = typer.Option(500, "--load-users", min=1, help="load: concurrent simulated users"),
    load_seconds: float = typer.Option(60.0, "--load-seconds", min=5, max=3600, help="load: duration (600 = 10 min)"),
    load_workers: int = typer.Option(2, "--load-workers", min=1, max=64, help="load: hub processes"),
    edge_soak_seconds: float = typer.Option(60.0, "--edge-soak-seconds", min=5,
                                            help="edge: ingest soak (600 = 10 min)"),
    drain_scale: float = typer.Option(0.02, "--drain-scale", min=0.0001, max=1.0,
                                      help="edge: fraction of the 24 h × 200 machines × 1 Hz backlog to drain"),
    telemetry_rows: int = typer.Option(0, "--telemetry-rows", min=0,
                                       help="telemetry: rows in the range query's table (default 10M; 100000000 "
                                            "is the issue's scale: ~15 GB and tens of minutes to fill)"),
) -> None:
    """Run the benchmarks and print the table (also written to bench/results/latest.json)."""
    from bench import (
        backfill_bench,
        edge_bench,
        ledger_bench,
        live_bench,
        push_bench,
        receipts_bench,
        store_bench,
        telemetry_bench,
    )
    from bench.env import bench_env
    from bench.report import Row, show

    wanted = set(only) or {"store", "push", "receipts", "ledger", "backfill", "live", "edge", "telemetry", "load"}
    sizes = {"store": 20_000 if quick else 50_000, "push": 10_000 if quick else 50_000,
             "backfill": 100_000 if quick else 1_000_000, "streams": 100 if quick else 500,
             "events": 20 if quick else 100, "edge": 10_000 if quick else 50_000,
             "ledger": 100_000 if quick else 1_000_000, "telemetry": 200_000 if quick else 2_000_000,
             "telemetry_table": telemetry_rows or (1_000_000 if quick else 10_000_000)}
    rows: list[Row] = []
    with bench_env() as env:
        if "store" in wanted:
            rows.append(store_bench.run(env.tmp, sizes["store"]))
        if "push" in wanted:
            rows.append(push_bench.run(env, sizes["push"]))
        if "receipts" in wanted:
            rows.append(receipts_bench.run(env, sizes["push"] // 2))
        if "ledger" in wanted:
            rows += ledger_bench.run(env, sizes["ledger"])
        if "backfill" in wanted:
            rows.append(backfill_bench.run(env, sizes["backfill"]))
        if "live" in wanted:
            rows += live_bench.run(env, sizes["streams"], sizes["events"])
        if "edge" in wanted:
            rows.append(edge_bench.run(env.tmp, sizes["edge"]))
            rows.append(edge_bench.soak(env.tmp, 15.0 if quick else edge_soak_seconds))
            rows += edge_bench.drain(env, 0.002 if quick else drain_scale)
        if "telemetry" in wanted:
            rows += telemetry_bench.run(env, sizes["telemetry"], sizes["telemetry_table"])
        elif "telemetry-query" in wanted:
            rows.append(telemetry_bench.range_query(env, sizes["telemetry_table"]))
    if "load" in wanted:  # its own database and a hub of --load-workers processes
        from bench import load_bench
        from bench.load_driver import LoadConfig

        cfg = LoadConfig(users=100 if quick else load_users, seconds=15.0 if quick else load_seconds)
        rows += load_bench.run(load_workers, cfg)
    show(rows, RESULTS)
