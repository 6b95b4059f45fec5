"""Integrations of Vigil with the frameworks agents run on, one room each (optional extras):
``vigil.integrations.temporal`` (the ``temporal`` extra)."""
