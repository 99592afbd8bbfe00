#!/usr/bin/python3
"""The Python module's cost, measured (bench/python/run.sh drives it; see docs/performance.md).

  bench.py peek-memory N                 N sync codes.peek calls of one code on memory://: ns per call
  bench.py peek-redis URL N INFLIGHT     N codes issued (untimed), then peeked with INFLIGHT awaitables
                                         in flight (codes.peek_async): operations per second
  bench.py redis-py URL N INFLIGHT KEYSPACE ARG...
                                         Debian's python3-redis asyncio client sending the command
                                         ARG... (redis_backend_bench --mode rb prints it: the very
                                         command authstore sends), __rand_int__ replaced as
                                         redis-benchmark does (12 digits, uniform below KEYSPACE),
                                         INFLIGHT tasks: operations per second

Each prints one number on stdout. Every loop is bounded in count; the asyncio runs also in time
(60 s), and any failed call stops the run with a non-zero exit (a failure never counts as speed).
"""
import asyncio
import os
import random
import sys
import time

import authstore

SECRET = b"k" * 32
DEADLINE_S = 60


def grant(i=0):
    return authstore.CodeGrant(client_id="client", subject=f"user-{i % 1000}",
                               redirect_uri="https://app.example.com/cb", scope="openid profile",
                               code_challenge=authstore.pkce_s256_challenge(authstore.pkce_new_verifier()),
                               code_challenge_method="S256")


def peek_memory(n):
    store = authstore.open("memory://", secret=SECRET)
    code = store.codes.issue(grant()).value.code
    peek = store.codes.peek
    for _ in range(min(n, 1000)):  # warm up
        peek(code)
    start = time.perf_counter_ns()
    for _ in range(n):
        r = peek(code)
    elapsed = time.perf_counter_ns() - start
    if not r:
        sys.exit(f"peek failed: {r.status}")
    store.close()
    print(f"{elapsed / n:.1f}")


async def run_workers(n, inflight, call):
    """`inflight` workers take indexes 0..n-1 in turn: `inflight` calls outstanding at once."""
    next_index = iter(range(n))
    failures = []

    async def worker():
        for i in next_index:
            if not await call(i):
                failures.append(i)
                return

    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(inflight))), DEADLINE_S)
    elapsed = time.perf_counter() - start
    if failures:
        sys.exit(f"{len(failures)} calls failed")
    return n / elapsed


async def peek_redis(url, n, inflight):
    store = authstore.open(url, secret=SECRET)
    base = grant()
    codes = [None] * n

    async def issue(i):
        r = await store.codes.issue_async(base)
        codes[i] = r.value.code if r else None
        return bool(r)

    await run_workers(n, inflight, issue)

    async def peek(i):
        return bool(await store.codes.peek_async(codes[i]))

    rps = await run_workers(n, inflight, peek)
    store.close()
    print(f"{rps:.0f}")


async def redis_py(url_host, port, n, inflight, keyspace, args):
    import redis.asyncio as aioredis  # Debian's python3-redis

    client = aioredis.Redis(host=url_host, port=port, max_connections=inflight)
    rng = random.Random(1)
    cmds = []
    for _ in range(n):  # built before the clock starts, as redis-benchmark does its buffers
        r = f"{rng.randrange(keyspace):012d}"
        cmds.append([a.replace("__rand_int__", r) for a in args])
    await client.ping()

    async def send(i):
        await client.execute_command(*cmds[i])
        return True

    rps = await run_workers(n, inflight, send)
    await client.aclose() if hasattr(client, "aclose") else await client.close()
    print(f"{rps:.0f}")


def main(argv):
    what = argv[1]
    if what == "peek-memory":
        peek_memory(int(argv[2]))
    elif what == "peek-redis":
        asyncio.run(peek_redis(argv[2], int(argv[3]), int(argv[4])))
    elif what == "redis-py":
        host, port = argv[2].removeprefix("redis://").split(":")
        asyncio.run(redis_py(host, int(port), int(argv[3]), int(argv[4]), int(argv[5]), argv[6:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
