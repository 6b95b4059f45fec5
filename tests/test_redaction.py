"""Redaction: the forms in which secrets reach log text, and the keys whose values are secrets."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vigil.redaction import (
    _MAY_HOLD_SECRET,
    REDACTED,
    _may_hold_secret,
    is_sensitive_key,
    redact,
    redact_text,
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("password=hunter2 and more", "hunter2"),
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("token: tk-123", "tk-123"),
        # Python repr, as SQLAlchemy printed a refused statement's parameters (issue 9)
        ("{'metadata': {'password': 'PW-SECRET-111'}}", "PW-SECRET-111"),
        ("[parameters: {'metadata': '{\"password\": \"PW-SECRET-111\"}'}]", "PW-SECRET-111"),
        ('{"api_key":"sk-live-1","x":1}', "sk-live-1"),  # JSON
        ('{\\"client_secret\\": \\"cs-2\\"}', "cs-2"),  # JSON inside a JSON string
        ("connect(password='pw 3 with spaces')", "pw 3 with spaces"),
        ("access_token=eyJhbGciOi; tokenizer=bpe", "eyJhbGciOi"),
        ("postgresql://vigil:db-pw@db:5432/vigil", "db-pw"),
    ],
)
def test_secrets_in_text_are_masked(text: str, secret: str) -> None:
    masked = redact_text(text)
    assert secret not in masked
    assert REDACTED in masked


@pytest.mark.parametrize(
    "text",
    ["GET /items/1 200", "token_count: 5 prompt_tokens=7 max_tokens=100", "tokenizer=bpe"],
)
def test_text_without_secrets_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("password", True),
        ("db_password", True),
        ("Authorization", True),
        ("api-key", True),
        ("access_token", True),
        ("csrfToken", True),
        ("token", True),
        ("prompt_tokens", False),
        ("token_count", False),
        ("tokenizer", False),
        ("max_tokens", False),
    ],
)
def test_sensitive_keys(key: str, sensitive: bool) -> None:
    """LLM token usage stays readable; credentials do not."""
    assert is_sensitive_key(key) is sensitive


def test_structures_are_redacted_at_any_depth() -> None:
    value = {"a": [{"Password": "x", "ok": "password=y"}], "usage": {"prompt_tokens": 5}}
    assert redact(value) == {
        "a": [{"Password": REDACTED, "ok": f"password={REDACTED}"}],
        "usage": {"prompt_tokens": 5},
    }


_WORDS = ["key", "KEY", "Api_Key", "token", "TOKEN", "passw", "PassPhrase", "secret",
          "Credential", "COOKIE", "authorization", "://u:p@h", "@", "=", ":", "/", " ",
          "\u017fecret", "\u212aey", "x", "1"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_WORDS) | st.text(max_size=4), max_size=8).map("".join))
@example("127.0.0.1:5555")
@example("Private-KEY: x")
@example("\u017fecret=x")  # a long s: the regex's case-insensitive match finds "secret"
def test_the_cheap_pre_check_misses_nothing_the_regex_finds(text: str) -> None:
    """The pre-check may say "maybe" more often than the regex, never less."""
    if _MAY_HOLD_SECRET.search(text) is not None:
        assert _may_hold_secret(text)


def test_secrets_are_masked_in_any_letter_case() -> None:
    assert redact_text("PASSWORD=hunter2") == f"PASSWORD={REDACTED}"
    assert redact_text("X-Api-Key: abc") == f"X-Api-Key: {REDACTED}"
    assert redact_text("client 127.0.0.1:5555") == "client 127.0.0.1:5555"
