// A writer of the store WITHOUT the key (issue 19): edits SQLite rows through its own sqlite3
// connection and Redis keys through a raw connection, then uses the store as an attacker would.
// Required (docs/security.md): such edits can deny or roll back, never make a token act for
// another family, subject or client, never revive what a signed field says has expired, and a
// garbled field reads as not found (counted) - the same for peek and rotate, never a crash.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "conformance/backend_redis.h"
#include "conformance/backend_sqlite.h"
#include "conformance/harness.h"
#include "conformance/legacy_v1.h"
#include "core/token.h"
#include "redis/client.h"
#include "stores/keys.h"

namespace authstore::testing {
namespace {

using internal::Millis;

// Logical names of the stored fields a test edits; each editor maps them to its layout.
enum class FamilyField {
  kClient,
  kClientGen,
  kCurrent,
  kExpires,
  kIdleExpires,
  kState,
  kRotations,
  kLastUsed,
  kCreated,
  kIdleTtl,
  kUserGen,
  kRecord
};

class Editor {
 public:
  virtual ~Editor() = default;
  virtual std::string url() = 0;
  // Links a token to a family.
  virtual void link_token(const std::string& token_key, const std::string& family_key) = 0;
  // Copies a stored field of one family into another.
  virtual void copy_field(FamilyField f, const std::string& from, const std::string& to) = 0;
  virtual void set_current(const std::string& family_key, const std::string& token_key) = 0;
  // Moves the stored (unsigned) expiries of a family and of every token of it to `until`.
  virtual void raise_expiry(const std::string& family_key, Millis until) = 0;
  // Moves the stored (unsigned) expiry of a payload entry (store.payloads()) to `until`.
  virtual void raise_payload_expiry(const std::string& key, Millis until) = 0;
  // Garbled values of a field, each applied to a fresh family by garble().
  virtual std::vector<std::pair<FamilyField, std::string>> garbles() = 0;
  virtual void garble(const std::string& family_key, FamilyField f, const std::string& value) = 0;
  // Garbles the state of a (spent, when `spent`) token.
  virtual std::vector<std::string> token_garbles(bool spent) = 0;
  virtual void garble_token(const std::string& token_key, bool spent, const std::string& how) = 0;
};

// ---- SQLite: a second connection to the file ----
class SqliteEditor final : public Editor {
 public:
  SqliteEditor() : path_(SqliteTempDir::instance().fresh_path()) {}
  ~SqliteEditor() override { sqlite3_close(db_); }
  std::string url() override { return "sqlite://" + path_; }

  void link_token(const std::string& token_key, const std::string& family_key) override {
    exec("UPDATE refresh_tokens SET family_key = ?2 WHERE token_key = ?1", {token_key, family_key});
  }
  void copy_field(FamilyField f, const std::string& from, const std::string& to) override {
    const std::string c = column(f);
    exec("UPDATE refresh_families SET " + c + " = (SELECT " + c +
             " FROM refresh_families WHERE family_key = ?1) WHERE family_key = ?2",
         {from, to});
  }
  void set_current(const std::string& family_key, const std::string& token_key) override {
    exec("UPDATE refresh_families SET current_token = ?2 WHERE family_key = ?1", {family_key, token_key});
  }
  void raise_expiry(const std::string& family_key, Millis until) override {
    const std::string u = std::to_string(until);
    exec("UPDATE refresh_families SET expires_at = " + u + ", idle_expires_at = " + u +
             " WHERE family_key = ?1",
         {family_key});
    exec("UPDATE refresh_tokens SET expires_at = " + u + " WHERE family_key = ?1", {family_key});
  }
  void raise_payload_expiry(const std::string& key, Millis until) override {
    exec("UPDATE payloads SET expires_at = " + std::to_string(until) + " WHERE key = ?1", {key});
  }
  std::vector<std::pair<FamilyField, std::string>> garbles() override {
    return {{FamilyField::kState, "7"},        {FamilyField::kState, "'x'"},
            {FamilyField::kExpires, "'x'"},    {FamilyField::kIdleExpires, "x'00'"},
            {FamilyField::kRotations, "1.5"},  {FamilyField::kLastUsed, "'later'"},
            {FamilyField::kCurrent, "'text'"}, {FamilyField::kClient, "5"},
            {FamilyField::kRecord, "'x'"},     {FamilyField::kIdleTtl, "'x'"},
            {FamilyField::kClientGen, "'x'"},  {FamilyField::kUserGen, "2.5"}};
  }
  void garble(const std::string& family_key, FamilyField f, const std::string& value) override {
    exec("UPDATE refresh_families SET " + column(f) + " = " + value + " WHERE family_key = ?1", {family_key});
  }
  std::vector<std::string> token_garbles(bool) override { return {}; }  // a token row is a link only
  void garble_token(const std::string&, bool, const std::string&) override {}

