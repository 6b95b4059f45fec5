"""What an artifact store raises: one base class, each failure a type of its own.

The controller maps them to HTTP answers in one table (``vigil.controller.store_errors``):
``ObjectNotFound`` 404, ``ChecksumMismatch`` 400 (what S3 answers a bad digest with),
``ObjectTooLarge`` 413, and ``ArtifactStoreUnavailable`` (its subclasses ``BucketNotFound``
and ``AccessDenied`` included: nothing a client can fix) 503 with ``Retry-After``.
"""

from __future__ import annotations


class ArtifactStoreError(Exception):
    """Base of every artifact store failure."""


class ObjectNotFound(ArtifactStoreError):  # noqa: N818  (a domain name, mapped to HTTP 404)
    """No object under that key."""


class ChecksumMismatch(ArtifactStoreError):  # noqa: N818  (a domain name, mapped to HTTP 400)
    """The bytes stored do not have the sha256 the client declared (nothing is kept)."""


class ObjectTooLarge(ArtifactStoreError):  # noqa: N818  (a domain name, mapped to HTTP 413)
    """The upload passed its size limit (nothing is kept)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than the limit of {limit} bytes")
        self.limit = limit


class ArtifactStoreUnavailable(ArtifactStoreError):  # noqa: N818  (a domain name, mapped to HTTP 503)
    """The store cannot be reached, timed out, or answered with a server error; retried
    with backoff (where the operation is safe to repeat) before this is raised."""


class BucketNotFound(ArtifactStoreUnavailable):
    """The configured bucket does not exist at the endpoint."""


class AccessDenied(ArtifactStoreUnavailable):
    """The endpoint refused the controller's credentials (a wrong key or secret, or a key
    without the permission)."""
