// The database file: created 0600, URL errors, schema versions (forward migrations from every
// version, newer files refused), and the failures a file can bring (corrupt, read-only, full):
// each a precise error, none losing what was committed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <vector>

#include "backends/sqlite/schema.h"
#include "backends/sqlite/sqlite_backend.h"
#include "sqlite/util.h"

namespace authstore::sqlite_testing {
namespace {

namespace fs = std::filesystem;
using internal::sqlite::kSchemaVersion;
using internal::sqlite::migrations;

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777u;
}

std::string schema_text(const std::string& path) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT type, name, sql FROM sqlite_schema ORDER BY name", -1, &st, nullptr);
    while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
      for (int i = 0; i < 3; ++i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        out += t != nullptr ? reinterpret_cast<const char*>(t) : "";
        out += '|';
      }
      out += '\n';
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

TEST(SqliteFile, CreatedWithMode0600IncludingWalAndShm) {
  const mode_t old = ::umask(022);
  const std::string path = fresh_path();
  {
    Opened o = open_store(path);
    ASSERT_TRUE(o.store.valid());
    ASSERT_TRUE(o.store.codes().issue(a_grant()).ok());
    EXPECT_EQ(mode_of(path), 0600u);
    EXPECT_EQ(mode_of(path + "-wal"), 0600u);
    EXPECT_EQ(mode_of(path + "-shm"), 0600u);
  }
  ::umask(old);
}

TEST(SqliteFile, UrlErrorsNameTheUrlField) {
  for (const std::string url :
       {"sqlite://", "sqlite://?busy_timeout_ms=5", "sqlite:///tmp/x.db?bogus=1",
        "sqlite:///tmp/x.db?busy_timeout_ms=abc", "sqlite:///tmp/x.db?synchronous=off",
        "sqlite://:memory:", "sqlite:///tmp/x%zz.db", "sqlite:///tmp/dir/"}) {
    auto r = open(url, test_options(std::make_shared<ManualClock>(kStart)));
    EXPECT_EQ(r.code(), StatusCode::kInvalidArgument) << url;
    EXPECT_EQ(r.status().field(), "url") << url;
  }
  auto missing_dir = try_open(fresh_path() + ".d/sub/x.db");
  EXPECT_EQ(missing_dir.code(), StatusCode::kFailedPrecondition) << missing_dir.status().to_string();
}

// The query, as the one URL query parser (src/core/url_query.h) reads it: the path is
// percent-decoded; a repeated option's last value wins; empty parameters are skipped; a bare name,
// an empty value or an unknown name is an error naming the option.
TEST(SqliteFile, UrlQueryEdgeCases) {
  using internal::sqlite::parse_url;
  auto ok = parse_url("/tmp/my%20dir/a%2Bb.db?&&busy_timeout_ms=1&busy_timeout_ms=250&synchronous=FULL&");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok.value().path, "/tmp/my dir/a+b.db");
  EXPECT_EQ(ok.value().busy_timeout_ms, 250);
  EXPECT_EQ(ok.value().synchronous, internal::sqlite::Synchronous::kFull);
  EXPECT_EQ(parse_url("/tmp/x.db?").value().path, "/tmp/x.db");
  const auto message = [](std::string_view rest) {
    auto r = parse_url(rest);
    EXPECT_FALSE(r.ok()) << rest;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << rest;
    EXPECT_EQ(r.status().field(), "url") << rest;
    return r.status().message();
  };
  EXPECT_NE(message("/tmp/x.db?max_batch").find("option 'max_batch': expected name=value"),
            std::string::npos);
  EXPECT_NE(message("/tmp/x.db?max_batch=").find("option max_batch: expected an integer in [1, 4096]"),
            std::string::npos);
  EXPECT_NE(message("/tmp/x.db?max_batch=8&max_batch=0").find("option max_batch"), std::string::npos);
  EXPECT_NE(message("/tmp/x.db?synchronous=").find("option synchronous: expected normal or full"),
            std::string::npos);
  EXPECT_NE(message("/tmp/x.db?busy_timeout=5").find("unknown option 'busy_timeout' (known: busy_timeout_ms"),
            std::string::npos);
  EXPECT_NE(message("/tmp/x%4.db").find("path: bad percent-escape"), std::string::npos);
  EXPECT_NE(message("/tmp/x%00.db").find("path: contains NUL"), std::string::npos);
  // A name that is not a plain identifier may be a misplaced secret: never echoed.
  EXPECT_EQ(message("/tmp/x.db?Hunter2-Secret=1").find("Hunter2"), std::string::npos);
}

