// Payloads on Redis (layout: docs/redis.md, "Payloads"). The framework mints the ids, so they
// carry no route: an entry "pl:{H}", its index pointers "pu:{U}" / "pc:{C}" and a grant's
// revocation marker "pg:{G}" each have their own hash slot. Every call below touches one key.
// An upsert with indexes sends its calls at once; a read answers the entry with grant_checked =
// false and an index lookup answers the pointer alone (followed = false): the store makes the
// next call (the grant's marker, the entry), so a revocation is seen by every read that starts
// after it returned.
#include <charconv>
#include <memory>
#include <mutex>

#include "backends/redis/redis_backend.h"
#include "backends/redis/scripts.h"

namespace authstore::internal {
namespace {

using redis::Reply;
using redis_reply::corrupt;
using redis_reply::num;
using redis_reply::to_int;
using redis_reply::unexpected;

AUTHSTORE_REDIS_SCRIPT(script_payload_put, payload_put)
AUTHSTORE_REDIS_SCRIPT(script_payload_consume, payload_consume)
AUTHSTORE_REDIS_SCRIPT(script_payload_revoke_grant, payload_revoke_grant)

Status not_found() { return Status(StatusCode::kNotFound, "payload not found"); }

// The native TTL of something the store clock says lives until until_ms (as common.lua's ttl_for).
std::string ttl_for(Millis until_ms, Millis now) { return num(std::max<Millis>(until_ms - now, 0) + 1000); }

class RedisPayloads final : public PayloadBackend {
 public:
  explicit RedisPayloads(RedisBackend& b) : b_(b) {}

  // The entry's script and one SET per index pointer, sent at once; OK when all succeeded.
  void put(const PayloadPut& req, Callback<Done> done) override {
    struct Join {
      std::mutex mu;
      std::size_t left = 0;
      Status first_error;
      Callback<Done> done;
    };
    auto join = std::make_shared<Join>();
    join->left = 1 + req.index_keys.size();
    join->done = std::move(done);
    auto finish = [join](Status s) {
      Callback<Done> d;
      Status out;
      {
        std::lock_guard lock(join->mu);
        if (!s.ok() && join->first_error.ok()) join->first_error = std::move(s);
        if (--join->left != 0) return;
        d = std::move(join->done);
        out = join->first_error;
      }
      if (out.ok()) return d(Result<Done>(Done{}));
      d(Result<Done>(std::move(out)));
    };
    for (const auto& ik : req.index_keys) {
      std::string k = b_.key(ik);
      b_.command("payload_index", {"SET", k, req.key, "PX", ttl_for(req.expires_at, req.now)}, {k},
                 [finish](Result<Reply> r) {
                   if (!r.ok()) return finish(r.status());
                   if (!r->is_string()) return finish(unexpected("payload_index"));
                   finish(Status::Ok());
                 });
    }
    std::string k = b_.key(req.key);
    b_.eval(script_payload_put(), {k}, {num(req.now), req.record, req.grant_key, num(req.expires_at)},
            [finish](Result<Reply> r) {
              if (!r.ok()) return finish(r.status());
              if (!r->is_integer()) return finish(unexpected("payload_put"));
              finish(Status::Ok());
            });
  }

  // Native: HMGET, the expiry decision made here against `now`; then the grant's marker.
  void get(const std::string& key, Millis now, Callback<PayloadSlot> done) override {
    std::string k = b_.key(key);
    b_.command("payload_get", {"HMGET", k, "e", "c", "r", "g"}, {k},
               [key, now, done = std::move(done)](Result<Reply> r) mutable {
                 if (!r.ok()) return done(Result<PayloadSlot>(r.status()));
                 const auto& v = r->elements();
                 if (v.size() != 4) return done(Result<PayloadSlot>(unexpected("payload_get")));
                 if (v[0].is_nil()) return done(Result<PayloadSlot>(not_found()));
                 std::int64_t e = 0, c = 0;
                 // The same checks as payload_consume.lua.
                 if (!to_int(v[0], e) || !to_int(v[1], c) || !v[2].is_string() || !v[3].is_string()) {
                   return done(Result<PayloadSlot>(corrupt("payload_get", "entry")));
                 }
                 if (e <= now) return done(Result<PayloadSlot>(not_found()));
                 done(Result<PayloadSlot>(PayloadSlot{key, v[2].str(), v[3].str(), c, true, false}));
               });
  }

