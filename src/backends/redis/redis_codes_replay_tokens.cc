// Codes, replay reservations and client tokens on Redis (layout: docs/redis.md).
#include <algorithm>
#include <atomic>
#include <charconv>
#include <functional>
#include <mutex>

#include "backends/redis/redis_backend.h"
#include "backends/redis/scripts.h"

namespace authstore::internal {
namespace {

using redis::Reply;
using redis_reply::to_int;
using redis_reply::corrupt;
using redis_reply::unexpected;
using redis_reply::num;

AUTHSTORE_REDIS_SCRIPT(script_code_insert, code_insert)
AUTHSTORE_REDIS_SCRIPT(script_code_consume, code_consume)
AUTHSTORE_REDIS_SCRIPT(script_replay_reserve, replay_reserve)
AUTHSTORE_REDIS_SCRIPT(script_replay_release, replay_release)
AUTHSTORE_REDIS_SCRIPT(script_token_put, token_put)
AUTHSTORE_REDIS_SCRIPT(script_token_take, token_take)
AUTHSTORE_REDIS_READ_SCRIPT_V(script_token_list, token_list, 1)
AUTHSTORE_REDIS_SCRIPT(script_token_migrate, token_migrate)

// ---------------------------------------------------------------------------------------------
// Codes: hash {e: expires_at, c: 0|1, r: record (until consumed), t: tombstone}.
class RedisCodes final : public CodeBackend {
 public:
  explicit RedisCodes(RedisBackend& b) : b_(b) {}

  void insert(const std::string& key, std::string record, std::string tombstone, Millis expires_at,
              Millis now, Callback<Done> done) override {
    std::string k = b_.key(key);
    b_.eval(script_code_insert(), {k}, {num(now), std::move(record), std::move(tombstone), num(expires_at)},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<Done>(r.status()));
              if (!r->is_integer()) return done(Result<Done>(unexpected("code_insert")));
              if (r->integer() == 0) {
                return done(Result<Done>(Status(StatusCode::kAlreadyExists, "code key collision")));
              }
              done(Result<Done>(Done{}));
            });
  }

  // Native: HMGET, the expiry decision made here against `now`.
  void peek(const std::string& key, Millis now, Callback<CodeSlot> done) override {
    std::string k = b_.key(key);
    b_.command("code_peek", {"HMGET", k, "e", "c", "r", "t"}, {k},
               [now, done = std::move(done)](Result<Reply> r) {
                 if (!r.ok()) return done(Result<CodeSlot>(r.status()));
                 const auto& v = r->elements();
                 if (v.size() != 4) return done(Result<CodeSlot>(unexpected("code_peek")));
                 // The same checks, in the same order, as code_consume.lua.
                 if (v[0].is_nil()) return done(Result<CodeSlot>(not_found()));
                 std::int64_t e = 0;
                 if (!to_int(v[0], e)) return done(Result<CodeSlot>(corrupt("code_peek", "expiry")));
                 if (e <= now) return done(Result<CodeSlot>(not_found()));
                 const bool consumed = v[1].is_string() && v[1].str() == "1";
                 if (!consumed && !(v[1].is_string() && v[1].str() == "0")) {
                   return done(Result<CodeSlot>(corrupt("code_peek", "state")));
                 }
                 const Reply& blob = consumed ? v[3] : v[2];
                 if (!blob.is_string()) return done(Result<CodeSlot>(corrupt("code_peek", "state")));
                 done(Result<CodeSlot>(CodeSlot{consumed, blob.str()}));
               });
  }

  void consume(const std::string& key, Millis now, Callback<CodeSlot> done) override {
    std::string k = b_.key(key);
    b_.eval(script_code_consume(), {k}, {num(now)}, [done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<CodeSlot>(r.status()));
      auto& v = r->elements();
      std::int64_t outcome = 0;
      if (v.empty() || !to_int(v[0], outcome)) return done(Result<CodeSlot>(unexpected("code_consume")));
      if (outcome == 0) return done(Result<CodeSlot>(not_found()));
      if (v.size() != 2 || !v[1].is_string()) return done(Result<CodeSlot>(unexpected("code_consume")));
      done(Result<CodeSlot>(CodeSlot{outcome == 2, std::move(v[1]).str()}));
    });
  }

 private:
  static Status not_found() { return Status(StatusCode::kNotFound, "code not found"); }
  RedisBackend& b_;
};

