// Model-based checking: seeded random operation sequences. The generator keeps a Model of the
// sequence so far, to pick handles that exist, the right (or a wrong) lock_version, and clock
// jumps onto and around (-1, 0, +1 ms, and the Redis 1 s TTL slack) every boundary of the state.
#pragma once

#include <cstdint>
#include <vector>

#include "model/ops.h"

namespace model {

struct Sequence {
  std::uint64_t seed = 0;
  Config config;
  std::vector<Op> ops;
};

// The same seed always gives the same sequence. length < 0: 20..80 operations, chosen by the seed.
Sequence generate(std::uint64_t seed, int length = -1);

}  // namespace model
