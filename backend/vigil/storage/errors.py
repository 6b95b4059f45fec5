"""Domain errors of the store; the HTTP layer maps each to one status code."""


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class NotFound(StoreError):  # noqa: N818  (a domain name, mapped to HTTP 404)
    """The addressed run, workflow, alert or artifact does not exist (HTTP 404)."""


class Conflict(StoreError):  # noqa: N818  (a domain name, mapped to HTTP 409)
    """The request contradicts the current state: finishing a finished run, moving a
    workflow out of a terminal status, acknowledging an acknowledged alert (HTTP 409)."""


class InvalidCursor(StoreError):  # noqa: N818  (a domain name, mapped to HTTP 400)
    """A pagination cursor that this store did not issue for this listing (HTTP 400)."""


class InvalidData(StoreError):  # noqa: N818  (a domain name, mapped to HTTP 422)
    """The database refused a value of the request (HTTP 422). Its text names the kind of
    refusal only: the database's own message quotes the refused data, which may hold a
    secret, so it is dropped (and not chained)."""


class StoreUnavailable(StoreError):  # noqa: N818  (a domain name, mapped to HTTP 503)
    """The database could not be reached or answered too slowly (HTTP 503)."""
