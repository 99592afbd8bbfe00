// The authstore command: shared pieces of its subcommands. Uses only the public API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "authstore/admin.h"
#include "authstore/authstore.h"

namespace authstore::cli {

// Where a command gets its keys: --key-file, else AUTHSTORE_SECRET / AUTHSTORE_KEY_FILE, else a
// key file created on first run (mode 0600) at `default_key_file`.
struct KeySource {
  std::string key_file;          // explicit --key-file
  std::string default_key_file;  // created if nothing else is configured
};

// Resolves the key options; prints what it did (never the key). Returns false on error.
bool resolve_keys(const KeySource& source, KeyOptions& out);

// For a sqlite:// URL: refuses (prints why, returns false) a database, WAL, SHM or journal file
// that exists and is a symlink, not a regular file, owned by another user, or accessible by group
// or others: a file planted by someone else. Other URLs pass.
bool check_store_files(const std::string& url);

// The file a sqlite:// URL names, percent-decoded as the library decodes it (sqlite://my%20db is
// "my db"). Empty for another scheme, or when the path does not decode or holds a NUL byte (the
// library then names the URL error).
std::string sqlite_file(std::string_view url);

// ---- operator commands (ops.cc) ----
// What every operator command shares: the store, the key file, the output format.
struct OpsContext {
  std::string url;       // --store (or AUTHSTORE_STORE)
  std::string key_file;  // --key-file; empty: AUTHSTORE_SECRET / AUTHSTORE_KEY_FILE (never a new key)
  bool json = false;     // --json
};
// `text` with every password the URL carries (user:password@, secret@, *password=... options),
// raw or %-decoded, replaced by "***". redact(url, url) is the URL to print.
std::string redact(std::string text, std::string_view url);
// What every operator command (sessions, families, stats, keys check, migrate) checks before it
// opens the store `url`, and the key options it opens it with (set in `options.keys`):
// - a key: `key_file` (--key-file), else AUTHSTORE_SECRET / AUTHSTORE_KEY_FILE, which the library
//   reads. Never a new key. kFailedPrecondition, field "keys", when none is configured;
// - for sqlite://, the store's files: check_store_files() (it prints why it refuses; then
//   kFailedPrecondition, field "store_files"), and that the file exists: an operator command never
//   creates a store, so kNotFound, field "url", when the path does not exist.
// Other URLs, and an empty one, pass the file checks (the library, or the caller, answers for them).
Status prepare_operator_open(const std::string& url, const std::string& key_file, Options& options);
// Opens the store for an operator (prepare_operator_open(), then StoreAdmin::open): never creates
// a key, nor a SQLite file. kInvalidArgument, field "url", when ctx.url is empty.
Result<StoreAdmin> open_for_operator(const OpsContext& ctx);

struct FamilyRevoke {  // one of them set; none: --all
  std::string family, client, grant;
};
int run_sessions_list(const OpsContext& ctx, const std::string& user, const std::vector<std::string>& types);
int run_sessions_revoke(const OpsContext& ctx, const std::string& user, const std::vector<std::string>& types,
                        const std::string& session, bool all);
int run_families_list(const OpsContext& ctx, const std::string& user);
int run_families_revoke(const OpsContext& ctx, const std::string& user, const FamilyRevoke& what);
int run_stats(const OpsContext& ctx);
int run_keys_check(const OpsContext& ctx, std::size_t limit);

// ---- migrate (migrate.cc) ----
struct MigrateCommand {
  std::string from, to;  // --from (default: --store), --to
  std::string key_file;  // as for operator commands: never a new key
  std::string resume_file;
  std::size_t page_rows = 500;
  bool dry_run = false, verify = false, verify_only = false, source_stopped = false, lift_fence = false;
  bool json = false;
};
int run_migrate(const MigrateCommand& c);

int run_demo(const std::string& url, const KeySource& keys, bool show_metrics);

struct BenchConfig {
  std::string url;          // empty: a temporary SQLite file, removed at the end
  std::string op = "code";  // code | rotate | session | reserve | all
  int threads = 1;
  int in_flight = 1;              // operations outstanding per thread (the *_async calls)
  std::int64_t max_ops = 200000;  // per run, across threads
  double max_seconds = 5.0;       // per run
  int repetitions = 3;
  std::string json_file;             // --json FILE: every result, machine-readable
  std::string plot_file;             // --plot FILE.svg: the latency distribution
  bool vs_redis_benchmark = false;   // run redis-benchmark with the captured commands too
  std::string redis_benchmark_cpus;  // taskset -c CPUS for redis-benchmark; empty: not pinned
  bool yes = false;                  // accept a non-loopback server or a non-empty prefix
};
int run_bench(const BenchConfig& config, const KeySource& keys);

}  // namespace authstore::cli