TEST(SqliteFile, RelativePathAndOptionsWork) {
  const std::string path = fresh_path();
  const std::string rel = fs::relative(path, fs::current_path()).string();
  ASSERT_FALSE(rel.empty());
  ASSERT_NE(rel.front(), '/');
  auto s = try_open(rel, "?busy_timeout_ms=250&synchronous=full&max_batch=16");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->backend(), "sqlite");
  ASSERT_TRUE(s->codes().issue(a_grant()).ok());
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM codes"), 1);
}

// Builds a file at every schema version v (0 = empty) with the migrations of that time, puts a
// row in it when it has tables, and checks that opening migrates it to the current schema,
// identical to a fresh file, keeping the row.
TEST(SqliteFile, MigratesForwardFromEveryVersion) {
  const std::string reference = fresh_path();
  { ASSERT_TRUE(open_store(reference).store.valid()); }
  const std::string want = schema_text(reference);
  ASSERT_NE(want.find("codes"), std::string::npos);
  ASSERT_EQ(static_cast<int>(migrations().size()), kSchemaVersion);
  for (int v = 0; v <= kSchemaVersion; ++v) {
    const std::string path = fresh_path();
    std::string sql = "BEGIN;";
    for (int step = 0; step < v; ++step) sql += std::string(migrations()[static_cast<std::size_t>(step)]);
    sql += "PRAGMA user_version=" + std::to_string(v) + ";";
    if (v >= 1) sql += "INSERT INTO replay VALUES(x'6b', x'6f', 9223372036854775807);";
    sql += "COMMIT;";
    ASSERT_TRUE(exec_raw(path, sql)) << "building version " << v;
    {
      Opened o = open_store(path);
      ASSERT_TRUE(o.store.valid()) << "from version " << v;
    }
    EXPECT_EQ(query_int(path, "PRAGMA user_version"), kSchemaVersion) << "from version " << v;
    EXPECT_EQ(schema_text(path), want) << "from version " << v;
    if (v >= 1) {
      EXPECT_EQ(query_int(path, "SELECT count(*) FROM replay"), 1) << "from version " << v;
    }
  }
}

TEST(SqliteFile, NewerSchemaIsRefusedAndLeftUntouched) {
  const std::string path = fresh_path();
  {
    Opened o = open_store(path);
    ASSERT_TRUE(o.store.valid());
    ASSERT_TRUE(o.store.codes().issue(a_grant()).ok());
  }
  ASSERT_TRUE(exec_raw(path, "PRAGMA user_version=" + std::to_string(kSchemaVersion + 1)));
  const std::string before = read_file(path);
  auto r = try_open(path);
  EXPECT_EQ(r.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("newer"), std::string::npos) << r.status().message();
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM codes"), 1);
}

TEST(SqliteFile, NotADatabaseIsDataLossAndLeftUntouched) {
  const std::string path = fresh_path();
  {
    std::string junk(8192, '\0');
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 131 + 7) & 0xff);
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  const std::string before = read_file(path);
  auto r = try_open(path);
  EXPECT_EQ(r.code(), StatusCode::kDataLoss) << r.status().to_string();
  EXPECT_NE(r.status().message().find(path), std::string::npos);
  EXPECT_EQ(read_file(path), before);
}

