// Conformance: sessions, on every backend.
#include <future>

#include "conformance/backends.h"
#include "core/keyring.h"
#include "stores/keys.h"

namespace authstore::testing {
namespace {

template <class T>
class SessionsTest : public StoreTest<T> {
 protected:
  Session session(std::string user = "u1", std::string type = "full") {
    Session s;
    s.id = SessionStore::new_session_id();
    s.user_id = std::move(user);
    s.type = std::move(type);
    s.expires_at = kStart + 900'000;
    s.refresh_expires_at = kStart + 3'600'000;
    s.refresh_token_id = "rtid-1";
    s.refreshed_at = kStart;
    s.tokens_fresh_from = kStart;
    s.extra_json = R"({"ip":"127.0.0.1"})";
    return s;
  }
  SessionStore& ss() { return this->store().sessions(); }
};
TYPED_TEST_SUITE(SessionsTest, Backends, TraitsName);

TYPED_TEST(SessionsTest, InsertGetUpdateWithLockVersions) {
  Session s = this->session();
  auto stored = this->ss().upsert(s);
  ASSERT_TRUE(stored.ok()) << stored.status().to_string();
  EXPECT_EQ(stored->lock_version, 1);
  EXPECT_EQ(stored->created_at, kStart);
  auto got = this->ss().get(s.id, "u1", "full");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->id, s.id);
  EXPECT_EQ(got->lock_version, 1);
  EXPECT_EQ(got->expires_at, kStart + 900'000);
  EXPECT_EQ(got->refresh_token_id, "rtid-1");
  EXPECT_EQ(got->extra_json, R"({"ip":"127.0.0.1"})");

  Session next = got.value();
  next.refreshed_at = kStart + 10;
  next.prev_tokens_fresh_from = next.tokens_fresh_from;
  next.tokens_fresh_from = kStart + 10;
  next.expires_at.reset();  // infinite
  auto updated = this->ss().upsert(next);
  ASSERT_TRUE(updated.ok()) << updated.status().to_string();
  EXPECT_EQ(updated->lock_version, 2);
  got = this->ss().get(s.id, "u1", "full");
  EXPECT_EQ(got->lock_version, 2);
  EXPECT_FALSE(got->expires_at.has_value());
  EXPECT_EQ(got->prev_tokens_fresh_from, kStart);
}

TYPED_TEST(SessionsTest, StaleLockVersionConflicts) {
  Session s = this->session();
  auto v1 = this->ss().upsert(s);
  auto v2 = this->ss().upsert(v1.value());
  ASSERT_TRUE(v2.ok());
  auto stale = this->ss().upsert(v1.value());
  EXPECT_EQ(stale.code(), StatusCode::kConflict);
  EXPECT_EQ(stale.status().field(), "lock_version");
  EXPECT_EQ(this->security(SecurityEvent::kSessionConflict), 1u);
  auto dup = this->ss().upsert(s);  // a second insert of the same id
  EXPECT_EQ(dup.code(), StatusCode::kConflict);
  EXPECT_EQ(this->ss().get(s.id, "u1", "full")->lock_version, 2);
}

TYPED_TEST(SessionsTest, DeletedSessionIsNeverResurrected) {
  Session s = this->session();
  auto v1 = this->ss().upsert(s);
  ASSERT_TRUE(this->ss().delete_session(s.id, "u1", "full").ok());
  EXPECT_EQ(this->ss().get(s.id, "u1", "full").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ss().upsert(v1.value()).code(), StatusCode::kConflict);  // stale update
  EXPECT_EQ(this->ss().upsert(s).code(), StatusCode::kConflict);           // stale insert retry
  EXPECT_EQ(this->ss().delete_session(s.id, "u1", "full").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ss().get(s.id, "u1", "full").code(), StatusCode::kNotFound);
}

TYPED_TEST(SessionsTest, RefreshExpiryEndsTheSession) {
  Session s = this->session();
  ASSERT_TRUE(this->ss().upsert(s).ok());
  this->clock().advance(3'599'999);
  EXPECT_TRUE(this->ss().get(s.id, "u1", "full").ok());
  this->clock().advance(1);
  EXPECT_EQ(this->ss().get(s.id, "u1", "full").code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->ss().get_all("u1", "full")->empty());
}

TYPED_TEST(SessionsTest, PastRefreshExpiryIsInvalidNotASilentNoOp) {
  Session s = this->session();
  s.refresh_expires_at = kStart;
  auto r = this->ss().upsert(s);
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "refresh_expires_at");
}

TYPED_TEST(SessionsTest, GetAllAndDeleteAllPerUserAndType) {
  Session a = this->session();
  Session b = this->session();
  b.refresh_expires_at = kStart + 1'000'000;
  Session other_type = this->session("u1", "oauth2");
  Session other_user = this->session("u2");
  for (const Session& s : {a, b, other_type, other_user}) ASSERT_TRUE(this->ss().upsert(s).ok());
  auto all = this->ss().get_all("u1", "full");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, b.id);  // soonest refresh expiry first
  EXPECT_EQ((*all)[1].id, a.id);
  auto n = this->ss().delete_all("u1", "full");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n.value(), 2);
  EXPECT_TRUE(this->ss().get_all("u1", "full")->empty());
  EXPECT_EQ(this->ss().upsert(a).code(), StatusCode::kConflict);  // tombstoned
  EXPECT_EQ(this->ss().get_all("u1", "oauth2")->size(), 1u);
  EXPECT_EQ(this->ss().get_all("u2", "full")->size(), 1u);
  EXPECT_EQ(this->ss().delete_all("nobody", "full").value(), 0);
}

