"""Fixtures of the Python module's tests: a store per backend (memory, SQLite, Redis).

Redis: the plain server of the redis_servers ctest fixture (tests/fixtures/redis/redis-fixture.sh),
found through $AUTHSTORE_REDIS_FIXTURE_DIR/servers.env; every store gets a key prefix of its own.
Run by hand without that variable, the Redis cases are skipped; under ctest it is always set, and
a missing servers.env fails them.
"""

import itertools
import os
import threading
import time

import pytest

import authstore

SECRET = b"k" * 32
OTHER_SECRET = b"o" * 32
_counter = itertools.count()


def redis_port():
    fixture_dir = os.environ.get("AUTHSTORE_REDIS_FIXTURE_DIR")
    if not fixture_dir:
        pytest.skip("AUTHSTORE_REDIS_FIXTURE_DIR not set (run through ctest)")
    with open(os.path.join(fixture_dir, "servers.env")) as env:
        for line in env:
            if line.startswith("REDIS_PLAIN_PORT="):
                return int(line.strip().split("=", 1)[1])
    raise AssertionError("servers.env has no REDIS_PLAIN_PORT")


def redis_url():
    return f"redis://127.0.0.1:{redis_port()}?prefix=py{os.getpid()}-{next(_counter)}:"


BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def url(backend, tmp_path):
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite://{tmp_path}/store.db"
    return redis_url()


@pytest.fixture
def store(url):
    s = authstore.open(url, secret=SECRET)
    yield s
    s.close()


def barrier_race(contenders, call):
    """Runs call() on `contenders` threads released together by a barrier: (the results in thread
    order, whether two calls overlapped: the second to start began before the first to end)."""
    barrier = threading.Barrier(contenders)
    spans, results = [None] * contenders, [None] * contenders

    def contender(i):
        barrier.wait(timeout=10)
        start = time.monotonic()
        results[i] = call()
        spans[i] = (start, time.monotonic())

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results, sorted(s for s, _ in spans)[1] < min(e for _, e in spans)
