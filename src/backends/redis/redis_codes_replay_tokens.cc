// Codes, replay reservations and client tokens on Redis (layout: docs/redis.md).
#include <algorithm>
#include <atomic>
#include <charconv>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "backends/redis/redis_backend.h"
#include "backends/redis/scripts.h"

namespace authstore::internal {
namespace {

using redis::Reply;
using redis_reply::corrupt;
using redis_reply::num;
using redis_reply::to_int;
using redis_reply::unexpected;

// Version 2: the native layout (docs/redis.md, "Codes", "Replay reservations"); these scripts
// run only on the rare paths a native command cannot decide.
AUTHSTORE_REDIS_SCRIPT_V(script_code_insert, code_insert, 2)
AUTHSTORE_REDIS_SCRIPT_V(script_code_consume, code_consume, 2)
AUTHSTORE_REDIS_SCRIPT_V(script_replay_reserve, replay_reserve, 2)
AUTHSTORE_REDIS_SCRIPT_V(script_replay_release, replay_release, 2)
AUTHSTORE_REDIS_SCRIPT(script_token_put, token_put)
AUTHSTORE_REDIS_SCRIPT(script_token_take, token_take)
AUTHSTORE_REDIS_READ_SCRIPT_V(script_token_list, token_list, 1)
AUTHSTORE_REDIS_SCRIPT(script_token_migrate, token_migrate)

// "<expires_at>:<rest>" with expires_at decimal digits (> 0): the position of the colon, or npos.
std::size_t expiry_prefix(const std::string& s, std::int64_t& e) {
  const std::size_t colon = s.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 19) return std::string::npos;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + colon, e);
  if (ec != std::errc() || end != s.data() + colon || e <= 0) return std::string::npos;
  return colon;
}

// The native time-to-live of something that expires at `until` by the store clock: the remaining
// lifetime plus 1 s of slack, as the scripts' ttl_for (scripts/common.lua).
std::string ttl_px(Millis until, Millis now) { return num(std::max<Millis>(until - now, 0) + 1000); }

// Two native commands sent back to back (pipelined: one round trip), answered together.
struct Pair {
  std::mutex mu;
  int left = 2;
  std::optional<Result<Reply>> got[2];
  // Stores reply `i`; true for the caller that completes the pair.
  bool set(int i, Result<Reply> r) {
    std::lock_guard lock(mu);
    got[i].emplace(std::move(r));
    return --left == 0;
  }
};

// ---------------------------------------------------------------------------------------------
// Codes (docs/redis.md, "Codes"): two strings in the code's slot, written together at issue:
//   P ac:{R}:<h>   "<expires_at>:<record>"     taken by GETDEL on the first consume
//   P act:{R}:<h>  "<expires_at>:<tombstone>"  immutable; read when the record is gone
// The record's and the tombstone's MACs bind the storage key ac:{R}:<h> (format.md), as before.
// A code of the earlier layout (a hash {e, c, r, t} at P ac:{R}:<h>) answers WRONGTYPE to the
// native commands: it is then read by HMGET and consumed by the script code_consume, as before.
class RedisCodes final : public CodeBackend {
 public:
  explicit RedisCodes(RedisBackend& b) : b_(b) {}

  // Native: SET NX PX of the record, then of the tombstone (one round trip). Either key taken
  // (the store clock may say its entry expired; or an entry of the earlier layout): the script
  // code_insert decides.
  void insert(const std::string& key, std::string record, std::string tombstone, Millis expires_at,
              Millis now, Callback<Done> done) override {
    // One shared state for both replies and the rare fallback (a taken key: the script decides),
    // so the two callbacks capture a pointer each and nothing is copied per command.
    struct Insert {
      Pair pair;
      std::string k, t, rv, tv;
      Millis expires_at = 0, now = 0;
      Callback<Done> done;
    };
    auto in = std::make_shared<Insert>();
    in->k = b_.key(key);
    in->t = tomb_key(key);
    const std::string at = num(expires_at);
    in->rv.reserve(at.size() + 1 + record.size());
    in->rv.append(at).append(1, ':').append(record);
    in->tv.reserve(at.size() + 1 + tombstone.size());
    in->tv.append(at).append(1, ':').append(tombstone);
    in->expires_at = expires_at;
    in->now = now;
    in->done = std::move(done);
    const std::string px = ttl_px(expires_at, now);
    auto finish = [this](const std::shared_ptr<Insert>& s) {
      for (auto& r : s->pair.got) {
        if (!r->ok()) return s->done(Result<Done>(r->status()));
      }
      if (!s->pair.got[0]->value().is_nil() && !s->pair.got[1]->value().is_nil())
        return s->done(Result<Done>(Done{}));
      b_.eval(script_code_insert(), {s->k, s->t}, {num(s->now), s->rv, s->tv, num(s->expires_at)},
              [done = std::move(s->done)](Result<Reply> r) {
                if (!r.ok()) return done(Result<Done>(r.status()));
                if (!r->is_integer()) return done(Result<Done>(unexpected("code_insert")));
                if (r->integer() == 0) {
                  return done(Result<Done>(Status(StatusCode::kAlreadyExists, "code key collision")));
                }
                done(Result<Done>(Done{}));
              });
    };
    b_.command("code_insert", {"SET", in->k, in->rv, "NX", "PX", px}, {in->k}, [in, finish](Result<Reply> r) {
      if (in->pair.set(0, std::move(r))) finish(in);
    });
    b_.command("code_insert_tombstone", {"SET", in->t, in->tv, "NX", "PX", px}, {in->t},
               [in, finish](Result<Reply> r) {
                 if (in->pair.set(1, std::move(r))) finish(in);
               });
  }

