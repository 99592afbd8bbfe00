// Conformance: the payload store (authstore/payloads.h), on every backend.
#include <future>

#include "conformance/backends.h"
#include "core/keyring.h"
#include "stores/keys.h"

namespace authstore::testing {
namespace {

PayloadWrite sample(std::string model = "AccessToken", std::string id = "at-1") {
  PayloadWrite w;
  w.model = std::move(model);
  w.id = std::move(id);
  w.payload = R"({"accountId":"alice","jti":"at-1","kind":"AccessToken"})";
  w.grant_id = "grant-1";
  w.ttl_ms = 60'000;
  return w;
}

// The storage keys as the store names them (docs/format.md, "Payloads"), for the tests that
// edit what a backend holds the way a writer without the key could.
std::string entry_key(std::string_view model, std::string_view id) {
  auto ring = internal::KeyRing::load(test_keys(), false, nullptr);
  return "pl:{" + internal::index_hash(*ring.value(), "payload", model, id) + "}";
}
std::string uid_key(std::string_view model, std::string_view uid) {
  auto ring = internal::KeyRing::load(test_keys(), false, nullptr);
  return "pu:{" + internal::index_hash(*ring.value(), "payload-uid", model, uid) + "}";
}

template <class T>
class PayloadsTest : public StoreTest<T> {
 protected:
  PayloadStore& ps() { return this->store().payloads(); }
  // The slot a backend holds for (model, id), read past the store.
  internal::PayloadSlot raw(std::string_view model, std::string_view id) {
    std::promise<Result<internal::PayloadSlot>> got;
    this->harness().backend().payloads().get(
        entry_key(model, id), this->clock().now(),
        [&](Result<internal::PayloadSlot> r) { got.set_value(std::move(r)); });
    auto r = got.get_future().get();
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r.value() : internal::PayloadSlot{};
  }
  void raw_put(internal::PayloadPut put) {
    std::promise<Result<Done>> got;
    put.now = this->clock().now();
    this->harness().backend().payloads().put(put, [&](Result<Done> r) { got.set_value(std::move(r)); });
    auto r = got.get_future().get();
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }
};
TYPED_TEST_SUITE(PayloadsTest, Backends, TraitsName);

TYPED_TEST(PayloadsTest, UpsertThenFindReturnsEveryField) {
  PayloadWrite w = sample();
  w.uid = "uid-1";
  w.user_code = "ABCD-EFGH";
  ASSERT_TRUE(this->ps().upsert(w).ok());
  auto r = this->ps().find("AccessToken", "at-1");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->model, "AccessToken");
  EXPECT_EQ(r->id, "at-1");
  EXPECT_EQ(r->payload, w.payload);
  EXPECT_EQ(r->grant_id, "grant-1");
  EXPECT_EQ(r->uid, "uid-1");
  EXPECT_EQ(r->user_code, "ABCD-EFGH");
  EXPECT_EQ(r->expires_at, kStart + 60'000);
  EXPECT_EQ(r->consumed_at, 0);
  // The model is part of the name: the same id under another model is another payload.
  EXPECT_EQ(this->ps().find("RefreshToken", "at-1").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ps().find("AccessToken", "at-2").code(), StatusCode::kNotFound);
}

TYPED_TEST(PayloadsTest, ExpiresAtItsTtl) {
  PayloadWrite w = sample();
  w.uid = "uid-x";
  w.ttl_ms = 1000;
  ASSERT_TRUE(this->ps().upsert(w).ok());
  this->clock().advance(999);
  EXPECT_TRUE(this->ps().find("AccessToken", "at-1").ok());
  EXPECT_TRUE(this->ps().find_by_uid("AccessToken", "uid-x").ok());
  this->clock().advance(1);
  EXPECT_EQ(this->ps().find("AccessToken", "at-1").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ps().find_by_uid("AccessToken", "uid-x").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ps().consume("AccessToken", "at-1").code(), StatusCode::kNotFound);
}

TYPED_TEST(PayloadsTest, ConsumeSucceedsOnceThenAnswersAlreadyConsumed) {
  ASSERT_TRUE(this->ps().upsert(sample("AuthorizationCode", "code-1")).ok());
  this->clock().advance(5);
  auto first = this->ps().consume("AuthorizationCode", "code-1");
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->consumed_at, kStart + 5);
  EXPECT_EQ(first->id, "code-1");
  auto second = this->ps().consume("AuthorizationCode", "code-1");
  EXPECT_EQ(second.code(), StatusCode::kAlreadyConsumed);
  EXPECT_EQ(this->security(SecurityEvent::kCodeReplay), 1u);
  // find still answers, with the time of consumption.
  auto found = this->ps().find("AuthorizationCode", "code-1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->consumed_at, kStart + 5);
  EXPECT_EQ(this->ps().consume("AuthorizationCode", "nope").code(), StatusCode::kNotFound);
}

TYPED_TEST(PayloadsTest, ConcurrentConsumersExactlyOneWins) {
  RaceRounds rounds(12, 6, 200);
  for (; rounds.more();) {
    const std::string id = "race-" + std::to_string(rounds.round());
    ASSERT_TRUE(this->ps().upsert(sample("AuthorizationCode", id)).ok());
    std::atomic<int> winners{0};
    std::atomic<int> refused{0};
    rounds.record(race(16, [&](int) {
      auto r = this->ps().consume("AuthorizationCode", id);
      if (r.ok()) winners.fetch_add(1);
      if (r.code() == StatusCode::kAlreadyConsumed) refused.fetch_add(1);
    }));
    ASSERT_EQ(winners.load(), 1) << "round " << rounds.round();
    ASSERT_EQ(refused.load(), 15) << "round " << rounds.round();
  }
  EXPECT_GE(rounds.overlapped(), rounds.wanted()) << rounds;
}

TYPED_TEST(PayloadsTest, UpsertReplacesAndClearsConsumption) {
  ASSERT_TRUE(this->ps().upsert(sample("Session", "s-1")).ok());
  ASSERT_TRUE(this->ps().consume("Session", "s-1").ok());
  PayloadWrite w = sample("Session", "s-1");
  w.payload = R"({"v":2})";
  ASSERT_TRUE(this->ps().upsert(w).ok());
  auto r = this->ps().find("Session", "s-1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->payload, R"({"v":2})");
  EXPECT_EQ(r->consumed_at, 0);
}

TYPED_TEST(PayloadsTest, FindByUidAndUserCodeFollowTheLatestUpsert) {
  PayloadWrite s = sample("Session", "sess-1");
  s.uid = "uid-a";
  ASSERT_TRUE(this->ps().upsert(s).ok());
  PayloadWrite d = sample("DeviceCode", "dc-1");
  d.user_code = "WXYZ-1234";
  ASSERT_TRUE(this->ps().upsert(d).ok());

  auto by_uid = this->ps().find_by_uid("Session", "uid-a");
  ASSERT_TRUE(by_uid.ok()) << by_uid.status().to_string();
  EXPECT_EQ(by_uid->id, "sess-1");
  auto by_code = this->ps().find_by_user_code("DeviceCode", "WXYZ-1234");
  ASSERT_TRUE(by_code.ok()) << by_code.status().to_string();
  EXPECT_EQ(by_code->id, "dc-1");
  // Index values are per model and per kind of index.
  EXPECT_EQ(this->ps().find_by_uid("Interaction", "uid-a").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ps().find_by_user_code("Session", "uid-a").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ps().find_by_uid("DeviceCode", "WXYZ-1234").code(), StatusCode::kNotFound);

  // The session gets a new uid: the old one no longer finds it (its pointer leads to a record
  // that names another uid), the new one does.
  s.uid = "uid-b";
  ASSERT_TRUE(this->ps().upsert(s).ok());
  EXPECT_EQ(this->ps().find_by_uid("Session", "uid-a").code(), StatusCode::kNotFound);
  ASSERT_TRUE(this->ps().find_by_uid("Session", "uid-b").ok());
  // Destroyed: gone by id and by index.
  ASSERT_TRUE(this->ps().destroy("Session", "sess-1").ok());
  EXPECT_EQ(this->ps().find_by_uid("Session", "uid-b").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ps().find("Session", "sess-1").code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->ps().destroy("Session", "sess-1").ok());  // idempotent
}

TYPED_TEST(PayloadsTest, RevokeByGrantIdKillsEveryModelOfTheGrantAndSticks) {
  const char* models[] = {"AccessToken", "RefreshToken", "AuthorizationCode", "Grant", "Session"};
  for (const char* m : models) {
    PayloadWrite w = sample(m, std::string("g1-") + m);
    w.uid = std::string("uid-") + m;
    ASSERT_TRUE(this->ps().upsert(w).ok());
  }
  PayloadWrite other = sample("AccessToken", "other");
  other.grant_id = "grant-2";
  ASSERT_TRUE(this->ps().upsert(other).ok());
  PayloadWrite none = sample("ClientCredentials", "cc");
  none.grant_id.clear();
  ASSERT_TRUE(this->ps().upsert(none).ok());

  ASSERT_TRUE(this->ps().revoke_by_grant_id("grant-1").ok());
  for (const char* m : models) {
    EXPECT_EQ(this->ps().find(m, std::string("g1-") + m).code(), StatusCode::kNotFound) << m;
    EXPECT_EQ(this->ps().find_by_uid(m, std::string("uid-") + m).code(), StatusCode::kNotFound) << m;
    EXPECT_EQ(this->ps().consume(m, std::string("g1-") + m).code(), StatusCode::kNotFound) << m;
  }
  EXPECT_TRUE(this->ps().find("AccessToken", "other").ok());
  EXPECT_TRUE(this->ps().find("ClientCredentials", "cc").ok());
  // Written under the revoked grant afterwards: stored, but reads as not found.
  ASSERT_TRUE(this->ps().upsert(sample("AccessToken", "late")).ok());
  EXPECT_EQ(this->ps().find("AccessToken", "late").code(), StatusCode::kNotFound);
  // The mark outlives every payload (max_ttl_ms after the revocation, plus a minute).
  this->clock().advance(this->harness().options().payloads.max_ttl_ms);
  PayloadWrite later = sample("AccessToken", "later");
  later.ttl_ms = 120'000;
  ASSERT_TRUE(this->ps().upsert(later).ok());
  EXPECT_EQ(this->ps().find("AccessToken", "later").code(), StatusCode::kNotFound);
  this->clock().advance(60'000);
  EXPECT_TRUE(this->ps().find("AccessToken", "later").ok());
}

TYPED_TEST(PayloadsTest, BadInputIsRefusedNamingTheField) {
  auto field = [&](const PayloadWrite& w) {
    auto r = this->ps().upsert(w);
    EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
    return r.status().field();
  };
  PayloadWrite w = sample();
  w.model = "Access Token";
  EXPECT_EQ(field(w), "model");
  w = sample();
  w.id.clear();
  EXPECT_EQ(field(w), "id");
  w = sample();
  w.id = std::string(1025, 'x');
  EXPECT_EQ(field(w), "id");
  w = sample();
  w.payload = std::string(this->harness().options().payloads.max_payload_bytes + 1, 'x');
  EXPECT_EQ(field(w), "payload");
  w = sample();
  w.ttl_ms = -1;
  EXPECT_EQ(field(w), "ttl_ms");
  w = sample();
  w.ttl_ms = this->harness().options().payloads.max_ttl_ms + 1;
  EXPECT_EQ(field(w), "ttl_ms");
  w = sample();
  w.uid = std::string("a\0b", 3);
  EXPECT_EQ(field(w), "uid");
  EXPECT_EQ(this->ps().find("AccessToken", "").status().field(), "id");
  EXPECT_EQ(this->ps().find("", "x").status().field(), "model");
  EXPECT_EQ(this->ps().find_by_user_code("DeviceCode", "").status().field(), "user_code");
  EXPECT_EQ(this->ps().revoke_by_grant_id("").status().field(), "grant_id");
  // ttl 0: the longest life.
  w = sample();
  w.ttl_ms = 0;
  ASSERT_TRUE(this->ps().upsert(w).ok());
  EXPECT_EQ(this->ps().find("AccessToken", "at-1")->expires_at,
            kStart + this->harness().options().payloads.max_ttl_ms);
}

TYPED_TEST(PayloadsTest, AsyncCallsAnswerLikeBlockingOnes) {
  std::promise<Result<Done>> up;
  PayloadWrite w = sample();
  w.uid = "u-async";
  this->ps().upsert_async(w, [&](Result<Done> r) { up.set_value(std::move(r)); });
  ASSERT_TRUE(up.get_future().get().ok());
  std::promise<Result<StoredPayload>> by_uid;
  this->ps().find_by_uid_async("AccessToken", "u-async",
                               [&](Result<StoredPayload> r) { by_uid.set_value(std::move(r)); });
  auto f = by_uid.get_future().get();
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->id, "at-1");
  std::promise<Result<StoredPayload>> c1, c2;
  this->ps().consume_async("AccessToken", "at-1",
                           [&](Result<StoredPayload> r) { c1.set_value(std::move(r)); });
  EXPECT_TRUE(c1.get_future().get().ok());
  this->ps().consume_async("AccessToken", "at-1",
                           [&](Result<StoredPayload> r) { c2.set_value(std::move(r)); });
  EXPECT_EQ(c2.get_future().get().code(), StatusCode::kAlreadyConsumed);
  std::promise<Result<Done>> rv;
  this->ps().revoke_by_grant_id_async("grant-1", [&](Result<Done> r) { rv.set_value(std::move(r)); });
  EXPECT_TRUE(rv.get_future().get().ok());
  EXPECT_EQ(this->store().metrics().operations("payloads", "consume", StatusCode::kAlreadyConsumed), 1u);
  EXPECT_EQ(this->store().metrics().operations("payloads", "find", StatusCode::kOk), 1u);
}

// ---- a writer of the store without the key: can only deny -----------------------------------

TYPED_TEST(PayloadsTest, ATamperedRecordReadsAsNotFound) {
  PayloadWrite w = sample("AuthorizationCode", "code-t");
  w.uid = "uid-t";
  ASSERT_TRUE(this->ps().upsert(w).ok());
  this->harness().set_tamper(true);
  EXPECT_EQ(this->ps().find("AuthorizationCode", "code-t").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ps().find_by_uid("AuthorizationCode", "uid-t").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->ps().consume("AuthorizationCode", "code-t").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->security(SecurityEvent::kSignatureFailure), 3u);
  this->harness().set_tamper(false);
  // The tampered consume may have marked it consumed (deny), never handed it out.
  EXPECT_NE(this->ps().consume("AuthorizationCode", "code-t").code(), StatusCode::kOk);
}

TYPED_TEST(PayloadsTest, ARecordCopiedUnderAnotherKeyOrPointerIsRefused) {
  PayloadWrite a = sample("AccessToken", "victim");
  a.uid = "uid-victim";
  ASSERT_TRUE(this->ps().upsert(a).ok());
  PayloadWrite b = sample("AccessToken", "attacker");
  b.uid = "uid-attacker";
  b.grant_id = "grant-attacker";
  ASSERT_TRUE(this->ps().upsert(b).ok());
  const internal::PayloadSlot attacker = this->raw("AccessToken", "attacker");
  // The attacker's valid record stored under the victim's key.
  internal::PayloadPut put;
  put.key = entry_key("AccessToken", "victim");
  put.record = attacker.record;
  put.grant_key = attacker.grant_key;
  put.expires_at = kStart + 60'000;
  this->raw_put(put);
  EXPECT_EQ(this->ps().find("AccessToken", "victim").code(), StatusCode::kNotFound);
  // The victim's uid pointer aimed at the attacker's entry.
  internal::PayloadPut pointer;
  pointer.key = entry_key("AccessToken", "attacker");
  pointer.record = attacker.record;
  pointer.grant_key = attacker.grant_key;
  pointer.index_keys = {uid_key("AccessToken", "uid-victim")};
  pointer.expires_at = kStart + 60'000;
  this->raw_put(pointer);
  EXPECT_EQ(this->ps().find_by_uid("AccessToken", "uid-victim").code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->ps().find("AccessToken", "attacker").ok());
}

TYPED_TEST(PayloadsTest, ClearingTheStoredGrantDoesNotRevive) {
  ASSERT_TRUE(this->ps().upsert(sample("RefreshToken", "rt-1")).ok());
  const internal::PayloadSlot slot = this->raw("RefreshToken", "rt-1");
  ASSERT_FALSE(slot.grant_key.empty());
  ASSERT_TRUE(this->ps().revoke_by_grant_id("grant-1").ok());
  // Detach the entry from its (revoked) grant, or point it at another grant.
  for (std::string grant : {std::string(), std::string("pg:{other}")}) {
    internal::PayloadPut put;
    put.key = entry_key("RefreshToken", "rt-1");
    put.record = slot.record;
    put.grant_key = grant;
    put.expires_at = kStart + 60'000;
    this->raw_put(put);
    EXPECT_EQ(this->ps().find("RefreshToken", "rt-1").code(), StatusCode::kNotFound);
    EXPECT_EQ(this->ps().consume("RefreshToken", "rt-1").code(), StatusCode::kNotFound);
  }
}

TYPED_TEST(PayloadsTest, NoIdIsStoredInTheClear) {
  PayloadWrite w = sample("AccessToken", "secret-token-value-123");
  w.uid = "secret-uid-456";
  w.user_code = "SECRET-CODE";
  w.grant_id = "secret-grant-789";
  w.payload = R"({"jti":"secret-token-value-123"})";
  ASSERT_TRUE(this->ps().upsert(w).ok());
  const internal::PayloadSlot slot = this->raw("AccessToken", "secret-token-value-123");
  for (const char* s : {"secret-token-value-123", "secret-uid-456", "SECRET-CODE", "secret-grant-789"}) {
    EXPECT_EQ(slot.record.find(s), std::string::npos) << s;
    EXPECT_EQ(slot.grant_key.find(s), std::string::npos) << s;
    EXPECT_EQ(slot.key.find(s), std::string::npos) << s;
  }
}

TYPED_TEST(PayloadsTest, AClosedStoreRefuses) {
  ASSERT_TRUE(this->ps().upsert(sample()).ok());
  this->store().close();
  EXPECT_EQ(this->ps().find("AccessToken", "at-1").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->ps().upsert(sample()).code(), StatusCode::kFailedPrecondition);
  Store empty;
  EXPECT_EQ(empty.payloads().consume("AccessToken", "at-1").code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace authstore::testing