 private:
  static std::string column(FamilyField f) {
    switch (f) {
      case FamilyField::kClient:
        return "client_key";
      case FamilyField::kClientGen:
        return "client_gen";
      case FamilyField::kCurrent:
        return "current_token";
      case FamilyField::kExpires:
        return "expires_at";
      case FamilyField::kIdleExpires:
        return "idle_expires_at";
      case FamilyField::kState:
        return "state";
      case FamilyField::kRotations:
        return "rotations";
      case FamilyField::kLastUsed:
        return "last_used_at";
      case FamilyField::kCreated:
        return "created_at";
      case FamilyField::kIdleTtl:
        return "idle_ttl";
      case FamilyField::kUserGen:
        return "user_gen";
      case FamilyField::kRecord:
        return "record";
    }
    return {};
  }
  void exec(const std::string& sql, const std::vector<std::string>& blobs) {
    if (db_ == nullptr) {
      ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
      sqlite3_busy_timeout(db_, 10'000);
    }
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    for (std::size_t i = 0; i < blobs.size(); ++i) {
      sqlite3_bind_blob(st, static_cast<int>(i + 1), blobs[i].data(), static_cast<int>(blobs[i].size()),
                        SQLITE_TRANSIENT);
    }
    const int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    ASSERT_EQ(rc, SQLITE_DONE) << sql << ": " << sqlite3_errmsg(db_);
    ASSERT_GT(sqlite3_changes(db_), 0) << sql;
  }
  std::string path_;
  sqlite3* db_ = nullptr;
};

// ---- Redis: a raw connection; keys under this test's own prefix ----
class RedisEditor final : public Editor {
 public:
  RedisEditor() {
    static int counter = 0;
    prefix_ = "tamper" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ":";
    auto c = redis::Client::from_url("redis://127.0.0.1:" + RedisBackendTraits::port());
    if (c.ok()) raw_ = std::move(c.value());
  }
  std::string url() override {
    return "redis://127.0.0.1:" + RedisBackendTraits::port() + "?prefix=" + prefix_;
  }
  void link_token(const std::string& token_key, const std::string& family_key) override {
    call({"HSET", prefix_ + token_key, "f", family_key});
  }
  void copy_field(FamilyField f, const std::string& from, const std::string& to) override {
    auto v = raw_->call({"HGET", prefix_ + from, field(f)});
    ASSERT_TRUE(v.ok() && v->is_string());
    call({"HSET", prefix_ + to, field(f), v->str()});
  }
  void set_current(const std::string& family_key, const std::string& token_key) override {
    call({"HSET", prefix_ + family_key, "cur", token_key});
  }
  void raise_expiry(const std::string& family_key, Millis until) override {
    const std::string u = std::to_string(until);
    call({"HSET", prefix_ + family_key, "ea", u, "ie", u});
  }
  void raise_payload_expiry(const std::string& key, Millis until) override {
    call({"HSET", prefix_ + key, "e", std::to_string(until)});
  }
  std::vector<std::pair<FamilyField, std::string>> garbles() override {
    std::vector<std::pair<FamilyField, std::string>> out;
    for (FamilyField f :
         {FamilyField::kExpires, FamilyField::kIdleExpires, FamilyField::kRotations, FamilyField::kLastUsed,
          FamilyField::kCreated, FamilyField::kIdleTtl, FamilyField::kUserGen, FamilyField::kClientGen}) {
      for (const char* v : {"x", "", "nan", "inf", "1e400", "0x10", "12345678901234567890"})
        out.emplace_back(f, v);
    }
    out.emplace_back(FamilyField::kState, "z");
    out.emplace_back(FamilyField::kState, "");
    for (FamilyField f : {FamilyField::kClient, FamilyField::kCurrent, FamilyField::kUserGen}) {
      out.emplace_back(f, "<deleted>");
    }
    return out;
  }
  void garble(const std::string& family_key, FamilyField f, const std::string& value) override {
    if (value == "<deleted>") {
      call({"HDEL", prefix_ + family_key, field(f)});
    } else {
      call({"HSET", prefix_ + family_key, field(f), value});
    }
  }
  std::vector<std::string> token_garbles(bool spent) override {
    if (spent) return {"sa=x", "sa=nan", "sa=<deleted>", "s=3"};
    return {"s=x", "s=", "s=<deleted>"};
  }
  void garble_token(const std::string& token_key, bool, const std::string& how) override {
    const std::string name = how.substr(0, how.find('='));
    const std::string value = how.substr(how.find('=') + 1);
    if (value == "<deleted>") {
      call({"HDEL", prefix_ + token_key, name});
    } else {
      call({"HSET", prefix_ + token_key, name, value});
    }
  }

