// Helpers of the Redis client's integration tests: where the fixture servers are, and a private
// redis-server a test may pause, kill and restart without disturbing the others.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace authstore::redis::testing {

// KEY=VALUE lines of $AUTHSTORE_REDIS_FIXTURE_DIR/servers.env, written by redis-fixture.sh.
inline const std::map<std::string, std::string>& fixture() {
  static const std::map<std::string, std::string> values = [] {
    std::map<std::string, std::string> m;
    const char* dir = std::getenv("AUTHSTORE_REDIS_FIXTURE_DIR");
    if (dir == nullptr) return m;
    m["DIR"] = dir;
    std::ifstream in(std::string(dir) + "/servers.env");
    for (std::string line; std::getline(in, line);) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return m;
  }();
  return values;
}

inline std::string fixture_value(const std::string& key) {
  auto it = fixture().find(key);
  return it == fixture().end() ? std::string() : it->second;
}

#define AUTHSTORE_REQUIRE_REDIS_FIXTURE()                                                    \
  do {                                                                                       \
    if (::authstore::redis::testing::fixture_value("REDIS_PLAIN_PORT").empty())              \
      GTEST_SKIP() << "no Redis fixture (run through ctest, which starts redis-fixture.sh)"; \
  } while (0)

inline std::string plain_url() { return "redis://127.0.0.1:" + fixture_value("REDIS_PLAIN_PORT"); }
inline std::string tls_file(const std::string& name) { return fixture_value("REDIS_TLS_DIR") + "/" + name; }

// Polls `done` every millisecond until it holds or `limit` passes; returns its last value.
template <class Pred>
bool wait_until(Pred done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A redis-server of the test's own on a free loopback port, stopped by pid (SIGKILL) when the
// object goes away, pass or fail. Its pidfile sits in the fixture dir, so the fixture's cleanup
// also stops it should the test process die first.
class PrivateServer {
 public:
  explicit PrivateServer(std::string name) : name_(std::move(name)) {}
  ~PrivateServer() { kill_now(); }

  // Starts on `port` (0: pick a free one), with `extra` arguments (e.g. {"--maxmemory", "4mb"}).
  // Returns false if it did not come up within 5 s.
  bool start(int port = 0, const std::vector<std::string>& extra = {}) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      port_ = port != 0
                  ? port
                  : 20000 + static_cast<int>((::getpid() * 7919 + attempt * 104729 +
                                              std::chrono::steady_clock::now().time_since_epoch().count()) %
                                             40000);
      const std::string dir = fixture_value("DIR");
      const std::string pidfile = dir + "/" + name_ + ".pid";
      std::vector<std::string> args = {
          "redis-server", "--bind",    "127.0.0.1",    "--port",    std::to_string(port_),
          "--save",       "",          "--appendonly", "no",        "--daemonize",
          "no",           "--pidfile", pidfile,        "--logfile", dir + "/" + name_ + ".log",
          "--dir",        dir};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      if (posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(), environ) != 0) {
        return false;
      }
      if (wait_until([&] { return answers() || pid_ <= 0; }, std::chrono::milliseconds(5000)) && pid_ > 0) {
        return true;
      }
      kill_now();
      if (port != 0) return false;
    }
    return false;
  }

  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);  // a stopped process dies only once continued
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // Freezes / thaws the server (SIGSTOP / SIGCONT): its sockets stay open, nothing answers.
  void stop_signal() const {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
  }
  void continue_signal() const {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  bool answers() {
    int status = 0;
    if (pid_ <= 0) return false;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited (port taken?)
      pid_ = -1;
      return false;
    }
    const std::string cmd = "redis-cli -p " + std::to_string(port_) + " ping >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }

  std::string name_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace authstore::redis::testing
