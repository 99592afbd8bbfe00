#!/usr/bin/env python3
"""An independent reader of authstore's SQLite files, written from docs/ alone.

It parses the key file (docs/security.md), derives the keys, and verifies / decrypts every record
in a store file (docs/format.md, table layout from docs/sqlite.md) without any authstore code.
Used by ctest after `authstore demo`: if the docs and the code ever disagree, this fails.

usage: reader.py KEY_FILE DB_FILE [STORE_ID]   (STORE_ID: the store's id, empty if unbound)
"""
import base64
import hashlib
import hmac
import os
import sqlite3
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def b64u_decode(text):
    if "=" in text or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64u(raw) != text:
        raise ValueError("non-canonical trailing bits")
    return raw


def b64u(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hkdf(secret, info):  # RFC 5869, empty salt, L = 32
    prk = hmac.new(b"\0" * 32, secret, hashlib.sha256).digest()
    return hmac.new(prk, info.encode() + b"\x01", hashlib.sha256).digest()


def lp(x):
    return struct.pack(">I", len(x)) + x


class Ring:
    def __init__(self, path):
        self.keys, self.route, current = {}, None, None
        for line in open(path):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "route":
                self.route = b64u_decode(words[1])
            elif words[0] == "key":
                self.keys[int(words[1])] = b64u_decode(words[2])
            elif words[0] == "current":
                current = int(words[1])
        if self.route is None:
            self.route = self.keys[min(self.keys)]
        self.current = current or max(self.keys)
        self.index = hkdf(self.route, "authstore v1 index")

    def mac_key(self, kid):
        return hkdf(self.keys[kid], "authstore v1 record-mac")

    def lookup_key(self, kid):
        return hkdf(self.keys[kid], "authstore v1 lookup")

    def enc_key(self, kid):
        return hkdf(self.keys[kid], "authstore v1 encrypt")

    def index_hash(self, label, a, b=b""):
        return b64u(hmac.new(self.index, label.encode() + lp(a) + lp(b), hashlib.sha256).digest())

    def tag(self, subject):
        h = hmac.new(self.index, b"subject" + lp(subject), hashlib.sha256).digest()
        return "{" + b64u(h[:8]) + "}"


DOMAIN_V1 = b"authstore record v1"
DOMAIN_V2 = b"authstore record v2"


def binding(version, store_id, storage_key):
    if version == 1:
        return DOMAIN_V1 + lp(storage_key)
    return DOMAIN_V2 + lp(store_id) + lp(storage_key)


def open_signed(ring, rtype, storage_key, blob, store_id=b""):
    assert blob[0] in (1, 2) and blob[1] == rtype, "header"
    kid = struct.unpack(">H", blob[2:4])[0]
    body, mac = blob[:-32], blob[-32:]
    expect = hmac.new(ring.mac_key(kid), binding(blob[0], store_id, storage_key) + body, hashlib.sha256).digest()
    assert hmac.compare_digest(mac, expect), "MAC"
    return fields(body[4:])


def open_encrypted_body(ring, rtype, storage_key, blob, store_id=b""):
    assert blob[0] in (1, 2) and blob[1] == rtype, "header"
    kid = struct.unpack(">H", blob[2:4])[0]
    aad = binding(blob[0], store_id, storage_key) + blob[:4]
    if blob[0] == 1:
        return AESGCM(ring.enc_key(kid)).decrypt(blob[4:16], blob[16:], aad)
    n = blob[4:28]
    record_key = hmac.new(ring.enc_key(kid), b"authstore record-key v2" + n, hashlib.sha256).digest()
    return AESGCM(record_key).decrypt(n[12:], blob[28:], aad)


def open_encrypted(ring, rtype, storage_key, blob, store_id=b""):
    return fields(open_encrypted_body(ring, rtype, storage_key, blob, store_id))


def check_vectors(format_md):
    """Recomputes every known-answer vector of docs/format.md section 5 from the spec."""
    text = open(format_md).read()
    section = text[text.index("## 5. Known-answer vectors"):]
    blocks = [b.split("```", 1)[0] for b in section.split("```text\n")[1:]]
    secret, route = b"a" * 32, b"r" * 32
    ring = Ring.__new__(Ring)
    ring.keys, ring.route, ring.current = {1: secret}, route, 1
    ring.index = hkdf(route, "authstore v1 index")
    names = []
    for block in blocks:
        v = dict(line.split(None, 1) for line in block.strip().splitlines())
        names.append(v["vector"])
        store_id = b"" if v["store_id"] == "-" else v["store_id"].encode()
        rtype, key = int(v["type"]), v["storage_key"].encode()
        body, record = bytes.fromhex(v["body"]), bytes.fromhex(v["record"])
        # signed: version 2 exactly when there is a store id; encrypted: 24 random bytes = version 2
        version = (2 if store_id else 1) if v["random"] == "-" else len(v["random"]) // 24
        h = bytes([version, rtype]) + struct.pack(">H", 1)
        if v["random"] == "-":
            mac = hmac.new(ring.mac_key(1), binding(version, store_id, key) + h + body, hashlib.sha256).digest()
            assert record == h + body + mac, v["vector"]
        else:
            rnd = bytes.fromhex(v["random"])
            aad = binding(version, store_id, key) + h
            if len(rnd) == 12:
                sealed = rnd + AESGCM(ring.enc_key(1)).encrypt(rnd, body, aad)
            else:
                record_key = hmac.new(ring.enc_key(1), b"authstore record-key v2" + rnd, hashlib.sha256).digest()
                sealed = rnd + AESGCM(record_key).encrypt(rnd[12:], body, aad)
            assert record == h + sealed, v["vector"]
            assert open_encrypted_body(ring, rtype, key, record, store_id) == body
        if rtype == 5:
            uid, styp, sid = v["user_id"].encode(), v["session_type"].encode(), v["session_id"].encode()
            skey = ring.index_hash("session", sid)
            assert skey == v["session_key"], "session key"
            assert key.decode() == "ss:" + ring.tag(uid) + ":" + ring.index_hash("bucket", uid, styp) + ":" + skey
            assert bytes.fromhex(v["stored"]) == skey.encode() + b":" + record, "stored session value"
        if rtype == 7:
            model, pid = v["model"].encode(), v["id"].encode()
            assert key.decode() == "pl:{" + ring.index_hash("payload", model, pid) + "}", "payload key"
            f = fields(body)
            assert f[1] == model and f[2] == pid, "payload model and id"
    assert names == ["signed-v1", "signed-v2", "encrypted-v1", "encrypted-v2", "session-v2", "payload-v2"], names
    return len(names)


def fields(body):
    out, i = {}, 0
    while i < len(body):
        tag, n = body[i], struct.unpack(">I", body[i + 1:i + 5])[0]
        assert i + 5 + n <= len(body), "truncated field"
        assert tag not in out, "repeated tag"
        out[tag] = body[i + 5:i + 5 + n]
        i += 5 + n
    return out


def family_id_parts(ring, text):
    """(route, family random) of a family id: "rf2_" masks the route (format.md section 2)."""
    raw = b64u_decode(text[4:])
    if text.startswith("rf1_"):
        assert len(raw) == 24, "rf1_ length"
        return raw[:8], raw[8:]
    assert text.startswith("rf2_") and len(raw) == 26, "family id format"
    kid = struct.unpack(">H", raw[:2])[0]
    family = raw[10:]
    mask = hmac.new(ring.lookup_key(kid), b"route-mask" + b"rf2_" + family, hashlib.sha256).digest()
    return bytes(a ^ b for a, b in zip(raw[2:10], mask)), family


def i64(v):
    return struct.unpack(">q", v)[0]


def main(key_file, db_file, store_id=b""):
    here = os.path.dirname(os.path.abspath(__file__))
    print("known-answer vectors recomputed from docs/format.md:",
          check_vectors(os.path.join(here, "..", "..", "docs", "format.md")))
    ring = Ring(key_file)
    db = sqlite3.connect(db_file)
    counts = {}
    if not store_id:
        # The store id comes from the store's marker (security.md "Store marker"; sqlite.md: table
        # authstore_meta, row "marker"): the line "store <base64url 16 bytes>".
        row = db.execute("SELECT value FROM authstore_meta WHERE name = 'marker'").fetchone()
        assert row is not None, "no store marker"
        lines = bytes(row[0]).decode().split("\n")
        assert lines[0] == "authstore-marker 1", "marker header"
        store_id = b64u_decode([l for l in lines if l.startswith("store ")][0][6:])
        assert len(store_id) == 16, "store id is 16 bytes"

    for key, consumed, record, tomb in db.execute("SELECT key, consumed, record, tombstone FROM codes"):
        t = open_signed(ring, 2, key, tomb, store_id)
        if not consumed:
            f = open_signed(ring, 1, key, record, store_id)
            assert f[10] == t[10], "record and tombstone name one grant"
            assert i64(f[13]) > i64(f[12]), "expires after issue"
        assert key.decode().startswith("ac:" + ring.tag(t[2]) + ":"), "code key carries the subject's tag"
        counts["codes"] = counts.get("codes", 0) + 1

    for fkey, route, subject_key, record in db.execute(
            "SELECT family_key, route, subject_key, record FROM refresh_families"):
        f = open_signed(ring, 3, fkey, record, store_id)
        subject = f[2]
        assert route.decode() == ring.tag(subject), "family route"
        h = hmac.new(ring.index, b"subject" + lp(subject), hashlib.sha256).digest()
        assert subject_key.decode() == b64u(h), "subject key"
        route_bytes, family = family_id_parts(ring, f[1].decode())
        assert "{" + b64u(route_bytes) + "}" == ring.tag(subject), "family id route"
        assert fkey.decode() == "rf:" + ring.tag(subject) + ":" + b64u(family), "family key"
        counts["families"] = counts.get("families", 0) + 1

    for route, bucket, skey, record in db.execute(
            "SELECT route, bucket_key, session_key, record FROM sessions WHERE length(record) > 0"):
        stored = bytes(record)
        prefix, sealed = stored.split(b":", 1)
        assert prefix == skey, "stored form starts with the session key"
        session_binding = b"ss:" + route + b":" + bucket + b":" + skey
        f = open_encrypted(ring, 5, session_binding, sealed, store_id)
        assert ring.index_hash("session", f[1]).encode() == skey, "session key is the id's index hash"
        assert ring.index_hash("bucket", f[2], f[3]).encode() == bucket, "bucket of (user, type)"
        assert route.decode() == ring.tag(f[2]), "session route"
        counts["sessions"] = counts.get("sessions", 0) + 1

    for key, blob in db.execute("SELECT key, blob FROM client_tokens"):
        f = open_encrypted(ring, 6, key, bytes(blob), store_id)
        kind = f[1].decode()
        assert key.decode().startswith("ct:" + kind + ":"), "kind matches the key"
        counts["client_tokens"] = counts.get("client_tokens", 0) + 1

    for key, record in db.execute("SELECT jti_key, record FROM refresh_jtis"):
        f = open_signed(ring, 4, key, record, store_id)
        counts["jtis"] = counts.get("jtis", 0) + 1

    print("verified from docs alone:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for needed in ("codes", "families", "client_tokens"):
        assert counts.get(needed), f"no {needed} found: the demo should have written some"


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3].encode() if len(sys.argv) > 3 else b"")
