// The memory backend: every primitive of backends/backend.h over mutex-guarded shards in this
// process, plus one owned sweeper thread that removes expired entries and stops with the backend.
// Not shared across processes; after fork() the child must open its own store.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "backends/backend.h"
#include "backends/factories.h"

namespace authstore::internal {

// Each store's part, defined in its own file.
class MemoryCodes;
class MemoryRefresh;
class MemorySessions;
class MemoryReplay;
class MemoryClientTokens;
class MemoryPayloads;

class MemoryBackend final : public Backend {
 public:
  explicit MemoryBackend(const BackendConfig& config);
  ~MemoryBackend() override;

  const std::string& name() const override { return name_; }
  CodeBackend& codes() override;
  RefreshBackend& refresh() override;
  SessionBackend& sessions() override;
  ReplayBackend& replay() override;
  ClientTokenBackend& client_tokens() override;
  PayloadBackend& payloads() override;
  void read_marker(Callback<std::string> done) override;
  void swap_marker(const std::string& expected, const std::string& desired,
                   Callback<std::string> done) override;
  void sample_records(std::size_t limit,
                      Callback<std::vector<std::pair<std::string, std::string>>> done) override;
  // Counts by walking each table under its shard locks (the cost follows the store's size).
  void admin_counts(Millis now, Callback<StoreCounts> done) override;
  // Stops the sweeper and frees the tables.
  void close() override;

  // Removes every expired entry now (the sweeper calls it periodically). Exposed for tests.
  void sweep();

 private:
  void sweeper_loop(std::int64_t interval_ms);
  void stop_sweeper();

  std::string name_ = "memory";
  std::shared_ptr<Clock> clock_;
  std::unique_ptr<MemoryCodes> codes_;
  std::unique_ptr<MemoryRefresh> refresh_;
  std::unique_ptr<MemorySessions> sessions_;
  std::unique_ptr<MemoryReplay> replay_;
  std::unique_ptr<MemoryClientTokens> client_tokens_;
  std::unique_ptr<MemoryPayloads> payloads_;
  std::mutex marker_mu_;
  std::string marker_;  // empty: none (a memory store is new at open: open() creates one)
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread sweeper_;
};

// memory:// (no host, path or query accepted).
Result<std::unique_ptr<Backend>> make_memory_backend(const BackendConfig& config);
// Its entry in the registry (registered_backends.cc).
BackendRegistration memory_backend_registration();

}  // namespace authstore::internal