// ---------------------------------------------------------------------------------------------
// Replay: hash {u: kept_until, o: owner}.
class RedisReplay final : public ReplayBackend {
 public:
  explicit RedisReplay(RedisBackend& b) : b_(b) {}

  void reserve(const ReplayReservation& res, Millis kept_until, Millis now,
               Callback<Done> done) override {
    std::string k = b_.key(res.key);
    b_.eval(script_replay_reserve(), {k}, {num(now), res.owner, num(kept_until)},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<Done>(r.status()));
              if (!r->is_integer()) return done(Result<Done>(unexpected("replay_reserve")));
              if (r->integer() == 0) {
                return done(Result<Done>(Status(StatusCode::kReplayed, "jti already reserved")));
              }
              done(Result<Done>(Done{}));
            });
  }

  void release(const ReplayReservation& res, Millis now, Callback<Done> done) override {
    std::string k = b_.key(res.key);
    b_.eval(script_replay_release(), {k}, {num(now), res.owner}, [done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<Done>(r.status()));
      if (!r->is_integer()) return done(Result<Done>(unexpected("replay_release")));
      if (r->integer() == 0) {
        return done(Result<Done>(Status(StatusCode::kNotFound, "no reservation held by this owner")));
      }
      done(Result<Done>(Done{}));
    });
  }

 private:
  RedisBackend& b_;
};

// ---------------------------------------------------------------------------------------------
// Client tokens: string "<expires_at>:<blob>" (expires_at 0 = never, and then no native TTL).
// Every operation but list is one native command; the expiry decision is made here.

// A stored value "<expires_at>:<blob>" (or its head) read at `now`: its blob when live, kNotFound
// when absent or expired, kDataLoss when garbled.
Result<std::string> live_blob(std::string_view op, const Reply& v, Millis now) {
  if (v.is_nil() || (v.is_string() && v.str().empty())) {
    return Status(StatusCode::kNotFound, "token record not found");
  }
  if (!v.is_string()) return corrupt(op, "not a string");
  const std::string& s = v.str();
  const std::size_t colon = s.find(':');
  std::int64_t e = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + (colon == std::string::npos ? 0 : colon), e);
  if (colon == std::string::npos || ec != std::errc() || end != s.data() + colon || e < 0) {
    return corrupt(op, "expiry");
  }
  if (e != 0 && e <= now) return Status(StatusCode::kNotFound, "token record not found");
  return s.substr(colon + 1);
}

constexpr std::string_view kGeneric = "ct:g:";
bool is_generic(const std::string& key) { return key.rfind(kGeneric, 0) == 0; }

class RedisClientTokens final : public ClientTokenBackend {
 public:
  explicit RedisClientTokens(RedisBackend& b) : b_(b) {}