TYPED_TEST(SessionsTest, WrongUserOrTypeDoesNotFindTheSession) {
  Session s = this->session();
  ASSERT_TRUE(this->ss().upsert(s).ok());
  EXPECT_EQ(this->ss().get(s.id, "u2", "full").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ss().get(s.id, "u1", "oauth2").code(), StatusCode::kNotFound);
}

TYPED_TEST(SessionsTest, CapEvictsTheSessionThatExpiresFirst) {
  Options o = this->harness().options();
  o.sessions.max_sessions_per_user = 2;
  Store capped = this->harness().another(o);
  Session a = this->session();
  a.refresh_expires_at = kStart + 100'000;
  Session b = this->session();
  b.refresh_expires_at = kStart + 300'000;
  Session c = this->session();
  c.refresh_expires_at = kStart + 200'000;
  for (const Session& s : {a, b, c}) ASSERT_TRUE(capped.sessions().upsert(s).ok());
  auto all = capped.sessions().get_all("u1", "full");
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, c.id);
  EXPECT_EQ((*all)[1].id, b.id);
  EXPECT_EQ(capped.sessions().get(a.id, "u1", "full").code(), StatusCode::kNotFound);
}

TYPED_TEST(SessionsTest, BadInputNamesTheField) {
  Session s = this->session();
  s.id = "short";
  EXPECT_EQ(this->ss().upsert(s).status().field(), "id");
  s = this->session();
  s.user_id.clear();
  EXPECT_EQ(this->ss().upsert(s).status().field(), "user_id");
  s = this->session();
  s.type = std::string(65, 't');
  EXPECT_EQ(this->ss().upsert(s).status().field(), "type");
  s = this->session();
  s.lock_version = -1;
  EXPECT_EQ(this->ss().upsert(s).status().field(), "lock_version");
  s = this->session();
  s.extra_json = "not json";
  EXPECT_EQ(this->ss().upsert(s).status().field(), "extra_json");
  s = this->session();
  s.extra_json = "{\"a\":\"" + std::string(20000, 'x') + "\"}";
  EXPECT_EQ(this->ss().upsert(s).status().field(), "extra_json");
  EXPECT_EQ(this->ss().get("", "u1", "full").status().field(), "id");
  EXPECT_EQ(this->ss().get_all("", "full").status().field(), "user_id");
}

TYPED_TEST(SessionsTest, TamperedRecordReadsAsNotFound) {
  Session s = this->session();
  ASSERT_TRUE(this->ss().upsert(s).ok());
  this->harness().set_tamper(true);
  EXPECT_EQ(this->ss().get(s.id, "u1", "full").code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->ss().get_all("u1", "full")->empty());
  EXPECT_EQ(this->security(SecurityEvent::kSignatureFailure), 2u);
  this->harness().set_tamper(false);
  EXPECT_TRUE(this->ss().get(s.id, "u1", "full").ok());
}

// Where a session lives in the backend, computed as the stores do (docs/format.md section 3).
struct SessionSlot {
  std::string route, bucket, session;
};
SessionSlot slot_of(const std::string& sid, const std::string& uid, const std::string& type) {
  auto ring = internal::KeyRing::load(test_keys(), false, nullptr);
  EXPECT_TRUE(ring.ok());
  const internal::KeyRing& r = *ring.value();
  return {internal::user_ids(r, uid).tag, internal::index_hash(r, "bucket", uid, type),
          internal::index_hash(r, "session", sid)};
}