  void get_indexed(const std::string& index_key, Millis, Callback<PayloadSlot> done) override {
    std::string k = b_.key(index_key);
    b_.command("payload_index_get", {"GET", k}, {k}, [done = std::move(done)](Result<Reply> r) mutable {
      if (!r.ok()) return done(Result<PayloadSlot>(r.status()));
      if (r->is_nil()) return done(Result<PayloadSlot>(not_found()));
      if (!r->is_string()) return done(Result<PayloadSlot>(unexpected("payload_index_get")));
      // A pointer is only a hint: the store checks that the record it leads to has this index.
      if (r->str().rfind("pl:{", 0) != 0) return done(Result<PayloadSlot>(not_found()));
      PayloadSlot pointer;
      pointer.key = std::move(*r).str();
      pointer.followed = false;
      done(Result<PayloadSlot>(std::move(pointer)));
    });
  }

  void consume(const std::string& key, Millis now, Callback<PayloadSlot> done) override {
    std::string k = b_.key(key);
    b_.eval(script_payload_consume(), {k}, {num(now)},
            [key, done = std::move(done)](Result<Reply> r) mutable {
              if (!r.ok()) return done(Result<PayloadSlot>(r.status()));
              const auto& v = r->elements();
              std::int64_t outcome = 0;
              if (v.empty() || !to_int(v[0], outcome))
                return done(Result<PayloadSlot>(unexpected("payload_consume")));
              if (outcome == 0) return done(Result<PayloadSlot>(not_found()));
              std::int64_t consumed_at = 0;
              if (v.size() < 3 || !v[1].is_string() || !v[2].is_string() ||
                  (outcome == 2 && (v.size() != 4 || !to_int(v[3], consumed_at)))) {
                return done(Result<PayloadSlot>(unexpected("payload_consume")));
              }
              done(Result<PayloadSlot>(PayloadSlot{key, v[1].str(), v[2].str(), consumed_at, true, false}));
            });
  }

  void remove(const std::string& key, Millis, Callback<Done> done) override {
    std::string k = b_.key(key);
    b_.command("payload_destroy", {"DEL", k}, {k}, [done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<Done>(r.status()));
      if (!r->is_integer()) return done(Result<Done>(unexpected("payload_destroy")));
      done(Result<Done>(Done{}));
    });
  }

  void revoke_grant(const std::string& grant_key, Millis until, Millis now, Callback<Done> done) override {
    std::string k = b_.key(grant_key);
    b_.eval(script_payload_revoke_grant(), {k}, {num(now), num(until)},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<Done>(r.status()));
              if (!r->is_integer()) return done(Result<Done>(unexpected("payload_revoke_grant")));
              done(Result<Done>(Done{}));
            });
  }

  // A marker that is not a number reads as revoked: a garbled marker may deny, never grant.
  void grant_revoked(const std::string& grant_key, Millis now, Callback<bool> done) override {
    std::string g = b_.key(grant_key);
    b_.command("payload_grant_get", {"GET", g}, {g}, [now, done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<bool>(r.status()));
      if (r->is_nil()) return done(Result<bool>(false));
      std::int64_t until = 0;
      done(Result<bool>(!to_int(*r, until) || until > now));
    });
  }

 private:
  RedisBackend& b_;
};

}  // namespace

std::unique_ptr<PayloadBackend> make_redis_payloads(RedisBackend& b) {
  return std::make_unique<RedisPayloads>(b);
}

}  // namespace authstore::internal
