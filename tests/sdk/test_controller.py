"""ControllerAddress: the controller's URL and key the SDK's HTTP parts share."""

import pytest

from vigil.sdk import HttpSink
from vigil.sdk._artifacts import ArtifactUploader
from vigil.sdk._controller import KEY_VARIABLE, URL_VARIABLE, ControllerAddress


def test_the_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_VARIABLE, "http://from-env:8000")
    monkeypatch.setenv(KEY_VARIABLE, "vgl_env")
    assert ControllerAddress.resolve() == ControllerAddress("http://from-env:8000", "vgl_env")
    given = ControllerAddress.resolve("http://given:8000", "vgl_given")
    assert given == ControllerAddress("http://given:8000", "vgl_given")


def test_no_url_is_refused_and_no_key_sends_no_authorization(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    monkeypatch.setenv(KEY_VARIABLE, "")
    with pytest.raises(ValueError, match=URL_VARIABLE):
        ControllerAddress.resolve()
    client = ControllerAddress.resolve("http://c:8000").client(timeout=1)
    assert "Authorization" not in client.headers
    assert client.headers["User-Agent"].startswith("vigil-sdk/")
    client.close()


def test_the_key_is_sent_as_a_bearer_token_and_never_shown() -> None:
    address = ControllerAddress("http://c:8000", "vgl_secret")
    assert "vgl_secret" not in repr(address)
    client = address.client(timeout=1, headers={"Content-Type": "application/json"})
    assert client.headers["Authorization"] == "Bearer vgl_secret"
    assert client.headers["Content-Type"] == "application/json"
    client.close()


def test_an_uploader_for_a_sink_reaches_the_sinks_controller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(URL_VARIABLE, "http://elsewhere:8000")
    sink = HttpSink("http://controller:8000", token="vgl_sink")
    uploader = ArtifactUploader.for_sink(sink)
    assert (
        uploader.address == sink.address == ControllerAddress("http://controller:8000", "vgl_sink")
    )
    uploader.close()
    sink.close()
