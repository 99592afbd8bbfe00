"""A runnable OAuth 2 provider (Flask + Authlib 1.2) whose security state is authstore.

    /usr/bin/python3 examples/flask_provider/app.py [STORE_URL] [--port 5000]

STORE_URL defaults to sqlite://provider.db; keys come from AUTHSTORE_KEY_FILE (or a key file
created beside the database on first run). Login (any user name, no password: a demo),
auto-approved consent, /oauth/token (authorization code with PKCE S256, refresh), /oauth/revoke,
/logout-everywhere, a protected resource /api/me, and /devices ("your devices": the user's
refresh families, each with a revoke button).

Access tokens are opaque and kept in this process (a demo limit: one process); codes, refresh
tokens and their families are authstore's, so every decision on them is atomic across threads
and processes.
"""

import os
import secrets
import sys
import threading
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import Flask, abort, jsonify, redirect, request, session

import authstore
import authstore.authlib as adapters


class Client(ClientMixin):
    """A registered public client (PKCE, no secret)."""

    def __init__(self, client_id, redirect_uris, scope="profile offline_access", secret=None):
        self.client_id = client_id
        self.redirect_uris = redirect_uris
        self.scope = scope
        # A confidential client authenticates with an HS256 client assertion (RFC 7523) signed
        # with this secret; a public one with nothing (PKCE).
        self.secret = secret

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return False

    def check_endpoint_auth_method(self, method, endpoint):
        if self.secret:
            return method == JWTBearerClientAssertion.CLIENT_AUTH_METHOD
        return method == "none"

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


AUTH_METHODS = ["none", JWTBearerClientAssertion.CLIENT_AUTH_METHOD]


class User:
    def __init__(self, name):
        self.name = name

    def get_user_id(self):
        return self.name