 private:
  static std::string field(FamilyField f) {
    switch (f) {
      case FamilyField::kClient:
        return "cli";
      case FamilyField::kClientGen:
        return "cg";
      case FamilyField::kCurrent:
        return "cur";
      case FamilyField::kExpires:
        return "ea";
      case FamilyField::kIdleExpires:
        return "ie";
      case FamilyField::kState:
        return "st";
      case FamilyField::kRotations:
        return "rot";
      case FamilyField::kLastUsed:
        return "lu";
      case FamilyField::kCreated:
        return "ca";
      case FamilyField::kIdleTtl:
        return "it";
      case FamilyField::kUserGen:
        return "gen";
      case FamilyField::kRecord:
        return "rec";
    }
    return {};
  }
  void call(std::initializer_list<std::string_view> args) {
    ASSERT_TRUE(raw_) << "no raw Redis connection";
    auto r = raw_->call(args);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }
  std::string prefix_;
  std::unique_ptr<redis::Client> raw_;
};

template <class E>
class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    editor_ = std::make_unique<E>();
    h_ = std::make_unique<Harness>(editor_->url());
    ring_ = legacy::ring_of(h_->options().keys);
    ASSERT_TRUE(ring_);
  }
  Store& store() { return h_->store(); }
  RefreshTokenStore& rt() { return h_->store().refresh(); }
  std::uint64_t failures() { return store().metrics().security_events(SecurityEvent::kSignatureFailure); }
  RefreshGrant grant(std::string subject, std::string client, std::int64_t lifetime = 86'400'000) {
    RefreshGrant g;
    g.subject = std::move(subject);
    g.client_id = std::move(client);
    g.scope = "openid offline_access";
    g.lifetime_ms = lifetime;
    g.idle_ttl_ms = std::min<std::int64_t>(lifetime, 3'600'000);
    return g;
  }
  // Storage keys of a token and (v2) of the family its text names.
  std::pair<std::string, std::string> keys_of(const std::string& token) {
    auto t = internal::parse_token(*ring_, internal::TokenKind::kRefresh, token);
    EXPECT_TRUE(t.has_value());
    if (!t) return {};
    const std::string tag = internal::route_tag(t->route);
    return {internal::refresh_token_key(tag, t->lookup_hash),
            t->family.empty() ? std::string() : internal::family_key(tag, t->family)};
  }
  // Whatever the attacker got, it says nothing about `victim`.
  template <class R>
  void expect_nothing_about(const R& r, const std::string& victim) {
    EXPECT_FALSE(r.ok()) << "a key-less writer's token acted for another family";
    if (r.has_value()) {
      EXPECT_NE(r->family.subject, victim);
    }
  }

  std::unique_ptr<E> editor_;
  std::unique_ptr<Harness> h_;
  std::shared_ptr<const internal::KeyRing> ring_;
};

using Editors = ::testing::Types<SqliteEditor, RedisEditor>;
struct EditorName {
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, SqliteEditor> ? "sqlite" : "redis";
  }
};
TYPED_TEST_SUITE(TamperTest, Editors, EditorName);

// Defect 1: the attacker re-points his own token at the victim's family and rewrites its client
// and current token; rotate(his token, his client) must not answer for the victim.
TYPED_TEST(TamperTest, OwnTokenRepointedAtAnotherUsersFamilyGetsNothing) {
  auto victim = this->rt().issue(this->grant("alice", "app"));
  auto mine = this->rt().issue(this->grant("mallory", "evil-app"));
  ASSERT_TRUE(victim.ok() && mine.ok());
  const auto [my_token_key, my_family] = this->keys_of(mine->token);
  const auto [victim_token_key, victim_family] = this->keys_of(victim->token);
  this->editor_->link_token(my_token_key, victim_family);
  this->editor_->copy_field(FamilyField::kClient, my_family, victim_family);
  this->editor_->copy_field(FamilyField::kClientGen, my_family, victim_family);
  this->editor_->set_current(victim_family, my_token_key);
  this->expect_nothing_about(this->rt().peek(mine->token), "alice");
  this->expect_nothing_about(this->rt().rotate(mine->token, "evil-app"), "alice");
  auto consumed = this->rt().consume(mine->token, "");
  EXPECT_FALSE(consumed.ok());
  if (consumed.has_value()) {
    EXPECT_NE(consumed->subject, "alice");
  }
  EXPECT_EQ(this->rt().revoke(mine->token).code(), StatusCode::kNotFound);
}

