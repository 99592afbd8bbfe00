"""authstore for Authlib 1.2 authorization servers: grant mixins whose decisions are atomic.

Authlib validates a request first and then asks storage to delete what it used; its documented
query-then-delete pattern spends one code twice when two requests race. Here the hooks Authlib
calls while validating only *peek*; once Authlib has validated the request, one atomic authstore
call decides before any token leaves:

* codes: the code Authlib hands out is the one ``codes.issue`` minted; ``query_authorization_code``
  peeks; ``create_token_response`` consumes. A second exchange (or a peek that finds the code
  consumed) is ``invalid_grant`` and revokes every refresh family issued under the code's grant
  (RFC 9700 4.4; ``REVOKE_GRANT_ON_REPLAY``, on by default). A failed request (wrong verifier,
  wrong redirect_uri, another client) never spends the code.
* PKCE (RFC 7636): S256 only unless ``ALLOW_PLAIN_PKCE``; checked by authstore in constant time.
* refresh: ``authenticate_refresh_token`` peeks; ``create_token_response`` rotates. A rotated
  token presented again revokes its family.
* revocation (RFC 7009): refresh tokens revoke their family; another client's token answers 200
  and lives.
* client assertions (RFC 7523): ``validate_jti`` reserves (iss, jti) until exp.
* access tokens: ``access_token_live`` is the resource server's check, in any process sharing the
  store: a token is refused once its grant is revoked (a replayed code) or its user logged out
  (everywhere, or from its client) at or after the token's ``issued_at``
  (``request.authstore_decision_started``: the clock read before the code or refresh decision,
  minus ``LOGOUT_RACE_MARGIN_MS``; see ``decision_time_ms``).

Usage (see examples/flask_provider)::

    class CodeGrant(AuthorizationCodeGrant, authstore.authlib.AuthorizationCodeMixin):
        store = my_store
        def authenticate_user(self, code): return users[code.subject]
"""

import json
import time

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin as _AuthlibCode

import authstore
from authstore import Status


def now_ms():
    """The system clock in Unix ms (the store's default clock)."""
    return int(time.time() * 1000)


# A logout records the time its call read the clock, and runs a moment later; a refresh or code
# decision that started after that reading can still run before the logout (on another thread or
# connection), and its tokens must die with the logout. So the issued_at given to access tokens is
# the decision's start minus this margin (longer than a logout call waits before it runs, here
# within the store's default timeout): a logout recorded up to a second before a decision started
# still kills that decision's tokens. The cost: a token issued within a second after a logout is
# refused too (the user signs in again), and tokens count as a second older against
# refresh.access_token_max_ttl_ms.
LOGOUT_RACE_MARGIN_MS = 1000


def decision_time_ms():
    """An access token's issued_at, read before the decision that grants it (see
    LOGOUT_RACE_MARGIN_MS)."""
    return now_ms() - LOGOUT_RACE_MARGIN_MS


def access_token_live(store, subject, client_id, grant_id, issued_at_ms):
    """True while an access token of (subject, client_id, grant_id) issued at issued_at_ms (Unix
    ms) stands: its grant not revoked, its user not logged out (everywhere or from the client) at
    or after issued_at_ms, issued_at_ms within ``refresh.access_token_max_ttl_ms`` (1 h by default;
    logouts are remembered that long). One round trip (``refresh.grant_live``); a store that cannot
    answer raises (``authstore.Unavailable``...), so a protected resource fails closed."""
    return store.refresh.grant_live(subject, client_id, grant_id or "", issued_at_ms).ok


class StoredCode(_AuthlibCode):
    """An authorization code as Authlib sees it, read by ``codes.peek``."""

    def __init__(self, code, record):
        self.code = code
        self.record = record
        grant = record.grant
        self.client_id = grant.client_id
        self.subject = grant.subject
        self.grant_id = grant.grant_id
        self.scope = grant.scope
        self.nonce = grant.nonce
        self.auth_time = grant.auth_time // 1000 if grant.auth_time else None

    def get_redirect_uri(self):
        return self.record.grant.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce or None

    def get_auth_time(self):
        return self.auth_time


class StoredRefreshToken:
    """A refresh token as Authlib sees it, read by ``refresh.peek`` (the family is not a secret)."""

    def __init__(self, token, family):
        self.refresh_token = token
        self.family = family
        self.client_id = family.client_id
        self.subject = family.subject
        self.grant_id = family.grant_id

    def check_client(self, client):
        return self.client_id == client.get_client_id()

    def get_scope(self):
        return self.family.scope

    def is_refresh_token_active(self):
        return True

    def get_expires_in(self):
        """Access token lifetime of a refreshed token: None = the server's default."""
        return None


