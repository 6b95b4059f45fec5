"""Keys are derived by the store: a client's file name only ever adds a safe last segment."""

from __future__ import annotations

import uuid

import pytest

from vigil.artifacts import artifact_key, parse_artifact_key, sanitize_file_name
from vigil.artifacts._keys import MAX_FILE_NAME_LENGTH, is_safe_key


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("render.mp4", "render.mp4"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("..", "file"),
        ("", "file"),
        (".bashrc", "bashrc"),
        ("-rf", "rf"),
        ("a\x00b.txt", "a_b.txt"),
        ("report final (2).pdf", "report_final_2_.pdf"),
        ("résumé.pdf", "resume.pdf"),
        ("日本語.png", "png"),
        ("trailing.", "trailing"),
    ],
)
def test_file_names_are_sanitised(given: str, kept: str) -> None:
    assert sanitize_file_name(given) == kept


def test_long_names_are_cut_keeping_the_extension() -> None:
    """A 1 KiB name becomes 128 characters, its extension kept."""
    name = sanitize_file_name("x" * 1024 + ".tar.gz")
    assert len(name) == MAX_FILE_NAME_LENGTH
    assert name.endswith("x.gz")
    assert len(sanitize_file_name("y" * 1024)) == MAX_FILE_NAME_LENGTH


def test_keys_name_the_run_and_the_artifact() -> None:
    run_id, artifact_id = uuid.uuid4(), uuid.uuid4()
    key = artifact_key(run_id, artifact_id, "../../out/video.mp4")
    assert key == f"runs/{run_id}/{artifact_id}/video.mp4"
    assert parse_artifact_key(key) == (run_id, artifact_id, "video.mp4")
    assert is_safe_key(key)


@pytest.mark.parametrize(
    "key", ["", "../x", "runs/../x", "runs//x", "/runs/x", "runs/x/", "runs/.x", "runs/a b"]
)
def test_unsafe_keys_are_not_keys(key: str) -> None:
    assert not is_safe_key(key)
    assert parse_artifact_key(key) is None