// The same with tokens and families of the previous release (v1: the token names no family):
// across users the route, within one user the signed client stops it.
TYPED_TEST(TamperTest, VersionOneTokenRepointedAtAnotherFamilyGetsNothing) {
  internal::Backend& b = this->h_->backend();
  const Millis now = this->h_->clock().now();
  auto victim = legacy::issue_family(b, *this->ring_, this->grant("alice", "app"), now);
  auto other_user = legacy::issue_family(b, *this->ring_, this->grant("mallory", "evil-app"), now);
  auto same_user = legacy::issue_family(b, *this->ring_, this->grant("alice", "evil-app"), now);
  ASSERT_TRUE(victim.ok() && other_user.ok() && same_user.ok());
  for (const legacy::V1Family* mine : {&*other_user, &*same_user}) {
    this->editor_->link_token(mine->token_key, victim->family_key);
    this->editor_->copy_field(FamilyField::kClient, mine->family_key, victim->family_key);
    this->editor_->copy_field(FamilyField::kClientGen, mine->family_key, victim->family_key);
    this->editor_->set_current(victim->family_key, mine->token_key);
    auto r = this->rt().rotate(mine->token, "evil-app");
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.has_value()) << "the family of another client or user leaked";
  }
  EXPECT_GE(this->failures(), 1u);  // the cross-user link reads as data tampering
}

