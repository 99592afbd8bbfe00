// Opening a store with the keys that wrote it: the store marker (src/stores/marker.h). A wrong
// key ring, a rotation that would lose the index key, or a store written by other keys is
// refused at open() with the key ids it expects, never discovered as a silent mass logout.
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <set>

#include "conformance/backends.h"
#include "stores/store_state.h"

namespace authstore::testing {
namespace {

KeyOptions ring_of(std::vector<std::pair<std::uint16_t, char>> keys, std::uint16_t current = 0,
                   std::string route = std::string(32, 'r')) {
  KeyOptions k;
  for (auto [id, fill] : keys) k.keys.push_back({id, std::string(32, fill)});
  k.current_key_id = current;
  k.route_secret = std::move(route);
  return k;
}

struct Opener {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);
  std::vector<std::string> warnings;
  std::mutex mu;

  Options options(const KeyOptions& keys, bool start_new = false) {
    Options o;
    o.keys = keys;
    o.clock = clock;
    o.start_new_store = start_new;
    o.log = [this](LogLevel level, std::string_view m) {
      std::lock_guard lock(mu);
      if (level == LogLevel::kWarning) warnings.emplace_back(m);
    };
    return o;
  }
  Result<Store> open(const std::string& url, const KeyOptions& keys, bool start_new = false) {
    return authstore::open(url, options(keys, start_new));
  }
  // The store id open() bound the ring to.
  std::string store_id(const std::string& url, const KeyOptions& keys) {
    auto st = internal::open_state(url, options(keys));
    EXPECT_TRUE(st.ok()) << st.status().to_string();
    return st.ok() ? st.value()->context->ring->store_id() : std::string();
  }
};

RefreshGrant grant_for(const std::string& subject) {
  RefreshGrant g;
  g.client_id = "client-1";
  g.subject = subject;
  g.scope = "openid offline_access";
  return g;
}

CodeGrant code_for(const std::string& subject) {
  CodeGrant g;
  g.client_id = "client-1";
  g.subject = subject;
  g.redirect_uri = "https://app.example/cb";
  return g;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

template <class Traits>
class OpenGuard : public ::testing::Test {
 protected:
  void SetUp() override { url_ = Traits::url(); }
  std::string url_;
  Opener opener_;
};
// The backends whose stores outlive an open(): memory:// is a new store at every open
// (OpenGuardMemory below).
using StoredBackends = ::testing::Types<SqliteBackendTraits, RedisBackendTraits>;
TYPED_TEST_SUITE(OpenGuard, StoredBackends, TraitsName);

TYPED_TEST(OpenGuard, WrongKeyRingIsRefusedNamingTheKeyIdsItExpects) {
  const KeyOptions a = ring_of({{1, 'a'}, {2, 'b'}});
  std::string family_token;
  {
    auto s = this->opener_.open(this->url_, a);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    auto issued = s->refresh().issue(grant_for("alice"));
    ASSERT_TRUE(issued.ok()) << issued.status().to_string();
    family_token = issued->token;
  }
  auto other = this->opener_.open(this->url_, ring_of({{3, 'c'}}));
  ASSERT_EQ(other.code(), StatusCode::kFailedPrecondition) << other.status().to_string();
  EXPECT_EQ(other.status().field(), "keys");
  EXPECT_TRUE(contains(other.status().message(), "key ids 1, 2")) << other.status().message();
  EXPECT_TRUE(contains(other.status().message(), "start_new_store")) << other.status().message();

  // The same key id with another secret is no better.
  auto same_id = this->opener_.open(this->url_, ring_of({{1, 'z'}}));
  ASSERT_EQ(same_id.code(), StatusCode::kFailedPrecondition) << same_id.status().to_string();
  EXPECT_TRUE(contains(same_id.status().message(), "another secret")) << same_id.status().message();

  // A ring holding one of the store's keys (and another id) opens; so does the right one.
  auto again = this->opener_.open(this->url_, a);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_TRUE(again->refresh().rotate(family_token, "client-1").ok());
}

TYPED_TEST(OpenGuard, StartNewStoreReplacesAnUnverifiableMarkerOnlyWhenAsked) {
  const KeyOptions a = ring_of({{1, 'a'}});
  const KeyOptions b = ring_of({{1, 'q'}}, 0, std::string(32, 's'));
  const std::string id_a = this->opener_.store_id(this->url_, a);
  ASSERT_EQ(id_a.size(), 16u);
  ASSERT_EQ(this->opener_.open(this->url_, b).code(), StatusCode::kFailedPrecondition);

  auto fresh = this->opener_.open(this->url_, b, /*start_new=*/true);
  ASSERT_TRUE(fresh.ok()) << fresh.status().to_string();
  EXPECT_TRUE(std::any_of(this->opener_.warnings.begin(), this->opener_.warnings.end(),
                          [](const std::string& w) { return contains(w, "start_new_store"); }));
  const std::string id_b = this->opener_.store_id(this->url_, b);
  EXPECT_EQ(id_b.size(), 16u);
  EXPECT_NE(id_b, id_a);
  // Now the old ring is the wrong one.
  EXPECT_EQ(this->opener_.open(this->url_, a).code(), StatusCode::kFailedPrecondition);
  // start_new_store on a store the ring verifies changes nothing.
  ASSERT_TRUE(this->opener_.open(this->url_, b, true).ok());
  EXPECT_EQ(this->opener_.store_id(this->url_, b), id_b);
}

// docs/operations.md "Key rotation", followed step by step with no route secret (the index key
// then comes from the lowest-id key).
TYPED_TEST(OpenGuard, DocumentedRotationKeepsEveryIndexReachableOrRefuses) {
  const std::string key1(32, 'a');
  std::string first;
  std::string second;
  {
    auto s = this->opener_.open(this->url_, ring_of({{1, 'a'}}, 0, ""));
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    auto f = s->refresh().issue(grant_for("alice"));
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    first = f->token;
  }
  {  // 1. add key 2 and make it current
    auto s = this->opener_.open(this->url_, ring_of({{1, 'a'}, {2, 'b'}}, 2, ""));
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    auto f = s->refresh().issue(grant_for("alice"));
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    second = f->token;
    EXPECT_TRUE(s->refresh().peek(first).ok());
  }
  // 2. remove key 1: the index key would change with it; refused with what to do.
  auto removed = this->opener_.open(this->url_, ring_of({{2, 'b'}}, 2, ""));
  ASSERT_EQ(removed.code(), StatusCode::kFailedPrecondition) << removed.status().to_string();
  EXPECT_TRUE(contains(removed.status().message(), "Keep key 1")) << removed.status().message();
  EXPECT_TRUE(contains(removed.status().message(), "route_secret")) << removed.status().message();

  // Doing what it says (key 1's secret as the route secret) keeps every index reachable.
  auto fixed = this->opener_.open(this->url_, ring_of({{2, 'b'}}, 2, key1));
  ASSERT_TRUE(fixed.ok()) << fixed.status().to_string();
  auto listed = fixed->refresh().list("alice");
  ASSERT_TRUE(listed.ok()) << listed.status().to_string();
  EXPECT_EQ(listed->size(), 1u);  // the family of key 2 (key 1's records are unreadable now)
  ASSERT_TRUE(fixed->refresh().revoke_subject("alice").ok());
  EXPECT_EQ(fixed->refresh().rotate(second, "client-1").code(), StatusCode::kRevoked);
  // And keeping key 1 in the ring (not current) works as well.
  auto kept = this->opener_.open(this->url_, ring_of({{1, 'a'}, {2, 'b'}}, 2, ""));
  ASSERT_TRUE(kept.ok()) << kept.status().to_string();
  EXPECT_EQ(kept->refresh().rotate(first, "client-1").code(), StatusCode::kRevoked);
}

// A store written before markers existed (the harness's stores write none, as today's main did).
TYPED_TEST(OpenGuard, StoreWithoutMarkerGetsOneOnlyWhenItsRecordsVerify) {
  Harness legacy(this->url_);
  ASSERT_TRUE(legacy.store().codes().issue(code_for("alice")).ok());
  auto family = legacy.store().refresh().issue(grant_for("alice"));
  ASSERT_TRUE(family.ok()) << family.status().to_string();
  ASSERT_TRUE(legacy.store().client_tokens().save("k1", TokenRecord{}, 60'000).ok());

  auto wrong = this->opener_.open(this->url_, ring_of({{7, 'x'}}));
  ASSERT_EQ(wrong.code(), StatusCode::kFailedPrecondition) << wrong.status().to_string();
  EXPECT_TRUE(contains(wrong.status().message(), "no marker")) << wrong.status().message();

  auto right = this->opener_.open(this->url_, test_keys(2));
  ASSERT_TRUE(right.ok()) << right.status().to_string();
  EXPECT_TRUE(right->refresh().peek(family->token).ok());  // today's records keep working
  // The marker now exists: the wrong ring is refused by it.
  auto later = this->opener_.open(this->url_, ring_of({{7, 'x'}}));
  ASSERT_EQ(later.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(later.status().message(), "key ids 1, 2")) << later.status().message();
}

TYPED_TEST(OpenGuard, StoreWithoutMarkerHoldingClientTokensNamedWithBracesOpens) {
  Harness legacy(this->url_);
  ASSERT_TRUE(legacy.store().client_tokens().save("user{1}:token", TokenRecord{}, 60'000).ok());
  // The braces in the name must not be taken for a user's route tag by the sample of records.
  auto right = this->opener_.open(this->url_, test_keys(2));
  ASSERT_TRUE(right.ok()) << right.status().to_string();
  // (The harness's ring is unbound, so its encrypted records bind an empty store id and a store
  // bound by its marker does not read them, by design; client tokens written by the previous
  // release (version 1, no store id) are read after the upgrade: tests/upgrade.)
  EXPECT_EQ(this->opener_.open(this->url_, ring_of({{7, 'x'}})).code(), StatusCode::kFailedPrecondition);
}

TYPED_TEST(OpenGuard, StoreWithoutMarkerWhoseIndexKeyWouldChangeIsRefused) {
  Options o;
  o.keys = ring_of({{1, 'a'}, {2, 'b'}}, 2, "");  // index key from key 1
  Harness legacy(this->url_, o);
  ASSERT_TRUE(legacy.store().refresh().issue(grant_for("alice")).ok());
  auto removed = this->opener_.open(this->url_, ring_of({{2, 'b'}}, 2, ""));
  ASSERT_EQ(removed.code(), StatusCode::kFailedPrecondition) << removed.status().to_string();
  EXPECT_TRUE(contains(removed.status().message(), "index key")) << removed.status().message();
  EXPECT_TRUE(this->opener_.open(this->url_, ring_of({{2, 'b'}}, 2, std::string(32, 'a'))).ok());
}

TYPED_TEST(OpenGuard, ConcurrentOpensOfANewStoreAgreeOnOneMarker) {
  const KeyOptions a = ring_of({{1, 'a'}});
  // Each round opens a new store (a fresh URL) from 6 threads at once.
  RaceRounds rounds(3, 3, 20);
  while (rounds.more()) {
    const std::string url = rounds.round() == 0 ? this->url_ : TypeParam::url();
    std::mutex mu;
    std::set<std::string> ids;
    int failures = 0;
    rounds.record(race(6, [&](int) {
      auto st = internal::open_state(url, this->opener_.options(a));
      std::lock_guard lock(mu);
      if (!st.ok()) {
        ++failures;
        ADD_FAILURE() << st.status().to_string();
        return;
      }
      ids.insert(st.value()->context->ring->store_id());
    }));
    ASSERT_EQ(failures, 0);
    ASSERT_EQ(ids.size(), 1u) << "round " << rounds.round();
    EXPECT_EQ(ids.begin()->size(), 16u);
    EXPECT_EQ(this->opener_.store_id(url, a), *ids.begin());
  }
  EXPECT_GE(rounds.overlapped(), rounds.wanted()) << rounds;
}

TYPED_TEST(OpenGuard, AlteredMarkerIsRefused) {
  const KeyOptions a = ring_of({{1, 'a'}});
  ASSERT_TRUE(this->opener_.open(this->url_, a).ok());
  Options o = this->opener_.options(a);
  auto backend = internal::open_backend(this->url_, internal::BackendConfig{&o, this->opener_.clock, {}});
  ASSERT_TRUE(backend.ok());
  auto stored =
      internal::wait_for<std::string>([&](auto cb) { backend.value()->read_marker(std::move(cb)); });
  ASSERT_TRUE(stored.ok()) << stored.status().to_string();
  std::string altered = stored.value();
  altered[altered.find("key 1 ") + 6] ^= 1;  // another fingerprint for key 1
  auto swapped = internal::wait_for<std::string>(
      [&](auto cb) { backend.value()->swap_marker(stored.value(), altered, std::move(cb)); });
  ASSERT_TRUE(swapped.ok());
  ASSERT_EQ(swapped.value(), altered);
  auto s = this->opener_.open(this->url_, a);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.status().to_string();
}

// Pre-fork servers: the marker read at open() connects in the parent; a forked worker must
// still use the store over its own connection.
// The Redis client's fork handling (SQLite's: SqliteFork in tests/sqlite).
TEST(OpenGuardRedis, StoreOpenedBeforeForkWorksInTheChild) {
  Opener opener;
  auto s = opener.open(RedisBackendTraits::url(), ring_of({{1, 'a'}}));
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto code = s->codes().issue(code_for("alice"));
  ASSERT_TRUE(code.ok());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const bool ok = s->codes().consume(code->code).ok() && s->codes().issue(code_for("bob")).ok();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(s->codes().consume(code->code).code(), StatusCode::kAlreadyConsumed);
}

TEST(OpenGuardMemory, EveryOpenIsANewStoreWithARandomId) {
  Opener o;
  const KeyOptions a = ring_of({{1, 'a'}});
  const std::string first = o.store_id("memory://", a);
  const std::string second = o.store_id("memory://", a);
  EXPECT_EQ(first.size(), 16u);
  EXPECT_EQ(second.size(), 16u);
  EXPECT_NE(first, second);
}

TEST(OpenGuardMemory, OpenKeepsNoRawSecretInTheStoresOptions) {
  Opener o;
  auto st = internal::open_state("memory://", o.options(ring_of({{1, 'a'}, {2, 'b'}})));
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  const Options& kept = st.value()->context->options;
  EXPECT_TRUE(kept.keys.keys.empty());
  EXPECT_TRUE(kept.keys.route_secret.empty());
  Store s = internal::make_store(st.value());
  EXPECT_TRUE(s.codes().issue(code_for("alice")).ok());  // the ring has what it needs
}

// Every call through an empty handle answers failed_precondition, sync and async, never a crash.
void expect_every_call_refused(Store& s) {
  auto refused = [](StatusCode c) { return c == StatusCode::kFailedPrecondition; };
  EXPECT_TRUE(refused(s.codes().issue(code_for("a")).code()));
  EXPECT_TRUE(refused(s.codes().peek("ac1_x").code()));
  EXPECT_TRUE(refused(s.codes().consume("ac1_x").code()));
  EXPECT_TRUE(refused(s.refresh().issue(grant_for("a")).code()));
  EXPECT_TRUE(refused(s.refresh().rotate("rt1_x", "c").code()));
  EXPECT_TRUE(refused(s.refresh().revoke_subject("a").code()));
  EXPECT_TRUE(refused(s.refresh().list("a").code()));
  Session session;
  session.id = "sid";
  session.user_id = "u";
  session.type = "t";
  EXPECT_TRUE(refused(s.sessions().upsert(session).code()));
  EXPECT_TRUE(refused(s.sessions().get("sid", "u", "t").code()));
  EXPECT_TRUE(refused(s.sessions().delete_all("u", "t").code()));
  EXPECT_TRUE(refused(s.replay().reserve("iss", "jti", SystemClock().now() + 60'000).code()));
  EXPECT_TRUE(refused(s.replay().release(Reservation{}).code()));
  EXPECT_TRUE(refused(s.client_tokens().save("k", TokenRecord{}, 1000).code()));
  EXPECT_TRUE(refused(s.client_tokens().get("k").code()));
  EXPECT_TRUE(refused(s.client_tokens().list("", "", 10).code()));
  s.client_tokens().close();
  StatusCode async = StatusCode::kOk;
  s.codes().peek_async("ac1_x", [&](Result<CodeRecord> r) { async = r.code(); });
  EXPECT_EQ(async, StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.backend(), "");
  EXPECT_EQ(s.metrics().operations("codes", "issue", StatusCode::kOk), 0u);
}

TEST(StoreHandle, EmptyMovedFromAndFailedHandlesAnswerFailedPrecondition) {
  Store empty;
  EXPECT_FALSE(empty.valid());
  expect_every_call_refused(empty);

  Opener o;
  auto opened = o.open("memory://", ring_of({{1, 'a'}}));
  ASSERT_TRUE(opened.ok());
  Store moved = std::move(opened.value());
  EXPECT_TRUE(moved.valid());
  expect_every_call_refused(opened.value());  // moved from

  Options bad;
  bad.keys.keys = {{1, "too short"}};
  auto failed = authstore::open("memory://", bad);  // a failed open
  ASSERT_FALSE(failed.ok());
  EXPECT_THROW((void)failed.value(), BadResultAccess);  // a failed open() holds no Store
  Store from_failed = failed.value_or(Store());
  expect_every_call_refused(from_failed);
  EXPECT_TRUE(moved.codes().issue(code_for("a")).ok());
}

}  // namespace
}  // namespace authstore::testing
