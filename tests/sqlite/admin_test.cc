// StoreAdmin (include/authstore/admin.h) on SQLite, and what memory:// answers. The CLI's operator
// commands over SQLite and Redis are tested end to end by tests/cli/operator_commands.sh.
#include "authstore/admin.h"

#include <gtest/gtest.h>

#include "sqlite/util.h"

namespace authstore::sqlite_testing {
namespace {

Options ring_options(std::shared_ptr<ManualClock> clock, std::vector<KeyEntry> keys, std::uint16_t current) {
  Options o = test_options(std::move(clock));
  o.keys.keys = std::move(keys);
  o.keys.current_key_id = current;
  return o;
}

const KeyEntry kKey1{1, std::string(32, 'k')};
const KeyEntry kKey2{2, std::string(32, 'l')};

// One refresh family and one session of alice.
void issue_family_and_session(Store& store) {
  RefreshGrant g;
  g.subject = "alice";
  g.client_id = "client-1";
  ASSERT_TRUE(store.refresh().issue(g).ok());
  Session session;
  session.id = SessionStore::new_session_id();
  session.user_id = "alice";
  session.refresh_expires_at = kStart + 3'600'000;
  ASSERT_TRUE(store.sessions().upsert(session).ok());
}

TEST(StoreAdmin, KeyCheckCountsRecordsPerKeyAndWhatRemovingAKeyLoses) {
  const std::string path = fresh_path();
  auto clock = std::make_shared<ManualClock>(kStart);
  {
    auto admin = StoreAdmin::open("sqlite://" + path, ring_options(clock, {kKey1}, 1));
    ASSERT_TRUE(admin.ok()) << admin.status().to_string();
    Store store = admin->store();
    ASSERT_TRUE(store.codes().issue(a_grant()).ok());
    ASSERT_TRUE(store.codes().issue(a_grant()).ok());
    ASSERT_NO_FATAL_FAILURE(issue_family_and_session(store));
    auto report = admin->check_keys();
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(report->records, 4);
    EXPECT_EQ(report->verified, 4);
    EXPECT_EQ(report->need_retiring_keys, 0);  // key 1 signs
  }
  {
    // Key 2 current: key 1 is about to be removed, and every record so far needs it.
    auto admin = StoreAdmin::open("sqlite://" + path, ring_options(clock, {kKey1, kKey2}, 2));
    ASSERT_TRUE(admin.ok()) << admin.status().to_string();
    EXPECT_EQ(admin->key_ring().key_ids, (std::vector<std::uint16_t>{1, 2}));
    EXPECT_EQ(admin->key_ring().signing_key_id, 2);
    ASSERT_TRUE(admin->store().codes().issue(a_grant()).ok());
    auto report = admin->check_keys();
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(report->verified, 5);
    EXPECT_EQ(report->by_key, (std::map<std::uint16_t, std::int64_t>{{1, 4}, {2, 1}}));
    EXPECT_EQ(report->by_key_and_kind.at(1).at("code"), 2);
    EXPECT_EQ(report->by_key_and_kind.at(1).at("refresh_family"), 1);
    EXPECT_EQ(report->by_key_and_kind.at(1).at("session"), 1);
    EXPECT_EQ(report->need_retiring_keys, 4);
    EXPECT_FALSE(report->truncated);
    auto limited = admin->check_keys(2);
    ASSERT_TRUE(limited.ok());
    EXPECT_TRUE(limited->truncated);
    EXPECT_EQ(limited->records, 2);
    auto exact = admin->check_keys(5);  // as many as there are: complete
    ASSERT_TRUE(exact.ok());
    EXPECT_FALSE(exact->truncated);
    EXPECT_EQ(exact->records, 5);
  }
  {
    // Key 1 removed: exactly the records it signed fail (they read as not found).
    auto admin = StoreAdmin::open("sqlite://" + path, ring_options(clock, {kKey2}, 2));
    ASSERT_TRUE(admin.ok()) << admin.status().to_string();
    auto report = admin->check_keys();
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(report->failed, 4);
    EXPECT_EQ(report->verified, 1);
  }
}

TEST(StoreAdmin, CountsSeeUnexpiredRecordsAndHealthNamesTheSchema) {
  const std::string path = fresh_path();
  auto clock = std::make_shared<ManualClock>(kStart);
  auto admin = StoreAdmin::open("sqlite://" + path, ring_options(clock, {kKey1}, 1));
  ASSERT_TRUE(admin.ok()) << admin.status().to_string();
  Store store = admin->store();
  ASSERT_TRUE(store.codes().issue(a_grant(1'000)).ok());
  ASSERT_TRUE(store.codes().issue(a_grant(60'000)).ok());
  ASSERT_TRUE(store.replay().reserve("iss", "jti-1", kStart + 1'000).ok());
  auto before = admin->counts();
  ASSERT_TRUE(before.ok()) << before.status().to_string();
  EXPECT_EQ(before->codes, 2);
  EXPECT_EQ(before->replay_reservations, 1);
  EXPECT_EQ(before->sessions, 0);
  EXPECT_NE(before->cost.find("count(*)"), std::string::npos);
  clock->advance(2'000);
  auto after = admin->counts();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->codes, 1);
  clock->advance(3'600'000);  // a reservation is kept a while past its expiry (clock skew)
  auto later = admin->counts();
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->codes, 0);
  EXPECT_EQ(later->replay_reservations, 0);
  auto health = admin->health();
  ASSERT_TRUE(health.ok()) << health.status().to_string();
  EXPECT_EQ(health->backend, "sqlite");
  bool schema = false;
  for (const auto& [k, v] : health->items) schema |= k == "schema_version" && v == "2";
  EXPECT_TRUE(schema);
}

TEST(StoreAdmin, MemoryCountsItsOwnStoreAndRefusesHealthAndAnEmptyHandleFails) {
  auto clock = std::make_shared<ManualClock>(kStart);
  auto admin = StoreAdmin::open("memory://", ring_options(clock, {kKey1, kKey2}, 1));
  ASSERT_TRUE(admin.ok()) << admin.status().to_string();
  EXPECT_EQ(admin->key_ring().signing_key_id, 1);
  auto health = admin->health();
  EXPECT_EQ(health.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(health.status().field(), "admin");
  Store store = admin->store();
  ASSERT_TRUE(store.codes().issue(a_grant(1'000)).ok());
  ASSERT_NO_FATAL_FAILURE(issue_family_and_session(store));
  ASSERT_TRUE(store.replay().reserve("iss", "jti-1", kStart + 60'000).ok());
  auto counts = admin->counts();
  ASSERT_TRUE(counts.ok()) << counts.status().to_string();
  EXPECT_EQ(counts->codes, 1);
  EXPECT_EQ(counts->refresh_families, 1);
  EXPECT_EQ(counts->sessions, 1);
  EXPECT_EQ(counts->replay_reservations, 1);
  EXPECT_EQ(counts->client_tokens, 0);
  clock->advance(2'000);  // the code expired (not yet swept): not counted
  EXPECT_EQ(admin->counts()->codes, 0);
  ASSERT_TRUE(store.codes().issue(a_grant()).ok());
  auto report = admin->check_keys();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->verified, 2);  // the walk reads what is stored: the expired code too, until swept
  StoreAdmin empty;
  EXPECT_EQ(empty.counts().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(empty.check_keys().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(empty.store().valid());
}

}  // namespace
}  // namespace authstore::sqlite_testing
