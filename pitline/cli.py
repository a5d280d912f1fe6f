"""`pitline <program> …`: dispatches to each program's own CLI, importing only the one asked for
(so `pitline desktop` does not pay for the hub's imports at cold start)."""

from __future__ import annotations

import importlib
import sys

import typer

PROGRAMS = {
    "hub": ("hub.cli", "the HQ hub service and its admin commands"),
    "edge": ("edge.cli", "the unattended edge agent and the fleet simulator"),
    "desktop": ("desktop.cli", "the site-office desktop application"),
    "demo": ("pitline.demo", "run the whole suite: hub, broker, simulated fleet, edge agent, desktop check"),
    "offline-week": ("pitline.offline_week", "the site-scale proof: 3 sites offline for a week, faults, checks"),
    "bench": ("bench.cli", "run the benchmarks and print the table of ratios"),
    "seed": ("pitline.seed", "build a realistic site in a hub database (120 machines, 5,000 items, 2 years)"),
}


def _usage() -> None:
    print("usage: pitline <program> [options]\n")
    for name, (_module, summary) in PROGRAMS.items():
        print(f"  {name:<8} {summary}")
    print("\n`pitline <program> --help` for each program's commands.")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        _usage()
        raise SystemExit(0 if args else 2)
    program, rest = args[0], args[1:]
    if program not in PROGRAMS:
        print(f"pitline: unknown program {program!r}\n", file=sys.stderr)
        _usage()
        raise SystemExit(2)
    module = importlib.import_module(PROGRAMS[program][0])
    app: typer.Typer = module.app
    app(args=rest, prog_name=f"pitline {program}")