TEST(SqliteFile, CorruptPagesGiveDataLossNeverWrongAnswers) {
  const std::string path = fresh_path();
  std::vector<std::string> codes;
  {
    Opened o = open_store(path);
    ASSERT_TRUE(o.store.valid());
    for (int i = 0; i < 200; ++i) {
      auto c = o.store.codes().issue(a_grant());
      ASSERT_TRUE(c.ok());
      codes.push_back(c->code);
    }
  }  // closing the last connection checkpoints the WAL into the file
  std::string bytes = read_file(path);
  ASSERT_GT(bytes.size(), 3u * 4096u);
  for (std::size_t i = 4096; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(0xA5);  // every page but the first
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  auto r = try_open(path);
  if (!r.ok()) {
    EXPECT_EQ(r.code(), StatusCode::kDataLoss) << r.status().to_string();
    return;
  }
  int data_loss = 0;
  for (const auto& c : codes) {
    auto p = r->codes().peek(c);
    EXPECT_TRUE(p.code() == StatusCode::kDataLoss || p.code() == StatusCode::kNotFound)
        << p.status().to_string();
    data_loss += p.code() == StatusCode::kDataLoss ? 1 : 0;
  }
  EXPECT_GT(data_loss, 0);
  auto w = r->codes().issue(a_grant());
  EXPECT_EQ(w.code(), StatusCode::kDataLoss) << w.status().to_string();
}

// Opening a file this process may only read. As root (permissions do not bind root), the
// opening happens in a child that dropped to an unprivileged user.
TEST(SqliteFile, ReadOnlyFileIsPermissionDeniedAndKeepsItsData) {
  std::string dir = testing::SqliteTempDir::instance().dir() + "/ro";
  fs::create_directories(dir);
  ::chmod(testing::SqliteTempDir::instance().dir().c_str(), 0755);
  ::chmod(dir.c_str(), 0755);
  const std::string path = dir + "/ro.db";
  std::string code;
  {
    Opened o = open_store(path);
    ASSERT_TRUE(o.store.valid());
    auto c = o.store.codes().issue(a_grant());
    ASSERT_TRUE(c.ok());
    code = c->code;
  }
  ASSERT_EQ(::chmod(path.c_str(), 0444), 0);
  Shared<std::atomic<int>> code_seen;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(2);
    auto r = try_open(path);
    code_seen->store(static_cast<int>(r.code()));
    ::_exit(0);
  }
  ASSERT_EQ(wait_child(pid), 0);
  EXPECT_EQ(static_cast<StatusCode>(code_seen->load()), StatusCode::kPermissionDenied);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  Opened again = open_store(path);
  ASSERT_TRUE(again.store.valid());
  EXPECT_TRUE(again.store.codes().consume(code).ok());
}

TEST(SqliteFile, FullDiskIsResourceExhaustedAndLosesNothingCommitted) {
  const std::string path = fresh_path();
  std::vector<std::string> committed;
  Status full;
  {
    auto s = try_open(path, "?max_page_count=64");
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    for (int i = 0; i < 5'000; ++i) {
      CodeGrant g = a_grant();
      g.claims_json = R"({"pad":")" + std::string(300, 'x') + R"("})";
      auto c = s->codes().issue(g);
      if (!c.ok()) {
        full = c.status();
        break;
      }
      committed.push_back(c->code);
    }
    ASSERT_EQ(full.code(), StatusCode::kResourceExhausted) << full.to_string();
    EXPECT_NE(full.message().find("full"), std::string::npos) << full.message();
    // Reads still work, and every acknowledged write is there.
    for (const auto& c : committed) ASSERT_TRUE(s->codes().peek(c).ok());
  }
  // Reopened without the limit: everything committed survived, and writes work again.
  Opened o = open_store(path);
  ASSERT_TRUE(o.store.valid());
  for (const auto& c : committed) ASSERT_TRUE(o.store.codes().consume(c).ok());
  EXPECT_TRUE(o.store.codes().issue(a_grant()).ok());
  std::printf("%zu codes committed before the file was full: %s\n", committed.size(),
              full.to_string().c_str());
}

}  // namespace
}  // namespace authstore::sqlite_testing
