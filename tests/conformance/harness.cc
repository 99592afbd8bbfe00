#include "conformance/harness.h"

#include <optional>

namespace authstore::testing {

using internal::Backend;
using internal::Millis;

namespace {
std::string flip(std::string blob) {
  if (!blob.empty()) blob[blob.size() / 2] = static_cast<char>(blob[blob.size() / 2] ^ 0x01);
  return blob;
}
template <class T>
Callback<T> flip_cb(const std::atomic<bool>& on, Callback<T> done, std::string T::*field) {
  return [&on, done = std::move(done), field](Result<T> r) {
    if (on.load() && r.has_value()) r.value().*field = flip(std::move(r.value().*field));
    done(std::move(r));
  };
}
}  // namespace

// Delegates everything to the real backend; flips bytes of records on their way back.
class TamperingBackend final : public Backend,
                               internal::CodeBackend,
                               internal::RefreshBackend,
                               internal::SessionBackend,
                               internal::ReplayBackend,
                               internal::ClientTokenBackend {
 public:
  explicit TamperingBackend(std::shared_ptr<Backend> real) : real_(std::move(real)) {}
  std::atomic<bool> on{false};

  const std::string& name() const override { return real_->name(); }
  internal::CodeBackend& codes() override { return *this; }
  internal::RefreshBackend& refresh() override { return *this; }
  internal::SessionBackend& sessions() override { return *this; }
  internal::ReplayBackend& replay() override { return *this; }
  internal::ClientTokenBackend& client_tokens() override { return *this; }
  internal::PayloadBackend& payloads() override { return payloads_; }
  void read_marker(Callback<std::string> d) override { real_->read_marker(std::move(d)); }
  void swap_marker(const std::string& e, const std::string& w, Callback<std::string> d) override {
    real_->swap_marker(e, w, std::move(d));
  }
  void sample_records(std::size_t l, Callback<std::vector<std::pair<std::string, std::string>>> d) override {
    real_->sample_records(l, std::move(d));
  }
  void close() override { real_->close(); }

  // codes
  void insert(const std::string& k, std::string r, std::string t, Millis e, Millis n,
              Callback<Done> d) override {
    real_->codes().insert(k, std::move(r), std::move(t), e, n, std::move(d));
  }
  void peek(const std::string& k, Millis n, Callback<internal::CodeSlot> d) override {
    real_->codes().peek(k, n, flip_cb(on, std::move(d), &internal::CodeSlot::blob));
  }
  void consume(const std::string& k, Millis n, Callback<internal::CodeSlot> d) override {
    real_->codes().consume(k, n, flip_cb(on, std::move(d), &internal::CodeSlot::blob));
  }
  // refresh
  void issue(const internal::FamilyIssue& r, Callback<Done> d) override {
    real_->refresh().issue(r, std::move(d));
  }
  void rotate(const internal::RotateRequest& r, Callback<internal::RotateResult> d) override {
    real_->refresh().rotate(r, [this, d = std::move(d)](Result<internal::RotateResult> res) {
      if (on.load() && res.has_value()) res.value().family.record = flip(res.value().family.record);
      d(std::move(res));
    });
  }
  void peek(const std::string& route, const std::string& t, const std::string& f, Millis n,
            Callback<internal::FamilyState> d) override {
    real_->refresh().peek(route, t, f, n, flip_cb(on, std::move(d), &internal::FamilyState::record));
  }
  void revoke_token(const std::string& a, const std::string& b, const std::string& f, Millis n,
                    Callback<Done> d) override {
    real_->refresh().revoke_token(a, b, f, n, std::move(d));
  }
  void revoke_family(const std::string& a, const std::string& b, Millis n, Callback<Done> d) override {
    real_->refresh().revoke_family(a, b, n, std::move(d));
  }
  void revoke_subject(const std::string& a, const std::string& b, Millis n, Millis r,
                      Callback<Done> d) override {
    real_->refresh().revoke_subject(a, b, n, r, std::move(d));
  }
  void revoke_client(const std::string& a, const std::string& b, const std::string& c, Millis n, Millis r,
                     Callback<Done> d) override {
    real_->refresh().revoke_client(a, b, c, n, r, std::move(d));
  }
  void grant_live(const std::string& a, const std::string& b, const std::string& c, const std::string& g,
                  Millis i, Millis n, Callback<Done> d) override {
    real_->refresh().grant_live(a, b, c, g, i, n, std::move(d));
  }
  void revoke_grant(const std::string& a, const std::string& b, const std::string& c, Millis u, Millis n,
                    Callback<Done> d) override {
    real_->refresh().revoke_grant(a, b, c, u, n, std::move(d));
  }
  void list(const std::string& a, const std::string& b, Millis n,
            Callback<std::vector<internal::FamilyState>> d) override {
    real_->refresh().list(a, b, n, [this, d = std::move(d)](Result<std::vector<internal::FamilyState>> r) {
      if (on.load() && r.has_value()) {
        for (auto& f : r.value()) f.record = flip(f.record);
      }
      d(std::move(r));
    });
  }
  void store_jti(const internal::JtiEntry& e, Callback<Done> d) override {
    real_->refresh().store_jti(e, std::move(d));
  }
  void consume_jti(const std::string& a, const std::string& b, const std::string& c, Millis n,
                   Callback<internal::JtiResult> d) override {
    real_->refresh().consume_jti(a, b, c, n, flip_cb(on, std::move(d), &internal::JtiResult::record));
  }
  // sessions
  void get(const std::string& a, const std::string& b, const std::string& c, Millis n,
           Callback<std::string> d) override {
    real_->sessions().get(a, b, c, n, flip_string(std::move(d)));
  }
  void upsert(const internal::SessionWrite& w, Callback<Done> d) override {
    real_->sessions().upsert(w, std::move(d));
  }
  void remove(const std::string& a, const std::string& b, const std::string& c, Millis n,
              Callback<Done> d) override {
    real_->sessions().remove(a, b, c, n, std::move(d));
  }
  void get_all(const std::string& a, const std::string& b, Millis n,
               Callback<std::vector<internal::StoredSession>> d) override {
    real_->sessions().get_all(a, b, n,
                              [this, d = std::move(d)](Result<std::vector<internal::StoredSession>> r) {
                                if (on.load() && r.has_value()) {
                                  for (auto& s : r.value()) s.record = flip(s.record);
                                }
                                d(std::move(r));
                              });
  }
  void remove_all(const std::string& a, const std::string& b, Millis n, Callback<std::int64_t> d) override {
    real_->sessions().remove_all(a, b, n, std::move(d));
  }
  // replay: the synchronous form is forwarded too, so the store takes the path it takes in
  // production (memory answers at once; SQLite and Redis through reserve()).
  std::atomic<int> reserve_now_answered{0};
  std::atomic<int> reserve_called{0};
  std::optional<Status> reserve_now(const unsigned char (&hash)[kHashBytes],
                                    const unsigned char (&owner)[kOwnerBytes], Millis u, Millis n) override {
    std::optional<Status> s = real_->replay().reserve_now(hash, owner, u, n);
    if (s) reserve_now_answered.fetch_add(1);
    return s;
  }
  void reserve(const internal::ReplayReservation& r, Millis u, Millis n, Callback<Done> d) override {
    reserve_called.fetch_add(1);
    real_->replay().reserve(r, u, n, std::move(d));
  }
  void release(const internal::ReplayReservation& r, Millis n, Callback<Done> d) override {
    real_->replay().release(r, n, std::move(d));
  }
  // client tokens
  void put(const std::string& k, std::string b, Millis e, Millis n, Callback<Done> d) override {
    real_->client_tokens().put(k, std::move(b), e, n, std::move(d));
  }
  void get(const std::string& k, Millis n, Callback<std::string> d) override {
    real_->client_tokens().get(k, n, flip_string(std::move(d)));
  }
  void take(const std::string& k, Millis n, Callback<std::string> d) override {
    real_->client_tokens().take(k, n, flip_string(std::move(d)));
  }
  void remove(const std::string& k, Millis n, Callback<Done> d) override {
    real_->client_tokens().remove(k, n, std::move(d));
  }
  void exists(const std::string& k, Millis n, Callback<bool> d) override {
    real_->client_tokens().exists(k, n, std::move(d));
  }
  void list(const std::string& p, const std::string& c, std::size_t l, Millis n,
            Callback<internal::KeyList> d) override {
    real_->client_tokens().list(p, c, l, n, std::move(d));
  }

 private:
  // Payloads: a part of its own (its method names overlap the other stores').
  class Payloads final : public internal::PayloadBackend {
   public:
    Payloads(TamperingBackend& t) : t_(t) {}
    void put(const internal::PayloadPut& r, Callback<Done> d) override {
      t_.real_->payloads().put(r, std::move(d));
    }
    void get(const std::string& k, Millis n, Callback<internal::PayloadSlot> d) override {
      t_.real_->payloads().get(k, n, flip_cb(t_.on, std::move(d), &internal::PayloadSlot::record));
    }
    void get_indexed(const std::string& k, Millis n, Callback<internal::PayloadSlot> d) override {
      t_.real_->payloads().get_indexed(k, n, flip_cb(t_.on, std::move(d), &internal::PayloadSlot::record));
    }
    void consume(const std::string& k, Millis n, Callback<internal::PayloadSlot> d) override {
      t_.real_->payloads().consume(k, n, flip_cb(t_.on, std::move(d), &internal::PayloadSlot::record));
    }
    void remove(const std::string& k, Millis n, Callback<Done> d) override {
      t_.real_->payloads().remove(k, n, std::move(d));
    }
    void revoke_grant(const std::string& g, Millis u, Millis n, Callback<Done> d) override {
      t_.real_->payloads().revoke_grant(g, u, n, std::move(d));
    }
    void grant_revoked(const std::string& g, Millis n, Callback<bool> d) override {
      t_.real_->payloads().grant_revoked(g, n, std::move(d));
    }

   private:
    TamperingBackend& t_;
  };
  Payloads payloads_{*this};

  Callback<std::string> flip_string(Callback<std::string> d) {
    return [this, d = std::move(d)](Result<std::string> r) {
      if (on.load() && r.has_value()) r.value() = flip(std::move(r.value()));
      d(std::move(r));
    };
  }
  std::shared_ptr<Backend> real_;
};

namespace {
std::shared_ptr<internal::StoreContext> make_context(const Options& options,
                                                     std::shared_ptr<ManualClock> clock) {
  auto ctx = std::make_shared<internal::StoreContext>();
  ctx->options = options;
  ctx->clock = clock;
  ctx->metrics = std::make_shared<Metrics>();
  auto ring = internal::KeyRing::load(options.keys, false, nullptr);
  EXPECT_TRUE(ring.ok()) << ring.status().to_string();
  ctx->ring = ring.value();
  return ctx;
}
}  // namespace

Harness::Harness(std::string url, Options base)
    : url_(std::move(url)), clock_(std::make_shared<ManualClock>(kStart)), options_(std::move(base)) {
  if (options_.keys.keys.empty()) options_.keys = test_keys();
  options_.clock = clock_;
  auto ctx = make_context(options_, clock_);
  internal::BackendConfig config{&ctx->options, clock_, {}};
  auto b = internal::open_backend(url_, config);
  EXPECT_TRUE(b.ok()) << b.status().to_string();
  if (!b.ok()) return;
  backend_ = b.value();
  tamper_ = std::make_shared<TamperingBackend>(backend_);
  store_ = internal::make_store(internal::assemble(ctx, tamper_));
}

Harness::~Harness() = default;

Store Harness::another(const Options& options) {
  Options o = options;
  o.clock = clock_;
  return internal::make_store(internal::assemble(make_context(o, clock_), backend_));
}

Store Harness::another(const KeyOptions& keys) {
  Options o = options_;
  o.keys = keys;
  return another(o);
}

void Harness::set_tamper(bool on) { tamper_->on.store(on); }

Harness::ReplayPaths Harness::replay_paths() const {
  return {tamper_->reserve_now_answered.load(), tamper_->reserve_called.load()};
}

}  // namespace authstore::testing
