"""Where the SDK's HTTP parts reach the controller: its URL and API key, from the arguments
or the environment (``VIGIL_URL``, ``VIGIL_API_KEY``), and the httpx client made from them.

``HttpSink`` and ``ArtifactUploader`` both use it, and an uploader made for a sink reuses the
sink's address, so one agent never posts its events to one controller and its files to
another."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Final

import httpx

import vigil

URL_VARIABLE: Final = "VIGIL_URL"
KEY_VARIABLE: Final = "VIGIL_API_KEY"


@dataclass(frozen=True)
class ControllerAddress:
    """A controller's base URL and the API key sent to it (never in the repr)."""

    base_url: str
    token: str | None = field(default=None, repr=False)

    @classmethod
    def resolve(cls, base_url: str | None = None, token: str | None = None) -> ControllerAddress:
        """The given URL and key, else those of the environment; ``ValueError`` without a
        URL."""
        base_url = base_url or os.environ.get(URL_VARIABLE)
        if not base_url:
            raise ValueError(f"no controller URL: pass base_url or set {URL_VARIABLE}")
        return cls(base_url, token or os.environ.get(KEY_VARIABLE) or None)

    def client(
        self,
        *,
        timeout: float,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> httpx.Client:
        """An httpx client for this controller: the SDK's User-Agent, the key as a bearer
        token, ``headers`` on top."""
        sent = {"User-Agent": f"vigil-sdk/{vigil.__version__}", **(headers or {})}
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        return httpx.Client(
            base_url=self.base_url, headers=sent, timeout=timeout, transport=transport
        )
