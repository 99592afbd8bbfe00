"""store.payloads through the Python module, on memory, SQLite and Redis: every operation in its
blocking and awaitable form, payload bytes kept exactly, consume exactly once (threads from a
barrier; awaitables in flight), revocation of a grant that sticks, bad input, the options."""

import asyncio
import time

import pytest

import authstore
from authstore import Status
from conftest import SECRET, barrier_race


def write(id_, **over):
    fields = dict(model="AuthorizationCode", id=id_, payload=b'{"scope":"openid"}', grant_id="g-1",
                  ttl_ms=60_000)
    return authstore.PayloadWrite(**{**fields, **over})


def test_upsert_find_consume_destroy(store):
    p = store.payloads
    before = int(time.time() * 1000)
    assert p.upsert(write("code-1", uid="uid-1", user_code="BCDFGHJK")).ok
    found = p.find("AuthorizationCode", "code-1")
    assert found.ok and isinstance(found.value, authstore.StoredPayload)
    v = found.value
    assert (v.model, v.id, v.payload, v.grant_id, v.uid, v.user_code, v.consumed_at) == (
        "AuthorizationCode", "code-1", b'{"scope":"openid"}', "g-1", "uid-1", "BCDFGHJK", 0)
    assert before + 60_000 <= v.expires_at <= int(time.time() * 1000) + 60_000
    assert p.find_by_uid("AuthorizationCode", "uid-1").value.id == "code-1"
    assert p.find_by_user_code("AuthorizationCode", "BCDFGHJK").value.id == "code-1"
    # The model is part of the key: the same id under another model is another payload.
    assert p.find("AccessToken", "code-1").status == Status.NOT_FOUND
    assert p.find_by_uid("Session", "uid-1").status == Status.NOT_FOUND

    won = p.consume("AuthorizationCode", "code-1")
    assert won.ok and won.value.consumed_at >= before and won.value.payload == v.payload
    again = p.consume("AuthorizationCode", "code-1")
    assert not again and again.status == Status.ALREADY_CONSUMED
    assert p.find("AuthorizationCode", "code-1").value.consumed_at == won.value.consumed_at
    # An upsert replaces a consumed payload with a live one.
    assert p.upsert(write("code-1", payload=b"v2")).ok
    assert p.find("AuthorizationCode", "code-1").value.consumed_at == 0
    assert p.consume("AuthorizationCode", "code-1").ok

    assert p.destroy("AuthorizationCode", "code-1").ok
    assert p.find("AuthorizationCode", "code-1").status == Status.NOT_FOUND
    assert p.destroy("AuthorizationCode", "code-1").ok  # OK whether or not it was there
    assert p.consume("AuthorizationCode", "never").status == Status.NOT_FOUND


def test_payload_bytes_kept_exactly_and_str_stored_as_utf8(store):
    p = store.payloads
    raw = bytes(range(256)) + b"\x00\xff\xfe"
    assert p.upsert(write("raw", payload=raw)).ok
    assert p.find("AuthorizationCode", "raw").value.payload == raw
    assert p.upsert(write("text", payload="grüß dich")).ok
    assert p.find("AuthorizationCode", "text").value.payload == "grüß dich".encode()
    assert p.upsert(write("empty", payload=b"")).ok
    assert p.find("AuthorizationCode", "empty").value.payload == b""


def test_revoke_by_grant_id_kills_every_model_and_sticks(store):
    p = store.payloads
    for model in ("AuthorizationCode", "AccessToken", "RefreshToken"):
        assert p.upsert(write(f"{model}-1", model=model, grant_id="g-dead")).ok
    assert p.upsert(write("other", grant_id="g-alive")).ok
    assert p.revoke_by_grant_id("g-dead").ok
    for model in ("AuthorizationCode", "AccessToken", "RefreshToken"):
        assert p.find(model, f"{model}-1").status == Status.NOT_FOUND
        assert p.consume(model, f"{model}-1").status == Status.NOT_FOUND
    assert p.find("AuthorizationCode", "other").ok
    # Written under the revoked grant afterwards: not found either.
    assert p.upsert(write("late", grant_id="g-dead")).ok
    assert p.find("AuthorizationCode", "late").status == Status.NOT_FOUND


