// authstore: the command-line tool. `authstore demo` plays every flow; `authstore bench` measures.
#include <CLI/CLI.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <iostream>

#include "cli/cli.h"

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
    std::cout << "keys: from the environment (" << (secret != nullptr ? "AUTHSTORE_SECRET" : "AUTHSTORE_KEY_FILE")
              << ")\n";
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

bool check_store_files(const std::string& url) {
  constexpr std::string_view kScheme = "sqlite://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) return true;
  std::string path = url.substr(kScheme.size());
  path = path.substr(0, path.find('?'));
  if (path.empty()) return true;  // the library names the URL error
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

int main(int argc, char** argv) {
  using namespace authstore::cli;
  ::umask(077);  // every file this tool creates (key file, database, WAL, SHM) is private
  CLI::App app{"authstore: the security state of OAuth 2 / OpenID Connect servers and clients"};
  app.require_subcommand(1);
  KeySource keys;
  keys.default_key_file = "authstore.key";
  app.add_option("--key-file", keys.key_file,
                 "key file to use (default: AUTHSTORE_SECRET / AUTHSTORE_KEY_FILE, else ./authstore.key, "
                 "created on first run with mode 0600)");

  std::string demo_url = "sqlite://authstore-demo.db";
  bool metrics = true;
  auto* demo = app.add_subcommand("demo", "Play every flow end to end and print each step");
  demo->add_option("--store", demo_url,
                   "store URL: sqlite://PATH (default sqlite://authstore-demo.db), memory://, ...")
      ->capture_default_str();
  demo->add_flag("!--no-metrics", metrics, "do not print the metrics at the end");

  BenchConfig bench_config;
  bench_config.url = "sqlite://authstore-bench.db";
  auto* bench = app.add_subcommand("bench", "Measure store operations (bounded in count and time)");
  bench->add_option("--store", bench_config.url, "store URL")->capture_default_str();
  bench->add_option("--op", bench_config.op, "operation: code, rotate, session, reserve, all")
      ->check(CLI::IsMember({"code", "rotate", "session", "reserve", "all"}))
      ->capture_default_str();
  bench->add_option("--threads", bench_config.threads, "concurrent callers")->check(CLI::Range(1, 256))
      ->capture_default_str();
  bench->add_option("--ops", bench_config.max_ops, "operations per run (upper bound)")
      ->check(CLI::Range(1, 100'000'000))->capture_default_str();
  bench->add_option("--seconds", bench_config.max_seconds, "seconds per run (upper bound)")
      ->check(CLI::Range(0.1, 600.0))->capture_default_str();
  bench->add_option("--repetitions", bench_config.repetitions, "runs; the median is reported")
      ->check(CLI::Range(1, 50))->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (demo->parsed()) {
    // A failed step has no value to show: the demo stops there (its FAIL line is printed).
    try {
      return run_demo(demo_url, keys, metrics);
    } catch (const authstore::BadResultAccess& e) {
      std::cerr << "error: the demo stopped after a failed step: " << e.status().to_string() << "\n";
      return 1;
    }
  }
  if (bench->parsed()) return run_bench(bench_config, keys);
  return 2;
}
