// authstore: the command-line tool. `authstore demo` plays every flow; `authstore bench` measures.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "cli/cli.h"
#include "core/url_query.h"

namespace authstore::cli {

bool resolve_keys(const KeySource& source, KeyOptions& out) {
  if (!source.key_file.empty()) {
    out.key_file = source.key_file;
    std::cout << "keys: from key file " << source.key_file << "\n";
    return true;
  }
  // Set, even to an empty value: the library reads it (and refuses an empty one). Never a
  // reason to fall back to, or create, a key file.
  const char* secret = std::getenv("AUTHSTORE_SECRET");
  const char* file = std::getenv("AUTHSTORE_KEY_FILE");
  if (secret != nullptr || file != nullptr) {
    std::cout << "keys: from the environment ("
              << (secret != nullptr ? "AUTHSTORE_SECRET" : "AUTHSTORE_KEY_FILE") << ")\n";
    return true;
  }
  Status created = create_key_file(source.default_key_file);
  if (created.ok()) {
    std::cout << "keys: created a new key file " << source.default_key_file
              << " (mode 0600, random 256-bit key); keep it to read this store again\n";
  } else if (created.code() == StatusCode::kAlreadyExists) {
    std::cout << "keys: using key file " << source.default_key_file << "\n";
  } else {
    std::cerr << "error: " << created.to_string() << "\n";
    return false;
  }
  out.key_file = source.default_key_file;
  return true;
}

std::string sqlite_file(std::string_view url) {
  constexpr std::string_view kScheme = "sqlite://";
  if (!url.starts_with(kScheme)) return {};
  std::optional<std::string> path =
      internal::percent_decode(internal::split_at_query(url.substr(kScheme.size())).before);
  if (!path || path->find('\0') != std::string::npos) return {};
  return std::move(*path);
}

bool check_store_files(const std::string& url) {
  // The file the library will open: sqlite://my%20db is checked at "my db".
  const std::string path = sqlite_file(url);
  if (path.empty()) return true;  // not sqlite://, or the library names the URL error
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string p = path + suffix;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;  // absent: created by the library, mode 0600
    std::string why;
    if (S_ISLNK(st.st_mode)) {
      why = "it is a symbolic link";
    } else if (!S_ISREG(st.st_mode)) {
      why = "it is not a regular file";
    } else if (st.st_uid != ::geteuid()) {
      why = "it is owned by uid " + std::to_string(st.st_uid) + ", not by this user";
    } else if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      why = std::string("its mode is ") + mode + " (group or others have access; chmod 600)";
    }
    if (!why.empty()) {
      std::cerr << "error: refusing store file " << p << ": " << why
                << "; someone else may have planted it. Remove it or fix it, or use another --store\n";
      return false;
    }
  }
  return true;
}

}  // namespace authstore::cli

