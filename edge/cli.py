"""`pitline edge …`: run the agent, show its status, run the fleet simulator."""

from __future__ import annotations

import json
import signal
import threading
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from edge.agent import EdgeConfig

app = typer.Typer(help="The unattended edge agent on a site gateway.", no_args_is_help=True)


def load_config(path: Path) -> EdgeConfig:
    from edge.agent import EdgeConfig

    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from None
    section = raw.get("edge", raw)
    try:
        return EdgeConfig(**{**section, "store_path": Path(section["store_path"]),
                             "key_file": Path(section["key_file"]) if section.get("key_file") else None})
    except (KeyError, TypeError, ValueError) as exc:
        raise typer.BadParameter(f"{path}: {exc}") from None


@app.command()
def run(config: Path = typer.Option(..., "--config", "-c", help="the agent's TOML file")) -> None:
    """Collect telemetry, derive hours and breakdowns, sync to the hub; until SIGTERM."""
    from edge.agent import EdgeAgent
    from shared.logs import configure_logging

    configure_logging("edge")
    agent = EdgeAgent(load_config(config))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    agent.run(stop)


@app.command()
def enroll(config: Path = typer.Option(..., "--config", "-c", help="the agent's TOML file (hub_url is required)"),
           token: str = typer.Option(..., "--token", help="the one-time enrollment token an administrator issued"),
           name: str = typer.Option("", "--name", help="how the hub lists this gateway (default: the host name)"),
           ) -> None:
    """Enroll this gateway once: an Ed25519 key is made beside the store and registered with the hub, which
    assigns the device id; the agent then signs in with it for as long as it runs (no token to renew)."""
    import socket

    from shared.device_auth import DeviceKey, load_enrollment, save_enrollment
    from shared.device_auth import enroll as enroll_device
    from shared.errors import PitlineError

    cfg = load_config(config)
    if not cfg.hub_url:
        raise typer.BadParameter(f"{config}: set hub_url to enroll")
    existing = load_enrollment(cfg.device_folder)
    if existing is not None:
        typer.echo(f"already enrolled as {existing.device_id} (tenant {existing.tenant_id}) at {existing.hub_url}; "
                   f"remove {cfg.device_folder} to enroll again", err=True)
        raise typer.Exit(2)
    key = DeviceKey.load_or_create(cfg.device_folder)
    try:
        done = enroll_device(cfg.hub_url, token, name or socket.gethostname(), "edge", key)
    except PitlineError as exc:
        typer.echo(f"enrollment failed: {exc}", err=True)
        raise typer.Exit(1) from None
    save_enrollment(cfg.device_folder, done)
    typer.echo(f"enrolled as device {done.device_id} of tenant {done.tenant_id} (sites: "
               f"{', '.join(done.site_ids) if done.site_ids else 'all'})")


@app.command()
def status(config: Path = typer.Option(..., "--config", "-c"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Connected?, samples, dead letters, outbox depth, last sync (from the running agent's status file)."""
    cfg = load_config(config)
    if not cfg.status_path.exists():
        typer.echo("no status yet: is the agent running?", err=True)
        raise typer.Exit(1)
    report = json.loads(cfg.status_path.read_text())
    if as_json:
        typer.echo(json.dumps(report))
        return
    for key, value in report.items():
        typer.echo(f"{key:>20}: {value}")


@app.command()
def simulate(
    host: str = typer.Option("127.0.0.1"), port: int = typer.Option(1883), site: str = typer.Option("site-1"),
    machines: int = typer.Option(10, min=1), minutes: int = typer.Option(60, min=1),
    rate: float = typer.Option(0.0, help="messages per second; 0 = as fast as possible"),
    seed: int = typer.Option(1),
) -> None:
    """Publish a simulated fleet's telemetry (trucks, excavators, dozers) to a broker."""
    from edge.simulator import publish

    sent = publish(host, port, site, machines=machines, minutes=minutes, rate=rate, seed=seed)
    typer.echo(f"published {sent} samples for {machines} machines over {minutes} simulated minutes")