// Defect 2: raising the stored expiry does not revive a family whose signed expiry passed.
TYPED_TEST(TamperTest, RaisedStoredExpiryDoesNotReviveAFamily) {
  auto fam = this->rt().issue(this->grant("alice", "app", 10'000));
  ASSERT_TRUE(fam.ok());
  const auto [token_key, family] = this->keys_of(fam->token);
  this->h_->clock().advance(20'000);
  EXPECT_EQ(this->rt().peek(fam->token).code(), StatusCode::kNotFound);
  this->editor_->raise_expiry(family, this->h_->clock().now() + 86'400'000);
  const std::uint64_t before = this->failures();
  EXPECT_EQ(this->rt().peek(fam->token).code(), StatusCode::kNotFound);
  EXPECT_EQ(this->rt().rotate(fam->token, "app").code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->rt().list("alice")->empty());
  EXPECT_GE(this->failures(), before + 2);
}

// The same for payloads: the signed expiry inside the encrypted record wins over the stored one.
TYPED_TEST(TamperTest, RaisedStoredExpiryDoesNotReviveAPayload) {
  PayloadWrite w;
  w.model = "AuthorizationCode";
  w.id = "expired-code";
  w.uid = "expired-uid";
  w.payload = "{}";
  w.ttl_ms = 10'000;
  ASSERT_TRUE(this->store().payloads().upsert(w).ok());
  this->h_->clock().advance(20'000);
  EXPECT_EQ(this->store().payloads().find("AuthorizationCode", "expired-code").code(), StatusCode::kNotFound);
  const std::string key =
      "pl:{" + internal::index_hash(*this->ring_, "payload", "AuthorizationCode", "expired-code") + "}";
  this->editor_->raise_payload_expiry(key, this->h_->clock().now() + 86'400'000);
  EXPECT_EQ(this->store().payloads().find("AuthorizationCode", "expired-code").code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store().payloads().consume("AuthorizationCode", "expired-code").code(),
            StatusCode::kNotFound);
}

// Defect 6: every garbled field reads as not found, counted, identically for peek and rotate.
TYPED_TEST(TamperTest, GarbledFieldsReadAsNotFoundForPeekAndRotateAlike) {
  for (const auto& [f, value] : this->editor_->garbles()) {
    auto fam = this->rt().issue(this->grant("alice", "app"));
    ASSERT_TRUE(fam.ok());
    const auto [token_key, family] = this->keys_of(fam->token);
    this->editor_->garble(family, f, value);
    const std::string what = "field " + std::to_string(static_cast<int>(f)) + " = " + value;
    const std::uint64_t before = this->failures();
    auto peek = this->rt().peek(fam->token);
    auto rotate = this->rt().rotate(fam->token, "app");
    EXPECT_EQ(peek.code(), StatusCode::kNotFound) << what << ": " << peek.status().to_string();
    EXPECT_EQ(rotate.code(), StatusCode::kNotFound) << what << ": " << rotate.status().to_string();
    EXPECT_EQ(this->failures(), before + 2) << what;
  }
  for (bool spent : {false, true}) {
    for (const std::string& how : this->editor_->token_garbles(spent)) {
      auto fam = this->rt().issue(this->grant("alice", "app"));
      ASSERT_TRUE(fam.ok());
      std::string token = fam->token;
      if (spent) {
        auto next = this->rt().rotate(token, "app");
        ASSERT_TRUE(next.ok());
      }
      this->editor_->garble_token(this->keys_of(token).first, spent, how);
      const std::uint64_t before = this->failures();
      auto peek = this->rt().peek(token);
      auto rotate = this->rt().rotate(token, "app");
      EXPECT_EQ(peek.code(), StatusCode::kNotFound) << how << ": " << peek.status().to_string();
      EXPECT_EQ(rotate.code(), StatusCode::kNotFound) << how << ": " << rotate.status().to_string();
      EXPECT_EQ(this->failures(), before + 2) << how;
    }
  }
}

// Redis only (SQLite's generations are typed columns): garbled user / client generations make
// every family of the user read as revoked, refuse new captures with data_loss, and never stop a
// logout - no script error anywhere.
TEST(TamperRedis, GarbledGenerationsFailClosedAndLogoutStillWorks) {
  RedisEditor editor;
  Harness h(editor.url());
  auto ring = legacy::ring_of(h.options().keys);
  RefreshTokenStore& rt = h.store().refresh();
  RefreshGrant g;
  g.subject = "alice";
  g.client_id = "app";
  auto before = rt.issue(g);
  ASSERT_TRUE(before.ok()) << before.status().to_string();
  ASSERT_TRUE(rt.store_jti("alice", "jti-1", "app", 60'000).ok());
  const internal::UserIds user = internal::user_ids(*ring, "alice");
  auto raw = redis::Client::from_url("redis://127.0.0.1:" + RedisBackendTraits::port());
  ASSERT_TRUE(raw.ok());
  const std::string prefix = editor.url().substr(editor.url().find("prefix=") + 7);
  // Both places a generation lives in (the default layout keeps the old per-user hash too).
  const std::string user_hash = prefix + "ru:" + user.tag + ":" + user.subject_key;
  const std::string route_hash = prefix + "rs:" + user.tag;
  const std::string client_key = internal::index_hash(*ring, "client", "app");
  const std::vector<std::pair<std::string, std::string>> places = {
      {user_hash, "g"},
      {user_hash, "c:" + client_key},
      {route_hash, "g:" + user.subject_key},
      {route_hash, "c:" + user.subject_key + ":" + client_key}};
  for (const auto& [hash, field] : places) {
    ASSERT_TRUE(raw.value()->call({"HSET", hash, field, "garbage"}).ok());
    EXPECT_EQ(rt.rotate(before->token, "app").code(), StatusCode::kRevoked) << field;
    EXPECT_EQ(rt.issue(g).code(), StatusCode::kDataLoss) << field;
    EXPECT_EQ(rt.store_jti("alice", "jti-2", "app", 60'000).code(), StatusCode::kDataLoss) << field;
    EXPECT_EQ(rt.consume_jti("alice", "jti-1").code(), StatusCode::kRevoked) << field;
    EXPECT_TRUE(rt.list("alice")->empty()) << field;
    // Logging out (everywhere, or one client) replaces the garbled generation and works.
    const bool user_wide = field[0] == 'g';
    auto logout = user_wide ? rt.revoke_subject("alice") : rt.revoke_client("alice", "app");
    ASSERT_TRUE(logout.ok()) << field << ": " << logout.status().to_string();
    EXPECT_EQ(rt.rotate(before->token, "app").code(), StatusCode::kRevoked) << field;
    auto after = rt.issue(g);
    ASSERT_TRUE(after.ok()) << field << ": " << after.status().to_string();
    EXPECT_TRUE(rt.rotate(after->token, "app").ok()) << field;
    before = std::move(after);
  }
  EXPECT_GT(h.store().metrics().security_events(SecurityEvent::kBackendError), 0u);  // data_loss counts
}

}  // namespace
}  // namespace authstore::testing
