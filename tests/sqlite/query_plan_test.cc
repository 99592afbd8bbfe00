// Query plans (issue 17, target 5: no operation's cost grows with the store's size or a user's
// history): every statement the backend runs searches an index (no full-table SCAN), and logging
// a user out everywhere reads a fixed number of rows whatever the number of families the user holds.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "backends/sqlite/schema.h"

namespace authstore::sqlite_testing {
namespace {

using internal::sqlite::migrations;
using internal::sqlite::sql;
using internal::sqlite::StmtId;

// A database in memory with the current schema.
class Schema : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    for (std::string_view step : migrations()) exec(std::string(step));
  }
  void TearDown() override { sqlite3_close(db_); }

  void exec(const std::string& text) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    ASSERT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "") << " in " << text;
    sqlite3_free(err);
  }

  // The lines of EXPLAIN QUERY PLAN for a statement.
  std::vector<std::string> plan(std::string_view text) {
    std::vector<std::string> lines;
    sqlite3_stmt* st = nullptr;
    const std::string q = "EXPLAIN QUERY PLAN " + std::string(text);
    EXPECT_EQ(sqlite3_prepare_v2(db_, q.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
      lines.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 3)));
    }
    sqlite3_finalize(st);
    return lines;
  }

  sqlite3* db_ = nullptr;
};

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

// Full scans of a table or index read every row of the store: none on any path. The only SCANs
// allowed are of a constant row and of a subquery the statement itself built from searches.
TEST_F(Schema, EveryStatementSearchesAnIndexNeverScansATable) {
  for (std::size_t i = 0; i < static_cast<std::size_t>(StmtId::kCount_); ++i) {
    const std::string_view text = sql(static_cast<StmtId>(i));
    const std::vector<std::string> lines = plan(text);
    for (const std::string& line : lines) {
      if (line.rfind("SCAN ", 0) != 0) continue;
      const bool allowed = line == "SCAN CONSTANT ROW" || line.rfind("SCAN (subquery-", 0) == 0;
      EXPECT_TRUE(allowed) << "statement " << i << " scans: " << text << "\nplan:\n" << joined(lines);
    }
  }
}

// Runs a one-row statement: its value (column 0) and the virtual machine steps it took, which
// grow with the rows it walks (SQLite's own count), not with the table's size when it walks none.
struct Counted {
  long long value = -1;
  long steps = -1;
};
Counted run_counted(sqlite3* db, std::string_view text, const std::vector<std::string>& blobs,
                    long long now) {
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, std::string(text).c_str(), -1, &st, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  if (st == nullptr) return {};
  int n = 0;
  for (const std::string& b : blobs) {
    sqlite3_bind_blob(st, ++n, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
  }
  sqlite3_bind_int64(st, n + 1, now);
  Counted r;
  if (sqlite3_step(st) == SQLITE_ROW) r.value = sqlite3_column_int64(st, 0);
  r.steps = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
  sqlite3_finalize(st);
  return r;
}

// Logout everywhere (revoke_subject) first reads how long the user's current families live
// (kUserHorizon), to keep the bumped generation that long. Families of earlier generations are
// revoked already, and the generation row outlives them (every issue extends it; every bump keeps
// the later expiry), so only the current generation's latest expiry is needed: one index entry.
TEST_F(Schema, LogoutReadsTheSameRowsForTenOrTwoThousandFamilies) {
  auto add_families = [&](const std::string& subject, int count, int gen) {
    exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(count) +
         ") INSERT INTO refresh_families SELECT randomblob(32), x'01', CAST('" + subject +
         "' AS BLOB), x'02', x'', x'', " + std::to_string(gen) +
         ", 0, 0, x'', x'', 0, x'', 0, 0, 0, 1000, 5000000 + i, 9000000 + i, 0 FROM n");
  };
  add_families("few", 10, 0);
  add_families("many", 2000, 0);
  add_families("old", 2000, 3);  // revoked by three earlier logouts, still living
  exec("INSERT INTO refresh_users VALUES(x'01', CAST('old' AS BLOB), 4, 99999999)");
  add_families("old", 10, 4);
  const std::string_view horizon = sql(StmtId::kUserHorizon);
  const Counted few = run_counted(db_, horizon, {"\x01", "few"}, 1000);
  const Counted many = run_counted(db_, horizon, {"\x01", "many"}, 1000);
  const Counted old = run_counted(db_, horizon, {"\x01", "old"}, 1000);
  EXPECT_EQ(few.value, 9'000'010);  // the latest expiry of the current generation's families
  EXPECT_EQ(many.value, 9'002'000);
  EXPECT_EQ(old.value, 9'000'010);
  EXPECT_LT(many.steps, few.steps + 50) << "10 families: " << few.steps << " steps, 2000: " << many.steps;
  EXPECT_LT(old.steps, few.steps + 50)
      << "10 families: " << few.steps << " steps, 10 + 2000 revoked: " << old.steps;
}

}  // namespace
}  // namespace authstore::sqlite_testing
