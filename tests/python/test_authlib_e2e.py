"""examples/flask_provider (Authlib 1.2 + authstore.authlib) over loopback HTTP, driven by
requests-oauthlib, on memory, SQLite and Redis: flows, replay, reuse, revocation, bad input,
a barrier race of one code, and Authlib's documented dict pattern double-spending."""

import os
import sys
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from requests_oauthlib import OAuth2Session
from werkzeug.serving import make_server

import authstore
from conftest import SECRET

os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # loopback http, tests only
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "flask_provider"))
import app as provider  # noqa: E402


class Server:
    def __init__(self, app):
        self.httpd = make_server("127.0.0.1", 0, app, threaded=True)
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def served(store):
    def start(**grants):
        server = Server(provider.create_app(store, **grants))
        started.append(server)
        return server
    started = []
    yield start
    for server in started:
        server.stop()


def authorize(base, client_id="client-a", user="alice", method="S256", verifier=None,
              redirect_uri=None):
    """Logs in and gets a code; returns (code, verifier)."""
    browser = requests.Session()
    browser.post(f"{base}/login", data={"username": user}, allow_redirects=False)
    verifier = verifier or authstore.pkce_new_verifier()
    challenge = authstore.pkce_s256_challenge(verifier) if method == "S256" else verifier
    oauth = OAuth2Session(client_id, redirect_uri=redirect_uri or f"http://127.0.0.1/cb-{client_id[-1]}",
                          scope="profile offline_access")
    url, _ = oauth.authorization_url(f"{base}/oauth/authorize", code_challenge=challenge,
                                     code_challenge_method=method)
    answer = browser.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    if "code" not in query:
        return None, query
    return query["code"][0], verifier


def exchange(base, code, verifier, client_id="client-a", redirect_uri=None):
    return requests.post(f"{base}/oauth/token", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "client_id": client_id,
        "redirect_uri": redirect_uri or f"http://127.0.0.1/cb-{client_id[-1]}"})


def refresh(base, token, client_id="client-a", scope=None):
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}
    if scope:
        data["scope"] = scope
    return requests.post(f"{base}/oauth/token", data=data, timeout=10)


def me(base, access_token):
    return requests.get(f"{base}/api/me", headers={"Authorization": f"Bearer {access_token}"},
                        timeout=10)


def test_full_flow_with_requests_oauthlib(served, store):
    base = served().base
    code, verifier = authorize(base)
    assert code.startswith("ac2_")
    oauth = OAuth2Session("client-a", redirect_uri="http://127.0.0.1/cb-a")
    token = oauth.fetch_token(f"{base}/oauth/token", code=code, code_verifier=verifier,
                              include_client_id=True)
    assert token["refresh_token"].startswith("rt2_")
    assert oauth.get(f"{base}/api/me").json() == {"sub": "alice", "client_id": "client-a"}
    new = oauth.refresh_token(f"{base}/oauth/token", client_id="client-a")
    assert new["refresh_token"] != token["refresh_token"]
    assert oauth.get(f"{base}/api/me").status_code == 200
    # The client keeps its tokens in authstore's client-token store (encrypted at rest).
    store.client_tokens.save_access_token("alice", base, authstore.TokenRecord(
        access_token=new["access_token"], refresh_token=new["refresh_token"]))
    kept = store.client_tokens.get_access_token("alice", base).value
    assert requests.post(f"{base}/oauth/revoke", timeout=10, data={
        "token": kept.refresh_token, "client_id": "client-a"}).status_code == 200
    assert refresh(base, kept.refresh_token).json()["error"] == "invalid_grant"
    assert requests.post(f"{base}/oauth/revoke", timeout=10, data={
        "token": kept.access_token, "client_id": "client-a"}).status_code == 200
    assert me(base, kept.access_token).status_code == 401
    assert requests.post(f"{base}/oauth/revoke", timeout=10, data={
        "token": "unknown", "client_id": "client-a"}).status_code == 200


