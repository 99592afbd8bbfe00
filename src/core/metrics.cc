#include "authstore/metrics.h"

#include <array>
#include <atomic>
#include <cstdio>

#include "core/metrics_ops.h"

namespace authstore {
namespace {
using internal::kOpNames;
using internal::OpId;

constexpr std::size_t kOps = static_cast<std::size_t>(OpId::kCount_);
constexpr std::size_t kCodes = 24;
// Histogram upper bounds in nanoseconds: 1us .. 1s, then +Inf.
constexpr std::array<std::int64_t, 13> kBounds = {
    1'000,     5'000,      10'000,     50'000,      100'000,     500'000,      1'000'000,
    5'000'000, 10'000'000, 50'000'000, 100'000'000, 500'000'000, 1'000'000'000};
constexpr std::size_t kEvents = static_cast<std::size_t>(SecurityEvent::kCount_);

struct Histogram {
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets{};
  std::atomic<std::uint64_t> sum_ns{0};
};

std::size_t find_op(std::string_view store, std::string_view op) {
  for (std::size_t i = 0; i < kOps; ++i) {
    if (kOpNames[i].store == store && kOpNames[i].op == op) return i;
  }
  return kOps;
}

// Counters are striped: each thread adds to one of kStripes cache-line-aligned copies, so threads
// on different cores don't bounce the same cache line on every operation; reads sum the stripes.
constexpr std::size_t kStripes = 8;

struct alignas(64) Stripe {
  std::array<std::array<std::atomic<std::uint64_t>, kCodes>, kOps> counts{};
  std::array<Histogram, kOps> latency{};
};

std::size_t my_stripe() {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return stripe;
}
}  // namespace

struct Metrics::Impl {
  // The counters of `m` (a nested class may reach its enclosing class's private members).
  static Impl& of(Metrics& m) noexcept { return *m.impl_; }

  std::array<Stripe, kStripes> stripes{};
  std::array<std::atomic<std::uint64_t>, kEvents> events{};

