// make_fixture: writes the upgrade fixture (tests/fixtures/upgrade/) that upgrade_test reads.
//
// The committed fixture was written by this program built against the src/ and include/ of
// commit 69d27db ("CI: run every test a third time under ThreadSanitizer"): the token and record
// formats before issue 19. To regenerate it, this program MUST be rebuilt against that commit;
// the steps are in tests/fixtures/upgrade/README.md (a worktree of 69d27db with tests/upgrade/
// copied in, the upgrade_make_fixture target, then tests/upgrade/regenerate.sh).
// Built from a later tree it writes that tree's formats, and the test would no longer prove that
// the old data works. regenerate.sh runs the commands below (and a redis-server).
//
//   make_fixture write URL KEYS SECTION OUT
//       Writes the fixture content (fixture_writer.cc) into the store at URL and appends
//       "[SECTION]" and the issued tokens / ids / verifiers ("name value" lines) to OUT.
//       KEYS is a key file path (created with keys 1 and 2 if missing) or "env" for
//       AUTHSTORE_SECRET (one key, no route line).
//   make_fixture dump-redis PORT PREFIX OUT
//       Writes every key of the redis-server at 127.0.0.1:PORT that starts with PREFIX to OUT in
//       the form of redis_dump.h (type, PTTL, content), which restores it exactly.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "redis/client.h"
#include "upgrade/fixture_writer.h"
#include "upgrade/redis_dump.h"

namespace {

int usage() {
  std::cerr << "usage: make_fixture write URL KEYS SECTION OUT\n"
               "       make_fixture dump-redis PORT PREFIX OUT\n";
  return 2;
}

int write(const std::string& url, const std::string& keys, const std::string& section,
          const std::string& out_path) {
  authstore::upgrade::FixtureLog log;
  authstore::upgrade::WriteConfig config{url, keys == "env" ? std::string() : keys};
  if (authstore::Status s = authstore::upgrade::write_fixture(config, log); !s.ok()) {
    std::cerr << "make_fixture: " << s.to_string() << "\n";
    return 1;
  }
  std::ofstream out(out_path, std::ios::app);
  out << "[" << section << "]\n" << authstore::upgrade::format_log(log);
  return out ? 0 : 1;
}

int dump(const std::string& port, const std::string& prefix, const std::string& out_path) {
  auto client = authstore::redis::Client::from_url("redis://127.0.0.1:" + port);
  if (!client.ok()) {
    std::cerr << "make_fixture: " << client.status().to_string() << "\n";
    return 1;
  }
  auto keys = authstore::upgrade::dump_keys(*client.value(), prefix);
  if (!keys.ok()) {
    std::cerr << "make_fixture: " << keys.status().to_string() << "\n";
    return 1;
  }
  std::ofstream out(out_path, std::ios::trunc);
  out << "# authstore upgrade fixture: the Redis keys under prefix '" << prefix
      << "' (format: tests/upgrade/redis_dump.h)\n"
      << authstore::upgrade::format_dump(keys.value());
  return out ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 6 && std::string(argv[1]) == "write") return write(argv[2], argv[3], argv[4], argv[5]);
  if (argc == 5 && std::string(argv[1]) == "dump-redis") return dump(argv[2], argv[3], argv[4]);
  return usage();
}
