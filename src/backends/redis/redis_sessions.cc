// Sessions on Redis: per bucket (user, type) a hash of sessions, a sorted set of live sessions
// and a sorted set of tombstones, all under the user's hash tag (layout: docs/redis.md).
#include <charconv>

#include "backends/redis/redis_backend.h"
#include "backends/redis/scripts.h"

namespace authstore::internal {
namespace {

using redis::Reply;
using redis_reply::corrupt;
using redis_reply::unexpected;

using redis_reply::num;

AUTHSTORE_REDIS_SCRIPT(script_upsert, session_upsert)
AUTHSTORE_REDIS_SCRIPT(script_remove, session_remove)
AUTHSTORE_REDIS_READ_SCRIPT_V(script_get_all, session_get_all, 1)
AUTHSTORE_REDIS_SCRIPT(script_remove_all, session_remove_all)

Status not_found() { return Status(StatusCode::kNotFound, "session not found"); }

class RedisSessions final : public SessionBackend {
 public:
  explicit RedisSessions(RedisBackend& b) : b_(b) {}

  // Native: HGET, the expiry decision made here against `now`.
  void get(const std::string& route, const std::string& bucket_key, const std::string& session_key,
           Millis now, Callback<std::string> done) override {
    std::string h = bucket(route, bucket_key, "sh:");
    b_.command("session_get", {"HGET", h, session_key}, {h}, [now, done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<std::string>(r.status()));
      if (!r->is_string()) return done(Result<std::string>(not_found()));
      // "<lock>:<refresh_expires_at>:<record>"
      const std::string& v = r->str();
      const std::size_t a = v.find(':');
      const std::size_t c = a == std::string::npos ? a : v.find(':', a + 1);
      // The same checks as parse_session in session_common.lua.
      if (c == std::string::npos) return done(Result<std::string>(corrupt("session_get", "entry")));
      std::int64_t lock = 0, exp = 0;
      const auto [lend, lec] = std::from_chars(v.data(), v.data() + a, lock);
      const auto [end, ec] = std::from_chars(v.data() + a + 1, v.data() + c, exp);
      if (lec != std::errc() || lend != v.data() + a || ec != std::errc() || end != v.data() + c) {
        return done(Result<std::string>(corrupt("session_get", "entry")));
      }
      if (exp <= now) return done(Result<std::string>(not_found()));
      done(Result<std::string>(v.substr(c + 1)));
    });
  }

  void upsert(const SessionWrite& req, Callback<Done> done) override {
    b_.eval(
        script_upsert(), keys3(req.route, req.bucket_key),
        {num(req.now), req.session_key, req.record, num(req.expected_lock), num(req.refresh_expires_at),
         std::to_string(req.max_sessions)},
        [done = std::move(done)](Result<Reply> r) {
          if (!r.ok()) return done(Result<Done>(r.status()));
          if (!r->is_integer()) return done(Result<Done>(unexpected("session_upsert")));
          if (r->integer() == 0) {
            return done(Result<Done>(Status(StatusCode::kConflict, "stale lock_version or deleted session")));
          }
          done(Result<Done>(Done{}));
        });
  }

  void remove(const std::string& route, const std::string& bucket_key, const std::string& session_key,
              Millis now, Callback<Done> done) override {
    b_.eval(script_remove(), keys3(route, bucket_key), {num(now), session_key},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<Done>(r.status()));
              if (!r->is_integer()) return done(Result<Done>(unexpected("session_remove")));
              if (r->integer() == 0) return done(Result<Done>(not_found()));
              done(Result<Done>(Done{}));
            });
  }

  void get_all(const std::string& route, const std::string& bucket_key, Millis now,
               Callback<std::vector<StoredSession>> done) override {
    b_.eval(script_get_all(), {bucket(route, bucket_key, "sh:"), bucket(route, bucket_key, "sx:")},
            {num(now)}, [done = std::move(done)](Result<Reply> r) {
              using R = Result<std::vector<StoredSession>>;
              if (!r.ok()) return done(R(r.status()));
              if (!r->is_array() || r->elements().size() % 2 != 0)
                return done(R(unexpected("session_get_all")));
              std::vector<StoredSession> out;
              out.reserve(r->elements().size() / 2);
              auto& e = r->elements();
              for (std::size_t i = 0; i < e.size(); i += 2) {
                out.push_back(StoredSession{std::move(e[i]).str(), std::move(e[i + 1]).str()});
              }
              done(R(std::move(out)));
            });
  }

  void remove_all(const std::string& route, const std::string& bucket_key, Millis now,
                  Callback<std::int64_t> done) override {
    b_.eval(script_remove_all(), keys3(route, bucket_key), {num(now)},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<std::int64_t>(r.status()));
              if (!r->is_integer()) return done(Result<std::int64_t>(unexpected("session_remove_all")));
              done(Result<std::int64_t>(r->integer()));
            });
  }

 private:
  // kind: "sh:" sessions hash, "sx:" live index, "sz:" tombstones; then route ":" bucket.
  std::string bucket(const std::string& route, const std::string& bucket_key, std::string_view kind) const {
    std::string k;
    k.reserve(b_.prefix().size() + kind.size() + route.size() + 1 + bucket_key.size());
    k.append(b_.prefix()).append(kind).append(route).append(1, ':').append(bucket_key);
    return k;
  }
  std::vector<std::string> keys3(const std::string& route, const std::string& bucket_key) const {
    return {bucket(route, bucket_key, "sh:"), bucket(route, bucket_key, "sx:"),
            bucket(route, bucket_key, "sz:")};
  }

  RedisBackend& b_;
};

}  // namespace

std::unique_ptr<SessionBackend> make_redis_sessions(RedisBackend& b) {
  return std::make_unique<RedisSessions>(b);
}

}  // namespace authstore::internal
