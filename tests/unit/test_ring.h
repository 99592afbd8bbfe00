// Key rings for unit tests: fixed, distinct secrets, so failures are reproducible.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/keyring.h"

namespace authstore::internal::testing {

inline std::string secret_for(std::uint16_t id) {
  return std::string(32, static_cast<char>('a' + id % 26)) + std::to_string(id);
}

// A ring holding keys `ids` (secrets from secret_for), `current` the current one (0 = highest),
// and a fixed route secret so the index key is the same in every ring built here.
inline std::shared_ptr<const KeyRing> make_ring(const std::vector<std::uint16_t>& ids,
                                                std::uint16_t current = 0) {
  std::vector<KeyEntry> keys;
  for (std::uint16_t id : ids) keys.push_back(KeyEntry{id, secret_for(id)});
  auto ring = KeyRing::from_keys(keys, current, std::string(32, 'r'));
  EXPECT_TRUE(ring.ok()) << ring.status().to_string();
  return ring.value();
}

}  // namespace authstore::internal::testing
