"""Errors raised by authstore: the operation did not run or could not decide (fail closed).

Expected outcomes (not found, already consumed, replayed, reused, conflict, revoked) are never
raised: they come back as a ``Result`` whose ``status`` tells. Every error carries ``code`` (a
stable string such as ``"invalid_argument"``), ``field`` (the input field at fault, or ``""``)
and a message that never contains a secret.
"""


class AuthstoreError(Exception):
    """Base class of every authstore error."""

    def __init__(self, message: str, code: str = "internal", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def __str__(self) -> str:
        prefix = f"{self.code}: "
        if self.field:
            prefix += f"{self.field}: "
        return prefix + self.message

    def __reduce__(self):  # picklable across processes (pre-fork servers, multiprocessing)
        return (type(self), (self.message, self.code, self.field))


class InvalidArgument(AuthstoreError, ValueError):
    """Bad input; ``field`` names it and the message says what was expected."""


class PermissionDenied(AuthstoreError):
    """Wrong credentials, forbidden command, or a token bound to another client."""


class Unavailable(AuthstoreError, ConnectionError):
    """The backend is unreachable or failed mid-flight; retry with backoff."""


class DeadlineExceeded(AuthstoreError, TimeoutError):
    """The operation's deadline passed before an answer arrived."""


class ResourceExhausted(AuthstoreError):
    """A bounded resource is full (replay cache capacity, disk, memory)."""


class DataLoss(AuthstoreError):
    """Stored data is corrupt or unreadable beyond a single record."""


class FailedPrecondition(AuthstoreError):
    """The store is not in a state to run this (closed, wrong keys, wrong schema)."""


class InternalError(AuthstoreError):
    """A bug or an unexpected library failure."""


# Status code values (authstore::StatusCode) -> class; used by the extension module.
_BY_CODE = {
    16: InvalidArgument,
    17: PermissionDenied,
    18: Unavailable,
    19: DeadlineExceeded,
    20: ResourceExhausted,
    21: DataLoss,
    22: FailedPrecondition,
    23: InternalError,
}
