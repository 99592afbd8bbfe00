// The Store handle and the assembly of its five stores over one backend.
#include "authstore/store.h"

#include <chrono>
#include <thread>

#include "backends/factories.h"
#include "core/crypto.h"
#include "stores/marker.h"
#include "stores/store_state.h"

namespace authstore {

// An empty handle answers through stores without an implementation: every call on them
// completes with kFailedPrecondition (internal::empty_store()).
CodeStore& Store::codes() {
  static CodeStore none = CodeStore::Impl::handle(nullptr);
  return state_ ? *state_->codes : none;
}
RefreshTokenStore& Store::refresh() {
  static RefreshTokenStore none = RefreshTokenStore::Impl::handle(nullptr);
  return state_ ? *state_->refresh : none;
}
SessionStore& Store::sessions() {
  static SessionStore none = SessionStore::Impl::handle(nullptr);
  return state_ ? *state_->sessions : none;
}
ReplayCache& Store::replay() {
  static ReplayCache none = ReplayCache::Impl::handle(nullptr);
  return state_ ? *state_->replay : none;
}
ClientTokenStore& Store::client_tokens() {
  static ClientTokenStore none = ClientTokenStore::Impl::handle(nullptr);
  return state_ ? *state_->client_tokens : none;
}
PayloadStore& Store::payloads() {
  static PayloadStore none = PayloadStore::Impl::handle(nullptr);
  return state_ ? *state_->payloads : none;
}
Metrics& Store::metrics() {
  static Metrics none;  // counts nothing: no call on an empty handle reaches a store
  return state_ ? *state_->context->metrics : none;
}
const std::string& Store::backend() const {
  static const std::string none;
  return state_ ? state_->backend->name() : none;
}

Result<Store> open(std::string_view url, const Options& options) {
  auto state = internal::open_state(url, options);
  if (!state.ok()) return state.status();
  return internal::make_store(std::move(state.value()));
}

void Store::close() {
  if (state_) state_->close();
}

void Store::State::close() {
  context->gate.close();
  // Inside a store callback this thread may itself be inside a call (memory, SQLite), or be the
  // Redis I/O thread that must run to complete the calls waited for: waiting would deadlock.
  if (internal::inside_store_callback()) return;
  std::lock_guard lock(close_mu_);
  if (released_) return;
  drain();
  backend->close();
  released_ = true;
}

void Store::State::drain() {
  // Calls inside the store are bounded (a backend deadline or busy timeout each): wait for them.
  for (int spins = 0; !context->gate.drained(); ++spins) {
    if (spins < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
}

Store::State::~State() {
  if (!context) return;
  context->gate.close();
  if (!internal::inside_store_callback()) drain();
}

namespace internal {

std::shared_ptr<StoreState> assemble(std::shared_ptr<StoreContext> ctx, std::shared_ptr<Backend> backend) {
  auto st = std::make_shared<StoreState>();
  st->context = ctx;
  st->backend = backend;
  auto base = [&](auto impl) {
    impl->ctx = ctx;
    impl->backend = backend;
    return impl;
  };
  auto handle = [&](auto impl) {
    using Impl = typename decltype(impl)::element_type;
    return std::make_unique<decltype(Impl::handle(nullptr))>(Impl::handle(base(std::move(impl))));
  };
  st->codes = handle(std::make_shared<CodeStore::Impl>());
  st->refresh = handle(std::make_shared<RefreshTokenStore::Impl>());
  st->sessions = handle(std::make_shared<SessionStore::Impl>());
  st->replay = handle(std::make_shared<ReplayCache::Impl>());
  st->client_tokens = handle(std::make_shared<ClientTokenStore::Impl>());
  st->payloads = handle(std::make_shared<PayloadStore::Impl>());
  return st;
}

Result<std::shared_ptr<StoreState>> open_state(std::string_view url, const Options& options) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return Status(StatusCode::kInvalidArgument,
                  "expected scheme://... (memory://, sqlite:///path.db, redis://host:port)", "url");
  }
  const std::string_view scheme = url.substr(0, sep);

  auto ctx = std::make_shared<StoreContext>();
  ctx->options = options;
  // The ring keeps only derived keys: no raw secret stays in the store's copy of the options.
  for (auto& k : ctx->options.keys.keys) cleanse(k.secret);
  ctx->options.keys.keys.clear();
  cleanse(ctx->options.keys.route_secret);
  ctx->options.keys.route_secret.clear();
  ctx->clock = options.clock ? options.clock : SystemClock::instance();
  ctx->metrics = options.metrics ? options.metrics : std::make_shared<Metrics>();
  ctx->log = options.log;
  if (options.refresh.grace_window_ms < 0 ||
      options.refresh.grace_window_ms > options.refresh.max_grace_window_ms) {
    return Status(
        StatusCode::kInvalidArgument,
        "must be 0..max_grace_window_ms (" + std::to_string(options.refresh.max_grace_window_ms) + ")",
        "refresh.grace_window_ms");
  }
  if (options.refresh.access_token_max_ttl_ms < 1 ||
      options.refresh.access_token_max_ttl_ms > options.refresh.max_lifetime_ms) {
    return Status(StatusCode::kInvalidArgument,
                  "must be 1..max_lifetime_ms (" + std::to_string(options.refresh.max_lifetime_ms) + ")",
                  "refresh.access_token_max_ttl_ms");
  }
  if (options.low_latency_spin_us < 0 || options.low_latency_spin_us > kMaxWaitSpinMicros) {
    return Status(StatusCode::kInvalidArgument,
                  "must be 0 (off) to " + std::to_string(kMaxWaitSpinMicros) + " microseconds",
                  "low_latency_spin_us");
  }
  if (options.replay.memory_shards == 0 ||
      (options.replay.memory_shards & (options.replay.memory_shards - 1)) != 0) {
    return Status(StatusCode::kInvalidArgument, "must be a power of two", "replay.memory_shards");
  }

  // A backend whose data dies with the process may run on a throwaway key (development mode).
  const BackendRegistration* backend_kind = find_backend(scheme);
  const bool ephemeral = backend_kind != nullptr && backend_kind->ephemeral;
  bool throwaway = false;
  const LogHook& log = ctx->log;
  auto ring = KeyRing::load(options.keys, ephemeral, &throwaway, [&log](std::string_view m) {
    if (log) log(LogLevel::kWarning, m);
  });
  if (!ring.ok()) return ring.status();
  if (throwaway && ctx->log) {
    ctx->log(LogLevel::kWarning,
             "memory:// in development mode: using a random throwaway key; nothing survives this process");
  }

  ctx->options.metrics = ctx->metrics;  // so a backend can count what it sees at open
  BackendConfig config{&ctx->options, ctx->clock, ctx->log};
  auto backend = open_backend(url, config);
  if (!backend.ok()) return backend.status();
  ctx->wait.spin =
      backend.value()->wait_spin().value_or(std::chrono::microseconds(options.low_latency_spin_us));

  // Which keys wrote this store: refuse a ring that cannot read it (one round trip when the
  // marker is there and lists the current key). The ring is bound to the store before it is
  // shared with the stores.
  MarkerCheck marker = check_marker(*backend.value(), *ring.value(), options.start_new_store);
  for (const auto& w : marker.warnings) {
    if (ctx->log) ctx->log(LogLevel::kWarning, w);
  }
  if (!marker.status.ok()) return marker.status;
  ring.value()->set_store_id(std::move(marker.store_id));
  ctx->ring = std::move(ring.value());
  return assemble(ctx, std::move(backend.value()));
}

}  // namespace internal
}  // namespace authstore
