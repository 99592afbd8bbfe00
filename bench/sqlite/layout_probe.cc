// A bare SQLite program (no authstore code): what a random lookup by a 32-byte key costs in a table
// of N rows of R-byte records, in two layouts, small table vs big table: whether the store's layout
// is what makes its SQLite reads grow at 10^7 records (docs/performance.md, "Growth"; it is not):
//
//   clustered  CREATE TABLE t(key BLOB PRIMARY KEY, record BLOB, expires_at INTEGER) WITHOUT ROWID
//              (the store's layout today: interior pages hold whole rows, fanout ~10 for R ~ 350)
//   rowid      CREATE TABLE t(id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, record BLOB,
//              expires_at INTEGER) (interior pages of the key index hold keys, of the table rowids;
//              a lookup is two B-tree descents)
//
// Usage: layout_probe DIR SMALL_N BIG_N RECORD_BYTES LOOKUPS REPS [CACHE_KIB]
// Fills DIR/{clustered,rowid}-{small,big}-<N>x<R>.db (kept, filled only if missing; DIR is created),
// then per repetition times LOOKUPS random lookups of existing keys on each of the four files,
// alternating the order of small and big, one connection per file in WAL mode (as the store's),
// each lookup its own read transaction (autocommit, as the store's reads), with SQLite's default
// page cache or CACHE_KIB (PRAGMA cache_size=-CACHE_KIB, as the store's cache_size_kib). Prints per
// file the page counts from dbstat (leaf / interior) and the median ns per lookup, and big/small
// per layout.
// Bounded: LOOKUPS and REPS are the loops; a fill of 2,000,000 rows of 350 bytes takes ~1 min.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(sqlite3* db, const char* what) {
  std::fprintf(stderr, "layout_probe: %s: %s\n", what, db != nullptr ? sqlite3_errmsg(db) : "?");
  std::exit(1);
}

void exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) die(db, sql);
}

// The i-th key of a file: 32 bytes from a generator seeded by i (so lookups can pick keys without
// keeping them).
std::string key_of(std::uint64_t i) {
  std::mt19937_64 g(i * 0x9E3779B97F4A7C15ULL + 1);
  std::string k(32, '\0');
  for (std::size_t j = 0; j < 32; j += 8) {
    const std::uint64_t v = g();
    for (std::size_t b = 0; b < 8; ++b) k[j + b] = static_cast<char>(v >> (8 * b));
  }
  return k;
}

