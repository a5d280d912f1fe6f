"""Operating the hub: readiness and Prometheus metrics."""
