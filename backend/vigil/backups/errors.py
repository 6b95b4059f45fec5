"""What a backup, a verification or a restore raises: one base class, a type per failure."""

from __future__ import annotations


class BackupError(Exception):
    """Base of every backup failure."""


class BackupNotFound(BackupError):  # noqa: N818  (a domain name, mapped to HTTP 404)
    """No complete backup (no manifest) with that id in the backup location."""


class BackupCorrupt(BackupError):  # noqa: N818  (a domain name)
    """A part or the manifest does not match what was recorded when the backup was made
    (size, sha256, or the manifest's own checksum): nothing was restored."""


class BackupInProgress(BackupError):  # noqa: N818  (a domain name, mapped to HTTP 409)
    """A backup is already running in this process."""


class DatabaseToolMissing(BackupError):  # noqa: N818  (a domain name)
    """No pg_dump / pg_restore / psql of the server's major version was found."""


class DatabaseToolFailed(BackupError):  # noqa: N818  (a domain name)
    """pg_dump, pg_restore or psql exited with an error (its message is in this one)."""
