"""More of examples/flask_provider over loopback HTTP: Authlib's own client, races of one refresh
token and of logout against refresh (25 rounds each, from a barrier), one code through a forking
server on SQLite, and no secret in the clear in the SQLite file or in Redis afterwards."""

import os
import subprocess
import threading
import time

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from werkzeug.serving import make_server

import authstore
from conftest import SECRET
from test_authlib_e2e import authorize, exchange, me, provider, race, refresh, served  # noqa: F401


def test_full_flow_with_authlibs_client(served, store):
    base = served().base
    browser = requests.Session()
    browser.post(f"{base}/login", data={"username": "carol"}, allow_redirects=False)
    client = AuthlibSession("client-b", redirect_uri="http://127.0.0.1/cb-b",
                            scope="profile offline_access", code_challenge_method="S256",
                            token_endpoint_auth_method="none")
    verifier = authstore.pkce_new_verifier()
    url, state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
    # The client keeps its verifier in authstore's client-token store until the callback.
    assert store.client_tokens.save_pkce("carol", state, authstore.PkceValues(
        code_verifier=verifier)).ok
    location = browser.get(url, allow_redirects=False, timeout=10).headers["Location"]
    kept = store.client_tokens.take_pkce("carol", state).value.code_verifier
    token = client.fetch_token(f"{base}/oauth/token", authorization_response=location,
                               code_verifier=kept)
    assert client.get(f"{base}/api/me").json()["sub"] == "carol"
    renewed = client.refresh_token(f"{base}/oauth/token", refresh_token=token["refresh_token"])
    assert renewed["refresh_token"] != token["refresh_token"]
    client.revoke_token(f"{base}/oauth/revoke", token=renewed["refresh_token"],
                        token_type_hint="refresh_token")
    assert refresh(base, renewed["refresh_token"], client_id="client-b").status_code == 400


