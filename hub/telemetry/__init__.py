"""The telemetry store (DESIGN.md, sync contract item 6): edges POST compressed sample batches, the hub
bulk-loads them into monthly partitions of `telemetry.samples`, answers range queries and drops whole
partitions past retention. Router: `hub.telemetry.api.router`."""
