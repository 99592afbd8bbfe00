// The memory backend's payload part (backends/backend.h, PayloadBackend): one mutex over three
// expiring maps (entries, index pointers, revoked grants). Each call decides under the lock and
// calls `done` after releasing it.
#pragma once

#include <algorithm>
#include <mutex>
#include <string>
#include <unordered_map>

#include "backends/backend.h"
#include "backends/memory/memory_parts.h"

namespace authstore::internal {

class MemoryPayloads final : public PayloadBackend {
 public:
  void put(const PayloadPut& req, Callback<Done> done) override;
  void get(const std::string& key, Millis now, Callback<PayloadSlot> done) override;
  void get_indexed(const std::string& index_key, Millis now, Callback<PayloadSlot> done) override;
  void consume(const std::string& key, Millis now, Callback<PayloadSlot> done) override;
  void remove(const std::string& key, Millis now, Callback<Done> done) override;
  void revoke_grant(const std::string& grant_key, Millis until, Millis now, Callback<Done> done) override;
  void grant_revoked(const std::string& grant_key, Millis now, Callback<bool> done) override;

  void sweep(Millis now);

 private:
  struct Entry {
    std::string record;
    std::string grant_key;
    Millis consumed_at = 0;
    Millis expires_at = 0;
  };
  struct Pointer {
    std::string key;
    Millis expires_at = 0;
  };
  // Under mu_: the live entry at `key` as a slot, with its grant checked; or the status.
  Result<PayloadSlot> live(const std::string& key, Millis now, Entry** out);

  std::mutex mu_;
  ExpiringMap<std::unordered_map<std::string, Entry>> entries_;
  ExpiringMap<std::unordered_map<std::string, Pointer>> index_;
  ExpiringMap<std::unordered_map<std::string, Millis>> grants_;  // grant key -> revoked until
};

}  // namespace authstore::internal
