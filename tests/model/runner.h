// Model-based checking: plays a sequence on the model and on a real store (authstore::open() with a
// ManualClock, public API only), compares the outcomes, and shrinks a failing sequence.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/generator.h"
#include "model/ops.h"

namespace model {

// Where real stores are opened: "memory", "sqlite" (a fresh file in `dir` per run, removed
// after), "redis" (a fresh key prefix per run on 127.0.0.1:`redis_port`) or "redis_cluster" (a
// fresh key prefix per run on redis+cluster://`redis_cluster_seeds`).
struct Target {
  std::string backend;
  std::string dir;
  std::string redis_port;
  std::string redis_cluster_seeds;  // "host:port,host:port,..."
};

struct Played {
  std::vector<std::string> model, real;  // per operation, up to and including the first difference
  int diff = -1;                         // index of the first difference; -1 = none
  std::string open_error;                // the real store could not be opened
  bool failed() const { return diff >= 0 || !open_error.empty(); }
};

Played play(const Target& target, const Config& config, const std::vector<Op>& ops);

// Delta-debugging (ddmin) over the operations (clock steps included): the shortest subsequence
// found, within `max_runs` replays, that still shows a difference. Each replay uses a fresh store.
std::vector<Op> shrink(const Target& target, const Config& config, std::vector<Op> ops, int max_runs,
                       int* runs);

// A report: the seed, backend, configuration and the sequence with both sides' outcomes.
std::string report(const Target& target, const Sequence& original, const std::vector<Op>& shrunk,
                   const Played& played);

}  // namespace model
