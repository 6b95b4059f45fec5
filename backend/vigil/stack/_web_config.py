"""HTTP basic auth for Prometheus and Alertmanager: their ``--web.config.file``.

Without it anyone who can reach the port may use the whole API: inject alerts into
Alertmanager (whose v2 API also answers ``Access-Control-Allow-Origin: *``, so any web page a
developer opens may POST to it), or stop and reload Prometheus when its lifecycle API is on.
Prometheus (>= 2.24) and Alertmanager (>= 0.22) take a web config file with
``basic_auth_users``: user name -> bcrypt hash; every endpoint then wants that user and its
password (the Prometheus guide "Securing Prometheus API and UI endpoints using basic auth"
hashes with Python's bcrypt, as here). The password stays in its secrets file; the web config
holds only the hash. One user, ``vigil``, per service, each with its own password.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import bcrypt

from vigil.stack._secrets import ensure_secret, write_private

BASIC_AUTH_USER: Final = "vigil"
WEB_CONFIG_HEADER: Final = (
    "# Rendered by Vigil: HTTP basic auth for every endpoint (exporter-toolkit web config).\n"
    "# Only bcrypt hashes here; the passwords are in the secrets files next to the others.\n"
)


@dataclass(frozen=True)
class BasicAuth:
    """A user and password for HTTP basic auth (the password is left out of the repr)."""

    user: str
    password: str = field(repr=False)

    def pair(self) -> tuple[str, str]:
        """``(user, password)``, as httpx's ``auth=`` takes it."""
        return self.user, self.password


def basic_auth(secret_file: Path) -> BasicAuth:
    """The ``vigil`` user with the password kept in ``secret_file`` (generated on first use)."""
    return BasicAuth(BASIC_AUTH_USER, ensure_secret(secret_file))


def render_web_config(auth: BasicAuth) -> str:
    """A web config granting ``auth.user`` with a fresh bcrypt hash of its password."""
    hashed = bcrypt.hashpw(auth.password.encode(), bcrypt.gensalt()).decode()
    # JSON strings are YAML strings: the hash is quoted whatever characters it holds.
    return f"{WEB_CONFIG_HEADER}basic_auth_users:\n  {auth.user}: {json.dumps(hashed)}\n"


def write_web_config(path: Path, auth: BasicAuth) -> None:
    """Write the web config granting ``auth`` to ``path`` (mode 600)."""
    write_private(path, render_web_config(auth))
