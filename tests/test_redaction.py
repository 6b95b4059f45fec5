"""Redaction: the forms in which secrets reach log text, and the keys whose values are secrets."""

from __future__ import annotations

import pytest

from vigil.redaction import REDACTED, is_sensitive_key, redact, redact_text


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