def test_every_call_awaitable(store):
    async def flow():
        p = store.payloads
        assert (await p.upsert_async(write("a-1", uid="u-a", user_code="XYZW"))).ok
        assert (await p.find_async("AuthorizationCode", "a-1")).value.payload == b'{"scope":"openid"}'
        assert (await p.find_by_uid_async("AuthorizationCode", "u-a")).value.id == "a-1"
        assert (await p.find_by_user_code_async("AuthorizationCode", "XYZW")).value.id == "a-1"
        assert (await p.consume_async("AuthorizationCode", "a-1")).ok
        assert (await p.consume_async("AuthorizationCode", "a-1")).status == Status.ALREADY_CONSUMED
        assert (await p.destroy_async("AuthorizationCode", "a-1")).ok
        assert (await p.find_async("AuthorizationCode", "a-1")).status == Status.NOT_FOUND
        assert (await p.upsert_async(write("a-2", grant_id="g-async"))).ok
        assert (await p.revoke_by_grant_id_async("g-async")).ok
        assert (await p.find_async("AuthorizationCode", "a-2")).status == Status.NOT_FOUND
        with pytest.raises(authstore.InvalidArgument) as err:
            await p.find_async("not a model name!", "x")
        assert err.value.field == "model"

    asyncio.run(asyncio.wait_for(flow(), 60))


def test_consume_race_exactly_one_wins(store, backend):
    """Eight threads consume one payload from a barrier, 25 rounds: exactly one OK, seven
    ALREADY_CONSUMED. The GIL is released in the call, so on SQLite and Redis the calls overlap
    (asserted for at least one round; a memory call is too short to measure)."""
    overlapped = 0
    for round_ in range(25):
        id_ = f"race-{round_}"
        assert store.payloads.upsert(write(id_)).ok
        results, overlap = barrier_race(8, lambda: store.payloads.consume("AuthorizationCode", id_).status)
        assert results.count(Status.OK) == 1, results
        assert results.count(Status.ALREADY_CONSUMED) == 7, results
        overlapped += overlap
    if backend != "memory":
        assert overlapped > 0


def test_consume_awaitables_in_flight_exactly_one_each(store):
    """32 payloads, each consumed by 8 awaitables started before any completes: one OK each."""
    async def run():
        for i in range(32):
            assert (await store.payloads.upsert_async(write(f"fl-{i}"))).ok
        calls = [store.payloads.consume_async("AuthorizationCode", f"fl-{i}") for i in range(32) for _ in range(8)]
        results = await asyncio.gather(*calls)
        assert sum(r.ok for r in results) == 32
        assert sum(r.status == Status.ALREADY_CONSUMED for r in results) == 224

    asyncio.run(asyncio.wait_for(run(), 60))


def test_bad_input(store):
    p = store.payloads
    with pytest.raises(authstore.InvalidArgument) as err:
        p.upsert(write("x", model="no spaces"))
    assert err.value.field == "model"
    with pytest.raises(authstore.InvalidArgument) as err:
        p.upsert(write(""))
    assert err.value.field == "id"
    with pytest.raises(authstore.InvalidArgument) as err:
        p.upsert(write("x", ttl_ms=31 * 24 * 3600 * 1000))
    assert err.value.field == "ttl_ms"
    with pytest.raises(authstore.InvalidArgument) as err:
        p.upsert(write("x", payload=b"x" * (256 * 1024 + 1)))
    assert err.value.field == "payload"
    with pytest.raises(authstore.InvalidArgument):
        p.find("AuthorizationCode", "a" * 5000)
    with pytest.raises(TypeError, match="PayloadWrite.payload"):
        authstore.PayloadWrite(payload=42)
    with pytest.raises(TypeError, match="PayloadWrite.ttl_ms"):
        authstore.PayloadWrite(ttl_ms="soon")
    with pytest.raises(TypeError, match="unknown field 'payloads'"):
        authstore.PayloadWrite(payloads=b"")


def test_payload_options(url):
    options = authstore.Options(payloads=authstore.PayloadOptions(max_payload_bytes=64, max_ttl_ms=10_000))
    with authstore.open(url, secret=SECRET, options=options) as store:
        assert store.payloads.upsert(write("small", payload=b"x" * 64, ttl_ms=10_000)).ok
        with pytest.raises(authstore.InvalidArgument) as err:
            store.payloads.upsert(write("big", payload=b"x" * 65, ttl_ms=10_000))
        assert err.value.field == "payload"
        with pytest.raises(authstore.InvalidArgument) as err:
            store.payloads.upsert(write("long", ttl_ms=10_001))
        assert err.value.field == "ttl_ms"
        # No TTL: the longest allowed.
        assert store.payloads.upsert(write("default", ttl_ms=0)).ok
        left = store.payloads.find("AuthorizationCode", "default").value.expires_at - int(time.time() * 1000)
        assert 9_000 <= left <= 10_000


def test_closed_store_refuses(url):
    store = authstore.open(url, secret=SECRET)
    store.close()
    with pytest.raises(authstore.FailedPrecondition):
        store.payloads.find("AuthorizationCode", "x")
