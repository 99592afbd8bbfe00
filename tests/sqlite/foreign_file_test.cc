// Files that are not authstore's: refused with the table that gives them away, left untouched.
// authstore's own files from before the store marker open, and get their marker; processes
// creating one at once agree on it.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "backends/factories.h"
#include "core/keyring.h"
#include "sqlite/util.h"
#include "stores/store_state.h"

namespace authstore::sqlite_testing {
namespace {

bool exec_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
            sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

TEST(SqliteForeignFile, UnrelatedCodesTableIsRefusedNamingItAndLeftUntouched) {
  const std::string path = fresh_path();
  ASSERT_TRUE(exec_sql(path,
                       "CREATE TABLE codes(id INTEGER PRIMARY KEY, country TEXT);"
                       "INSERT INTO codes(country) VALUES('fr');"));
  const std::string before = read_file(path);
  auto r = try_open(path);
  EXPECT_EQ(r.code(), StatusCode::kFailedPrecondition) << r.status().to_string();
  EXPECT_NE(r.status().message().find("'codes'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("not an authstore database"), std::string::npos);
  EXPECT_EQ(read_file(path), before);
}

TEST(SqliteForeignFile, FileWithOtherTablesIsNotMigrated) {
  const std::string path = fresh_path();
  ASSERT_TRUE(exec_sql(path, "CREATE TABLE users(name TEXT); INSERT INTO users VALUES('alice');"));
  auto r = try_open(path);
  EXPECT_EQ(r.code(), StatusCode::kFailedPrecondition) << r.status().to_string();
  EXPECT_NE(r.status().message().find("'users'"), std::string::npos) << r.status().message();
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'codes'"), 0);
  EXPECT_EQ(query_int(path, "PRAGMA user_version"), 0);
}

// A file as today's main wrote it: schema 1, records, no marker table. Written by the backend
// and the stores without open(), whose ring is bound to no store (as before markers existed).
TEST(SqliteForeignFile, AuthstoreFileWithoutMarkerOpensAndGetsOne) {
  const std::string path = fresh_path();
  std::string issued;
  {
    auto ctx = std::make_shared<internal::StoreContext>();
    ctx->clock = std::make_shared<ManualClock>(kStart);
    ctx->options = test_options(std::static_pointer_cast<ManualClock>(ctx->clock));
    ctx->metrics = std::make_shared<Metrics>();
    auto ring = internal::KeyRing::load(ctx->options.keys, false, nullptr);
    ASSERT_TRUE(ring.ok());
    ctx->ring = ring.value();
    auto backend =
        internal::open_backend("sqlite://" + path, internal::BackendConfig{&ctx->options, ctx->clock, {}});
    ASSERT_TRUE(backend.ok()) << backend.status().to_string();
    Store legacy = internal::make_store(internal::assemble(ctx, backend.value()));
    auto code = legacy.codes().issue(a_grant());
    ASSERT_TRUE(code.ok());
    issued = code->code;
  }
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'authstore_meta'"), 0);
  auto wrong = open("sqlite://" + path, [] {
    Options o;
    o.keys.keys = {{9, std::string(32, 'w')}};
    return o;
  }());
  EXPECT_EQ(wrong.code(), StatusCode::kFailedPrecondition) << wrong.status().to_string();
  auto again = try_open(path);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_TRUE(again->codes().peek(issued).ok());
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM authstore_meta WHERE name = 'marker'"), 1);
}

// A writer of the file empties the marker's value: read as no marker, so the records are checked
// as for a file written before markers, and this file's records (bound to its store id) refuse
// the ring: failed_precondition, as for a deleted marker (docs/security.md), never an internal
// error; start_new_store then starts a new store over it. (Before: INSERT OR IGNORE kept the
// empty row: open() failed kInternal "the marker vanished", with start_new_store too.)
TEST(SqliteMarker, EmptiedMarkerIsRefusedLikeADeletedOneAndStartNewStoreReplacesIt) {
  const std::string path = fresh_path();
  {
    auto s = try_open(path);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    ASSERT_TRUE(s->codes().issue(a_grant()).ok());
  }
  ASSERT_TRUE(exec_raw(path, "UPDATE authstore_meta SET value = x'' WHERE name = 'marker'"));
  auto refused = try_open(path);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.status().to_string();
  EXPECT_EQ(refused.status().field(), "keys");
  auto clock = std::make_shared<ManualClock>(kStart);
  Options fresh = test_options(clock);
  fresh.start_new_store = true;
  auto started = open("sqlite://" + path, fresh);
  ASSERT_TRUE(started.ok()) << started.status().to_string();
  EXPECT_GT(query_int(path, "SELECT length(value) FROM authstore_meta WHERE name = 'marker'"), 0);
}

// A writer stores the marker back as TEXT (same bytes): it still verifies, and a re-sign (a key
// added to the ring) still replaces it. (Before: the BLOB-bound compare never matched TEXT, and
// open() gave up after its retries with kUnavailable.)
TEST(SqliteMarker, MarkerStoredAsTextStillTakesAReSign) {
  const std::string path = fresh_path();
  ASSERT_TRUE(try_open(path).ok());
  ASSERT_TRUE(exec_raw(path, "UPDATE authstore_meta SET value = CAST(value AS TEXT) WHERE name = 'marker'"));
  ASSERT_EQ(query_int(path, "SELECT typeof(value) = 'text' FROM authstore_meta WHERE name = 'marker'"), 1);
  ASSERT_TRUE(try_open(path).ok());
  auto clock = std::make_shared<ManualClock>(kStart);
  Options two = test_options(clock);
  two.keys.keys.push_back({2, std::string(32, 'n')});
  two.keys.current_key_id = 2;  // a current key the marker does not list: open() re-signs it
  auto resigned = open("sqlite://" + path, two);
  ASSERT_TRUE(resigned.ok()) << resigned.status().to_string();
  EXPECT_EQ(query_int(path, "SELECT typeof(value) = 'blob' FROM authstore_meta WHERE name = 'marker'"), 1);
}

// Processes opening one new file at once (each with its own connections) agree on one marker:
// every one of them binds its ring to the same store id.
TEST(SqliteMarker, ProcessesOpeningANewFileAtOnceAgreeOnOneMarker) {
  constexpr int kProcs = 4;
  struct Slots {
    ProcessBarrier barrier;
    char ids[kProcs][16];
    std::atomic<int> opened{0};
  };
  Shared<Slots> shared;
  ASSERT_TRUE(shared);
  const std::string path = fresh_path();
  std::vector<pid_t> children;
  for (int i = 0; i < kProcs; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (!shared->barrier.wait(kProcs)) ::_exit(2);
      auto clock = std::make_shared<ManualClock>(kStart);
      auto st = internal::open_state("sqlite://" + path, test_options(clock));
      if (!st.ok()) ::_exit(1);
      const std::string& id = st.value()->context->ring->store_id();
      if (id.size() != 16) ::_exit(1);
      std::memcpy(shared->ids[i], id.data(), 16);
      shared->opened.fetch_add(1);
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) EXPECT_EQ(wait_child(pid), 0);
  ASSERT_EQ(shared->opened.load(), kProcs);
  for (int i = 1; i < kProcs; ++i) {
    EXPECT_EQ(std::string(shared->ids[i], 16), std::string(shared->ids[0], 16)) << "process " << i;
  }
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM authstore_meta"), 1);
}

}  // namespace
}  // namespace authstore::sqlite_testing
