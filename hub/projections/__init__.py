"""Read models of the operations modules, projected from `sync.records` (see runner.py; worker.py keeps
them fresh in a running hub)."""

from hub.projections.runner import ProjectionReport, project, rebuild
from hub.projections.worker import ProjectionWorker

__all__ = ["ProjectionReport", "ProjectionWorker", "project", "rebuild"]