  // Native: GET of the record; when it is gone, GET of the tombstone (a second round trip, on the
  // consumed / not-found path only). The same checks, in the same order, as consume.
  void peek(const std::string& key, Millis now, Callback<CodeSlot> done) override {
    record_then_tombstone("code_peek", "GET", key, now, std::move(done), &RedisCodes::peek_earlier);
  }

  // Native: GETDEL of the record (the one atomic decision: exactly one caller gets it); when it is
  // gone, GET of the tombstone (a second round trip, on the reuse / not-found path only). A record
  // the store clock says expired is taken and reads as absent. WRONGTYPE: a code of the earlier
  // layout, consumed by the script code_consume.
  void consume(const std::string& key, Millis now, Callback<CodeSlot> done) override {
    record_then_tombstone("code_consume", "GETDEL", key, now, std::move(done), &RedisCodes::consume_earlier);
  }

 private:
  static Status not_found() { return Status(StatusCode::kNotFound, "code not found"); }

  // P act:{R}:<h> for the storage key ac:{R}:<h> (the same tag: the same slot).
  std::string tomb_key(const std::string& key) const {
    if (key.rfind("ac:", 0) == 0) return b_.prefix() + "act:" + key.substr(3);
    return b_.prefix() + key + ":t";  // no store builds such a key; kept apart all the same
  }

  // A stored "<expires_at>:<blob>" at `now`: the slot when live, kNotFound when expired,
  // kDataLoss when garbled.
  static Result<CodeSlot> slot(std::string_view op, const Reply& v, Millis now, bool consumed) {
    if (!v.is_string()) return unexpected(op);
    std::int64_t e = 0;
    const std::size_t colon = expiry_prefix(v.str(), e);
    if (colon == std::string::npos) return corrupt(op, consumed ? "tombstone expiry" : "expiry");
    if (e <= now) return not_found();
    return CodeSlot{consumed, v.str().substr(colon + 1)};
  }

  using Earlier = void (RedisCodes::*)(const std::string& k, Millis now, Callback<CodeSlot> done);

  // `cmd` (GET or GETDEL) of the record; nil: the tombstone; WRONGTYPE: `earlier` on the hash of
  // the earlier layout.
  void record_then_tombstone(std::string_view op, const char* cmd, const std::string& key, Millis now,
                             Callback<CodeSlot> done, Earlier earlier) {
    std::string k = b_.key(key);
    b_.command_or_wrongtype(
        op, {cmd, k}, {k},
        [this, op, earlier, key, k, now, done = std::move(done)](Result<Reply> r, bool wrongtype) mutable {
          if (wrongtype) return (this->*earlier)(k, now, std::move(done));
          if (!r.ok()) return done(Result<CodeSlot>(r.status()));
          if (r->is_nil()) return read_tombstone(op, key, now, std::move(done));
          done(slot(op, r.value(), now, false));
        });
  }

