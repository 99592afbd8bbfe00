// The stores' implementation classes behind the public handles.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authstore/client_tokens.h"
#include "authstore/codes.h"
#include "authstore/payloads.h"
#include "authstore/refresh.h"
#include "authstore/replay.h"
#include "authstore/sessions.h"
#include "backends/backend.h"
#include "stores/context.h"

namespace authstore::internal {

// The answer of every call on a store reached through an empty Store handle (default
// constructed, moved from, or taken from a failed open()).
inline Status empty_store() {
  return Status(StatusCode::kFailedPrecondition,
                "this Store handle holds no open store (default-constructed, moved from, or the "
                "value_or() of a failed open()); check the Result of authstore::open()",
                "store");
}

struct StoreBase {
  std::shared_ptr<StoreContext> ctx;
  std::shared_ptr<Backend> backend;
};

// Admits one public call on a store (see CallGate): held for the call's synchronous part, which
// on memory and SQLite includes the callback. `ok()` false: the handle is empty or the store is
// closed; `refusal()` says which.
class Admission {
 public:
  explicit Admission(const StoreBase* impl) noexcept
      : gate_(impl ? &impl->ctx->gate : nullptr), shard_(gate_ ? gate_->enter() : -1) {}
  ~Admission() {
    if (shard_ >= 0) gate_->leave(shard_);
  }
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;
  bool ok() const noexcept { return shard_ >= 0; }
  Status refusal() const { return gate_ ? closed_store() : empty_store(); }

 private:
  CallGate* gate_;
  int shard_;
};

class CodeStoreImpl : public StoreBase {
 public:
  void issue(const CodeGrant& grant, Callback<IssuedCode> done);
  void lookup(std::string_view code, bool consume, Callback<CodeRecord> done);
};

class RefreshStoreImpl : public StoreBase {
 public:
  void issue(const RefreshGrant& grant, Callback<IssuedRefreshToken> done);
  void rotate(std::string_view token, std::string_view client_id, bool successor,
              Callback<IssuedRefreshToken> done);
  void peek(std::string_view token, Callback<RefreshTokenInfo> done);
  void store_jti(std::string_view subject, std::string_view jti, std::string_view client_id,
                 std::int64_t ttl_ms, Callback<Done> done);
  void consume_jti(std::string_view subject, std::string_view jti, Callback<JtiRecord> done);
  void revoke(std::string_view token, Callback<Done> done);
  void revoke_family(std::string_view family_id, Callback<Done> done);
  void revoke_subject(std::string_view subject, Callback<Done> done);
  void revoke_client(std::string_view subject, std::string_view client_id, Callback<Done> done);
  void revoke_grant(std::string_view subject, std::string_view grant_id, Callback<Done> done);
  void grant_live(std::string_view subject, std::string_view client_id, std::string_view grant_id,
                  UnixMillis issued_at, Callback<Done> done);
  void list(std::string_view subject, Callback<std::vector<RefreshFamily>> done);
};

class SessionStoreImpl : public StoreBase {
 public:
  void get(std::string_view sid, std::string_view uid, std::string_view type, Callback<Session> done);
  void upsert(const Session& session, Callback<Session> done);
  void remove(std::string_view sid, std::string_view uid, std::string_view type, Callback<Done> done);
  void get_all(std::string_view uid, std::string_view type, Callback<std::vector<Session>> done);
  void remove_all(std::string_view uid, std::string_view type, Callback<std::int64_t> done);
};

class ReplayCacheImpl : public StoreBase {
 public:
  // A reservation request, validated and hashed once, before any backend call.
  struct Prepared {
    Status status;  // not OK: refused (bad input, or the CSPRNG failed); nothing else is set.
    unsigned char hash[ReplayBackend::kHashBytes];
    unsigned char owner[ReplayBackend::kOwnerBytes];
    Millis now = 0;
    Millis kept_until = 0;
  };
  Prepared prepare(std::string_view issuer, std::string_view jti, UnixMillis expires_at) const;
  // The answer, when it is known without a callback: the request was refused, or the backend
  // answers synchronously (reserve_now); the operation is then recorded in the metrics as
  // started at `start`. std::nullopt: call reserve() with the same arguments.
  std::optional<Result<Reservation>> try_reserve(const Prepared& p, std::string_view issuer,
                                                 std::string_view jti,
                                                 std::chrono::steady_clock::time_point start);
  void reserve(const Prepared& p, std::string_view issuer, std::string_view jti, Callback<Reservation> done);
  void release(const Reservation& reservation, Callback<Done> done);
};

class ClientTokenStoreImpl : public StoreBase {
 public:
  enum class Kind : char { kGeneric = 'g', kCredentials = 'c', kPkce = 'p', kAccess = 'a' };
  // Storage key of a typed or generic entry (components escaped; see docs/format.md).
  static std::string storage_key(Kind kind, std::string_view a, std::string_view b = {});

  void save(Kind kind, std::string key, std::string body, std::int64_t expires_at, OpId op,
            Callback<Done> done);
  // Reads (take = read and delete) and decrypts one entry's body.
  void load(Kind kind, std::string key, bool take, OpId op, Callback<std::string> done);
  void remove(std::string key, OpId op, Callback<Done> done);
  void has(std::string key, Callback<bool> done);
  void list(std::string_view prefix, std::string_view cursor, std::size_t limit, Callback<KeyPage> done);
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  void close() { closed_.store(true, std::memory_order_release); }

 private:
  std::atomic<bool> closed_{false};
};

class PayloadStoreImpl : public StoreBase {
 public:
  enum class Index : char { kUid = 'u', kUserCode = 'c' };
  void upsert(const PayloadWrite& write, Callback<Done> done);
  void find(std::string_view model, std::string_view id, Callback<StoredPayload> done);
  void find_indexed(Index index, std::string_view model, std::string_view value,
                    Callback<StoredPayload> done);
  void consume(std::string_view model, std::string_view id, Callback<StoredPayload> done);
  void destroy(std::string_view model, std::string_view id, Callback<Done> done);
  void revoke_grant(std::string_view grant_id, Callback<Done> done);
};

}  // namespace authstore::internal

// The public handles' opaque implementation types: the classes above, under the names the
// headers declare. Their static handle() is the one way to build a handle (the constructors are
// private; a nested class may call them).
namespace authstore {
#define AUTHSTORE_HANDLE_IMPL(Handle, Base)                                              \
  class Handle::Impl final : public internal::Base {                                     \
   public:                                                                               \
    static Handle handle(std::shared_ptr<Impl> impl) { return Handle(std::move(impl)); } \
  };
AUTHSTORE_HANDLE_IMPL(CodeStore, CodeStoreImpl)
AUTHSTORE_HANDLE_IMPL(RefreshTokenStore, RefreshStoreImpl)
AUTHSTORE_HANDLE_IMPL(SessionStore, SessionStoreImpl)
AUTHSTORE_HANDLE_IMPL(ReplayCache, ReplayCacheImpl)
AUTHSTORE_HANDLE_IMPL(ClientTokenStore, ClientTokenStoreImpl)
AUTHSTORE_HANDLE_IMPL(PayloadStore, PayloadStoreImpl)
#undef AUTHSTORE_HANDLE_IMPL
}  // namespace authstore