class AccessTokens:
    """Opaque bearer tokens: token -> (subject, client_id, grant_id, expiry, issued_at ms). Whether
    a token's grant still stands (code replayed, user logged out) is authstore's answer
    (``adapters.access_token_live``), not this table's: any process sharing the store refuses it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tokens = {}

    def save(self, token, subject, client_id, grant_id, issued_at_ms):
        with self._lock:
            self._tokens[token["access_token"]] = (subject, client_id, grant_id,
                                                   time.time() + token.get("expires_in", 3600),
                                                   issued_at_ms)

    def get(self, access_token):
        with self._lock:
            found = self._tokens.get(access_token)
            if found and found[3] <= time.time():
                found = None
        return found

    def remove(self, access_token):
        with self._lock:
            self._tokens.pop(access_token, None)



def create_app(store, clients=None, code_grant=None, refresh_grant=None):
    """The Flask app over an open authstore.Store. Tests pass grant subclasses to instrument."""
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    clients = clients or {
        "client-a": Client("client-a", ["http://127.0.0.1/cb-a"]),
        "client-b": Client("client-b", ["http://127.0.0.1/cb-b"]),
        "client-c": Client("client-c", ["http://127.0.0.1/cb-c"], secret=b"c" * 32),
    }
    access = AccessTokens()

    class CodeGrant(adapters.AuthorizationCodeMixin, grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

        def authenticate_user(self, code):
            return User(code.subject)

    class RefreshGrant(adapters.RefreshTokenMixin, grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

        def authenticate_user(self, credential):
            return User(credential.subject)

    class Revocation(adapters.RevocationMixin, RevocationEndpoint):
        CLIENT_AUTH_METHODS = ["none"]

        def query_access_token(self, token_string):
            found = access.get(token_string)
            if found is None:
                return None
            return _AccessToken(token_string, found[1])

        def revoke_access_token(self, token, request):
            access.remove(token.value)

    class ClientAssertion(adapters.ClientAssertionJtiMixin, JWTBearerClientAssertion):
        """RFC 7523 client assertions; each jti is accepted once (authstore's replay cache)."""

        def __init__(self):
            super().__init__(token_url=None)

        @property
        def token_url(self):  # the audience: this server's token endpoint
            return request.url_root + "oauth/token"

        @token_url.setter
        def token_url(self, value):
            pass

        def resolve_client_public_key(self, client, headers):
            return client.secret

    for cls in (CodeGrant, RefreshGrant, Revocation, ClientAssertion):
        cls.store = store
    code_grant = code_grant(CodeGrant) if code_grant else CodeGrant
    refresh_grant = refresh_grant(RefreshGrant) if refresh_grant else RefreshGrant

    def save_token(token, req):
        credential = req.credential
        grant_id = getattr(credential, "grant_id", "")
        access.save(token, req.user.get_user_id(), req.client.get_client_id(), grant_id,
                    getattr(req, "authstore_decision_started", adapters.decision_time_ms()))

    server = AuthorizationServer(app, query_client=clients.get, save_token=save_token)
    server.register_client_auth_method(ClientAssertion.CLIENT_AUTH_METHOD, ClientAssertion())
    server.register_grant(code_grant)
    server.register_grant(refresh_grant)
    server.register_endpoint(Revocation)
    app.config["authstore"] = store
    app.config["access_tokens"] = access

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            session["user"] = request.form["username"]
            return redirect(request.args.get("next") or "/devices")
        return ('<form method="post"><input name="username" id="username">'
                '<button id="login">Log in</button></form>')

    @app.route("/oauth/authorize")
    def authorize():
        if "user" not in session:
            return redirect("/login?next=" + _quote(request.full_path))
        return server.create_authorization_response(grant_user=User(session["user"]))

    @app.route("/oauth/token", methods=["POST"])
    def token():
        return server.create_token_response()

    @app.route("/oauth/revoke", methods=["POST"])
    def revoke():
        return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

    @app.route("/api/me")
    def me():
        header = request.headers.get("Authorization", "")
        found = access.get(header[7:]) if header.startswith("Bearer ") else None
        if found is None or not adapters.access_token_live(store, found[0], found[1], found[2], found[4]):
            return jsonify(error="invalid_token"), 401
        return jsonify(sub=found[0], client_id=found[1])

    @app.route("/logout-everywhere", methods=["POST"])
    def logout_everywhere():
        user = session.get("user") or abort(401)
        store.refresh.revoke_subject(user)  # its access tokens too: see access_token_live
        session.clear()
        return jsonify(ok=True)

    @app.route("/devices")
    def devices():
        user = session.get("user") or abort(401)
        rows = "".join(
            f'<li class="device" id="{f.family_id}">{_escape(f.client_id)} '
            f'({f.rotations} refreshes) <form method="post" action="/devices/revoke">'
            f'<input type="hidden" name="family_id" value="{f.family_id}">'
            f'<button class="revoke">Revoke</button></form></li>'
            for f in store.refresh.list(user).value)
        return f"<h1>Your devices</h1><ul>{rows}</ul>"

    @app.route("/devices/revoke", methods=["POST"])
    def revoke_device():
        user = session.get("user") or abort(401)
        family_id = request.form["family_id"]
        if not any(f.family_id == family_id for f in store.refresh.list(user).value):
            abort(404)
        store.refresh.revoke_family(family_id)
        return redirect("/devices")

    return app


class _AccessToken:
    def __init__(self, value, client_id):
        self.value = value
        self.client_id = client_id

    def check_client(self, client):
        return client.get_client_id() == self.client_id


def _quote(text):
    from urllib.parse import quote
    return quote(text, safe="")


def _escape(text):
    from html import escape
    return escape(text)


def main(argv):
    url = argv[1] if len(argv) > 1 and not argv[1].startswith("--") else "sqlite://provider.db"
    port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 5000
    if url.startswith("memory://"):
        store = authstore.open(url, development_mode=True)  # a throwaway key: nothing persists
    else:
        key_file = os.environ.get("AUTHSTORE_KEY_FILE") or url.split("://", 1)[-1] + ".keys"
        if not os.path.exists(key_file):
            authstore.create_key_file(key_file)
        store = authstore.open(url, key_file=key_file)
    create_app(store).run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main(sys.argv)