def _subject_of(user):
    if hasattr(user, "get_user_id"):
        return str(user.get_user_id())
    return str(user)


class AuthorizationCodeMixin:
    """Mix into ``authlib.oauth2.rfc6749.grants.AuthorizationCodeGrant`` (before it in the bases
    or after: every hook is defined here). Set ``store`` (an ``authstore.Store``). The app still
    implements ``authenticate_user(code)`` (``code.subject`` names the user)."""

    store = None
    ALLOW_PLAIN_PKCE = False
    REQUIRE_PKCE = True
    REVOKE_GRANT_ON_REPLAY = True

    # -- authorization endpoint ------------------------------------------------------------
    def validate_authorization_request(self):
        redirect_uri = grants.AuthorizationCodeGrant.validate_authorization_request(self)
        data = self.request.data
        challenge = data.get("code_challenge")
        method = data.get("code_challenge_method") or ("plain" if challenge else None)
        if self.REQUIRE_PKCE and not challenge:
            raise InvalidRequestError('Missing "code_challenge"', redirect_uri=redirect_uri,
                                      state=self.request.state)
        if method == "plain" and not self.ALLOW_PLAIN_PKCE:
            raise InvalidRequestError('Unsupported "code_challenge_method" (S256 only)',
                                      redirect_uri=redirect_uri, state=self.request.state)
        if method not in (None, "S256", "plain"):
            raise InvalidRequestError('Unsupported "code_challenge_method"',
                                      redirect_uri=redirect_uri, state=self.request.state)
        return redirect_uri

    def generate_authorization_code(self):
        """Mints the code with ``codes.issue`` from the validated authorization request."""
        request = self.request
        data = request.data
        grant = authstore.CodeGrant(
            client_id=request.client.get_client_id(),
            subject=_subject_of(request.user),
            scope=request.scope or "",
            redirect_uri=request.redirect_uri or request.client.get_default_redirect_uri(),
            nonce=data.get("nonce") or "",
            code_challenge=data.get("code_challenge") or "",
            code_challenge_method=data.get("code_challenge_method") or "")
        return self.store.codes.issue(grant).value.code

    def save_authorization_code(self, code, request):
        """Nothing to do: ``codes.issue`` stored the code when it minted it."""

    # -- token endpoint ---------------------------------------------------------------------
    def query_authorization_code(self, code, client):
        """Peeks. Another client's code, an unknown, expired or malformed code: None (Authlib
        answers invalid_grant; nothing is spent). A consumed code: None, and its grant is
        revoked."""
        try:
            seen = self.store.codes.peek(code)
        except authstore.InvalidArgument:
            return None
        if seen.status == Status.ALREADY_CONSUMED:
            self.code_replayed(seen.value)
            return None
        if not seen.ok or seen.value.grant.client_id != client.get_client_id():
            return None
        return StoredCode(code, seen.value)

    def validate_token_request(self):
        grants.AuthorizationCodeGrant.validate_token_request(self)
        code = self.request.credential
        verifier = self.request.form.get("code_verifier")
        if code.record.grant.code_challenge or verifier is not None:
            try:
                authstore.verify_pkce(code.record, verifier or "", self.ALLOW_PLAIN_PKCE)
            except authstore.InvalidArgument as err:
                raise InvalidGrantError(f"PKCE: {err.message}") from None

    def consume_authorization_code(self, code):
        """The one atomic decision: OK for exactly one concurrent request."""
        return self.store.codes.consume(code.code)

    def create_token_response(self):
        code = self.request.credential
        # Taken before the decision: it is the access token's issued_at for access_token_live, so
        # that a logout recorded at or after it kills this response's tokens.
        self.request.authstore_decision_started = decision_time_ms()
        spent = self.consume_authorization_code(code)
        if spent.status == Status.ALREADY_CONSUMED:
            self.code_replayed(spent.value)
        if not spent.ok:
            raise InvalidGrantError('Invalid "code" in request.')
        self._authstore_code = code
        return grants.AuthorizationCodeGrant.create_token_response(self)

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        token = grants.AuthorizationCodeGrant.generate_token(
            self, user=user, scope=scope, grant_type=grant_type, expires_in=expires_in,
            include_refresh_token=include_refresh_token)
        if include_refresh_token:  # the refresh token is authstore's, whatever the generator
            code = self._authstore_code
            issued = self.store.refresh.issue(authstore.RefreshGrant(
                subject=code.subject, client_id=code.client_id, scope=code.scope or "",
                grant_id=code.grant_id, metadata_json=self.refresh_metadata_json()))
            if issued.ok:
                token["refresh_token"] = issued.value.token
            else:
                # REVOKED: a concurrent replay of this code revoked its grant after this request
                # won the consume. This stays the code's one success, but carries no refresh
                # token; the app's code_replayed() has marked the grant's access tokens dead.
                token.pop("refresh_token", None)
        return token

    def refresh_metadata_json(self):
        """Metadata stored with a new refresh family (shown on a "your devices" page)."""
        agent = self.request.headers.get("User-Agent", "") if self.request.headers else ""
        return json.dumps({"user_agent": agent[:200]})

    def delete_authorization_code(self, authorization_code):
        """Nothing to do: ``consume`` spent the code atomically before the token was made."""

    def code_replayed(self, record):
        """A consumed code came back: revoke what its grant issued (RFC 9700 4.4)."""
        if self.REVOKE_GRANT_ON_REPLAY:
            self.store.refresh.revoke_grant(record.grant.subject, record.grant.grant_id)


