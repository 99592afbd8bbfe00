// A writer of the SQLite file without the key (issue 19): records edited or moved inside the file
// with sqlite3 read as not found, never as another record.
#include <gtest/gtest.h>

#include "core/keyring.h"
#include "sqlite/util.h"
#include "stores/keys.h"

namespace authstore::sqlite_testing {
namespace {

std::string session_key(const std::string& sid) {
  auto ring = internal::KeyRing::load(test_options(nullptr).keys, false, nullptr);
  EXPECT_TRUE(ring.ok());
  return internal::index_hash(*ring.value(), "session", sid);
}

Session a_session(const std::string& user) {
  Session s;
  s.id = SessionStore::new_session_id();
  s.user_id = user;
  s.type = "full";
  s.refresh_expires_at = kStart + 3'600'000;
  return s;
}

// Finding 1: session 1's row value copied over session 2's row (same user and type), then
// session 1 logged out. Neither get(session 2) nor get_all may return session 1.
TEST(SqliteSubstitution, SessionValueCopiedOverAnotherSessionReadsAsNotFound) {
  const std::string path = fresh_path();
  Opened o = open_store(path);
  ASSERT_TRUE(o.store.valid());
  SessionStore& ss = o.store.sessions();
  const Session s1 = a_session("ivy");
  const Session s2 = a_session("ivy");
  ASSERT_TRUE(ss.upsert(s1).ok());
  ASSERT_TRUE(ss.upsert(s2).ok());
  const std::string k1 = session_key(s1.id);
  const std::string k2 = session_key(s2.id);
  ASSERT_EQ(query_int(path, "SELECT count(*) FROM sessions WHERE session_key = CAST('" + k1 + "' AS BLOB)"),
            1);
  ASSERT_TRUE(
      exec_raw(path, "UPDATE sessions SET record = (SELECT record FROM sessions WHERE session_key = CAST('" +
                         k1 + "' AS BLOB)) WHERE session_key = CAST('" + k2 + "' AS BLOB)"));
  ASSERT_EQ(query_int(path, "SELECT count(DISTINCT record) FROM sessions"), 1);
  ASSERT_TRUE(ss.delete_session(s1.id, "ivy", "full").ok());

  auto got = ss.get(s2.id, "ivy", "full");
  EXPECT_EQ(got.code(), StatusCode::kNotFound) << (got.ok() ? "returned " + got->id : "");
  auto all = ss.get_all("ivy", "full");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty()) << "listed " << all->size();
  EXPECT_EQ(o.store.metrics().security_events(SecurityEvent::kSignatureFailure), 2u);
}

}  // namespace
}  // namespace authstore::sqlite_testing
