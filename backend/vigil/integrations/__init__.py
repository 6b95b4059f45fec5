"""Integrations of Vigil with agent frameworks, one package each, each an optional extra:
``vigil.integrations.temporal`` (``pip install 'vigil[temporal]'``), docs/temporal.md."""
