"""authstore: the security state of OAuth 2 / OpenID Connect servers and clients.

    import authstore
    store = authstore.open("sqlite:///var/lib/app/auth.db", key_file="/etc/app/authstore.keys")
    issued = store.codes.issue(authstore.CodeGrant(client_id="app", subject="alice",
                                                   redirect_uri="https://app/cb")).value
    result = store.codes.consume(issued.code)      # exactly one concurrent caller gets OK
    if result.status == authstore.Status.ALREADY_CONSUMED:
        store.refresh.revoke_grant(result.value.grant.subject, result.value.grant.grant_id)

Every store call releases the GIL. Each has an awaitable twin ``<name>_async`` that returns an
asyncio future completed from the C++ asynchronous API (no thread per call). Outcomes come back
as ``Result`` (``status``, ``value``, ``message``, ``field``); errors raise ``AuthstoreError``
subclasses. See docs/python.md.
"""

import atexit as _atexit
import weakref as _weakref

from ._errors import (  # noqa: F401
    AuthstoreError,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    InternalError,
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
)
from ._authstore import (  # noqa: F401
    NO_EXPIRY,
    ClientCredentials,
    ClientTokenOptions,
    ClientTokenStore,
    Clock,
    CodeGrant,
    CodeOptions,
    CodeRecord,
    CodeStore,
    IssuedCode,
    IssuedRefreshToken,
    JtiRecord,
    KeyEntry,
    KeyOptions,
    KeyPage,
    ManualClock,
    Metrics,
    Options,
    PayloadOptions,
    PayloadStore,
    PayloadWrite,
    PkceValues,
    RefreshFamily,
    RefreshGrant,
    RefreshOptions,
    RefreshTokenInfo,
    RefreshTokenState,
    RefreshTokenStore,
    ReplayCache,
    ReplayOptions,
    Reservation,
    Result,
    SecurityEvent,
    Session,
    SessionOptions,
    SessionStore,
    Status,
    Store,
    StoredPayload,
    SystemClock,
    TokenRecord,
    create_key_file,
    new_session_id,
    pkce_new_verifier,
    pkce_s256_challenge,
    verify_pkce,
)
from ._authstore import open as _open

__version__ = "0.1.0"

# Stores still open at interpreter exit are closed while every thread can still take the GIL
# (a Redis store completes its requests in flight on its I/O thread).
_open_stores = _weakref.WeakSet()


def open(url, key_file=None, **kwargs):  # noqa: A001 - the library's name for it
    """Opens the store a URL names; see ``authstore._authstore.open`` for the keywords."""
    store = _open(url, key_file, **kwargs)
    _open_stores.add(store)
    return store


open.__doc__ = _open.__doc__


@_atexit.register
def _close_open_stores():
    for store in list(_open_stores):
        store.close()
