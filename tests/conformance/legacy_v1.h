// Writers of version-1 data, byte for byte as the release before issue 19 wrote it (docs/format.md:
// "ac1_" codes, "rt1_" refresh tokens with "rf1_" family ids, JWT refresh ids holding the jti in
// clear), through a backend directly. Tests use them to prove that live tokens and records of
// that release keep working, and (with `unsigned_expires_at`) to play a writer without the key
// who raised a family's stored expiry past its signed one.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <string>

#include "authstore/codes.h"
#include "authstore/refresh.h"
#include "backends/backend.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/record.h"
#include "core/token.h"
#include "stores/keys.h"

namespace authstore::testing::legacy {

// The ring a store opened with `keys` uses.
inline std::shared_ptr<const internal::KeyRing> ring_of(const KeyOptions& keys) {
  auto ring = internal::KeyRing::load(keys, false, nullptr);
  return ring.ok() ? ring.value() : nullptr;
}

using internal::Backend;
using internal::KeyRing;
using internal::Millis;
using internal::RecordType;
using internal::RecordWriter;

struct V1Family {
  std::string token;      // "rt1_..."
  std::string family_id;  // "rf1_..."
  std::string family_key;
  std::string token_key;
};

template <class T>
Result<T> wait(std::function<void(Callback<T>)> start) {
  std::promise<Result<T>> p;
  start([&p](Result<T> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

// A v1 family as the old RefreshStoreImpl::issue wrote it. The signed record says the family ends
// at now + lifetime_ms; the backend's (unsigned) expiry is unsigned_expires_at when non-zero.
inline Result<V1Family> issue_family(Backend& b, const KeyRing& ring, const RefreshGrant& g, Millis now,
                                     Millis unsigned_expires_at = 0) {
  const internal::UserIds user = internal::user_ids(ring, g.subject);
  const std::string fam_random = internal::random_bytes(16);
  V1Family out;
  out.family_id = "rf1_" + internal::base64url_encode(user.route + fam_random);
  internal::Token token = internal::mint_token_from(ring.current(), internal::TokenKind::kRefresh, 1,
                                                    user.route, {}, internal::random_bytes(32));
  out.token = token.text;
  internal::FamilyIssue req;
  req.route = user.tag;
  req.subject_key = user.subject_key;
  req.family_key = internal::family_key(user.tag, fam_random);
  req.token_key = internal::refresh_token_key(user.tag, token.lookup_hash);
  req.client_key = internal::index_hash(ring, "client", g.client_id);
  req.grant_key = g.grant_id.empty() ? std::string() : internal::index_hash(ring, "grant", g.grant_id);
  const Millis expires_at = now + g.lifetime_ms;
  RecordWriter w;
  w.str(1, out.family_id)
      .str(2, g.subject)
      .str(3, g.client_id)
      .str(4, g.scope)
      .str(5, g.grant_id)
      .str(6, g.metadata_json)
      .i64(7, now)
      .i64(8, g.idle_ttl_ms)
      .i64(9, expires_at);
  req.record = internal::seal_signed(ring, RecordType::kFamily, req.family_key, w.take());
  req.idle_ttl = g.idle_ttl_ms;
  req.expires_at = unsigned_expires_at != 0 ? unsigned_expires_at : expires_at;
  req.now = now;
  out.family_key = req.family_key;
  out.token_key = req.token_key;
  auto r = wait<Done>([&](Callback<Done> cb) { b.refresh().issue(req, std::move(cb)); });
  if (!r.ok()) return r.status();
  return out;
}

// A v1 code as the old CodeStoreImpl::issue wrote it (grant id required here).
inline Result<std::string> issue_code(Backend& b, const KeyRing& ring, const CodeGrant& g, Millis now) {
  const internal::UserIds user = internal::user_ids(ring, g.subject);
  internal::Token token = internal::mint_token_from(ring.current(), internal::TokenKind::kCode, 1, user.route,
                                                    {}, internal::random_bytes(32));
  const std::string key = internal::code_key(user.tag, token.lookup_hash);
  const Millis expires_at = now + g.ttl_ms;
  RecordWriter w;
  w.str(1, g.client_id)
      .str(2, g.subject)
      .str(3, "{}")
      .str(4, g.scope)
      .str(5, g.redirect_uri)
      .str(6, g.nonce)
      .str(7, g.code_challenge)
      .str(8, g.code_challenge_method)
      .i64(9, g.auth_time)
      .str(10, g.grant_id)
      .str(11, "{}")
      .i64(12, now)
      .i64(13, expires_at);
  RecordWriter t;
  t.str(1, g.client_id).str(2, g.subject).str(10, g.grant_id).i64(13, expires_at);
  std::string record = internal::seal_signed(ring, RecordType::kCode, key, w.take());
  std::string tomb = internal::seal_signed(ring, RecordType::kCodeTombstone, key, t.take());
  auto r = wait<Done>([&](Callback<Done> cb) {
    b.codes().insert(key, std::move(record), std::move(tomb), expires_at, now, std::move(cb));
  });
  if (!r.ok()) return r.status();
  return token.text;
}

// A JWT refresh id record as the old store_jti wrote it: the jti in clear (tag 1).
inline Result<Done> store_jti(Backend& b, const KeyRing& ring, const std::string& jti,
                              const std::string& subject, const std::string& client, Millis now,
                              Millis ttl_ms) {
  const internal::UserIds user = internal::user_ids(ring, subject);
  internal::JtiEntry e;
  e.route = user.tag;
  e.subject_key = user.subject_key;
  e.jti_key = internal::jti_key(user.tag, internal::index_hash(ring, "jti", subject, jti));
  e.client_key = internal::index_hash(ring, "client", client);
  e.now = now;
  e.expires_at = now + ttl_ms;
  RecordWriter w;
  w.str(1, jti).str(2, subject).str(3, client).i64(4, e.expires_at);
  e.record = internal::seal_signed(ring, RecordType::kJti, e.jti_key, w.take());
  return wait<Done>([&](Callback<Done> cb) { b.refresh().store_jti(e, std::move(cb)); });
}

}  // namespace authstore::testing::legacy
