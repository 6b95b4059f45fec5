"""The public surface of ``vigil.auth`` is a decision: this test pins it."""

import vigil.auth


def test_exported_names() -> None:
    assert sorted(vigil.auth.__all__) == [
        "KeyFileError",
        "ParsedToken",
        "Principal",
        "TOKEN_PREFIX",
        "create_key",
        "ensure_key_file",
        "new_token",
        "parse_token",
        "secret_digest",
    ]
    for name in vigil.auth.__all__:
        assert getattr(vigil.auth, name) is not None
