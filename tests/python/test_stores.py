"""The five stores through the Python module, on memory, SQLite and Redis: every operation in its
blocking and awaitable form, outcomes as results, errors as typed exceptions."""

import asyncio
import json
import os
import threading
import time

import pytest

import authstore
from authstore import Status
from conftest import barrier_race

GRANT = dict(client_id="client-a", subject="alice", redirect_uri="https://app.example/cb",
             scope="openid profile")


def code_grant(**over):
    return authstore.CodeGrant(**{**GRANT, **over})


def test_codes_issue_peek_consume(store):
    verifier = authstore.pkce_new_verifier()
    issued = store.codes.issue(code_grant(code_challenge=authstore.pkce_s256_challenge(verifier),
                                          code_challenge_method="S256")).value
    assert issued.code.startswith("ac2_")
    peeked = store.codes.peek(issued.code)
    assert peeked.ok and peeked.status == Status.OK and not peeked.value.consumed
    assert peeked.value.grant.subject == "alice" and peeked.value.grant.grant_id == issued.grant_id
    authstore.verify_pkce(peeked.value, verifier)
    with pytest.raises(authstore.InvalidArgument) as err:
        authstore.verify_pkce(peeked.value, authstore.pkce_new_verifier())
    assert err.value.field == "code_verifier"
    first = store.codes.consume(issued.code)
    assert first.ok and first.value.grant.redirect_uri == GRANT["redirect_uri"]
    again = store.codes.consume(issued.code)
    assert not again and again.status == Status.ALREADY_CONSUMED and again.field == "code"
    assert again.value.grant.grant_id == issued.grant_id and again.value.grant.subject == "alice"
    assert store.codes.peek(issued.code).status == Status.ALREADY_CONSUMED
    unknown = store.codes.peek("ac2_" + "A" * 56)
    assert unknown.status == Status.NOT_FOUND and unknown.value is None


def test_codes_race_exactly_one_wins(store, backend):
    """Eight threads consume one code from a barrier, 25 rounds: exactly one gets OK. The GIL is
    released inside the call, so on SQLite and Redis (calls of 0.1 ms and more) the calls
    overlap: asserted for at least one round (a memory call is too short to measure)."""
    overlapped = 0
    for _ in range(25):
        code = store.codes.issue(code_grant()).value.code
        results, overlap = barrier_race(8, lambda: store.codes.consume(code).status)
        assert results.count(Status.OK) == 1
        assert results.count(Status.ALREADY_CONSUMED) == 7
        overlapped += overlap
    if backend != "memory":
        assert overlapped > 0


def test_refresh_family(store):
    issued = store.refresh.issue(authstore.RefreshGrant(
        subject="alice", client_id="client-a", scope="offline", grant_id="g1",
        metadata_json=json.dumps({"device": "phone"}))).value
    assert issued.token.startswith("rt2_") and issued.family.grant_id == "g1"
    info = store.refresh.peek(issued.token).value
    assert info.state == authstore.RefreshTokenState.ACTIVE
    with pytest.raises(authstore.PermissionDenied) as err:
        store.refresh.rotate(issued.token, "client-b")
    assert err.value.field == "client_id"
    second = store.refresh.rotate(issued.token, "client-a").value
    assert second.family.rotations == 1
    assert store.refresh.peek(issued.token).value.state == authstore.RefreshTokenState.ROTATED
    reused = store.refresh.rotate(issued.token, "client-a")
    assert reused.status == Status.REUSED and reused.value.family.family_id == issued.family.family_id
    assert store.refresh.rotate(second.token, "client-a").status == Status.REVOKED
    # List, revoke by family, token, client, grant, subject.
    before = int(time.time() * 1000) - 1  # an access token's iat, before the revocations below
    a = store.refresh.issue(authstore.RefreshGrant(subject="bob", client_id="c1")).value
    b = store.refresh.issue(authstore.RefreshGrant(subject="bob", client_id="c2", grant_id="gb")).value
    c = store.refresh.issue(authstore.RefreshGrant(subject="bob", client_id="c3")).value
    d = store.refresh.issue(authstore.RefreshGrant(subject="bob", client_id="c4")).value
    assert {f.family_id for f in store.refresh.list("bob").value} == {
        x.family.family_id for x in (a, b, c, d)}
    assert store.refresh.revoke_family(a.family.family_id).ok
    assert store.refresh.revoke_grant("bob", "gb").ok
    assert store.refresh.revoke_client("bob", "c3").ok
    assert store.refresh.revoke(d.token).ok
    assert store.refresh.list("bob").value == []
    for t in (a, b, c, d):
        assert store.refresh.rotate(t.token, t.family.client_id).status == Status.REVOKED
    assert store.refresh.issue(authstore.RefreshGrant(
        subject="bob", client_id="c2", grant_id="gb")).status == Status.REVOKED
    # What a resource server asks about bob's access tokens issued before.
    live = store.refresh.grant_live("bob", "c2", "gb", before)
    assert live.status == Status.REVOKED and "grant" in live.message
    assert store.refresh.grant_live("bob", "c3", "", before).status == Status.REVOKED
    assert store.refresh.grant_live("bob", "c1", "other", before).ok
    assert store.refresh.grant_live("nobody", "c1", "gb", before).ok
    e = store.refresh.issue(authstore.RefreshGrant(subject="carol", client_id="c1")).value
    assert store.refresh.revoke_subject("carol").ok
    assert store.refresh.consume(e.token).status == Status.REVOKED
    f = store.refresh.issue(authstore.RefreshGrant(subject="dave", client_id="c1")).value
    assert store.refresh.consume(f.token, "c1").ok
    assert store.refresh.consume(f.token).status == Status.REUSED
    assert store.refresh.revoke_family("rf2_" + "A" * 35).status == Status.NOT_FOUND


