"""What a database dump measured, whichever engine made it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatabaseDump:
    """Rows per table and the schema revision, both read in the dump's own snapshot, and
    the server's (or SQLite library's) version."""

    row_counts: dict[str, int]
    schema_revision: str | None
    server_version: str | None
