// `authstore bench --vs-redis-benchmark`: the commands one operation sends, captured with MONITOR
// (not rebuilt from what the bench believes the backend sends), replayed by redis-benchmark against
// the same server with the same concurrency (-c threads -P in-flight).
//
// redis-benchmark sends one fixed command line; `__rand_int__` in it becomes a 12-digit random
// number, drawn anew for each occurrence. So each captured command becomes a template: the id at the
// end of each key (after its last ':') gets its last 12 characters replaced by __rand_int__, also
// where the same id appears among the arguments. A command that names one id in more than one
// place (keys that must belong together: a refresh token and its family, a session's three bucket
// keys) cannot be replayed that way (bench/redis/run_backend.sh says why), and has no reference. A
// command that reads or spends a record an earlier command of the operation wrote (a code's
// consume after its issue) is timed over a keyspace prefilled by that earlier command's template
// (bench/redis/backend_bench.cc's prefill, done by redis-benchmark itself). An argument redis-benchmark
// cannot take on its command line (a NUL byte) becomes filler of the same length.
#include <fcntl.h>
#include <openssl/rand.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <thread>

#include "cli/bench_internal.h"
#include "redis/monitor_line.h"

extern char** environ;

namespace authstore::cli {
namespace {

constexpr std::string_view kRand = "__rand_int__";
constexpr std::size_t kMaxMonitorLines = 10'000;

std::string random_hex() {
  unsigned char b[8];
  if (RAND_bytes(b, sizeof b) != 1) return "0";
  std::string s;
  char h[3];
  for (unsigned char c : b) {
    std::snprintf(h, sizeof h, "%02x", c);
    s += h;
  }
  return s;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Positions of the keys of a captured command.
std::vector<std::size_t> key_positions(const Command& c) {
  std::vector<std::size_t> out;
  const std::string name = upper(c[0]);
  if (name == "EVALSHA" || name == "EVAL" || name == "EVALSHA_RO" || name == "EVAL_RO" || name == "FCALL") {
    if (c.size() < 3) return out;
    const std::size_t n = std::strtoul(c[2].c_str(), nullptr, 10);
    for (std::size_t i = 0; i < n && 3 + i < c.size(); ++i) out.push_back(3 + i);
  } else if (c.size() >= 2) {
    out.push_back(1);
  }
  return out;
}

// The id a key ends with (after its last ':'), or "" (a route tag, or too short to randomize).
std::string key_id(const std::string& key) {
  const auto colon = key.rfind(':');
  std::string id = colon == std::string::npos ? std::string() : key.substr(colon + 1);
  if (id.size() < kRand.size() || id.find('{') != std::string::npos || id.find('}') != std::string::npos)
    return {};
  return id;
}

std::size_t count_of(const std::string& s, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

struct Template {
  std::vector<std::string> args;
  std::vector<std::string> ids;  // the ids it randomizes
  bool filler = false;           // an argument was replaced by filler
};

Template make_template(const Command& c) {
  Template t;
  t.args = c;
  for (std::size_t pos : key_positions(c)) {
    std::string id = key_id(c[pos]);
    if (!id.empty() && std::find(t.ids.begin(), t.ids.end(), id) == t.ids.end()) t.ids.push_back(id);
  }
  for (const auto& id : t.ids) {
    const std::string repl = id.substr(0, id.size() - kRand.size()) + std::string(kRand);
    for (auto& a : t.args) {
      for (std::size_t at = a.find(id); at != std::string::npos; at = a.find(id, at + repl.size())) {
        a.replace(at, id.size(), repl);
      }
    }
  }
  for (auto& a : t.args) {
    if (a.find('\0') != std::string::npos) {
      a.assign(a.size(), 'x');
      t.filler = true;
    }
  }
  return t;
}

std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path != nullptr ? path : "/usr/bin:/bin";
  for (std::size_t from = 0; from <= p.size();) {
    const std::size_t colon = std::min(p.find(':', from), p.size());
    std::string candidate = p.substr(from, colon - from) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    from = colon + 1;
  }
  return {};
}

std::string shorten(const std::string& arg) {
  if (arg.size() <= 100 || arg.find(kRand) != std::string::npos) return arg;
  return arg.substr(0, 24) + "...<" + std::to_string(arg.size()) + " bytes>";
}

// Runs argv, stdout and stderr into `out`; killed (by its pid) after `limit`. Returns the exit status
// (-1: could not start or was killed).
int run_process(const std::vector<std::string>& argv, std::chrono::seconds limit, std::string& out) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return -1;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  bool killed = false;
  for (;;) {
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      if (out.size() < (1 << 20)) out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (std::chrono::steady_clock::now() > deadline && !killed) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (killed || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

struct BenchmarkRun {
  double rps = 0;
  std::string error;
};

BenchmarkRun redis_benchmark(const std::string& binary, const RedisTarget& target, const BenchConfig& config,
                             long n, long keyspace, const std::vector<std::string>& cmd, std::string* shown) {
  std::vector<std::string> argv;
  if (!config.redis_benchmark_cpus.empty()) {
    const std::string taskset = find_in_path("taskset");
    if (taskset.empty()) return {0, "taskset not found (--redis-benchmark-cpus)"};
    argv = {taskset, "-c", config.redis_benchmark_cpus};
  }
  argv.push_back(binary);
  for (const std::string& a :
       {std::string("-h"), target.host, std::string("-p"), std::to_string(target.port)}) {
    argv.push_back(a);
  }
  std::size_t password_at = 0;
  if (!target.password.empty()) {
    if (!target.user.empty()) {
      argv.emplace_back("--user");
      argv.push_back(target.user);
    }
    argv.emplace_back("-a");
    password_at = argv.size();
    argv.push_back(target.password);
  }
  for (const std::string& a :
       {std::string("--dbnum"), std::to_string(target.db), std::string("-c"), std::to_string(config.threads),
        std::string("-P"), std::to_string(config.in_flight), std::string("-n"), std::to_string(n),
        std::string("-r"), std::to_string(keyspace), std::string("-e"), std::string("--csv")}) {
    argv.push_back(a);
  }
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  if (shown != nullptr) {
    shown->clear();
    for (std::size_t i = config.redis_benchmark_cpus.empty() ? 0 : 3; i < argv.size(); ++i) {
      if (!shown->empty()) *shown += ' ';
      *shown += i == password_at && password_at != 0                 ? std::string("***")
                : i == (config.redis_benchmark_cpus.empty() ? 0 : 3) ? std::string("redis-benchmark")
                                                                     : shorten(argv[i]);
    }
    if (!config.redis_benchmark_cpus.empty())
      *shown = "taskset -c " + config.redis_benchmark_cpus + " " + *shown;
  }
  std::string out;
  const auto limit = std::chrono::seconds(static_cast<long>(config.max_seconds * 4) + 30);
  const int rc = run_process(argv, limit, out);
  if (rc != 0)
    return {0,
            rc < 0 ? "redis-benchmark did not finish in time or could not start" : "redis-benchmark failed"};
  BenchmarkRun run;
  std::size_t from = 0;
  while (from < out.size()) {
    const std::size_t end = std::min(out.find('\n', from), out.size());
    const std::string line = out.substr(from, end - from);
    from = end + 1;
    if (line.find("Error from server") != std::string::npos && run.error.empty()) {
      run.error = "redis-benchmark: " + line.substr(line.find("Error from server"));
    }
    // "EVALSHA ...","12345.67",...
    if (line.size() > 2 && line[0] == '"' && line.find("\"test\"") == std::string::npos) {
      const auto sep = line.find("\",\"");
      if (sep != std::string::npos) run.rps = std::strtod(line.c_str() + sep + 3, nullptr);
    }
  }
  if (run.rps <= 0 && run.error.empty()) run.error = "redis-benchmark printed no result";
  return run;
}

}  // namespace

bool capture_commands(const RedisTarget& target, const std::function<bool()>& run_one,
                      std::vector<Command>& commands, std::string& error) {
  RawRedis monitor;
  RawRedis control;
  RespReply r;
  if (!monitor.connect(target, std::chrono::seconds(5), error) ||
      !control.connect(target, std::chrono::seconds(5), error)) {
    return false;
  }
  if (!monitor.command({"MONITOR"}, r, error)) return false;
  if (r.type == RespReply::Type::kError) {
    error = "MONITOR refused: " + r.str;
    return false;
  }
  const std::string marker = "authstore-bench-capture-" + random_hex();
  if (!control.command({"ECHO", marker + "-start"}, r, error)) return false;
  const bool ran = run_one();
  if (!control.command({"ECHO", marker + "-end"}, r, error)) return false;
  if (!ran) {
    error = "the operation failed while it was captured";
    return false;
  }
  bool started = false;
  for (std::size_t lines = 0; lines < kMaxMonitorLines; ++lines) {
    if (!monitor.read(r, error)) return false;
    std::optional<redis::MonitorLine> line = redis::parse_monitor_line(r.str);
    if (!line) continue;
    Command& cmd = line->args;
    if (upper(cmd[0]) == "ECHO" && cmd.size() == 2 && cmd[1] == marker + "-start") {
      started = true;
      continue;
    }
    if (upper(cmd[0]) == "ECHO" && cmd.size() == 2 && cmd[1] == marker + "-end") {
      if (commands.empty()) error = "no command under the prefix '" + target.prefix + "' was seen";
      return !commands.empty();
    }
    if (!started || line->source == "lua") continue;  // a script's own calls are part of its command
    bool ours = false;
    for (std::size_t i = 1; i < cmd.size() && !ours; ++i) ours = cmd[i].rfind(target.prefix, 0) == 0;
    if (ours) commands.push_back(std::move(cmd));
  }
  error = "MONITOR: the end marker did not arrive";
  return false;
}

ReferenceResult run_redis_benchmark(const RedisTarget& target, const std::vector<Command>& commands,
                                    const BenchConfig& config) {
  ReferenceResult ref;
  const std::string binary = find_in_path("redis-benchmark");
  if (binary.empty()) {
    ref.why_not = "redis-benchmark not found on PATH (Debian package redis-tools)";
    return ref;
  }
  std::vector<Template> templates;
  templates.reserve(commands.size());
  for (const auto& c : commands) templates.push_back(make_template(c));
  for (const auto& t : templates) {
    for (const auto& id : t.ids) {
      std::size_t uses = 0;
      for (const auto& a : t.args) {
        uses += count_of(a, id.substr(0, id.size() - kRand.size()) + std::string(kRand));
      }
      if (uses > 1) {
        ref.why_not =
            "no reference: " + upper(t.args[0]) + " names one id in " + std::to_string(uses) +
            " places (keys that belong together); redis-benchmark draws each __rand_int__ on its own";
        return ref;
      }
    }
  }
  const long n = static_cast<long>(std::min<std::int64_t>(config.max_ops, 10'000'000));
  constexpr long kFresh = 1'000'000'000;  // keyspace of a command that writes: ids practically never repeat
  double seconds_per_op = 0;
  std::vector<std::string> notes;
  for (std::size_t i = 0; i < templates.size(); ++i) {
    // A record an earlier command of this operation wrote: prefill it first.
    const Template* writer = nullptr;
    for (std::size_t j = 0; j < i && writer == nullptr; ++j) {
      for (const auto& id : templates[i].ids) {
        for (const auto& c : commands[j]) {
          if (c.find(id) != std::string::npos) writer = &templates[j];
        }
      }
    }
    long keyspace = kFresh;
    if (writer != nullptr) {
      keyspace = n;
      auto pre = redis_benchmark(binary, target, config, 3 * n, keyspace, writer->args, nullptr);
      if (!pre.error.empty()) {
        ref.why_not = "prefill: " + pre.error;
        return ref;
      }
      notes.push_back(
          upper(templates[i].args[0]) + " draws from " + std::to_string(n) +
          " ids a prefill of 3x as many writes filled (~60% find a live record, the rest one it spent)");
    }
    std::string shown;
    auto run = redis_benchmark(binary, target, config, n, keyspace, templates[i].args, &shown);
    if (!run.error.empty()) {
      ref.why_not = run.error;
      return ref;
    }
    ref.commands.push_back(shown);
    ref.command_ops_per_sec.push_back(run.rps);
    seconds_per_op += 1.0 / run.rps;
    if (templates[i].filler) notes.emplace_back("a binary argument was sent as filler of the same length");
  }
  ref.ops_per_sec = seconds_per_op > 0 ? 1.0 / seconds_per_op : 0;
  ref.available = true;
  for (const auto& note : notes) ref.note += (ref.note.empty() ? "" : "; ") + note;
  if (templates.size() > 1) {
    ref.note += std::string(ref.note.empty() ? "" : "; ") + "an operation = its " +
                std::to_string(templates.size()) + " commands: 1 / (sum of 1 / each rate)";
  }
  return ref;
}

}  // namespace authstore::cli