def test_refresh_jti(store):
    assert store.refresh.store_jti("alice", "jti-1", "client-a", 60_000).ok
    got = store.refresh.consume_jti("alice", "jti-1")
    assert got.ok and got.value.client_id == "client-a" and got.value.jti == "jti-1"
    assert store.refresh.consume_jti("alice", "jti-1").status == Status.ALREADY_CONSUMED
    assert store.refresh.consume_jti("alice", "jti-2").status == Status.NOT_FOUND


def test_sessions(store):
    sid = authstore.new_session_id()
    later = int(time.time() * 1000) + 3_600_000
    s = authstore.Session(id=sid, user_id="alice", type="full", refresh_expires_at=later,
                          extra_json='{"ua": "firefox"}')
    stored = store.sessions.upsert(s).value
    assert stored.lock_version == 1 and stored.expires_at is None
    assert store.sessions.upsert(s).status == Status.CONFLICT  # stale lock_version 0
    stored.refresh_token_id = "r2"
    assert store.sessions.upsert(stored).value.lock_version == 2
    assert store.sessions.get(sid, "alice", "full").value.refresh_token_id == "r2"
    other = authstore.Session(id=authstore.new_session_id(), user_id="alice", type="full",
                              refresh_expires_at=later, expires_at=later - 1000)
    assert store.sessions.upsert(other).value.expires_at == later - 1000
    assert len(store.sessions.get_all("alice", "full").value) == 2
    assert store.sessions.delete_session(sid, "alice", "full").ok
    assert store.sessions.get(sid, "alice", "full").status == Status.NOT_FOUND
    assert store.sessions.upsert(stored).status == Status.CONFLICT  # tombstone: no comeback
    assert store.sessions.delete_all("alice", "full").value == 1
    assert store.sessions.get_all("alice", "full").value == []
    with pytest.raises(authstore.InvalidArgument) as err:
        store.sessions.upsert(authstore.Session(id=authstore.new_session_id(), user_id="alice",
                                                refresh_expires_at=1))
    assert err.value.field == "refresh_expires_at"


def test_replay(store):
    exp = int(time.time() * 1000) + 60_000
    held = store.replay.reserve("https://issuer", "jti-1", exp)
    assert held.ok and held.value.kept_until >= exp
    assert store.replay.reserve("https://issuer", "jti-1", exp).status == Status.REPLAYED
    assert store.replay.reserve("https://other", "jti-1", exp).ok  # scoped per issuer
    stranger = authstore.Reservation(issuer="https://issuer", jti="jti-1", owner="A" * 22,
                                     kept_until=held.value.kept_until)
    assert store.replay.release(stranger).status == Status.NOT_FOUND
    assert store.replay.release(held.value).ok
    assert store.replay.reserve("https://issuer", "jti-1", exp).ok
    with pytest.raises(authstore.InvalidArgument) as err:
        store.replay.reserve("https://issuer", "jti-2", exp + 10 * 24 * 3600 * 1000)
    assert err.value.field == "expires_at"


