"""Read models of the operations modules, projected from `sync.records` (see runner.py)."""

from hub.projections.runner import ProjectionReport, project, rebuild

__all__ = ["ProjectionReport", "project", "rebuild"]