// A writer of the store without the key (issue 19, finding 1) copies the stored value of session
// 1 under the key of session 2 of the same user and type, then logs session 1 out. Neither get
// nor get_all may hand session 1 back: the record must be the one the key it was read from names.
TYPED_TEST(SessionsTest, ValueCopiedUnderAnotherSessionKeyReadsAsNotFound) {
  Session s1 = this->session();
  Session s2 = this->session();
  ASSERT_TRUE(this->ss().upsert(s1).ok());
  ASSERT_TRUE(this->ss().upsert(s2).ok());
  const SessionSlot a = slot_of(s1.id, "u1", "full");
  const SessionSlot b = slot_of(s2.id, "u1", "full");
  internal::SessionBackend& backend = this->harness().backend().sessions();
  std::promise<Result<std::string>> got;
  backend.get(a.route, a.bucket, a.session, kStart,
              [&](Result<std::string> r) { got.set_value(std::move(r)); });
  const Result<std::string> value1 = got.get_future().get();
  ASSERT_TRUE(value1.ok()) << value1.status().to_string();
  internal::SessionWrite w;
  w.route = b.route;
  w.bucket_key = b.bucket;
  w.session_key = b.session;
  w.record = value1.value();
  w.expected_lock = 1;
  w.refresh_expires_at = s2.refresh_expires_at;
  w.now = kStart;
  std::promise<Result<Done>> put;
  backend.upsert(w, [&](Result<Done> r) { put.set_value(std::move(r)); });
  ASSERT_TRUE(put.get_future().get().ok());
  ASSERT_TRUE(this->ss().delete_session(s1.id, "u1", "full").ok());  // session 1 logs out

  auto r = this->ss().get(s2.id, "u1", "full");
  EXPECT_EQ(r.code(), StatusCode::kNotFound) << (r.ok() ? "returned session " + r->id : "");
  EXPECT_EQ(this->security(SecurityEvent::kSignatureFailure), 1u);
  auto all = this->ss().get_all("u1", "full");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty()) << all->size() << " session(s) listed, first " << all->front().id;
  EXPECT_EQ(this->security(SecurityEvent::kSignatureFailure), 2u);
  EXPECT_EQ(this->ss().get(s1.id, "u1", "full").code(), StatusCode::kNotFound);

  // The same with the embedded key rewritten to session 2's: the record itself is sealed for
  // session 1's place, so it still fails where it was found.
  w.record = b.session + value1.value().substr(a.session.size());
  w.expected_lock = 2;
  std::promise<Result<Done>> put2;
  backend.upsert(w, [&](Result<Done> done) { put2.set_value(std::move(done)); });
  ASSERT_TRUE(put2.get_future().get().ok());
  EXPECT_EQ(this->ss().get(s2.id, "u1", "full").code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->ss().get_all("u1", "full")->empty());
  EXPECT_EQ(this->security(SecurityEvent::kSignatureFailure), 4u);
}

TYPED_TEST(SessionsTest, KeyRotationOldSessionsStillReadable) {
  Session s = this->session();
  auto v1 = this->ss().upsert(s);
  Store rotated = this->harness().another(test_keys(2));
  auto got = rotated.sessions().get(s.id, "u1", "full");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_TRUE(rotated.sessions().upsert(got.value()).ok());
}

TYPED_TEST(SessionsTest, SixteenThreadsRaceOnOneLockVersionExactlyOneWins) {
  RaceRounds rounds(60, 16, 300);
  while (rounds.more()) {
    const int round = rounds.round();
    auto v1 = this->ss().upsert(this->session());
    ASSERT_TRUE(v1.ok());
    std::atomic<int> winners{0};
    std::atomic<int> conflicts{0};
    rounds.record(race(16, [&](int i) {
      Session mine = v1.value();
      mine.refresh_token_id = "writer-" + std::to_string(i);
      auto r = this->ss().upsert(mine);
      if (r.ok()) winners.fetch_add(1);
      if (r.code() == StatusCode::kConflict) conflicts.fetch_add(1);
    }));
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    ASSERT_EQ(conflicts.load(), 15);
  }
  EXPECT_GE(rounds.overlapped(), rounds.wanted()) << rounds;
}

TYPED_TEST(SessionsTest, DeleteRacingStaleUpsertsNeverResurrects) {
  RaceRounds rounds(60, 16, 300);
  while (rounds.more()) {
    const int round = rounds.round();
    auto v1 = this->ss().upsert(this->session());
    ASSERT_TRUE(v1.ok()) << v1.status().to_string();
    const Session s = v1.value();
    std::atomic<int> deleted{0};
    std::atomic<int> written{0};
    std::atomic<int> refused{0};
    rounds.record(race(16, [&](int i) {
      if (i == 0) {
        auto d = this->ss().delete_session(s.id, "u1", "full");
        EXPECT_TRUE(d.ok()) << d.status().to_string();  // the session is live until deleted
        if (d.ok()) deleted.fetch_add(1);
      } else {
        auto r = this->ss().upsert(s);
        if (r.ok()) written.fetch_add(1);
        // Stale after another writer won (conflict), or after the delete (not found / conflict).
        if (r.code() == StatusCode::kConflict || r.code() == StatusCode::kNotFound) refused.fetch_add(1);
      }
    }));
    ASSERT_EQ(deleted.load(), 1) << "round " << round;
    ASSERT_LE(written.load(), 1) << "round " << round;  // all 15 present the same lock version
    ASSERT_EQ(written.load() + refused.load(), 15) << "round " << round;
    // Either an upsert won before the delete (and the delete removed it), or every upsert lost.
    ASSERT_EQ(this->ss().get(s.id, "u1", "full").code(), StatusCode::kNotFound) << "round " << round;
  }
  EXPECT_GE(rounds.overlapped(), rounds.wanted()) << rounds;
}

}  // namespace
}  // namespace authstore::testing
