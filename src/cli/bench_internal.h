// `authstore bench`: what its parts share (bench.cc runs the operations; bench_output.cc prints the
// table, the JSON and the SVG plot; bench_vs_redis.cc captures the commands the store sends and runs
// redis-benchmark with them).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/bench_redis.h"
#include "cli/cli.h"
#include "cli/histogram.h"

namespace authstore::cli {

// One timed run of one operation.
struct RunStats {
  std::int64_t ok = 0;      // operations that succeeded: the only ones counted as throughput
  std::int64_t failed = 0;  // operations that returned an error or an unexpected outcome
  double seconds = 0;
  double ops_per_sec() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
};

// redis-benchmark's figure for one operation (bench_vs_redis.cc).
struct ReferenceResult {
  bool available = false;
  std::string why_not;                      // when not available
  std::vector<std::string> commands;        // redis-benchmark command lines (password shown as ***)
  std::vector<double> command_ops_per_sec;  // one per command
  double ops_per_sec = 0;                   // operations: 1 / sum of 1 / command rates
  std::string note;                         // how the keys were drawn
};

// Every run of one operation.
struct OpResult {
  std::string op;
  std::vector<RunStats> runs;
  LatencyHistogram latency;  // successful operations of every run, nanoseconds
  std::map<std::string, std::int64_t> errors_by_status;
  std::string first_error;  // the first failure's message
  ReferenceResult reference;

  std::int64_t ok() const;
  std::int64_t failed() const;
  double median_ops_per_sec() const;
  double failed_fraction() const;
};

struct BenchReport {
  std::string store;       // the URL, password redacted
  std::string store_note;  // "a temporary file, removed at the end", ...
  std::string backend;
  BenchConfig config;
  std::vector<OpResult> ops;
  std::string failure;  // empty: the run passed
  std::string cleanup;  // what was removed
};

void print_table(const BenchReport& report);
void print_reference(const BenchReport& report);
bool write_json(const BenchReport& report, const std::string& path, std::string& error);
bool write_svg(const BenchReport& report, const std::string& path, std::string& error);

// --vs-redis-benchmark. Captures, with MONITOR on a second connection, the commands one operation
// of `op` sends (`run_one` runs it through the store), keeps those under the bench's prefix.
bool capture_commands(const RedisTarget& target, const std::function<bool()>& run_one,
                      std::vector<Command>& commands, std::string& error);
// Runs redis-benchmark against `target` with the captured commands (see bench_vs_redis.cc).
ReferenceResult run_redis_benchmark(const RedisTarget& target, const std::vector<Command>& commands,
                                    const BenchConfig& config);

}  // namespace authstore::cli
