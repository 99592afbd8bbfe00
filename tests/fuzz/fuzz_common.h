// Shared helpers of the fuzz targets: an invariant check that aborts (libFuzzer reports it as a
// crash and saves the input), a byte reader for splitting one input into several fields, and a
// fixed key ring (keys 1 and 7, fixed secrets) so that seeds made once stay valid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/keyring.h"

namespace authstore::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* cond, std::string_view what) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s (%.*s)\n", file, line, cond,
               static_cast<int>(what.size()), what.data());
  std::abort();
}

#define FUZZ_CHECK(cond, what)                                             \
  do {                                                                     \
    if (!(cond)) ::authstore::fuzz::fail(__FILE__, __LINE__, #cond, what); \
  } while (0)

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits an input into fields without ever failing: reads past the end yield zeros / empty.
class Bytes {
 public:
  explicit Bytes(std::string_view in) : in_(in) {}
  std::uint8_t u8() {
    if (in_.empty()) return 0;
    const auto v = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>((u8() << 8) | u8()); }
  std::string_view take(std::size_t n) {
    const std::string_view v = in_.substr(0, n);
    in_.remove_prefix(v.size());
    return v;
  }
  // A field of at most `max` bytes, its length given by one byte.
  std::string_view field(std::size_t max) { return take(u8() % (max + 1)); }
  std::string_view rest() { return take(in_.size()); }
  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

inline std::string ring_secret(std::uint16_t id) {
  return std::string(32, static_cast<char>('a' + id % 26)) + std::to_string(id);
}
constexpr std::uint16_t kRingIds[] = {1, 7};

// The fuzzing ring: keys 1 and 7, `current` the one new tokens and records use.
inline std::shared_ptr<const internal::KeyRing> make_ring(std::uint16_t current) {
  std::vector<KeyEntry> keys;
  for (std::uint16_t id : kRingIds) keys.push_back(KeyEntry{id, ring_secret(id)});
  auto ring = internal::KeyRing::from_keys(keys, current, std::string(32, 'r'));
  if (!ring.ok()) fail(__FILE__, __LINE__, "make_ring", ring.status().message());
  return ring.value();
}

// The same keys as KeyOptions (for opening a store).
inline KeyOptions ring_options() {
  KeyOptions k;
  for (std::uint16_t id : kRingIds) k.keys.push_back(KeyEntry{id, ring_secret(id)});
  k.route_secret = std::string(32, 'r');
  return k;
}

}  // namespace authstore::fuzz