  void read_tombstone(std::string_view op, const std::string& key, Millis now, Callback<CodeSlot> done) {
    std::string t = tomb_key(key);
    b_.command("code_tombstone", {"GET", t}, {t}, [op, now, done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<CodeSlot>(r.status()));
      if (r->is_nil()) return done(Result<CodeSlot>(not_found()));
      done(slot(op, r.value(), now, true));
    });
  }

  // The earlier layout's peek (HMGET), decided here against `now`. The key answered WRONGTYPE to
  // GET, so it exists: a hash without its expiry is garbled.
  void peek_earlier(const std::string& k, Millis now, Callback<CodeSlot> done) {
    b_.command("code_peek", {"HMGET", k, "e", "c", "r", "t"}, {k},
               [now, done = std::move(done)](Result<Reply> r) {
                 if (!r.ok()) return done(Result<CodeSlot>(r.status()));
                 const auto& v = r->elements();
                 if (v.size() != 4) return done(Result<CodeSlot>(unexpected("code_peek")));
                 // The same checks, in the same order, as code_consume.lua.
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

  void consume_earlier(const std::string& k, Millis now, Callback<CodeSlot> done) {
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

  RedisBackend& b_;
};

// ---------------------------------------------------------------------------------------------
// Replay (docs/redis.md, "Replay reservations"): string "<kept_until>:<owner>" (the earlier
// layout: a hash {u: kept_until, o: owner}, still read and replaced by the scripts).
class RedisReplay final : public ReplayBackend {
 public:
  explicit RedisReplay(RedisBackend& b) : b_(b) {}

  // Native: SET NX PX GET. Nil: reserved. A live value (by the store clock): replayed. A value
  // the store clock says expired, or WRONGTYPE (the earlier layout): the script replay_reserve
  // replaces it if it is still expired. A garbled value is never overwritten (kDataLoss).
  void reserve(const ReplayReservation& res, Millis kept_until, Millis now, Callback<Done> done) override {
    std::string k = b_.key(res.key);
    b_.command_or_wrongtype(
        "replay_reserve",
        {"SET", k, num(kept_until) + ":" + res.owner, "NX", "PX", ttl_px(kept_until, now), "GET"}, {k},
        [this, k, owner = res.owner, kept_until, now, done = std::move(done)](Result<Reply> r,
                                                                              bool wrongtype) mutable {
          if (!wrongtype) {
            if (!r.ok()) return done(Result<Done>(r.status()));
            if (r->is_nil()) return done(Result<Done>(Done{}));
            if (!r->is_string()) return done(Result<Done>(unexpected("replay_reserve")));
            std::int64_t u = 0;
            if (expiry_prefix(r->str(), u) == std::string::npos) {
              return done(Result<Done>(corrupt("replay_reserve", "expiry")));
            }
            if (u > now) return done(Result<Done>(replayed()));
          }
          b_.eval(script_replay_reserve(), {k}, {num(now), owner, num(kept_until)},
                  [done = std::move(done)](Result<Reply> r2) {
                    if (!r2.ok()) return done(Result<Done>(r2.status()));
                    if (!r2->is_integer()) return done(Result<Done>(unexpected("replay_reserve")));
                    if (r2->integer() == 0) return done(Result<Done>(replayed()));
                    done(Result<Done>(Done{}));
                  });
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
  static Status replayed() { return Status(StatusCode::kReplayed, "jti already reserved"); }
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
    const std::string px =
        expires_at != 0 ? num(std::max<Millis>(expires_at - now, 0) + 1000) : std::string();
    auto finish = [done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<Done>(r.status()));
      done(Result<Done>(Done{}));
    };
    if (!is_generic(key)) {
      std::vector<std::string> args = {"SET", k, std::move(value)};
      if (!px.empty()) args.insert(args.end(), {"PX", px});
      return b_.command_list("token_put", args, {k}, std::move(finish));
    }
    indexed(now, std::move(finish),
            [this, key, k, value = std::move(value), expires_at, px, now](auto finish2) mutable {
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
    if (!is_generic(key))
      return b_.command("token_exists", {"GETRANGE", k, "0", "20"}, {k}, std::move(finish));
    indexed(now, std::move(finish), [this, k](auto finish2) {
      b_.command("token_exists", {"GETRANGE", k, "0", "20"}, {k}, std::move(finish2));
    });
  }

  // Generic tokens only (the store lists nothing else): the index, in byte order after `cursor`.
  void list(const std::string& prefix, const std::string& cursor, std::size_t limit, Millis now,
            Callback<KeyList> done) override {
    if (!cursor.empty() && (cursor.rfind(prefix, 0) != 0 || !is_generic(cursor))) {
      return done(Result<KeyList>(
          Status(StatusCode::kInvalidArgument, "is not a cursor returned by list()", "cursor")));
    }
    auto finish = [done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<KeyList>(r.status()));
      auto& v = r->elements();
      if (!r->is_array() || v.empty() || !v[0].is_string())
        return done(Result<KeyList>(unexpected("token_list")));
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
    constexpr std::string_view kIndexed = "ct:{g}:";
    const std::string_view rest = std::string_view(key).substr(kGeneric.size());
    std::string k;
    k.reserve(b_.prefix().size() + kIndexed.size() + rest.size());
    k.append(b_.prefix()).append(kIndexed).append(rest);
    return k;
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
    std::vector<std::string> args = {
        "SCAN", std::move(cursor), "MATCH", b_.prefix() + std::string(kGeneric) + "*", "COUNT", "1000"};
    b_.command_list("token_index_scan", args, {}, [this, now](Result<Reply> r) {
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

  void move_keys(std::shared_ptr<std::vector<std::string>> keys, std::size_t i, std::string cursor,
                 Millis now) {
    if (i == keys->size()) {
      if (cursor != "0") return move_step(std::move(cursor), now);
      std::string k = moved_key();
      // The move is complete either way; a flag not written (a full server refuses SET) only
      // makes the next process scan again.
      return b_.command("token_index_done", {"SET", k, "1"}, {k},
                        [this](Result<Reply> r) { finish_move(Status::Ok(), r.ok()); });
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
