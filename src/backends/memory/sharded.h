// Lock-sharded state for the memory backend: N shards, each a mutex and a value.
#pragma once

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

  struct Shard {
    std::mutex mu;
    State state;
  };

  Shard& for_key(std::string_view key) {
    return shards_[std::hash<std::string_view>{}(key) & (shards_.size() - 1)];
  }
  std::vector<Shard>& all() { return shards_; }

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