def test_client_tokens(store):
    ct = store.client_tokens
    rec = authstore.TokenRecord(access_token="at-secret", refresh_token="rt-secret",
                                token_type="Bearer", scope="read")
    assert ct.save("user:1|https://rs", rec, 60_000).ok
    assert ct.get("user:1|https://rs").value.refresh_token == "rt-secret"
    assert ct.has("user:1|https://rs").value is True
    assert ct.has("nope").value is False
    assert ct.list("user:").value.keys == ["user:1|https://rs"]
    assert ct.remove("user:1|https://rs").ok
    assert ct.get("user:1|https://rs").status == Status.NOT_FOUND
    creds = authstore.ClientCredentials(client_id="cid", client_secret="shh")
    assert ct.save_client_credentials("https://as", creds).ok
    assert ct.get_client_credentials("https://as").value.client_secret == "shh"
    assert ct.remove_client_credentials("https://as").ok
    pk = authstore.PkceValues(code_verifier=authstore.pkce_new_verifier())
    assert ct.save_pkce("u1", "state-1", pk).ok
    assert ct.take_pkce("u1", "state-1").value.code_verifier == pk.code_verifier
    assert ct.take_pkce("u1", "state-1").status == Status.NOT_FOUND
    assert ct.save_access_token("u1", "https://rs", rec, authstore.NO_EXPIRY).ok
    assert ct.get_access_token("u1", "https://rs").value.access_token == "at-secret"
    assert ct.remove_access_token("u1", "https://rs").ok


def test_every_call_awaitable(store):
    async def flow():
        issued = (await store.codes.issue_async(code_grant())).value
        assert (await store.codes.peek_async(issued.code)).ok
        assert (await store.codes.consume_async(issued.code)).ok
        assert (await store.codes.consume_async(issued.code)).status == Status.ALREADY_CONSUMED
        r = store.refresh
        fam = (await r.issue_async(authstore.RefreshGrant(subject="al", client_id="c", grant_id="g"))).value
        assert (await r.peek_async(fam.token)).ok
        nxt = (await r.rotate_async(fam.token, "c")).value
        assert (await r.list_async("al")).value[0].family_id == fam.family.family_id
        assert (await r.consume_async(nxt.token, "c")).ok
        for coro in (r.revoke_async(fam.token), r.revoke_family_async(fam.family.family_id),
                     r.revoke_subject_async("al"), r.revoke_client_async("al", "c"),
                     r.revoke_grant_async("al", "g"), r.store_jti_async("al", "j", "c", 1000)):
            assert (await coro).status in (Status.OK, Status.NOT_FOUND)
        assert (await r.consume_jti_async("al", "j")).ok
        # Logged out everywhere above: a token issued a second ago is refused, one issued now not.
        now_ms = int(time.time() * 1000)
        assert (await r.grant_live_async("al", "c", "", now_ms - 1000)).status == Status.REVOKED
        assert (await r.grant_live_async("al", "c", "", now_ms + 1)).ok
        later = int(time.time() * 1000) + 60_000
        sess = authstore.Session(id=authstore.new_session_id(), user_id="al", refresh_expires_at=later)
        assert (await store.sessions.upsert_async(sess)).ok
        assert (await store.sessions.get_async(sess.id, "al", "full")).ok
        assert len((await store.sessions.get_all_async("al", "full")).value) == 1
        assert (await store.sessions.delete_session_async(sess.id, "al", "full")).ok
        assert (await store.sessions.delete_all_async("al", "full")).value == 0
        res = (await store.replay.reserve_async("iss", "j1", later)).value
        assert (await store.replay.reserve_async("iss", "j1", later)).status == Status.REPLAYED
        assert (await store.replay.release_async(res)).ok
        ct = store.client_tokens
        rec = authstore.TokenRecord(access_token="a")
        assert (await ct.save_async("k", rec, 1000)).ok
        assert (await ct.get_async("k")).value.access_token == "a"
        assert (await ct.has_async("k")).value
        assert (await ct.list_async("k", "", 10)).value.keys == ["k"]
        assert (await ct.remove_async("k")).ok
        assert (await ct.save_client_credentials_async("https://s", authstore.ClientCredentials(client_id="x"), 0)).ok
        assert (await ct.get_client_credentials_async("https://s")).value.client_id == "x"
        assert (await ct.remove_client_credentials_async("https://s")).ok
        assert (await ct.save_pkce_async("u", "st", authstore.PkceValues(code_verifier="v" * 43), 0)).ok
        assert (await ct.take_pkce_async("u", "st")).value.code_verifier == "v" * 43
        assert (await ct.save_access_token_async("u", "https://rs", rec, 0)).ok
        assert (await ct.get_access_token_async("u", "https://rs")).ok
        assert (await ct.remove_access_token_async("u", "https://rs")).ok
        with pytest.raises(authstore.InvalidArgument) as err:
            await store.refresh.rotate_async("not-a-token", "c")
        assert err.value.field == "token"

    asyncio.run(asyncio.wait_for(flow(), 60))