class RefreshTokenMixin:
    """Mix into ``authlib.oauth2.rfc6749.grants.RefreshTokenGrant``. Set ``store``; the app
    implements ``authenticate_user(credential)`` (``credential.subject``)."""

    store = None
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        """Peeks. A rotated token presented again is reuse: the rotation that reports it
        revokes the family (the request then fails)."""
        try:
            seen = self.store.refresh.peek(refresh_token)
        except authstore.InvalidArgument:
            return None
        if not seen.ok:
            return None
        state = seen.value.state
        if state == authstore.RefreshTokenState.ROTATED:
            client = self.request.client
            if client is not None and seen.value.family.client_id == client.get_client_id():
                self.store.refresh.rotate(refresh_token, client.get_client_id())  # -> REUSED
            return None
        if state != authstore.RefreshTokenState.ACTIVE:
            return None
        return StoredRefreshToken(refresh_token, seen.value.family)

    def create_token_response(self):
        credential = self.request.credential
        self.request.authstore_decision_started = decision_time_ms()
        rotated = self.store.refresh.rotate(credential.refresh_token,
                                            self.request.client.get_client_id())
        if not rotated.ok:
            raise InvalidGrantError()
        self._authstore_rotated = rotated.value
        return grants.RefreshTokenGrant.create_token_response(self)

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        token = grants.RefreshTokenGrant.generate_token(
            self, user=user, scope=scope, grant_type=grant_type, expires_in=expires_in,
            include_refresh_token=True)
        token["refresh_token"] = self._authstore_rotated.token
        return token

    def revoke_old_credential(self, credential):
        """Nothing to do: ``rotate`` spent the old token atomically."""


class RevocationMixin:
    """Mix into ``authlib.oauth2.rfc7009.RevocationEndpoint`` for refresh tokens. Access tokens
    go to ``query_access_token`` / ``revoke_access_token`` (the app's)."""

    store = None

    def query_token(self, token_string, token_type_hint):
        if token_string.startswith(("rt2_", "rt1_")):
            try:
                seen = self.store.refresh.peek(token_string)
            except authstore.InvalidArgument:
                return None
            if seen.ok:
                return StoredRefreshToken(token_string, seen.value.family)
            return None
        return self.query_access_token(token_string)

    def revoke_token(self, token, request):
        if isinstance(token, StoredRefreshToken):
            self.store.refresh.revoke(token.refresh_token)
        else:
            self.revoke_access_token(token, request)

    def query_access_token(self, token_string):
        return None

    def revoke_access_token(self, token, request):
        raise NotImplementedError


class ClientAssertionJtiMixin:
    """Mix into ``authlib.oauth2.rfc7523.JWTBearerClientAssertion``: each (iss, jti) is accepted
    once until its exp (plus the store's leeway); a resent assertion is refused."""

    store = None

    def validate_jti(self, claims, jti):
        try:
            held = self.store.replay.reserve(claims["iss"], jti, int(claims["exp"]) * 1000)
        except authstore.InvalidArgument:
            return False
        return held.ok
