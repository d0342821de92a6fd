"""Exceptions raised by the source clients.

Every error names its source (``"yahoo"``, ``"quiver"``, ...) so a failed asset says which API
broke. No error ever carries a header value (API keys, ``Authorization``), only the source,
the request path, the HTTP status and a description.
"""

from __future__ import annotations


class SourceError(Exception):
    """A source could not deliver usable data.

    ``str(error)`` is ``"<source>: <message>"``.
    """

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.message = message
        super().__init__(f"{source}: {message}")


class SourceAuthError(SourceError):
    """HTTP 401/403: the key is missing or invalid, or the plan does not include the dataset."""


class SourceRateLimitedError(SourceError):
    """HTTP 429 persisted after every retry."""


class SourceUnavailableError(SourceError):
    """HTTP 5xx, timeouts or connection failures persisted after every retry."""


class PayloadError(SourceError):
    """The source answered, but the body is not what its parser expects.

    ``field`` is the offending JSON field (dotted path or column name) and ``row`` the
    0-based index of the first bad record, when known; both appear in ``str(error)``.
    """

    def __init__(
        self, source: str, message: str, field: str | None = None, row: int | None = None
    ) -> None:
        self.field = field
        self.row = row
        where = []
        if field is not None:
            where.append(f"field {field!r}")
        if row is not None:
            where.append(f"row {row}")
        prefix = f"bad payload ({', '.join(where)})" if where else "bad payload"
        super().__init__(source, f"{prefix}: {message}")
        self.message = message
