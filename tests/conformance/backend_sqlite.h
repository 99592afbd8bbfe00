// Adds the SQLite backend to the conformance suite: every test gets a fresh database file in a
// per-process temporary directory ($TMPDIR or /tmp), removed when the test program exits.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

namespace authstore::testing {

class SqliteTempDir {
 public:
  static SqliteTempDir& instance() {
    static SqliteTempDir dir;
    return dir;
  }
  // A path that no test used before in this process.
  std::string fresh_path() { return dir_ + "/t" + std::to_string(counter_.fetch_add(1)) + ".db"; }
  const std::string& dir() const { return dir_; }

  ~SqliteTempDir() {
    if (::getpid() != owner_) return;  // a forked child leaves the parent's files alone
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  SqliteTempDir(const SqliteTempDir&) = delete;
  SqliteTempDir& operator=(const SqliteTempDir&) = delete;

 private:
  SqliteTempDir() : owner_(::getpid()) {
    const char* tmp = ::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/authstore-sqlite-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      tmpl =
          std::filesystem::temp_directory_path().string() + "/authstore-sqlite-" + std::to_string(::getpid());
      std::filesystem::create_directories(tmpl);
    }
    dir_ = tmpl;
  }

  pid_t owner_;
  std::string dir_;
  std::atomic<unsigned> counter_{0};
};

struct SqliteBackendTraits {
  static std::string name() { return "sqlite"; }
  static std::string url() { return "sqlite://" + SqliteTempDir::instance().fresh_path(); }
};

}  // namespace authstore::testing
