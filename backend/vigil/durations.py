"""Prometheus/Alertmanager duration strings (``1h30m``, ``10s``), as Go's model.ParseDuration
reads them: units in this order, each at most once."""

from __future__ import annotations

import re

_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1_000, 1)


def parse_duration(text: str) -> int:
    """A duration such as ``1m30s`` in milliseconds; ``ValueError`` if it is not one."""
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groups()):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * unit for n, unit in zip(match.groups(), _UNIT_MS, strict=True) if n)
