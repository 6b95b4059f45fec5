"""Integrations of Vigil with agent frameworks, one package each, each an optional extra:
``vigil.integrations.langgraph`` (``pip install 'vigil[langgraph]'``), docs/langgraph.md;
``vigil.integrations.temporal`` (``pip install 'vigil[temporal]'``), docs/temporal.md."""
