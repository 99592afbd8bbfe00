// Codes, replay reservations and client tokens on Redis (layout: docs/redis.md).
#include <algorithm>
#include <charconv>

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
AUTHSTORE_REDIS_SCRIPT(script_token_list, token_list)

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

// `s` with the glob characters of SCAN MATCH escaped.
std::string glob_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 1);
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// The cursor handed to callers: the SCAN cursor in decimal, then two numbers of 15 digits each:
// `after` (1 + the rank of the last key returned from that SCAN step, 0 for none) and `check`
// (see token_list.lua). Digits only, as the store requires. (Both are < 2^48 < 10^15.)
constexpr std::size_t kFieldDigits = 15;
constexpr std::int64_t kMaxField = std::int64_t{1} << 48;

std::string cursor_field(std::int64_t v) {
  std::string s = std::to_string(v);
  return std::string(kFieldDigits - s.size(), '0') + s;
}

class RedisClientTokens final : public ClientTokenBackend {
 public:
  explicit RedisClientTokens(RedisBackend& b) : b_(b) {}

  void put(const std::string& key, std::string blob, Millis expires_at, Millis now,
           Callback<Done> done) override {
    std::string k = b_.key(key);
    std::string value = num(expires_at) + ":" + blob;
    std::vector<std::string> args = {"SET", k, std::move(value)};
    if (expires_at != 0) {
      // Relative to the store clock (see docs/redis.md), plus the same 1 s slack as the scripts.
      args.push_back("PX");
      args.push_back(num(std::max<Millis>(expires_at - now, 0) + 1000));
    }
    b_.command("token_put", std::move(args), {k}, [done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<Done>(r.status()));
      done(Result<Done>(Done{}));
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
    std::string k = b_.key(key);
    // The expiry prefix only (at most 19 digits and the colon).
    b_.command("token_exists", {"GETRANGE", k, "0", "20"}, {k}, [now, done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<bool>(r.status()));
      Result<std::string> live = live_blob("token_exists", r.value(), now);
      if (!live.ok() && live.code() != StatusCode::kNotFound) return done(Result<bool>(live.status()));
      done(Result<bool>(live.ok()));
    });
  }

  void list(const std::string& prefix, const std::string& cursor, std::size_t limit, Millis now,
            Callback<KeyList> done) override {
    std::string scan_cursor = "0";
    std::int64_t after = 0, check = 0;
    if (!cursor.empty()) {
      const std::size_t n = cursor.size();
      if (n <= 2 * kFieldDigits || n > 20 + 2 * kFieldDigits ||
          cursor.find_first_not_of("0123456789") != std::string::npos ||
          (after = std::stoll(cursor.substr(n - 2 * kFieldDigits, kFieldDigits))) > kMaxField ||
          (check = std::stoll(cursor.substr(n - kFieldDigits))) >= kMaxField) {
        return done(Result<KeyList>(Status(StatusCode::kInvalidArgument,
                                           "is not a cursor returned by list()", "cursor")));
      }
      scan_cursor = cursor.substr(0, n - 2 * kFieldDigits);
    }
    const std::string pattern = glob_escape(b_.prefix() + prefix) + "*";
    b_.eval(script_token_list(), {},
            {num(now), pattern, scan_cursor, num(after), std::to_string(limit),
             std::to_string(b_.prefix().size()), num(check)},
            [done = std::move(done)](Result<Reply> r) {
              if (!r.ok()) return done(Result<KeyList>(r.status()));
              auto& v = r->elements();
              std::int64_t next_after = 0, next_check = 0;
              if (v.size() < 3 || !v[0].is_string() || !to_int(v[1], next_after) || next_after < 0 ||
                  next_after > kMaxField || !to_int(v[2], next_check) || next_check < 0 ||
                  next_check >= kMaxField) {
                return done(Result<KeyList>(unexpected("token_list")));
              }
              KeyList out;
              for (std::size_t i = 3; i < v.size(); ++i) out.keys.push_back(std::move(v[i]).str());
              if (v[0].str() != "0" || next_after != 0) {
                out.next_cursor = v[0].str() + cursor_field(next_after) + cursor_field(next_check);
              }
              done(Result<KeyList>(std::move(out)));
            });
  }

 private:
  void read(std::string_view op, const char* cmd, const std::string& key, Millis now,
            Callback<std::string> done) {
    std::string k = b_.key(key);
    b_.command(op, {cmd, k}, {k}, [op, now, done = std::move(done)](Result<Reply> r) {
      if (!r.ok()) return done(Result<std::string>(r.status()));
      done(live_blob(op, r.value(), now));
    });
  }

  RedisBackend& b_;
};

}  // namespace

std::unique_ptr<CodeBackend> make_redis_codes(RedisBackend& b) { return std::make_unique<RedisCodes>(b); }
std::unique_ptr<ReplayBackend> make_redis_replay(RedisBackend& b) { return std::make_unique<RedisReplay>(b); }
std::unique_ptr<ClientTokenBackend> make_redis_client_tokens(RedisBackend& b) {
  return std::make_unique<RedisClientTokens>(b);
}

}  // namespace authstore::internal