def test_many_awaitables_in_flight(store):
    """256 consumes in flight from one thread: each code exactly once, all complete, and no
    thread is started for them (the process's native thread count does not move)."""
    def native_threads():
        return len(os.listdir("/proc/self/task"))

    async def run():
        codes = [(await store.codes.issue_async(code_grant())).value.code for _ in range(64)]
        before = native_threads()
        calls = [store.codes.consume_async(c) for c in codes for _ in range(4)]
        assert native_threads() == before
        results = await asyncio.gather(*calls)
        assert sum(r.ok for r in results) == 64
        assert sum(r.status == Status.ALREADY_CONSUMED for r in results) == 192
    asyncio.run(asyncio.wait_for(run(), 60))


def test_awaitables_complete_through_each_loops_own_dispatcher(store):
    """Completions reach a loop through its eventfd (one wake-up per batch, no GIL taken by the
    backend thread): each new loop gets its own, a loop that is gone leaves no descriptor behind,
    and awaitables on two loops in two threads at once each complete on their own loop."""
    def open_eventfds():
        count = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                count += os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[eventfd]"
            except OSError:  # the listing's own descriptor, closed meanwhile
                pass
        return count

    async def burst(n):
        loop = asyncio.get_running_loop()
        codes = await asyncio.gather(*(store.codes.issue_async(code_grant()) for _ in range(n)))
        peeks = await asyncio.gather(*(store.codes.peek_async(c.value.code) for c in codes))
        assert all(p.ok for p in peeks)
        assert hasattr(loop, "_authstore_dispatcher")  # the eventfd path, not the fallback
        return len(peeks)

    assert asyncio.run(burst(32)) == 32  # the first loop: whatever the store opens lazily
    before = open_eventfds()
    for _ in range(10):
        assert asyncio.run(burst(32)) == 32
    import gc
    gc.collect()
    assert open_eventfds() <= before + 1  # each loop's eventfd closed with its loop

    results = []

    def in_thread():
        results.append(asyncio.run(burst(64)))

    threads = [threading.Thread(target=in_thread) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [64, 64]


def test_an_awaitable_whose_loop_closed_is_dropped_quietly(store):
    """A call still in flight when its loop is closed completes in C++; its outcome is dropped (no
    crash, no exception leaking into another loop)."""
    loop = asyncio.new_event_loop()

    async def issue():
        return await store.codes.issue_async(code_grant())

    code = loop.run_until_complete(issue()).value.code

    started = []
    loop.call_soon(lambda: started.append(store.codes.peek_async(code)))  # not awaited
    loop.call_soon(loop.stop)
    loop.run_forever()
    loop.close()  # the completion may still be on its way: it must find a closed loop quietly
    time.sleep(0.2)
    del loop
    import gc
    gc.collect()  # the loop's dispatcher goes, with whatever it had not drained
    assert len(started) == 1
    assert store.codes.peek(code).ok  # the store is fine


def test_metrics(store):
    store.codes.consume(store.codes.issue(code_grant()).value.code)
    assert store.metrics.operations("codes", "consume", Status.OK) == 1
    store.replay.reserve("i", "j", int(time.time() * 1000) + 1000)
    store.replay.reserve("i", "j", int(time.time() * 1000) + 1000)
    assert store.metrics.security_events(authstore.SecurityEvent.JTI_REPLAY) == 1
    assert "authstore_operations_total" in store.metrics.prometheus()
