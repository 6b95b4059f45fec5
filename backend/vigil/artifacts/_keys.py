"""Object keys: derived by the store from the run, the artifact and a sanitised file name.

A client never chooses a path. Its file name only contributes a last segment made of
``[A-Za-z0-9._-]`` (what is left of ``../../etc/passwd`` is ``passwd``; NUL bytes, slashes,
spaces and accents become ``_`` or their ASCII letter), at most ``MAX_FILE_NAME_LENGTH``
characters with its extension kept, never empty, never starting with a dot or a dash.
The key is ``runs/<run id>/<artifact id>/<name>``: one artifact id, one key.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final
from uuid import UUID

MAX_FILE_NAME_LENGTH: Final = 128
MAX_EXTENSION_LENGTH: Final = 16
DEFAULT_FILE_NAME: Final = "file"
KEY_PREFIX: Final = "runs/"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_KEY = re.compile(rf"^runs/({_UUID})/({_UUID})/([A-Za-z0-9][A-Za-z0-9._-]{{0,127}})$")
SAFE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def sanitize_file_name(name: str) -> str:
    """A file name safe as the last segment of a key, in a URL and in a shell."""
    base = re.split(r"[/\\]", name)[-1]
    ascii_only = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    safe = _UNSAFE.sub("_", ascii_only).lstrip("._-").rstrip(".")
    if not safe:
        return DEFAULT_FILE_NAME
    if len(safe) <= MAX_FILE_NAME_LENGTH:
        return safe
    stem, dot, extension = safe.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_LENGTH:
        return safe[:MAX_FILE_NAME_LENGTH]
    return stem[: MAX_FILE_NAME_LENGTH - len(extension) - 1] + "." + extension


def artifact_key(run_id: UUID, artifact_id: UUID, file_name: str) -> str:
    """The key of an artifact's bytes."""
    return f"{KEY_PREFIX}{run_id}/{artifact_id}/{sanitize_file_name(file_name)}"


def parse_artifact_key(key: str) -> tuple[UUID, UUID, str] | None:
    """``(run id, artifact id, file name)`` of a key :func:`artifact_key` made, else None."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    return UUID(match[1]), UUID(match[2]), match[3]


def is_safe_key(key: str) -> bool:
    """Whether ``key`` is made of safe segments only (no ``..``, no empty segment): what a
    store accepts, whoever built the key."""
    segments = key.split("/")
    return bool(key) and all(SAFE_NAME.fullmatch(segment) for segment in segments)