  std::uint64_t count(std::size_t op, std::size_t code) const {
    std::uint64_t n = 0;
    for (const Stripe& s : stripes) n += s.counts[op][code].load(std::memory_order_relaxed);
    return n;
  }
  std::uint64_t bucket(std::size_t op, std::size_t b) const {
    std::uint64_t n = 0;
    for (const Stripe& s : stripes) n += s.latency[op].buckets[b].load(std::memory_order_relaxed);
    return n;
  }
  std::uint64_t sum_ns(std::size_t op) const {
    std::uint64_t n = 0;
    for (const Stripe& s : stripes) n += s.latency[op].sum_ns.load(std::memory_order_relaxed);
    return n;
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

std::string_view to_string(SecurityEvent e) noexcept {
  switch (e) {
    case SecurityEvent::kCodeReplay:
      return "code_replay";
    case SecurityEvent::kRefreshReuse:
      return "refresh_reuse";
    case SecurityEvent::kJtiReplay:
      return "jti_replay";
    case SecurityEvent::kSessionConflict:
      return "session_conflict";
    case SecurityEvent::kSignatureFailure:
      return "signature_failure";
    case SecurityEvent::kClientMismatch:
      return "client_mismatch";
    case SecurityEvent::kRevokedUse:
      return "revoked_use";
    case SecurityEvent::kCapacityRejected:
      return "capacity_rejected";
    case SecurityEvent::kBackendError:
      return "backend_error";
    case SecurityEvent::kInsecureTls:
      return "insecure_tls";
    case SecurityEvent::kCount_:
      break;
  }
  return "unknown";
}

std::uint64_t Metrics::operations(std::string_view store, std::string_view op, StatusCode outcome) const {
  const std::size_t i = find_op(store, op);
  const auto c = static_cast<std::size_t>(outcome);
  if (i >= kOps || c >= kCodes) return 0;
  return impl_->count(i, c);
}

std::uint64_t Metrics::security_events(SecurityEvent event) const {
  const auto e = static_cast<std::size_t>(event);
  return e < kEvents ? impl_->events[e].load(std::memory_order_relaxed) : 0;
}

void Metrics::record_operation(std::string_view store, std::string_view op, StatusCode outcome,
                               std::int64_t nanoseconds) noexcept {
  const std::size_t i = find_op(store, op);
  if (i < kOps) internal::record_op(*this, static_cast<OpId>(i), outcome, nanoseconds);
}

void internal::record_op(Metrics& m, OpId op, StatusCode outcome, std::int64_t nanoseconds) noexcept {
  const auto i = static_cast<std::size_t>(op);
  const auto c = static_cast<std::size_t>(outcome);
  if (i >= kOps || c >= kCodes) return;
  Stripe& stripe = Metrics::Impl::of(m).stripes[my_stripe()];
  stripe.counts[i][c].fetch_add(1, std::memory_order_relaxed);
  Histogram& h = stripe.latency[i];
  std::size_t b = 0;
  while (b < kBounds.size() && nanoseconds > kBounds[b]) ++b;
  h.buckets[b].fetch_add(1, std::memory_order_relaxed);
  h.sum_ns.fetch_add(static_cast<std::uint64_t>(nanoseconds < 0 ? 0 : nanoseconds),
                     std::memory_order_relaxed);
}

void Metrics::record_security(SecurityEvent event) noexcept {
  const auto e = static_cast<std::size_t>(event);
  if (e < kEvents) impl_->events[e].fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::prometheus() const {
  std::string out;
  char buf[256];
  out += "# HELP authstore_operations_total Completed store operations by outcome.\n";
  out += "# TYPE authstore_operations_total counter\n";
  for (std::size_t i = 0; i < kOps; ++i) {
    for (std::size_t c = 0; c < kCodes; ++c) {
      const auto n = impl_->count(i, c);
      if (n == 0) continue;
      std::snprintf(buf, sizeof buf,
                    "authstore_operations_total{store=\"%.*s\",op=\"%.*s\",outcome=\"%.*s\"} %llu\n",
                    static_cast<int>(kOpNames[i].store.size()), kOpNames[i].store.data(),
                    static_cast<int>(kOpNames[i].op.size()), kOpNames[i].op.data(),
                    static_cast<int>(to_string(static_cast<StatusCode>(c)).size()),
                    to_string(static_cast<StatusCode>(c)).data(), static_cast<unsigned long long>(n));
      out += buf;
    }
  }
  out += "# HELP authstore_operation_duration_seconds Latency of store operations.\n";
  out += "# TYPE authstore_operation_duration_seconds histogram\n";
  for (std::size_t i = 0; i < kOps; ++i) {
    std::uint64_t total = 0;
    for (std::size_t b = 0; b <= kBounds.size(); ++b) total += impl_->bucket(i, b);
    if (total == 0) continue;
    const std::string labels =
        "store=\"" + std::string(kOpNames[i].store) + "\",op=\"" + std::string(kOpNames[i].op) + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= kBounds.size(); ++b) {
      cumulative += impl_->bucket(i, b);
      if (b < kBounds.size()) {
        std::snprintf(buf, sizeof buf, "authstore_operation_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
                      labels.c_str(), static_cast<double>(kBounds[b]) / 1e9,
                      static_cast<unsigned long long>(cumulative));
      } else {
        std::snprintf(buf, sizeof buf, "authstore_operation_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
                      labels.c_str(), static_cast<unsigned long long>(cumulative));
      }
      out += buf;
    }
    std::snprintf(buf, sizeof buf, "authstore_operation_duration_seconds_sum{%s} %.9f\n", labels.c_str(),
                  static_cast<double>(impl_->sum_ns(i)) / 1e9);
    out += buf;
    std::snprintf(buf, sizeof buf, "authstore_operation_duration_seconds_count{%s} %llu\n", labels.c_str(),
                  static_cast<unsigned long long>(cumulative));
    out += buf;
  }
  out += "# HELP authstore_security_events_total Security-relevant events.\n";
  out += "# TYPE authstore_security_events_total counter\n";
  for (std::size_t e = 0; e < kEvents; ++e) {
    std::snprintf(buf, sizeof buf, "authstore_security_events_total{event=\"%.*s\"} %llu\n",
                  static_cast<int>(to_string(static_cast<SecurityEvent>(e)).size()),
                  to_string(static_cast<SecurityEvent>(e)).data(),
                  static_cast<unsigned long long>(impl_->events[e].load(std::memory_order_relaxed)));
    out += buf;
  }
  return out;
}

}  // namespace authstore