namespace {

constexpr const char* kStoreHelp =
    "store URL: sqlite:///path.db, redis://[user:password@]host:port[/db], rediss://..., memory:// "
    "(also AUTHSTORE_STORE); accepted before or after the command";

// One line per failure: CLI11's own messages (unknown option, missing --user) included.
std::string one_line_failure(const CLI::App*, const CLI::Error& e) {
  std::string msg = e.what();
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  return "error: " + msg + " (see authstore help)\n";
}

CLI::App* with_example(CLI::App* cmd, const std::string& example) {
  cmd->footer(
      "\nOptions of every command (before or after it): --store URL, --key-file FILE, --json\n"
      "\nExample:\n  " +
      example + "\n");
  return cmd;
}

// The command: parses argv and runs what it names; main() adds the last-resort catch.
int run_command(int argc, char** argv) {
  using namespace authstore::cli;
  ::umask(077);  // every file this tool creates (key file, database, WAL, SHM) is private
  CLI::App app{"authstore: the security state of OAuth 2 / OpenID Connect servers and clients"};
  const std::string version = std::string("authstore ") + AUTHSTORE_CLI_VERSION;
  app.set_version_flag("--version", version);
  app.require_subcommand(1);
  app.fallthrough();  // inherited: the options below are accepted after the command too
  app.failure_message(one_line_failure);
  OpsContext ctx;
  KeySource keys;
  keys.default_key_file = "authstore.key";
  app.add_option("--store", ctx.url, kStoreHelp)->envname("AUTHSTORE_STORE");
  app.add_option("--key-file", keys.key_file,
                 "key file to use (default: AUTHSTORE_SECRET / AUTHSTORE_KEY_FILE; only `demo` and `bench` "
                 "fall back to ./authstore.key, created on first run with mode 0600)");
  app.add_flag("--json", ctx.json, "machine-readable output (operator commands)");

  // --- operator commands ---
  std::string user;
  std::vector<std::string> types = {"full"};
  auto* sessions =
      with_example(app.add_subcommand("sessions", "List or revoke a user's sessions"),
                   "authstore sessions list --store sqlite:///var/lib/app/authstore.db --key-file "
                   "/etc/authstore.key --user alice")
          ->require_subcommand(1);
  auto* sessions_list = with_example(
      sessions->add_subcommand("list", "List a user's live sessions (per type; default type full)"),
      "authstore sessions list --store sqlite:///var/lib/app/authstore.db --key-file /etc/authstore.key "
      "--user alice --type full --type oauth2");
  sessions_list->add_option("--user", user, "the user id (as the application stores it)")->required();
  sessions_list->add_option("--type", types, "session type(s) to look at (repeatable)")
      ->capture_default_str();
  std::string session_ref;
  bool sessions_all = false;
  auto* sessions_revoke = with_example(
      sessions->add_subcommand("revoke", "Revoke one session (--session REF) or all of them (--all)"),
      "authstore sessions revoke --store redis://:PASSWORD@10.0.0.5:6379 --user alice --all");
  sessions_revoke->add_option("--user", user, "the user id")->required();
  sessions_revoke->add_option("--type", types, "session type(s) (repeatable)")->capture_default_str();
  auto* session_opt = sessions_revoke->add_option("--session", session_ref,
                                                  "the REF a listing shows (s-...), or the session id");
  sessions_revoke->add_flag("--all", sessions_all, "every session of the user (of the given types)")
      ->excludes(session_opt);

  auto* families =
      with_example(app.add_subcommand("families", "List or revoke a user's refresh-token families"),
                   "authstore families revoke --store sqlite:///var/lib/app/authstore.db --key-file "
                   "/etc/authstore.key --user alice --all")
          ->require_subcommand(1);
  auto* families_list =
      with_example(families->add_subcommand("list", "List a user's active refresh families"),
                   "authstore families list --store sqlite:///var/lib/app/authstore.db "
                   "--key-file /etc/authstore.key --user alice --json");
  families_list->add_option("--user", user, "the subject")->required();
  FamilyRevoke family_revoke;
  bool families_all = false;
  auto* families_revoke = with_example(
      families->add_subcommand("revoke",
                               "Revoke one family, a client's, a grant's, or all (logout everywhere)"),
      "authstore families revoke --store sqlite:///var/lib/app/authstore.db --key-file /etc/authstore.key "
      "--user alice --client mobile-app");
  families_revoke->add_option("--user", user, "the subject")->required();
  auto* fam = families_revoke->add_option("--family", family_revoke.family, "one family id (rf2_...)");
  auto* cli = families_revoke->add_option("--client", family_revoke.client, "every family of this client_id");
  auto* gra = families_revoke->add_option("--grant", family_revoke.grant,
                                          "every family of this grant (sticks: later issues refused)");
  auto* all = families_revoke->add_flag("--all", families_all, "every family and JWT id of the user");
  fam->excludes(cli)->excludes(gra)->excludes(all);
  cli->excludes(gra)->excludes(all);
  gra->excludes(all);

  auto* stats =
      with_example(app.add_subcommand("stats", "Live counts per store, backend health, the key ring"),
                   "authstore stats --store redis://:PASSWORD@127.0.0.1:6379 --key-file "
                   "/etc/authstore.key --json");
  auto* keys_cmd = with_example(app.add_subcommand("keys", "Key ring checks"),
                                "authstore keys check --store sqlite:///var/lib/app/authstore.db --key-file "
                                "/etc/authstore.key --json")
                       ->require_subcommand(1);
  std::size_t walk_limit = 1'000'000;
  auto* keys_check = with_example(
      keys_cmd->add_subcommand(
          "check",
          "Check every stored record against the key ring; count what each key is needed "
          "for (exit 3: some records do not verify)"),
      "authstore keys check --store sqlite:///var/lib/app/authstore.db --key-file /etc/authstore.key");
  keys_check->add_option("--limit", walk_limit, "read at most this many records")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
      ->capture_default_str();

  MigrateCommand mig;
  auto* migrate_cmd = with_example(
      app.add_subcommand("migrate",
                         "Move every live record to another store (the source is fenced first; exit 3: "
                         "--verify found differences)"),
      "authstore migrate --from sqlite:///var/lib/app/authstore.db --to redis://:PASSWORD@10.0.0.5:6379 "
      "--key-file /etc/authstore.key --resume /var/lib/app/migrate.state --verify");
  migrate_cmd->add_option("--from", mig.from, "the source store URL (default: --store)");
  migrate_cmd->add_option("--to", mig.to, "the target store URL (must hold no records)");
  migrate_cmd->add_flag("--dry-run", mig.dry_run,
                        "read, open and reseal every record; write and fence nothing");
  migrate_cmd->add_flag("--verify", mig.verify, "after the copy, compare every row of both stores");
  migrate_cmd->add_flag("--verify-only", mig.verify_only, "only compare the two stores (after a migration)");
  migrate_cmd->add_option("--resume", mig.resume_file,
                          "progress file: a run that stopped continues from it when given the same file");
  migrate_cmd->add_flag("--source-stopped", mig.source_stopped,
                        "the source cannot be fenced (Redis): you stopped every writer of it");
  migrate_cmd->add_flag("--lift-fence", mig.lift_fence,
                        "lift the fence of --from (an abandoned migration: the store takes writes again)");
  migrate_cmd->add_option("--page-rows", mig.page_rows, "rows per page")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))
      ->capture_default_str();

  auto* version_cmd = app.add_subcommand("version", "Print the version");
  std::vector<std::string> help_topic;
  auto* help_cmd =
      with_example(app.add_subcommand("help", "Help on a command"), "authstore help families revoke");
  help_cmd->add_option("command", help_topic, "a command, e.g. sessions list");

  // --- demo and bench ---
  bool metrics = false;
  auto* demo = with_example(app.add_subcommand("demo",
                                               "Play every flow end to end and print each step "
                                               "(default store sqlite://authstore-demo.db)"),
                            "authstore demo --store memory:// --metrics");
  demo->add_flag("--metrics,!--no-metrics", metrics, "print the metrics (Prometheus text) at the end");

  BenchConfig bench_config;
  auto* bench = with_example(
      app.add_subcommand(
          "bench",
          "Measure store operations: throughput, latency percentiles, errors (bounded in count "
          "and time; default store: a temporary SQLite file, removed at the end; on Redis its own "
          "prefix authstore-bench:, its keys removed at the end)"),
      "authstore bench --store redis://127.0.0.1:6379 --op all --threads 2 --in-flight 32 "
      "--vs-redis-benchmark --json bench.json --plot bench.svg");
  bench->add_option("--op", bench_config.op, "operation: code, rotate, session, reserve, all")
      ->check(CLI::IsMember({"code", "rotate", "session", "reserve", "all"}))
      ->capture_default_str();
  bench->add_option("--threads", bench_config.threads, "calling threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  bench
      ->add_option("--in-flight", bench_config.in_flight,
                   "operations outstanding per thread (the *_async calls; compare with redis-benchmark -P). "
                   "Memory and SQLite complete a call before it returns: more than 1 changes nothing there")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  bench->add_option("--ops", bench_config.max_ops, "operations per run (upper bound)")
      ->check(CLI::Range(1, 100'000'000))
      ->capture_default_str();
  bench->add_option("--seconds", bench_config.max_seconds, "seconds per run (upper bound)")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  bench->add_option("--repetitions", bench_config.repetitions, "runs; the median run's ops/s is reported")
      ->check(CLI::Range(1, 50))
      ->capture_default_str();
  bench->add_option("--json", bench_config.json_file, "write every result to FILE (JSON)");
  bench->add_option("--plot", bench_config.plot_file, "write the latency percentile plot to FILE (SVG)");
  bench->add_flag("--vs-redis-benchmark", bench_config.vs_redis_benchmark,
                  "Redis: also run redis-benchmark (redis-tools) on the same server with the commands the "
                  "store sends (captured with MONITOR), -c THREADS -P IN_FLIGHT, and print the ratio");
  bench->add_option("--redis-benchmark-cpus", bench_config.redis_benchmark_cpus,
                    "run redis-benchmark under taskset -c CPUS (default: not pinned)");
  bench->add_flag(
      "--yes", bench_config.yes,
      "run even against a non-loopback Redis server, a prefix that already holds keys, or a store "
      "bench cannot check");

  CLI11_PARSE(app, argc, argv);
  ctx.key_file = keys.key_file;
  if (version_cmd->parsed()) {
    std::cout << version << "\n";
    return 0;
  }
  if (help_cmd->parsed()) {
    const CLI::App* target = &app;
    for (const std::string& word : help_topic) {
      const CLI::App* next = nullptr;
      for (const CLI::App* sub : target->get_subcommands([](const CLI::App*) { return true; })) {
        if (sub->get_name() == word) next = sub;
      }
      if (next == nullptr) {
        std::cerr << "error: no command '" << word << "' (see authstore help)\n";
        return 2;
      }
      target = next;
    }
    std::cout << target->help();
    return 0;
  }
  if (sessions_list->parsed()) return run_sessions_list(ctx, user, types);
  if (sessions_revoke->parsed()) {
    if (session_ref.empty() && !sessions_all) {
      std::cerr
          << "error: sessions revoke needs --session REF or --all (see authstore help sessions revoke)\n";
      return 2;
    }
    return run_sessions_revoke(ctx, user, types, session_ref, sessions_all);
  }
  if (families_list->parsed()) return run_families_list(ctx, user);
  if (families_revoke->parsed()) {
    if (family_revoke.family.empty() && family_revoke.client.empty() && family_revoke.grant.empty() &&
        !families_all) {
      std::cerr << "error: families revoke needs one of --family, --client, --grant or --all "
                   "(see authstore help families revoke)\n";
      return 2;
    }
    return run_families_revoke(ctx, user, family_revoke);
  }
  if (stats->parsed()) return run_stats(ctx);
  if (keys_check->parsed()) return run_keys_check(ctx, walk_limit);
  if (migrate_cmd->parsed()) {
    if (mig.from.empty()) mig.from = ctx.url;
    mig.key_file = keys.key_file;
    mig.json = ctx.json;
    return run_migrate(mig);
  }
  if (demo->parsed()) {
    // A failed step has no value to show: the demo stops there (its FAIL line is printed).
    try {
      return run_demo(ctx.url.empty() ? "sqlite://authstore-demo.db" : ctx.url, keys, metrics);
    } catch (const authstore::BadResultAccess& e) {
      std::cerr << "error: the demo stopped after a failed step: " << e.status().to_string() << "\n";
      return 1;
    }
  }
  if (bench->parsed()) {
    bench_config.url = ctx.url;  // empty: a temporary SQLite file
    if (ctx.json) {
      std::cerr << "error: bench takes --json FILE after the command (see authstore help bench)\n";
      return 2;
    }
    if (static_cast<std::int64_t>(bench_config.threads) * bench_config.in_flight > 65536) {
      std::cerr << "error: --threads x --in-flight is at most 65536\n";
      return 2;
    }
    return run_bench(bench_config, keys);
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // An exception no command handled (std::bad_alloc, a std::filesystem error) ends the command like
  // any failure, with one line on stderr and exit code 1, rather than in std::terminate's abort.
  try {
    return run_command(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "error: an unexpected exception\n";
  }
  return 1;
}