void fill(const std::string& path, bool clustered, std::uint64_t n, std::size_t record_bytes) {
  if (std::filesystem::exists(path)) return;
  const std::string tmp = path + ".filling";
  std::remove(tmp.c_str());
  sqlite3* db = nullptr;
  if (sqlite3_open(tmp.c_str(), &db) != SQLITE_OK) die(db, "open");
  exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF");
  exec(db, clustered
               ? "CREATE TABLE t(key BLOB PRIMARY KEY, record BLOB NOT NULL, expires_at INTEGER NOT NULL) "
                 "WITHOUT ROWID"
               : "CREATE TABLE t(id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, record BLOB NOT NULL, "
                 "expires_at INTEGER NOT NULL)");
  sqlite3_stmt* ins = nullptr;
  if (sqlite3_prepare_v2(db, "INSERT INTO t(key, record, expires_at) VALUES (?, ?, ?)", -1, &ins, nullptr) !=
      SQLITE_OK) {
    die(db, "prepare insert");
  }
  std::mt19937_64 g(42);
  std::string record(record_bytes, '\0');
  exec(db, "BEGIN");
  for (std::uint64_t i = 0; i < n; ++i) {
    for (char& c : record) c = static_cast<char>(g());
    const std::string k = key_of(i);
    sqlite3_bind_blob(ins, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    sqlite3_bind_blob(ins, 2, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
    sqlite3_bind_int64(ins, 3, static_cast<sqlite3_int64>(4'000'000'000'000 + i));
    if (sqlite3_step(ins) != SQLITE_DONE) die(db, "insert");
    sqlite3_reset(ins);
    if (i % 100'000 == 99'999) exec(db, "COMMIT; BEGIN");
  }
  exec(db, "COMMIT");
  sqlite3_finalize(ins);
  sqlite3_close(db);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) die(nullptr, "rename");
}

struct File {
  std::string name;
  std::uint64_t n = 0;
  sqlite3* db = nullptr;
  sqlite3_stmt* get = nullptr;
  std::vector<double> ns;
};

void open_file(File& f, const std::string& path, long cache_kib) {
  if (sqlite3_open_v2(path.c_str(), &f.db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) die(f.db, "open");
  exec(f.db, "PRAGMA journal_mode=WAL");
  if (cache_kib > 0) exec(f.db, ("PRAGMA cache_size=-" + std::to_string(cache_kib)).c_str());
  if (sqlite3_prepare_v2(f.db, "SELECT record, expires_at FROM t WHERE key = ?", -1, &f.get, nullptr) !=
      SQLITE_OK) {
    die(f.db, "prepare select");
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(f.db,
                         "SELECT name, sum(pagetype = 'leaf'), sum(pagetype = 'internal'), "
                         "sum(pagetype = 'overflow') FROM dbstat GROUP BY name ORDER BY name",
                         -1, &st, nullptr) != SQLITE_OK) {
    die(f.db, "dbstat (SQLite built without SQLITE_ENABLE_DBSTAT_VTAB?)");
  }
  while (sqlite3_step(st) == SQLITE_ROW) {
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    if (name == nullptr || std::string(name).starts_with("sqlite_schema")) continue;
    std::printf("%-16s %9llu rows, %-22s %8lld leaf %6lld interior %6lld overflow pages\n", f.name.c_str(),
                static_cast<unsigned long long>(f.n), name, sqlite3_column_int64(st, 1),
                sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
  }
  sqlite3_finalize(st);
}

double time_lookups(File& f, std::uint64_t lookups, std::mt19937_64& g) {
  std::vector<std::string> keys;
  keys.reserve(lookups);
  for (std::uint64_t i = 0; i < lookups; ++i) keys.push_back(key_of(g() % f.n));
  std::size_t bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& k : keys) {
    sqlite3_bind_blob(f.get, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    if (sqlite3_step(f.get) != SQLITE_ROW) die(f.db, "lookup found nothing");
    bytes += static_cast<std::size_t>(sqlite3_column_bytes(f.get, 0));
    sqlite3_reset(f.get);
  }
  const auto took = std::chrono::steady_clock::now() - start;
  if (bytes == 0) die(f.db, "empty records");
  return std::chrono::duration<double, std::nano>(took).count() / static_cast<double>(lookups);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::fprintf(stderr, "usage: layout_probe DIR SMALL_N BIG_N RECORD_BYTES LOOKUPS REPS [CACHE_KIB]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::uint64_t small_n = std::strtoull(argv[2], nullptr, 10);
  const std::uint64_t big_n = std::strtoull(argv[3], nullptr, 10);
  const std::size_t record_bytes = std::strtoull(argv[4], nullptr, 10);
  const std::uint64_t lookups = std::strtoull(argv[5], nullptr, 10);
  const int reps = std::atoi(argv[6]);
  const long cache_kib = argc == 8 ? std::atol(argv[7]) : 0;
  if (small_n == 0 || big_n == 0 || record_bytes == 0 || lookups == 0 || lookups > 10'000'000 || reps < 1 ||
      reps > 99 || cache_kib < 0) {
    std::fprintf(
        stderr,
        "layout_probe: N > 0, RECORD_BYTES > 0, 0 < LOOKUPS <= 10^7, 1 <= REPS <= 99, CACHE_KIB >= 0\n");
    return 2;
  }
  std::error_code made;
  std::filesystem::create_directories(dir, made);
  if (made) {
    std::fprintf(stderr, "layout_probe: cannot create %s: %s\n", dir.c_str(), made.message().c_str());
    return 1;
  }
  std::vector<File> files(4);
  const char* layouts[2] = {"clustered", "rowid"};
  for (int l = 0; l < 2; ++l) {
    for (int s = 0; s < 2; ++s) {
      File& f = files[static_cast<std::size_t>(l * 2 + s)];
      f.n = s == 0 ? small_n : big_n;
      f.name = std::string(layouts[l]) + (s == 0 ? "-small" : "-big");
      const std::string path =
          dir + "/" + f.name + "-" + std::to_string(f.n) + "x" + std::to_string(record_bytes) + ".db";
      const auto start = std::chrono::steady_clock::now();
      fill(path, l == 0, f.n, record_bytes);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (secs > 1) std::printf("filled %s in %.0f s\n", path.c_str(), secs);
      open_file(f, path, cache_kib);
    }
  }
  std::mt19937_64 g(7);
  for (int r = 0; r < reps; ++r) {
    for (int l = 0; l < 2; ++l) {
      File& small = files[static_cast<std::size_t>(l * 2)];
      File& big = files[static_cast<std::size_t>(l * 2 + 1)];
      if (r % 2 == 0) {
        small.ns.push_back(time_lookups(small, lookups, g));
        big.ns.push_back(time_lookups(big, lookups, g));
      } else {
        big.ns.push_back(time_lookups(big, lookups, g));
        small.ns.push_back(time_lookups(small, lookups, g));
      }
    }
  }
  std::printf("\npage cache: %s\n", cache_kib > 0
                                        ? (std::to_string(cache_kib) + " KiB per connection").c_str()
                                        : "SQLite's default (2000 KiB)");
  std::printf(
      "\n| layout | small ns/lookup (n=%llu) | big ns/lookup (n=%llu) | big/small |\n|---|---:|---:|---:|\n",
      static_cast<unsigned long long>(small_n), static_cast<unsigned long long>(big_n));
  for (int l = 0; l < 2; ++l) {
    const double s = median(files[static_cast<std::size_t>(l * 2)].ns);
    const double b = median(files[static_cast<std::size_t>(l * 2 + 1)].ns);
    std::printf("| %s | %.0f | %.0f | %.2f |\n", layouts[l], s, b, b / s);
  }
  for (File& f : files) {
    sqlite3_finalize(f.get);
    sqlite3_close(f.db);
  }
  return 0;
}
