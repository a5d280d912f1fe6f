"""The `pitline` command: the composition root. It alone may import hub, edge and desktop."""
