// Lock-sharded state for the memory backend: N shards, each a mutex and a value.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace authstore::internal {

template <class State>
class Sharded {
 public:
  explicit Sharded(std::size_t shards) : shards_(shards) {}

  // Cache-line aligned: threads working on neighbouring shards do not share a line.
  struct alignas(64) Shard {
    std::mutex mu;
    State state;
  };

  Shard& for_key(std::string_view key) {
    return shards_[std::hash<std::string_view>{}(key) & (shards_.size() - 1)];
  }
  // The shard for a hash whose low bits are already uniform.
  Shard& for_hash(std::uint64_t h) { return shards_[h & (shards_.size() - 1)]; }
  std::vector<Shard>& all() { return shards_; }
  // Sums per_shard(state) over the shards, each under its lock in turn (not a snapshot).
  template <class F>
  std::int64_t sum(F&& per_shard) {
    std::int64_t n = 0;
    for (auto& shard : shards_) {
      std::lock_guard lock(shard.mu);
      n += static_cast<std::int64_t>(per_shard(shard.state));
    }
    return n;
  }

 private:
  std::vector<Shard> shards_;
};

// Shard counts are powers of two.
inline std::size_t round_up_pow2(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace authstore::internal