def barrier_run(tasks):
    barrier = threading.Barrier(len(tasks))
    out = [None] * len(tasks)

    def run(i):
        barrier.wait(timeout=10)
        out[i] = tasks[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tasks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return out


def timed_refresh(log):
    def wrap(base_cls):
        class Timed(base_cls):
            def authenticate_refresh_token(self, token):
                found = super().authenticate_refresh_token(token)
                log.append(("peek", time.monotonic()))
                time.sleep(0.05)
                return found

            def create_token_response(self):
                log.append(("rotate", time.monotonic()))
                return super().create_token_response()
        return Timed
    return wrap


def test_race_same_refresh_token(served):
    log = []
    base = served(refresh_grant=timed_refresh(log)).base
    overlapped = 0
    for _ in range(25):
        code, verifier = authorize(base)
        first = exchange(base, code, verifier).json()
        log.clear()
        answers = barrier_run([lambda: refresh(base, first["refresh_token"])] * 4)
        statuses = [a.status_code for a in answers]
        assert statuses.count(200) == 1, statuses
        # The losers presented a rotated token: reuse revoked the family, the winner's too.
        won = answers[statuses.index(200)].json()
        assert refresh(base, won["refresh_token"]).status_code == 400
        peeks = sorted(t for kind, t in log if kind == "peek")
        rotations = [t for kind, t in log if kind == "rotate"]
        overlapped += len(peeks) >= 2 and peeks[1] < min(rotations)
    assert overlapped >= 13, overlapped  # most rounds, also on a loaded machine


def test_race_logout_against_refresh(served):
    base = served().base
    for round_ in range(25):
        user = f"user{round_}"
        code, verifier = authorize(base, user=user)
        tokens = exchange(base, code, verifier).json()
        browser = requests.Session()
        browser.post(f"{base}/login", data={"username": user}, allow_redirects=False)
        answers = barrier_run([lambda: browser.post(f"{base}/logout-everywhere", timeout=10)] +
                              [lambda: refresh(base, tokens["refresh_token"])] * 3)
        assert answers[0].status_code == 200
        # Whatever a refresh got before or during the logout is dead after it.
        for answer in answers[1:]:
            if answer.status_code == 200:
                body = answer.json()
                assert refresh(base, body["refresh_token"]).status_code == 400
                assert me(base, body["access_token"]).status_code == 401
        assert refresh(base, tokens["refresh_token"]).status_code == 400


def test_same_code_through_a_forking_server(tmp_path, backend):
    """One code through a server that forks a process per request, all on one SQLite file opened
    in the parent: exactly one 200; the peek-to-consume windows of the processes overlapped."""
    if backend != "sqlite":
        pytest.skip("the forking server runs on SQLite")
    store = authstore.open(f"sqlite://{tmp_path}/fork.db", secret=SECRET)
    log_path = tmp_path / "times.log"

    def timed(base_cls):
        class Timed(base_cls):
            def query_authorization_code(self, code, client):
                found = super().query_authorization_code(code, client)
                with open(log_path, "a") as log:
                    log.write(f"peek {time.monotonic()}\n")
                time.sleep(0.15)
                return found

            def consume_authorization_code(self, code):
                with open(log_path, "a") as log:
                    log.write(f"consume {time.monotonic()}\n")
                return super().consume_authorization_code(code)
        return Timed

    httpd = make_server("127.0.0.1", 0, provider.create_app(store, code_grant=timed), processes=8)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    try:
        overlapped = 0
        for _ in range(25):
            # The code the provider's /oauth/authorize would mint (codes.issue), minted here to
            # keep the round short.
            verifier = authstore.pkce_new_verifier()
            code = store.codes.issue(authstore.CodeGrant(
                client_id="client-a", subject="alice", redirect_uri="http://127.0.0.1/cb-a",
                scope="profile offline_access", code_challenge_method="S256",
                code_challenge=authstore.pkce_s256_challenge(verifier))).value.code
            log_path.write_text("")
            statuses = race(base, code, verifier, contenders=4)
            assert statuses.count(200) == 1, statuses
            entries = [line.split() for line in log_path.read_text().splitlines()]
            peeks = sorted(float(t) for kind, t in entries if kind == "peek")
            consumes = [float(t) for kind, t in entries if kind == "consume"]
            overlapped += len(peeks) >= 2 and peeks[1] < min(consumes)
        assert overlapped >= 13, overlapped  # most rounds, also on a loaded machine
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        store.close()


def stored_bytes(url, backend, tmp_path):
    """Everything the backend holds, as bytes."""
    if backend == "sqlite":
        path = url.split("://", 1)[1]
        return b"".join(open(p, "rb").read() for p in (path, path + "-wal") if os.path.exists(p))
    port = url.split(":")[2].split("?")[0]
    prefix = url.split("prefix=")[1]
    cli = ["redis-cli", "-h", "127.0.0.1", "-p", port]
    keys = subprocess.run(cli + ["--scan", "--pattern", prefix + "*"], check=True,
                          capture_output=True).stdout.split()
    dump = b""
    for key in keys:
        kind = subprocess.run(cli + ["TYPE", key], check=True, capture_output=True).stdout.strip()
        command = {b"string": ["GET"], b"hash": ["HGETALL"], b"zset": ["ZRANGE", "0", "-1",
                   "WITHSCORES"], b"set": ["SMEMBERS"], b"list": ["LRANGE", "0", "-1"]}[kind]
        dump += key + subprocess.run(cli + ["--no-raw"] + command[:1] + [key] + command[1:],
                                     check=True, capture_output=True).stdout
    assert keys, "the flow wrote nothing to Redis?"
    return dump


def test_no_secret_in_the_clear(served, store, url, backend, tmp_path):
    if backend == "memory":
        pytest.skip("nothing leaves the process")
    base = served().base
    secrets_seen = []
    for _ in range(3):
        code, verifier = authorize(base)
        store.client_tokens.save_pkce("alice", "state", authstore.PkceValues(code_verifier=verifier))
        tokens = exchange(base, code, verifier).json()
        renewed = refresh(base, tokens["refresh_token"]).json()
        store.client_tokens.save_access_token("alice", base, authstore.TokenRecord(
            access_token=renewed["access_token"], refresh_token=renewed["refresh_token"]))
        secrets_seen += [code, verifier, tokens["refresh_token"], renewed["refresh_token"],
                         renewed["access_token"]]
    held = stored_bytes(url, backend, tmp_path)
    assert len(held) > 1000
    for secret in secrets_seen:
        assert secret.encode() not in held
        assert secret[4:36].encode() not in held  # no fragment either
