// Metrics: a counter per store operation and outcome, a latency histogram per operation, and
// security counters. Rendered in the Prometheus text exposition format.
//
// Thread-safety: all members are safe to call concurrently; counters are relaxed atomics.
// Ownership: a Metrics object is shared (std::shared_ptr) by every store opened with it; several
// stores may share one registry, and it outlives them if the caller keeps a reference.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "authstore/export.h"
#include "authstore/status.h"

namespace authstore {
// Events a security team watches. Each has a counter `authstore_security_events_total{event=...}`.
enum class SecurityEvent : std::uint8_t {
  kCodeReplay = 0,    // an authorization code was presented after it had been consumed.
  kRefreshReuse,      // a rotated refresh token was presented again (family revoked).
  kJtiReplay,         // a JWT ID was presented again within its reservation.
  kSessionConflict,   // an upsert lost its optimistic lock or targeted a deleted session.
  kSignatureFailure,  // a stored record failed its MAC or decryption (read as not found).
  kClientMismatch,    // a refresh token was presented by a client other than its own.
  kRevokedUse,        // a revoked refresh token / grant was presented.
  kCapacityRejected,  // the replay cache was full and refused a reservation (fail closed).
  kBackendError,      // the backend failed (unavailable, deadline, data loss, internal).
  kInsecureTls,       // a store was opened with TLS certificate verification turned off.
  kCount_
};
AUTHSTORE_EXPORT std::string_view to_string(SecurityEvent e) noexcept;

class AUTHSTORE_EXPORT Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Number of completed calls of `store`.`op` that ended with `outcome`.
  // store: "codes", "refresh", "sessions", "replay", "client_tokens"; op: the method name
  // ("issue", "consume", ...). Unknown names give 0.
  std::uint64_t operations(std::string_view store, std::string_view op, StatusCode outcome) const;
  std::uint64_t security_events(SecurityEvent event) const;

  // Prometheus text format (version 0.0.4): authstore_operations_total{store,op,outcome},
  // authstore_operation_duration_seconds{store,op} (histogram), authstore_security_events_total{event}.
  std::string prometheus() const;

  // Recording (used by the stores; public so that a binding or wrapper may record too).
  void record_operation(std::string_view store, std::string_view op, StatusCode outcome,
                        std::int64_t nanoseconds) noexcept;
  void record_security(SecurityEvent event) noexcept;

  struct Impl;  // the counters (src/); opaque to users and bindings.

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace authstore
