"""Every store call releases the GIL: a Redis store reached through a TCP relay written in Python
(a thread of this interpreter) answers only if that thread runs while the call waits. Were the
GIL held during the call, the relay could not forward a byte and the call would fail."""

import socket
import threading
import time

import authstore
from conftest import SECRET, redis_port


class Relay:
    """127.0.0.1:<ephemeral> -> 127.0.0.1:<port>, one pump thread per direction per connection."""

    def __init__(self, port):
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.forwarded = 0
        self.sockets = [self.listener]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    def pump(self, source, sink):
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    return
                # Counted before it is passed on: the reply to a request cannot reach the caller
                # before the request's bytes are counted (counting after sendall raced the caller).
                self.forwarded += len(data)
                sink.sendall(data)
            except OSError:
                return

    def close(self):
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass


def test_blocking_calls_let_python_threads_run():
    relay = Relay(redis_port())
    try:
        url = f"redis://127.0.0.1:{relay.port}?prefix=gil{time.monotonic_ns()}:"
        store = authstore.open(url, secret=SECRET)
        calls = [
            lambda: store.codes.issue(authstore.CodeGrant(
                client_id="c", subject="s", redirect_uri="https://a/cb")),
            lambda: store.refresh.issue(authstore.RefreshGrant(subject="s", client_id="c")),
            lambda: store.sessions.get_all("s", "full"),
            lambda: store.replay.reserve("iss", "jti", int(time.time() * 1000) + 60_000),
            lambda: store.client_tokens.has("key"),
        ]
        for call in calls:
            before = relay.forwarded
            assert call().ok
            assert relay.forwarded > before  # the relay thread ran during the call
        store.close()
    finally:
        relay.close()