  void put(const std::string& key, std::string blob, Millis expires_at, Millis now,
           Callback<Done> done) override {
    std::string k = redis_key(key);
    std::string value = num(expires_at) + ":" + blob;
    // Relative to the store clock (see docs/redis.md), plus the same 1 s slack as the scripts.
    const std::string px = expires_at != 0 ? num(std::max<Millis>(expires_at - now, 0) + 1000) : std::string();
    auto finish = [done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<Done>(r.status()));
      done(Result<Done>(Done{}));
    };
    if (!is_generic(key)) {
      std::vector<std::string> args = {"SET", k, std::move(value)};
      if (!px.empty()) args.insert(args.end(), {"PX", px});
      return b_.command("token_put", std::move(args), {k}, std::move(finish));
    }
    indexed(now, std::move(finish), [this, key, k, value = std::move(value), expires_at, px, now](auto finish2) mutable {
      b_.eval(script_token_put(), {index_key(), expiries_key(), k},
              {num(now), key, std::move(value), num(expires_at), px}, std::move(finish2));
    });
  }

  void get(const std::string& key, Millis now, Callback<std::string> done) override {
    read("token_get", "GET", key, now, std::move(done));
  }
  void take(const std::string& key, Millis now, Callback<std::string> done) override {
    read("token_take", "GETDEL", key, now, std::move(done));
  }
  void remove(const std::string& key, Millis now, Callback<Done> done) override {
    read("token_remove", "GETDEL", key, now, [done = std::move(done)](Result<std::string> r) {
      if (!r.ok()) return done(Result<Done>(r.status()));
      done(Result<Done>(Done{}));
    });
  }
  void exists(const std::string& key, Millis now, Callback<bool> done) override {
    std::string k = redis_key(key);
    auto finish = [now, done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<bool>(r.status()));
      Result<std::string> live = live_blob("token_exists", r.value(), now);
      if (!live.ok() && live.code() != StatusCode::kNotFound) return done(Result<bool>(live.status()));
      done(Result<bool>(live.ok()));
    };
    // The expiry prefix only (at most 19 digits and the colon).
    if (!is_generic(key)) return b_.command("token_exists", {"GETRANGE", k, "0", "20"}, {k}, std::move(finish));
    indexed(now, std::move(finish), [this, k](auto finish2) {
      b_.command("token_exists", {"GETRANGE", k, "0", "20"}, {k}, std::move(finish2));
    });
  }

  // Generic tokens only (the store lists nothing else): the index, in byte order after `cursor`.
  void list(const std::string& prefix, const std::string& cursor, std::size_t limit, Millis now,
            Callback<KeyList> done) override {
    if (!cursor.empty() && (cursor.rfind(prefix, 0) != 0 || !is_generic(cursor))) {
      return done(Result<KeyList>(Status(StatusCode::kInvalidArgument, "is not a cursor returned by list()", "cursor")));
    }
    auto finish = [done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<KeyList>(r.status()));
      auto& v = r->elements();
      if (!r->is_array() || v.empty() || !v[0].is_string()) return done(Result<KeyList>(unexpected("token_list")));
      KeyList out;
      out.next_cursor = std::move(v[0]).str();
      for (std::size_t i = 1; i < v.size(); ++i) {
        if (!v[i].is_string()) return done(Result<KeyList>(unexpected("token_list")));
        out.keys.push_back(std::move(v[i]).str());
      }
      done(Result<KeyList>(std::move(out)));
    };
    indexed(now, std::move(finish), [this, prefix, cursor, limit, now](auto finish2) {
      b_.eval(script_token_list(), {index_key(), expiries_key()},
              {num(now), prefix, cursor, std::to_string(limit)}, std::move(finish2));
    });
  }

 private:
  using ReplyDone = std::function<void(Result<Reply>)>;

  // P "ct:{g}:<k>" for a generic token "ct:g:<k>" (all of them share the index's slot); the
  // others as they are.
  std::string redis_key(const std::string& key) const {
    if (!is_generic(key)) return b_.key(key);
    return b_.prefix() + "ct:{g}:" + key.substr(kGeneric.size());
  }
  std::string index_key() const { return b_.prefix() + "cti:{g}"; }
  std::string expiries_key() const { return b_.prefix() + "cte:{g}"; }
  std::string moved_key() const { return b_.prefix() + "ctv:{g}"; }

  void read(std::string_view op, const char* cmd, const std::string& key, Millis now,
            Callback<std::string> done) {
    std::string k = redis_key(key);
    auto finish = [op, now, done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<std::string>(r.status()));
      done(live_blob(op, r.value(), now));
    };
    if (!is_generic(key)) return b_.command(op, {cmd, k}, {k}, std::move(finish));
    const bool take = std::string_view(cmd) == "GETDEL";
    indexed(now, std::move(finish), [this, op, cmd, take, key, k, now](auto finish2) {
      if (!take) return b_.command(op, {cmd, k}, {k}, std::move(finish2));
      b_.eval(script_token_take(), {index_key(), expiries_key(), k}, {num(now), key}, std::move(finish2));
    });
  }

  // Runs `then(finish)` once the generic tokens written before the index (P "ct:g:<k>") were
  // moved under it: checked once per process (GET of P "ctv:{g}"); if not yet, SCAN MATCH
  // P "ct:g:*" and token_migrate for each key found, then SET P "ctv:{g}" 1. Concurrent callers
  // wait for the one move.
  template <class Then>
  void indexed(Millis now, ReplyDone finish, Then then) {
    if (indexed_.load(std::memory_order_acquire)) return then(std::move(finish));
    bool queued = false;
    bool first = false;
    {
      std::lock_guard lock(mu_);
      if (!indexed_.load(std::memory_order_relaxed)) {
        first = waiting_.empty();
        queued = true;
        waiting_.push_back([then = std::move(then), finish = std::move(finish)](Status s) mutable {
          if (!s.ok()) return finish(Result<Reply>(s));
          then(std::move(finish));
        });
      }
    }
    if (!queued) return then(std::move(finish));  // the move ended meanwhile
    if (first) check_moved(now);
  }

  void finish_move(const Status& s, bool flagged = true) {
    std::vector<std::function<void(Status)>> run;
    {
      std::lock_guard lock(mu_);
      if (s.ok() && flagged) indexed_.store(true, std::memory_order_release);
      run.swap(waiting_);
    }
    for (auto& w : run) w(s);
  }

  void check_moved(Millis now) {
    std::string k = moved_key();
    b_.command("token_index_check", {"GET", k}, {k}, [this, now](Result<Reply> r) {
      if (!r.ok()) return finish_move(r.status());
      if (r->is_string() && r->str() == "1") return finish_move(Status::Ok());
      move_step("0", now);
    });
  }

  void move_step(std::string cursor, Millis now) {
    std::vector<std::string> args = {"SCAN", std::move(cursor), "MATCH", b_.prefix() + std::string(kGeneric) + "*",
                                     "COUNT", "1000"};
    b_.command("token_index_scan", std::move(args), {}, [this, now](Result<Reply> r) {
      if (!r.ok()) return finish_move(r.status());
      auto& v = r->elements();
      if (!r->is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_array()) {
        return finish_move(unexpected("token_index_scan"));
      }
      auto keys = std::make_shared<std::vector<std::string>>();
      for (const Reply& k : v[1].elements()) {
        if (k.is_string()) keys->push_back(k.str());
      }
      move_keys(std::move(keys), 0, std::move(v[0]).str(), now);
    });
  }

  void move_keys(std::shared_ptr<std::vector<std::string>> keys, std::size_t i, std::string cursor, Millis now) {
    if (i == keys->size()) {
      if (cursor != "0") return move_step(std::move(cursor), now);
      std::string k = moved_key();
      // The move is complete either way; a flag not written (a full server refuses SET) only
      // makes the next process scan again.
      return b_.command("token_index_done", {"SET", k, "1"}, {k}, [this](Result<Reply> r) {
        finish_move(Status::Ok(), r.ok());
      });
    }
    const std::string& old = (*keys)[i];
    std::string storage = old.substr(b_.prefix().size());
    std::string fresh = redis_key(storage);
    b_.eval(script_token_migrate(), {index_key(), expiries_key(), fresh, old}, {num(now), storage},
            [this, keys, i, cursor = std::move(cursor), now](Result<Reply> r) mutable {
              if (!r.ok()) return finish_move(r.status());
              move_keys(std::move(keys), i + 1, std::move(cursor), now);
            });
  }

  RedisBackend& b_;
  std::atomic<bool> indexed_{false};
  std::mutex mu_;
  std::vector<std::function<void(Status)>> waiting_;
};

}  // namespace

std::unique_ptr<CodeBackend> make_redis_codes(RedisBackend& b) { return std::make_unique<RedisCodes>(b); }
std::unique_ptr<ReplayBackend> make_redis_replay(RedisBackend& b) { return std::make_unique<RedisReplay>(b); }
std::unique_ptr<ClientTokenBackend> make_redis_client_tokens(RedisBackend& b) {
  return std::make_unique<RedisClientTokens>(b);
}

}  // namespace authstore::internal
