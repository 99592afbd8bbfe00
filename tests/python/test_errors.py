"""Bad input, keys, closing, the manual clock and fork(): precise errors, never a crash."""

import asyncio
import os
import pickle

import pytest

import authstore
from authstore import Status
from conftest import OTHER_SECRET, SECRET

GRANT = dict(client_id="client-a", subject="alice", redirect_uri="https://app.example/cb")


def test_wrong_key_refused_at_open(url, backend):
    if backend == "memory":
        pytest.skip("a memory store lives in its opener only")
    first = authstore.open(url, secret=SECRET)
    first.codes.issue(authstore.CodeGrant(**GRANT))
    with pytest.raises(authstore.FailedPrecondition) as err:
        authstore.open(url, secret=OTHER_SECRET)
    assert err.value.field == "keys" and err.value.code == "failed_precondition"
    first.close()


def test_no_keys_and_short_secret(tmp_path):
    os.environ.pop("AUTHSTORE_SECRET", None)
    os.environ.pop("AUTHSTORE_KEY_FILE", None)
    with pytest.raises(authstore.FailedPrecondition):
        authstore.open(f"sqlite://{tmp_path}/x.db")
    with pytest.raises(authstore.AuthstoreError) as err:
        authstore.open("memory://", secret=b"short")
    assert "32" in str(err.value)
    with pytest.raises(authstore.InvalidArgument) as err:
        authstore.open("nosuch://x", secret=SECRET)
    assert err.value.field == "url"


def test_key_file(tmp_path):
    path = str(tmp_path / "keys")
    authstore.create_key_file(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    with pytest.raises(authstore.AuthstoreError) as err:
        authstore.create_key_file(path)
    assert err.value.code == "already_exists"
    with authstore.open(f"sqlite://{tmp_path}/k.db", key_file=path) as store:
        assert store.codes.issue(authstore.CodeGrant(**GRANT)).ok
    os.chmod(path, 0o644)
    with pytest.raises(authstore.FailedPrecondition) as err:
        authstore.open(f"sqlite://{tmp_path}/k.db", key_file=path)
    assert err.value.field == "key_file"


def test_malformed_tokens(store):
    cases = [
        (store.codes.consume, ("ac2_short",), "code"),
        (store.codes.peek, ("",), "code"),
        (store.refresh.rotate, ("rt2_garbage", "client-a"), "token"),
        (store.refresh.peek, ("\x00" * 10,), "token"),
        (store.refresh.rotate, ("rt2_" + "A" * 78, ""), "client_id"),
    ]
    for call, args, field in cases:
        with pytest.raises(authstore.InvalidArgument) as err:
            call(*args)
        assert err.value.field == field, (call, err.value)
        assert "A" * 20 not in str(err.value)  # the token never appears in a message


def test_oversized_and_missing_fields(store):
    for field, value in [("client_id", "c" * 257), ("subject", "s" * 257),
                         ("redirect_uri", "https://a/" + "p" * 2048), ("redirect_uri", "not a uri"),
                         ("claims_json", "[1]"), ("nonce", "n" * 513), ("ttl_ms", 10**9)]:
        with pytest.raises(authstore.InvalidArgument) as err:
            store.codes.issue(authstore.CodeGrant(**{**GRANT, field: value}))
        assert err.value.field == field, (field, err.value)
    with pytest.raises(authstore.InvalidArgument) as err:
        store.codes.issue(authstore.CodeGrant(client_id="c", redirect_uri="https://a/cb"))
    assert err.value.field == "subject"
    with pytest.raises(authstore.InvalidArgument) as err:
        store.codes.issue(authstore.CodeGrant(**GRANT, code_challenge="x" * 43,
                                              code_challenge_method="plain"))
    assert err.value.field == "code_challenge_method"


def test_wrong_types():
    with pytest.raises(TypeError, match=r"CodeGrant\.ttl_ms: expected int, got str"):
        authstore.CodeGrant(ttl_ms="600")
    with pytest.raises(TypeError, match=r"CodeGrant\(\) got an unknown field 'clientid'"):
        authstore.CodeGrant(clientid="x")
    with pytest.raises(TypeError, match=r"KeyEntry\.secret: expected bytes, got str"):
        authstore.KeyEntry(id=1, secret="text")
    store = authstore.open("memory://", development_mode=True)
    with pytest.raises(TypeError, match="incompatible function arguments"):
        store.codes.issue({"client_id": "c"})
    with pytest.raises(TypeError):
        store.codes.consume(42)
    store.close()


def test_errors_pickle():
    err = authstore.InvalidArgument("must be set", code="invalid_argument", field="subject")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is authstore.InvalidArgument and back.field == "subject"
    assert str(back) == "invalid_argument: subject: must be set"
    assert isinstance(back, ValueError)


def test_closed_store(url):
    store = authstore.open(url, secret=SECRET)
    store.close()
    store.close()  # idempotent
    with pytest.raises(authstore.FailedPrecondition) as err:
        store.codes.issue(authstore.CodeGrant(**GRANT))
    assert err.value.field == "store"

    async def later():
        await store.refresh.peek_async("rt2_" + "A" * 78)
    with pytest.raises(authstore.FailedPrecondition):
        asyncio.run(later())


def test_manual_clock_expiry(tmp_path):
    clock = authstore.ManualClock(1_893_456_000_000)
    for url in ("memory://", f"sqlite://{tmp_path}/c.db"):
        store = authstore.open(url, secret=SECRET, clock=clock)
        code = store.codes.issue(authstore.CodeGrant(**GRANT, ttl_ms=1000)).value
        assert code.expires_at == clock.now() + 1000
        clock.advance(999)
        assert store.codes.peek(code.code).ok
        clock.advance(2)
        assert store.codes.consume(code.code).status == Status.NOT_FOUND
        store.close()


def test_log_hook():
    lines = []
    store = authstore.open("memory://", development_mode=True,
                           log=lambda level, message: lines.append((level, message)))
    store.close()
    assert ("warning", "memory:// in development mode: using a random throwaway key; nothing "
            "survives this process") in lines


def test_fork_children_use_parent_store(url, backend):
    """Open in the parent, use in pre-forked children (gunicorn style): each child consumes its
    own code and fails to consume the parent's already-consumed one."""
    if backend == "memory":
        pytest.skip("memory is per process")
    store = authstore.open(url, secret=SECRET)
    spent = store.codes.issue(authstore.CodeGrant(**GRANT)).value.code
    assert store.codes.consume(spent).ok
    codes = [store.codes.issue(authstore.CodeGrant(**GRANT)).value.code for _ in range(3)]
    pids = []
    for code in codes:
        pid = os.fork()
        if pid == 0:
            ok = (store.codes.consume(code).ok
                  and store.codes.consume(spent).status == Status.ALREADY_CONSUMED)
            os._exit(0 if ok else 1)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    for code in codes:  # consumed by the children, seen by the parent
        assert store.codes.peek(code).status == Status.ALREADY_CONSUMED
    store.close()
