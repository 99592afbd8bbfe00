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

// The same ring bound to `store_id`, as open() binds a store's ring (before sharing it). The
// ring is built non-const (make_shared), so setting its store id here is well defined.
inline std::shared_ptr<const KeyRing> make_bound_ring(const std::vector<std::uint16_t>& ids,
                                                      std::string store_id) {
  auto ring = std::const_pointer_cast<KeyRing>(make_ring(ids));
  ring->set_store_id(std::move(store_id));
  return ring;
}

}  // namespace authstore::internal::testing