def test_code_replay_revokes_the_grant(served):
    base = served().base
    code, verifier = authorize(base)
    first = exchange(base, code, verifier)
    assert first.status_code == 200
    again = exchange(base, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert refresh(base, first.json()["refresh_token"]).json()["error"] == "invalid_grant"
    assert me(base, first.json()["access_token"]).status_code == 401


def test_refresh_reuse_revokes_the_family(served):
    base = served().base
    code, verifier = authorize(base)
    first = exchange(base, code, verifier).json()
    second = refresh(base, first["refresh_token"])
    assert second.status_code == 200
    assert refresh(base, first["refresh_token"]).json()["error"] == "invalid_grant"  # reuse
    assert refresh(base, second.json()["refresh_token"]).json()["error"] == "invalid_grant"


def test_revoke_another_clients_token_lives(served):
    base = served().base
    code, verifier = authorize(base, client_id="client-b")
    tokens = exchange(base, code, verifier, client_id="client-b").json()
    answer = requests.post(f"{base}/oauth/revoke", timeout=10, data={
        "token": tokens["refresh_token"], "client_id": "client-a"})
    assert answer.status_code == 200
    assert refresh(base, tokens["refresh_token"], client_id="client-b").status_code == 200


def test_logout_everywhere(served):
    base = served().base
    grants = []
    for client in ("client-a", "client-b"):
        code, verifier = authorize(base, client_id=client)
        grants.append((client, exchange(base, code, verifier, client_id=client).json()))
    code, verifier = authorize(base, user="bob")
    bob = exchange(base, code, verifier).json()
    browser = requests.Session()
    browser.post(f"{base}/login", data={"username": "alice"}, allow_redirects=False)
    assert browser.post(f"{base}/logout-everywhere", timeout=10).status_code == 200
    for client, tokens in grants:
        assert refresh(base, tokens["refresh_token"], client_id=client).status_code == 400
        assert me(base, tokens["access_token"]).status_code == 401
    assert refresh(base, bob["refresh_token"]).status_code == 200
    assert me(base, bob["access_token"]).status_code == 200  # another user's tokens live on


def test_bad_input_refused_without_burning_the_code(served):
    base = served().base
    code, verifier = authorize(base)
    bad = [
        dict(verifier=authstore.pkce_new_verifier()),           # wrong verifier
        dict(verifier="short"),                                 # malformed verifier
        dict(verifier=""),                                      # missing verifier
        dict(redirect_uri="http://127.0.0.1/elsewhere"),        # wrong redirect_uri
        dict(client_id="client-b", redirect_uri="http://127.0.0.1/cb-b"),  # another client's code
        # the S256 challenge sent as the verifier: a plain-method downgrade at the token endpoint
        dict(verifier=authstore.pkce_s256_challenge(verifier)),
    ]
    for case in bad:
        answer = exchange(base, code, case.get("verifier", verifier),
                          client_id=case.get("client_id", "client-a"),
                          redirect_uri=case.get("redirect_uri"))
        assert answer.status_code == 400 and answer.json()["error"] in (
            "invalid_grant", "invalid_request"), (case, answer.text)
    for garbage in ("garbage", "ac2_" + "A" * 56, ""):
        assert exchange(base, garbage, verifier).status_code == 400
    assert exchange(base, code, verifier).status_code == 200  # still unspent
    # plain PKCE is refused at the authorization endpoint
    none, query = authorize(base, method="plain")
    assert none is None and query["error"] == ["invalid_request"]
    # a wider scope on refresh, and another client's refresh token
    code, verifier = authorize(base)
    tokens = exchange(base, code, verifier).json()
    assert refresh(base, tokens["refresh_token"], scope="profile admin").json()["error"] == "invalid_scope"
    assert refresh(base, tokens["refresh_token"], client_id="client-b").status_code == 400
    assert refresh(base, tokens["refresh_token"]).status_code == 200  # neither spent it


def race(base, code, verifier, contenders=6):
    barrier = threading.Barrier(contenders)
    statuses = [None] * contenders
    race.bodies = [None] * contenders

    def contender(i):
        barrier.wait(timeout=10)
        answer = exchange(base, code, verifier)
        statuses[i], race.bodies[i] = answer.status_code, answer.json()

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return statuses


def instrumented(delay, log):
    """A code grant subclass that records when each request peeked and when it decided, with a
    store delay between (the window Authlib's validation opens)."""
    def wrap(base_cls):
        class Timed(base_cls):
            def query_authorization_code(self, code, client):
                found = super().query_authorization_code(code, client)
                log.append(("peek", time.monotonic()))
                time.sleep(delay)
                return found

            def consume_authorization_code(self, code):
                log.append(("consume", time.monotonic()))
                return super().consume_authorization_code(code)
        return Timed
    return wrap


def test_race_same_code_exactly_one_200(served):
    log = []
    base = served(code_grant=instrumented(0.05, log)).base
    overlapped = 0
    for _ in range(25):
        code, verifier = authorize(base)
        log.clear()
        statuses = race(base, code, verifier)
        assert statuses.count(200) == 1, statuses
        assert statuses.count(400) == len(statuses) - 1
        # The replays revoked the grant: nothing the winner got is usable afterwards.
        won = race.bodies[statuses.index(200)]
        assert me(base, won["access_token"]).status_code == 401
        if "refresh_token" in won:
            assert refresh(base, won["refresh_token"]).status_code == 400
        peeks = [t for kind, t in log if kind == "peek"]
        consumes = [t for kind, t in log if kind == "consume"]
        # Overlap inside the token endpoint: a second request peeked before the first consumed.
        overlapped += len(peeks) >= 2 and sorted(peeks)[1] < min(consumes)
    assert overlapped >= 13, overlapped  # most rounds, also on a loaded machine


def test_naive_dict_pattern_double_spends(served):
    """Authlib's documented pattern (query, then delete after the token is made) over a dict."""
    codes = {}

    def naive(base_cls):
        class Naive(base_cls):
            def generate_authorization_code(self):
                code = base_cls.generate_authorization_code(self)
                codes[code] = self.store.codes.peek(code).value
                return code

            def query_authorization_code(self, code, client):
                record = codes.get(code)
                time.sleep(0.02)
                return provider.adapters.StoredCode(code, record) if record else None

            def create_token_response(self):
                self._authstore_code = self.request.credential
                return provider.grants.AuthorizationCodeGrant.create_token_response(self)

            def delete_authorization_code(self, authorization_code):
                codes.pop(authorization_code.code, None)
        return Naive

    base = served(code_grant=naive).base
    double = 0
    for _ in range(5):
        code, verifier = authorize(base)
        double += race(base, code, verifier).count(200) > 1
    assert double >= 4, double


def test_resent_client_assertion_is_invalid_client(served):
    """RFC 7523: a confidential client's assertion is accepted once; resent (even with another
    code) it gets invalid_client. A fresh assertion works."""
    from authlib.jose import jwt

    base = served().base

    def assertion():
        now = int(time.time())
        claims = {"iss": "client-c", "sub": "client-c", "aud": f"{base}/oauth/token",
                  "jti": authstore.pkce_new_verifier(), "iat": now, "exp": now + 60}
        return jwt.encode({"alg": "HS256"}, claims, b"c" * 32).decode()

    def exchange_with(code, verifier, signed):
        return requests.post(f"{base}/oauth/token", timeout=10, data={
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": "http://127.0.0.1/cb-c", "client_assertion": signed,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})

    signed = assertion()
    code, verifier = authorize(base, client_id="client-c")
    assert exchange_with(code, verifier, signed).status_code == 200
    code, verifier = authorize(base, client_id="client-c")
    resent = exchange_with(code, verifier, signed)
    # (400: RFC 6749 5.2 keeps 401 for clients that authenticated with an Authorization header)
    assert resent.status_code == 400 and resent.json()["error"] == "invalid_client"
    assert exchange_with(code, verifier, assertion()).status_code == 200  # code not burnt
    # Without any client authentication the confidential client is refused.
    assert exchange(base, code, verifier, client_id="client-c").status_code in (400, 401)


def test_devices_page_lists_and_revokes(served):
    """The "your devices" page over HTTP (not in a browser): two devices, revoke one, its refresh
    token is refused, the other still refreshes; another user's family cannot be revoked."""
    import re

    base = served().base
    tokens = []
    for client in ("client-a", "client-b"):
        code, verifier = authorize(base, client_id=client, user="dora")
        tokens.append(exchange(base, code, verifier, client_id=client).json())
    browser = requests.Session()
    browser.post(f"{base}/login", data={"username": "dora"}, allow_redirects=False)
    page = browser.get(f"{base}/devices", timeout=10).text
    families = re.findall(r'<li class="device" id="([^"]+)">(client-[ab])', page)
    assert sorted(c for _, c in families) == ["client-a", "client-b"]
    family_a = dict((c, f) for f, c in families)["client-a"]
    intruder = requests.Session()
    intruder.post(f"{base}/login", data={"username": "eve"}, allow_redirects=False)
    assert intruder.post(f"{base}/devices/revoke", data={"family_id": family_a},
                         allow_redirects=False, timeout=10).status_code == 404
    assert browser.post(f"{base}/devices/revoke", data={"family_id": family_a},
                        allow_redirects=False, timeout=10).status_code == 302
    assert family_a not in browser.get(f"{base}/devices", timeout=10).text
    assert refresh(base, tokens[0]["refresh_token"]).status_code == 400
    assert refresh(base, tokens[1]["refresh_token"], client_id="client-b").status_code == 200


def test_expired_code_and_missing_redirect_uri(tmp_path):
    """A code past its lifetime (a manual clock moved 601 s) and a token request without the
    redirect_uri the authorization request named are refused; neither burns a live code."""
    clock = authstore.ManualClock(int(time.time() * 1000))
    store = authstore.open(f"sqlite://{tmp_path}/clock.db", secret=SECRET, clock=clock)
    server = Server(provider.create_app(store))
    try:
        base = server.base
        code, verifier = authorize(base)
        missing = requests.post(f"{base}/oauth/token", timeout=10, data={
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "client_id": "client-a"})
        assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
        clock.advance(601_000)
        expired = exchange(base, code, verifier)
        assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"
        fresh, verifier = authorize(base)
        assert exchange(base, fresh, verifier).status_code == 200
    finally:
        server.stop()
        store.close()
