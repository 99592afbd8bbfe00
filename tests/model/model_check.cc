// model_check: plays seeded random operation sequences on the reference model (tests/model/model.h)
// and on real stores, and fails on the first difference, printing the seed, the backend and the
// shortest sequence (ddmin) that shows it.
//
//   model_check [--backend memory|sqlite|redis|redis_cluster|all] [--sequences N] [--seed S]
//               [--length L] [--redis-port P] [--redis-cluster-seeds H:P,...] [--dir D]
//               [--shrink-runs R] [--trace]
//
// --trace prints every operation and its outcome.
//
// Sequence i of a run uses seed S + i, so "--seed S+i --sequences 1" replays it alone. Redis: the
// port comes from --redis-port, else REDIS_PLAIN_PORT in $AUTHSTORE_REDIS_FIXTURE_DIR/servers.env
// (the ctest fixture of tests/redis). Redis Cluster (not in "all"): redis+cluster:// on the seeds of
// --redis-cluster-seeds, else REDIS_CLUSTER_SEEDS in $AUTHSTORE_REDIS_FIXTURE_DIR/../redis-cluster/
// cluster.env (the fixture's 6-node cluster). Prints a table of sequences / operations / differences.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "model/generator.h"
#include "model/runner.h"

namespace {

// NAME=value from a file under $AUTHSTORE_REDIS_FIXTURE_DIR (empty when missing).
std::string fixture_value(const std::string& file, const std::string& name) {
  const char* dir = std::getenv("AUTHSTORE_REDIS_FIXTURE_DIR");
  if (dir == nullptr) return {};
  std::ifstream in(std::string(dir) + file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "=", 0) == 0) return line.substr(name.size() + 1);
  }
  return {};
}

int usage() {
  std::fprintf(stderr,
               "usage: model_check [--backend memory|sqlite|redis|redis_cluster|all] [--sequences N]\n"
               "                   [--seed S] [--length L] [--redis-port P] [--redis-cluster-seeds H:P,...]\n"
               "                   [--dir D] [--shrink-runs R] [--trace]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string backend = "all", redis_port, cluster_seeds, dir;
  long long sequences = 200;
  unsigned long long seed = 1;
  int length = -1, shrink_runs = 3000;
  bool trace = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--trace") {
      trace = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (a == "--backend")
      backend = v;
    else if (a == "--sequences")
      sequences = std::atoll(v);
    else if (a == "--seed")
      seed = std::strtoull(v, nullptr, 10);
    else if (a == "--length")
      length = std::atoi(v);
    else if (a == "--redis-port")
      redis_port = v;
    else if (a == "--redis-cluster-seeds")
      cluster_seeds = v;
    else if (a == "--dir")
      dir = v;
    else if (a == "--shrink-runs")
      shrink_runs = std::atoi(v);
    else
      return usage();
  }
  if (sequences < 1) return usage();
  std::vector<std::string> backends;
  if (backend == "all")
    backends = {"memory", "sqlite", "redis"};
  else if (backend == "memory" || backend == "sqlite" || backend == "redis" || backend == "redis_cluster") {
    backends = {backend};
  } else {
    return usage();
  }
  if (redis_port.empty()) redis_port = fixture_value("/servers.env", "REDIS_PLAIN_PORT");
  if (cluster_seeds.empty())
    cluster_seeds = fixture_value("/../redis-cluster/cluster.env", "REDIS_CLUSTER_SEEDS");

  std::string made_dir;
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/authstore-model-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      return 2;
    }
    dir = made_dir = tmpl;
  }

  struct Row {
    std::string backend;
    long long sequences = 0, operations = 0, differences = 0, unreproduced = 0;
    double seconds = 0;
  };
  std::vector<Row> rows;
  bool failed = false;
  for (const std::string& b : backends) {
    model::Target target{b, dir, redis_port, cluster_seeds};
    if (b == "redis" && redis_port.empty()) {
      std::fprintf(stderr, "redis: no port (--redis-port, or AUTHSTORE_REDIS_FIXTURE_DIR)\n");
      failed = true;
      continue;
    }
    if (b == "redis_cluster" && cluster_seeds.empty()) {
      std::fprintf(stderr,
                   "redis_cluster: no seeds (--redis-cluster-seeds, or AUTHSTORE_REDIS_FIXTURE_DIR)\n");
      failed = true;
      continue;
    }
    Row row{b};
    const auto start = std::chrono::steady_clock::now();
    for (long long i = 0; i < sequences; ++i) {
      const model::Sequence s = model::generate(seed + static_cast<unsigned long long>(i), length);
      const auto played_at = std::chrono::steady_clock::now();
      model::Played p = model::play(target, s.config, s.ops);
      const auto took = std::chrono::steady_clock::now() - played_at;
      ++row.sequences;
      row.operations += static_cast<long long>(p.model.size());
      if (trace) {
        std::printf("seed %llu (%s)\n", seed + static_cast<unsigned long long>(i),
                    model::describe(s.config).c_str());
        for (std::size_t k = 0; k < p.model.size(); ++k) {
          std::printf("  %zu. %s\n     -> %s\n", k, model::describe(s.ops[k]).c_str(), p.real[k].c_str());
        }
      }
      if (!p.failed()) continue;
      ++row.differences;
      if (!p.open_error.empty()) {
        failed = true;
        std::fprintf(stderr, "%s: %s\n", b.c_str(), p.open_error.c_str());
        break;
      }
      // A difference must show again on a fresh store. Redis sets native TTLs of (remaining
      // time by the store clock + 1 s) counted in real time (docs/redis.md, "Time"); a ManualClock
      // that stands still while a loaded machine spends over a second on a sequence can see a key
      // vanish early. Such a one-off is reported (with its operation) but does not fail the run,
      // and only where that explanation can hold: on Redis, in a sequence that took longer in
      // real time than the 1 s slack. Anywhere else a difference fails even if it does not repeat.
      const bool slack_exceeded = b.rfind("redis", 0) == 0 && took > std::chrono::seconds(1);
      if (slack_exceeded && !model::play(target, s.config, s.ops).failed()) {
        --row.differences;
        ++row.unreproduced;
        std::printf("UNREPRODUCED backend=%s seed=%llu: op %d (%s) model: %s | %s: %s\n", b.c_str(),
                    static_cast<unsigned long long>(s.seed), p.diff,
                    model::describe(s.ops[static_cast<std::size_t>(p.diff)]).c_str(), p.model.back().c_str(),
                    b.c_str(), p.real.back().c_str());
        continue;
      }
      failed = true;
      int runs = 0;
      std::vector<model::Op> shrunk = model::shrink(target, s.config, s.ops, shrink_runs, &runs);
      model::Played again = model::play(target, s.config, shrunk);
      std::printf("%s  (shrunk from %zu to %zu operations in %d replays)\n",
                  model::report(target, s, shrunk, again).c_str(), s.ops.size(), shrunk.size(), runs);
      break;  // one difference per backend: the report is what matters
    }
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rows.push_back(row);
  }
  std::printf("%-13s %10s %11s %12s %13s %9s\n", "backend", "sequences", "operations", "differences",
              "unreproduced", "seconds");
  for (const Row& r : rows) {
    std::printf("%-13s %10lld %11lld %12lld %13lld %9.1f\n", r.backend.c_str(), r.sequences, r.operations,
                r.differences, r.unreproduced, r.seconds);
  }
  std::printf("first seed %llu\n", seed);
  if (!made_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(made_dir, ec);
  }
  return failed ? 1 : 0;
}
