// The migration seam on Redis (backends/migration.h; docs/redis.md, "Migration"): the keys of
// docs/redis.md "Keys" read into the logical rows (the SQLite schema's tables) and written back.
//
// Export: one table = one SCAN MATCH P<kinds>* walk (the page cursor is the SCAN cursor; COUNT
// max_rows, 10..1000, a step; steps until about max_rows keys were found; on a Cluster each
// master in turn, see scan()), then the keys found read by native
// commands sent together (pipelined by the client), and where a row needs another key (a token's
// family, a family's grace candidate, an index pointer's payload, the legacy per-user keys) a
// second batch. Entries that do not parse are skipped and counted (skipped()), except a garbled
// generation or logout time, which reads as a revocation on Redis and is exported as one (a
// generation of `now`, a logout at INT64_MAX), so that nothing revoked comes back.
//
// Import: one script (or one native SET) per row, declaring every key it writes (all in the
// row's slot), replacing what the key held; native TTLs as everywhere in this backend: relative to
// the store clock's `now`, remaining lifetime plus 1 s (docs/redis.md, "Time").
//
// The mapping of codes and replay reservations sits in its own small functions (export_codes,
// export_replay and their add_import): the native layout (strings), and the earlier one (hashes)
// read as well until its entries expire.
#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

#include "backends/redis/redis_backend.h"

namespace authstore::internal {
namespace {

using redis::Reply;
using namespace migration;  // NOLINT: the row types

constexpr Millis kNever = std::numeric_limits<Millis>::max();
// TTLs above this (year 9999) are clamped: Redis refuses an expiry that overflows.
constexpr Millis kMaxTtlAt = 253402300799999;
constexpr std::size_t kScanCount = 1000;
constexpr int kMaxScanSteps = 64;
constexpr std::size_t kInFlight = 256;

// ---------------------------------------------------------------------------------------------
// Parsing helpers.

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> int_of(const Reply& r) {
  if (r.is_integer()) return r.integer();
  if (!r.is_string()) return std::nullopt;
  return parse_int(r.str());
}

// "{R}" at the start of `s` (the route tag, up to its first '}'), or "".
std::string tag_at(std::string_view s) {
  if (s.empty() || s[0] != '{') return {};
  const std::size_t close = s.find('}');
  if (close == std::string_view::npos) return {};
  return std::string(s.substr(0, close + 1));
}

// The native TTL (ms) of something that expires at `at` (store clock), as ttl_for in common.lua.
std::string ttl_for(Millis at, Millis now) {
  const Millis a = std::min(at, kMaxTtlAt);
  return std::to_string(std::max<Millis>(a - now, 0) + 1000);
}

// SQLite's logout keys (sqlite_refresh.cc logout_key): 0x00 || T, 0x01 || client_key || T, T
// 8 big-endian bytes with the sign bit flipped.
std::string time_bytes(Millis t) {
  const auto u = static_cast<std::uint64_t>(t) ^ (std::uint64_t{1} << 63);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>((u >> (56 - 8 * i)) & 0xff);
  return out;
}
Millis time_of(std::string_view b) {
  std::uint64_t u = 0;
  for (char c : b) u = (u << 8) | static_cast<unsigned char>(c);
  return static_cast<Millis>(u ^ (std::uint64_t{1} << 63));
}
std::string logout_key(const std::string* client_key, Millis t) {
  std::string k(1, client_key == nullptr ? '\x00' : '\x01');
  if (client_key != nullptr) k += *client_key;
  return k + time_bytes(t);
}

// ---------------------------------------------------------------------------------------------
// Import scripts (one per row). Common part: the store clock and the TTL rule of common.lua, with
// TTLs computed by the caller (ARGV), so that an expiry of "never" never reaches Lua's numbers.
constexpr std::string_view kCommon = R"lua(
local NOW = tonumber(ARGV[1])
-- Extends key's TTL to at least ttl ms; never shortens it.
local function keep(key, ttl)
  local cur = redis.call('PTTL', key)
  if cur < tonumber(ttl) then redis.call('PEXPIRE', key, ttl) end
end
)lua";

std::string script_text(std::string_view body) {
  return "#!lua\n" + std::string(kCommon) + std::string(body);
}

#define AUTHSTORE_MIGRATION_SCRIPT(fn, name, body)            \
  const redis::Script& fn() {                                 \
    static const redis::Script s(name, 1, script_text(body)); \
    return s;                                                 \
  }

// KEYS: family, index, the route's generations, then n token keys, then (legacy) the user's hash
// of earlier releases. ARGV: now, family key, rec, sub, cli, gra, gen, cg, st, cur, ca, lu, it,
// ie, ea, rot, family ttl, token ttl, n, add to index ('1'), then per token: state ('0' current,
// '1' a grace candidate), spent_at.
AUTHSTORE_MIGRATION_SCRIPT(script_family, "migrate_family", R"lua(
local fk, sub, cur = ARGV[2], ARGV[4], ARGV[10]
local n = tonumber(ARGV[19])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'rec', ARGV[3], 'sub', sub, 'cli', ARGV[5], 'gra', ARGV[6], 'gen', ARGV[7],
           'cg', ARGV[8], 'st', ARGV[9], 'cur', cur, 'ca', ARGV[11], 'lu', ARGV[12], 'it', ARGV[13],
           'ie', ARGV[14], 'ea', ARGV[15], 'rot', ARGV[16])
redis.call('PEXPIRE', KEYS[1], ARGV[17])
for i = 1, n do
  local k, s, sa = KEYS[3 + i], ARGV[19 + 2 * i], ARGV[20 + 2 * i]
  redis.call('DEL', k)
  if s == '0' then
    redis.call('HSET', k, 'f', fk, 's', '0')
  else
    redis.call('HSET', k, 'f', fk, 's', '1', 'sa', sa, 'n', cur)
  end
  redis.call('PEXPIRE', k, ARGV[18])
end
-- As refresh_issue: the user's generations outlive the family (a missing one reads as 0).
redis.call('HSETNX', KEYS[3], 'g:' .. sub, '0')
keep(KEYS[3], ARGV[18])
if KEYS[4 + n] then
  redis.call('HSETNX', KEYS[4 + n], 'g', '0')
  keep(KEYS[4 + n], ARGV[18])
end
if ARGV[20] == '1' then
  redis.call('ZADD', KEYS[2], ARGV[15], fk)
  keep(KEYS[2], ARGV[18])
end
return 1
)lua")

// KEYS: token, its family. ARGV: now, family key (unprefixed), ttl, prefix. A token the family's
// import wrote (its current token or a grace candidate) is kept; any other is written spent
// (state '2': never grace-eligible).
AUTHSTORE_MIGRATION_SCRIPT(script_token, "migrate_token", R"lua(
local fk = ARGV[2]
if redis.call('TYPE', KEYS[1]).ok == 'hash' then
  local t = redis.call('HMGET', KEYS[1], 'f', 's', 'n')
  local cur = redis.call('HGET', KEYS[2], 'cur')
  if t[1] == fk and cur and
     ((t[2] == '0' and cur ~= '' and ARGV[4] .. cur == KEYS[1]) or (t[2] == '1' and t[3] == cur)) then
    keep(KEYS[1], ARGV[3])
    return 1
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'f', fk, 's', '2', 'sa', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
)lua")

// KEYS: the route's generations, then (legacy) the user's hash of earlier releases. ARGV: now,
// field, value, ttl, legacy field. Replaces the generation.
AUTHSTORE_MIGRATION_SCRIPT(script_gen, "migrate_gen", R"lua(
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
keep(KEYS[1], ARGV[4])
if KEYS[2] then
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[3])
  keep(KEYS[2], ARGV[4])
end
return 1
)lua")

// KEYS: the route's generations. ARGV: now, field, logout time, ttl. The later of the stored time
// and this one (Redis keeps the latest logout only; grant_live asks for one at or after a time).
AUTHSTORE_MIGRATION_SCRIPT(script_logout, "migrate_logout", R"lua(
local v = redis.call('HGET', KEYS[1], ARGV[2])
local at = v and #v <= 16 and string.match(v, '^%-?%d+$') and tonumber(v)
if not at or at < tonumber(ARGV[3]) then redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) end
keep(KEYS[1], ARGV[4])
return 1
)lua")

// KEYS: the route's revoked grants, then (legacy) the user's of earlier releases. ARGV: now,
// member '<sub>:<grant>', until, ttl, grant. Never shortens (as refresh_revoke_grant).
AUTHSTORE_MIGRATION_SCRIPT(script_grant, "migrate_grant", R"lua(
redis.call('ZADD', KEYS[1], 'GT', ARGV[3], ARGV[2])
keep(KEYS[1], ARGV[4])
if KEYS[2] then
  redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[5])
  keep(KEYS[2], ARGV[4])
end
return 1
)lua")

// KEYS: jti, the route's generations, then (legacy) the user's hash. ARGV: now, rec, sub, cli, gen,
// cg, consumed, expires_at, ttl.
AUTHSTORE_MIGRATION_SCRIPT(script_jti, "migrate_jti", R"lua(
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'rec', ARGV[2], 'sub', ARGV[3], 'cli', ARGV[4], 'gen', ARGV[5],
           'cg', ARGV[6], 'c', ARGV[7], 'e', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[9])
redis.call('HSETNX', KEYS[2], 'g:' .. ARGV[3], '0')
keep(KEYS[2], ARGV[9])
if KEYS[3] then
  redis.call('HSETNX', KEYS[3], 'g', '0')
  keep(KEYS[3], ARGV[9])
end
return 1
)lua")

// KEYS: sessions hash, live index, tombstones. ARGV: now, session key, value (live) or '',
// refresh_expires_at, ttl, deleted ('1').
AUTHSTORE_MIGRATION_SCRIPT(script_session, "migrate_session", R"lua(
local s = ARGV[2]
if ARGV[6] == '1' then
  redis.call('HDEL', KEYS[1], s)
  redis.call('ZREM', KEYS[2], s)
  redis.call('ZADD', KEYS[3], ARGV[4], s)
  keep(KEYS[3], ARGV[5])
else
  redis.call('ZREM', KEYS[3], s)
  redis.call('HSET', KEYS[1], s, ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], s)
  keep(KEYS[1], ARGV[5])
  keep(KEYS[2], ARGV[5])
end
return 1
)lua")

// KEYS: the code's record and tombstone strings (docs/redis.md, "Codes"). ARGV: now, the record
// value "<expires_at>:<record>" ('' when consumed: no record key), the tombstone value, ttl.
// Replaces whatever the keys held (either layout).
AUTHSTORE_MIGRATION_SCRIPT(script_code, "migrate_code", R"lua(
redis.call('DEL', KEYS[1], KEYS[2])
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4]) end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1
)lua")

// KEYS: generic index, expiries, the token. ARGV: now, storage key, value, expiry score, ttl
// ('' = none). As token_put, without its pruning.
AUTHSTORE_MIGRATION_SCRIPT(script_generic_token, "migrate_generic_token", R"lua(
if ARGV[5] == '' then
  redis.call('SET', KEYS[3], ARGV[3])
else
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[5])
end
redis.call('ZADD', KEYS[1], 0, ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
return 1
)lua")

// KEYS: payload hash. ARGV: now, expires_at, consumed_at, record, grant key, ttl.
AUTHSTORE_MIGRATION_SCRIPT(script_payload, "migrate_payload", R"lua(
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'e', ARGV[2], 'c', ARGV[3], 'r', ARGV[4], 'g', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
)lua")

#undef AUTHSTORE_MIGRATION_SCRIPT

// ---------------------------------------------------------------------------------------------
// Blocking calls over the asynchronous backend: a batch of calls sent together (at most kInFlight
// outstanding), their replies in order.
struct Call {
  const redis::Script* script = nullptr;  // null: a native command
  std::string_view op;                    // a literal (the backend keeps it for its error messages)
  std::vector<std::string> args;          // command (name first) or ARGV
  std::vector<std::string> keys;          // the keys among args, or KEYS
};

class Batch {
 public:
  explicit Batch(RedisBackend& b) : b_(b) {}

  std::vector<Result<Reply>> run(std::vector<Call> calls) {
    std::vector<Result<Reply>> out;
    out.reserve(calls.size());
    for (std::size_t start = 0; start < calls.size(); start += kInFlight) {
      const std::size_t n = std::min(kInFlight, calls.size() - start);
      auto st = std::make_shared<State>();
      st->replies.assign(n, Result<Reply>(Status(StatusCode::kInternal, "no reply")));
      st->pending = n;
      for (std::size_t i = 0; i < n; ++i) {
        Call& c = calls[start + i];
        auto done = [st, i](Result<Reply> r) {
          std::lock_guard<std::mutex> lock(st->m);
          st->replies[i] = std::move(r);
          if (--st->pending == 0) st->cv.notify_all();
        };
        if (c.script != nullptr) {
          b_.eval(*c.script, std::move(c.keys), std::move(c.args), std::move(done));
        } else {
          b_.command_list(c.op, c.args, c.keys, std::move(done));
        }
      }
      std::unique_lock<std::mutex> lock(st->m);
      st->cv.wait(lock, [&] { return st->pending == 0; });
      for (auto& r : st->replies) out.push_back(std::move(r));
    }
    return out;
  }

  Result<Reply> one(Call c) {
    std::vector<Call> v;
    v.push_back(std::move(c));
    return std::move(run(std::move(v))[0]);
  }

 private:
  struct State {
    std::mutex m;
    std::condition_variable cv;
    std::size_t pending = 0;
    std::vector<Result<Reply>> replies;
  };
  RedisBackend& b_;
};

Call native(std::string_view op, std::vector<std::string> args, std::string key) {
  Call c;
  c.op = op;
  c.args = std::move(args);
  c.keys = {std::move(key)};
  return c;
}
Call scripted(const redis::Script& s, std::vector<std::string> keys, std::vector<std::string> args) {
  Call c;
  c.script = &s;
  c.op = s.name();
  c.keys = std::move(keys);
  c.args = std::move(args);
  return c;
}

// ---------------------------------------------------------------------------------------------

class RedisMigration final : public MigrationBackend {
 public:
  explicit RedisMigration(RedisBackend& b) : b_(b), batch_(b) {}

  std::int64_t skipped() const override { return skipped_; }

  // A page is empty only when the table is done: steps that find no row go on (so that the first
  // page tells whether a table holds rows, as the engine's emptiness check reads it).
  Result<Page> export_page(Table t, const std::string& cursor, std::size_t max_rows, Millis now) override {
    Page page;
    std::string from = cursor;
    for (std::size_t guard = 0; guard < 100'000'000; ++guard) {
      Result<Scanned> sc = scan(patterns(t), from, std::max<std::size_t>(max_rows, 1));
      if (!sc.ok()) return sc.status();
      page.next_cursor = sc->next;
      Status s = rows_of(t, sc->keys, now, cursor.empty() && guard == 0, page.rows);
      if (!s.ok()) return s;
      if (!page.rows.empty() || page.next_cursor.empty()) break;
      from = page.next_cursor;
    }
    return page;
  }

  Status rows_of(Table t, const std::vector<std::string>& keys, Millis now, bool first,
                 std::vector<Row>& rows) {
    switch (t) {
      case Table::kRefreshUsers:
        return export_gens(keys, now, false, rows);
      case Table::kRefreshClientGens:
        return export_gens(keys, now, true, rows);
      case Table::kRefreshGrants:
        return export_grants(keys, now, rows);
      case Table::kRefreshFamilies:
        return export_families(keys, now, first, rows);
      case Table::kRefreshTokens:
        return export_tokens(keys, now, rows);
      case Table::kRefreshJtis:
        return export_jtis(keys, now, rows);
      case Table::kCodes:
        return export_codes(keys, now, rows);
      case Table::kSessions:
        return export_sessions(keys, now, rows);
      case Table::kReplay:
        return export_replay(keys, now, rows);
      case Table::kClientTokens:
        return export_client_tokens(keys, now, rows);
      case Table::kPayloadGrants:
        return export_payload_grants(keys, now, rows);
      case Table::kPayloads:
        return export_payloads(keys, now, rows);
      case Table::kPayloadIndex:
        return export_payload_index(keys, now, rows);
    }
    return Status::Ok();
  }

  Status import_rows(Table t, const std::vector<Row>& rows, Millis now) override {
    std::vector<Call> calls;
    calls.reserve(rows.size());
    for (const Row& row : rows) {
      if (row.index() != static_cast<std::size_t>(t)) {
        return Status(StatusCode::kInvalidArgument, "a row of another table", "rows");
      }
      std::visit([&](const auto& r) { add_import(r, now, calls); }, row);
    }
    for (Result<Reply>& r : batch_.run(std::move(calls))) {
      if (!r.ok()) return r.status();
    }
    return Status::Ok();
  }

  // Redis cannot make authstore's own commands refuse by a marker: the scripts and native
  // commands of every process write regardless (docs/redis.md, "Migration").
  Status set_fence(bool) override { return no_fence(); }
  Result<bool> fenced() override { return no_fence(); }

 private:
  static Status no_fence() {
    return Status(StatusCode::kFailedPrecondition,
                  "a Redis store cannot fence its writers (authstore's scripts and native commands "
                  "do not consult a marker): stop the processes that write to it before migrating "
                  "(docs/operations.md, \"Moving a store\")",
                  "fence");
  }

  // --- SCAN --------------------------------------------------------------------------------
  std::vector<std::string> patterns(Table t) const {
    const bool legacy = b_.options().legacy();
    switch (t) {
      case Table::kRefreshUsers:
      case Table::kRefreshClientGens:
        return {legacy ? "r[su]:*" : "rs:*"};
      case Table::kRefreshGrants:
        return {legacy ? "r[sxg]:*" : "r[sx]:*"};
      case Table::kRefreshFamilies:
        return {"rf:*"};
      case Table::kRefreshTokens:
        return {"rt:*"};
      case Table::kRefreshJtis:
        return {"rj:*"};
      case Table::kCodes:
        return {"ac[:t]*"};  // records ac:, tombstones act:, earlier hashes ac:
      case Table::kSessions:
        return {"s[hz]:*"};
      case Table::kReplay:
        return {"jr:*"};
      case Table::kClientTokens:
        return {"ct:*"};
      case Table::kPayloadGrants:
        return {"pg:*"};
      case Table::kPayloads:
        return {"pl:*"};
      case Table::kPayloadIndex:
        return {"p[uc]:*"};
    }
    return {};
  }

  struct Scanned {
    std::vector<std::string> keys;  // unprefixed, each once
    std::string next;
  };
  // SCAN steps from `cursor` until about `want` keys were found, the walk ended, or kMaxScanSteps.
  // Standalone / Sentinel: the cursor is the server's. Cluster: every master is walked in turn,
  // the SCAN routed to it by a key of one of its slots; the cursor is "<map>/<master>/<cursor>",
  // <map> a fingerprint of the slot map (CLUSTER SLOTS), read again before and after each page: a
  // map that changed (a reshard, a failover) fails the page (kFailedPrecondition, field "cursor":
  // export the table again), since a SCAN cursor means nothing on another node.
  Result<Scanned> scan(const std::vector<std::string>& pats, const std::string& cursor, std::size_t want) {
    Scanned out;
    const bool cluster = b_.name() == "redis_cluster";
    std::optional<ClusterMap> map;
    std::size_t node = 0;
    std::string cur = "0";
    if (cluster) {
      Result<ClusterMap> m = cluster_map();
      if (!m.ok()) return m.status();
      map = std::move(m.value());
      if (!cursor.empty()) {
        const std::size_t a = cursor.find('/');
        const std::size_t b = a == std::string::npos ? a : cursor.find('/', a + 1);
        auto n = b == std::string::npos ? std::nullopt
                                        : parse_int(std::string_view(cursor).substr(a + 1, b - a - 1));
        if (!n || *n < 0)
          return Status(StatusCode::kInvalidArgument, "not a migration cursor of a Redis Cluster", "cursor");
        if (cursor.substr(0, a) != map->fingerprint ||
            static_cast<std::size_t>(*n) >= map->route_keys.size()) {
          return map_changed();
        }
        node = static_cast<std::size_t>(*n);
        cur = cursor.substr(b + 1);
      }
    } else if (!cursor.empty()) {
      cur = cursor;
    }
    if (!parse_int(cur)) return Status(StatusCode::kInvalidArgument, "not a Redis SCAN cursor", "cursor");
    std::set<std::string> seen;
    const std::size_t skip = b_.prefix().size();
    // COUNT follows the page size (10 .. 1000 slots a step): small pages walk in small steps.
    const std::size_t count = std::clamp<std::size_t>(want, 10, kScanCount);
    bool done = false;
    for (int step = 0; step < kMaxScanSteps; ++step) {
      Call c;
      c.op = "migrate_scan";
      c.args = {"SCAN", cur, "MATCH", b_.prefix() + pats[0], "COUNT", std::to_string(count)};
      if (map) c.keys = {map->route_keys[node]};  // routes the SCAN to that master
      Result<Reply> r = batch_.one(std::move(c));
      if (!r.ok()) return r.status();
      const auto& v = r->elements();
      if (!r->is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_array()) {
        return redis_reply::unexpected("migrate_scan");
      }
      for (const Reply& k : v[1].elements()) {
        if (!k.is_string() || k.str().size() <= skip) continue;
        std::string key = k.str().substr(skip);
        if (seen.insert(key).second) out.keys.push_back(std::move(key));
      }
      cur = v[0].str();
      if (cur == "0") {
        if (!map || node + 1 == map->route_keys.size()) {
          done = true;
          break;
        }
        ++node;  // the next master, from its start
      }
      if (out.keys.size() >= want) break;
    }
    if (map) {
      Result<ClusterMap> after = cluster_map();
      if (!after.ok()) return after.status();
      if (after->fingerprint != map->fingerprint) return map_changed();
      out.next = done ? "" : map->fingerprint + "/" + std::to_string(node) + "/" + cur;
    } else {
      out.next = done ? "" : cur;
    }
    return out;
  }

  struct ClusterMap {
    std::vector<std::string> route_keys;  // per master (ordered by its lowest slot): a key of its slots
    std::string fingerprint;              // of every range and its master's id
  };
  static Status map_changed() {
    return Status(StatusCode::kFailedPrecondition,
                  "the Redis Cluster's slot map changed during the export (a reshard or a failover): "
                  "export this table again from the start",
                  "cursor");
  }
  // CLUSTER SLOTS (any master): ranges [start, end, [host, port, id], replicas...].
  Result<ClusterMap> cluster_map() {
    Call c;
    c.op = "migrate_cluster_slots";
    c.args = {"CLUSTER", "SLOTS"};
    Result<Reply> r = batch_.one(std::move(c));
    if (!r.ok()) return r.status();
    if (!r->is_array()) return redis_reply::unexpected("migrate_cluster_slots");
    std::map<std::int64_t, std::pair<std::int64_t, std::string>> ranges;  // start -> end, master id
    for (const Reply& range : r->elements()) {
      const auto& e = range.elements();
      if (!range.is_array() || e.size() < 3 || !e[0].is_integer() || !e[1].is_integer() || !e[2].is_array() ||
          e[2].elements().size() < 3 || !e[2].elements()[2].is_string()) {
        return redis_reply::unexpected("migrate_cluster_slots");
      }
      ranges[e[0].integer()] = {e[1].integer(), e[2].elements()[2].str()};
    }
    ClusterMap m;
    std::set<std::string> masters;
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
    for (const auto& [start, v] : ranges) {
      for (char ch : std::to_string(start) + "-" + std::to_string(v.first) + "-" + v.second + ";") {
        h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
      }
      if (!masters.insert(v.second).second) continue;
      // A key of this master's first slot (CRC16 of the whole key: no braces).
      std::string key;
      for (int n = 0; n < 1'000'000 && key.empty(); ++n) {
        std::string k = "authstore-migration-scan-" + std::to_string(n);
        if (redis_key_slot(k) == start) key = std::move(k);
      }
      if (key.empty()) return redis_reply::unexpected("migrate_cluster_slots");
      m.route_keys.push_back(std::move(key));
    }
    if (m.route_keys.empty())
      return Status(StatusCode::kUnavailable, "redis cluster: no slot is served", "cluster");
    m.fingerprint = std::to_string(h);
    return m;
  }

  std::vector<Result<Reply>> read_all(const std::vector<std::string>& keys,
                                      const std::vector<std::string>& cmd_and_fields, std::string_view op) {
    std::vector<Call> calls;
    calls.reserve(keys.size());
    for (const auto& k : keys) {
      std::vector<std::string> args = {cmd_and_fields[0], b_.key(k)};
      args.insert(args.end(), cmd_and_fields.begin() + 1, cmd_and_fields.end());
      calls.push_back(native(op, std::move(args), b_.key(k)));
    }
    return batch_.run(std::move(calls));
  }
  // PTTL of each key, as an absolute store-clock time (now + remaining, rounded up to the minute;
  // kNever without a TTL, nullopt for a key gone meanwhile).
  Result<std::vector<std::optional<Millis>>> until_of(const std::vector<std::string>& keys, Millis now) {
    auto replies = read_all(keys, {"PTTL"}, "migrate_pttl");
    std::vector<std::optional<Millis>> out;
    for (auto& r : replies) {
      if (!r.ok()) return r.status();
      auto v = int_of(r.value());
      if (!v) return redis_reply::unexpected("migrate_pttl");
      if (*v == -1) {
        out.emplace_back(kNever);
      } else if (*v < 0) {
        out.emplace_back(std::nullopt);
      } else {
        // Rounded up to the minute: the key's TTL, read twice, gives the same time (a verify compares
        // the target's against a second export of the source), and a revocation is remembered a
        // little longer, never shorter.
        constexpr Millis kGrain = 60'000;
        const Millis at = now + *v;
        out.emplace_back(at > kMaxTtlAt ? at : (at + kGrain - 1) / kGrain * kGrain);
      }
    }
    return out;
  }
  // The fields of an HMGET reply (nil -> nullopt); empty when the reply is not an array.
  static std::vector<std::optional<std::string>> fields(const Reply& r) {
    std::vector<std::optional<std::string>> out;
    if (!r.is_array()) return out;
    for (const Reply& e : r.elements()) {
      if (e.is_string()) {
        out.emplace_back(e.str());
      } else {
        out.emplace_back(std::nullopt);
      }
    }
    return out;
  }
  void skip() { ++skipped_; }

  // Settles a batch of reads: a WRONGTYPE / corrupt reply is a skipped entry (counted; the caller
  // then passes over it); any other failure ends the page.
  Status settle(const std::vector<Result<Reply>>& replies) {
    for (const auto& r : replies) {
      if (r.ok()) continue;
      if (r.status().code() != StatusCode::kDataLoss) return r.status();
      skip();
    }
    return Status::Ok();
  }

  // --- generations and logouts (rs: hash; legacy ru:) ----------------------------------------
  // A generation as the scripts read it: missing = 0, garbled = revoked (exported as `now`).
  std::int64_t gen_value(const std::optional<std::string>& v, Millis now, bool& garbled) {
    if (!v) return 0;
    auto g = parse_int(*v);
    if (!g || v->size() > 15 || *g < 0) {
      garbled = true;
      return now;
    }
    return *g;
  }

  Status export_gens(const std::vector<std::string>& keys, Millis now, bool clients, std::vector<Row>& rows) {
    auto all = read_all(keys, {"HGETALL"}, "migrate_gens");
    if (Status st = settle(all); !st.ok()) return st;
    auto untils = until_of(keys, now);
    if (!untils.ok()) return untils.status();
    struct Pending {
      std::string route, sub, cli, other_key, other_field;
      std::optional<std::string> value;
      Millis until;
    };
    std::vector<Pending> found;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!all[i].ok()) continue;  // skipped (settled)
      if (!(*untils)[i]) continue;
      const std::string& k = keys[i];
      const bool legacy_key = k.starts_with("ru:");
      const std::string route = tag_at(std::string_view(k).substr(3));
      if (route.empty()) {
        skip();
        continue;
      }
      const auto& e = all[i]->elements();
      for (std::size_t j = 0; j + 1 < e.size(); j += 2) {
        const std::string& f = e[j].str();
        Pending p;
        p.route = route;
        p.value = e[j + 1].str();
        p.until = *(*untils)[i];
        if (legacy_key) {
          if (k.size() < 3 + route.size() + 2) break;
          p.sub = k.substr(3 + route.size() + 1);
          if (!clients && f == "g") {
            p.other_key = "rs:" + route;
            p.other_field = "g:" + p.sub;
          } else if (clients && f.starts_with("c:")) {
            p.cli = f.substr(2);
            p.other_key = "rs:" + route;
            p.other_field = "c:" + p.sub + ":" + p.cli;
          } else {
            continue;
          }
        } else {
          if (!clients && f.starts_with("g:")) {
            p.sub = f.substr(2);
            p.other_field = "g";
          } else if (clients && f.starts_with("c:")) {
            const std::size_t c = f.find(':', 2);
            if (c == std::string::npos) {
              skip();
              continue;
            }
            p.sub = f.substr(2, c - 2);
            p.cli = f.substr(c + 1);
            p.other_field = "c:" + p.cli;
          } else {
            continue;
          }
          if (b_.options().legacy()) p.other_key = "ru:" + route + ":" + p.sub;
        }
        found.push_back(std::move(p));
      }
    }
    // Legacy layout: a generation is the higher of its two places (common.lua user_gens).
    std::vector<Call> calls;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < found.size(); ++i) {
      if (found[i].other_key.empty()) continue;
      const std::string k = b_.key(found[i].other_key);
      calls.push_back(native("migrate_gens_other", {"HGET", k, found[i].other_field}, k));
      which.push_back(i);
    }
    auto others = batch_.run(std::move(calls));
    std::vector<std::optional<std::string>> other_values(found.size());
    for (std::size_t j = 0; j < which.size(); ++j) {
      if (!others[j].ok()) {
        if (others[j].status().code() != StatusCode::kDataLoss) return others[j].status();
        other_values[which[j]] = "garbled";  // another type at the key: read as garbled
      } else if (others[j]->is_string()) {
        other_values[which[j]] = others[j]->str();
      }
    }
    for (std::size_t i = 0; i < found.size(); ++i) {
      Pending& p = found[i];
      bool garbled = false;
      std::int64_t g = std::max(gen_value(p.value, now, garbled), gen_value(other_values[i], now, garbled));
      if (garbled) skip();
      // A generation of 0 is what a missing one reads as (refresh_issue and jti_store create it so,
      // to keep the key's TTL): no row, as on SQLite, which writes one only at a revocation.
      if (g == 0) continue;
      if (clients) {
        rows.emplace_back(ClientGenRow{p.route, p.sub, p.cli, g, p.until});
      } else {
        rows.emplace_back(UserRow{p.route, p.sub, g, p.until});
      }
    }
    return Status::Ok();
  }

  // --- revoked grants (rx:, legacy rg:) and logouts (rs: fields a:) --------------------------
  Status export_grants(const std::vector<std::string>& keys, Millis now, std::vector<Row>& rows) {
    std::vector<std::string> hashes, zsets;
    for (const auto& k : keys) (k.starts_with("rs:") ? hashes : zsets).push_back(k);
    auto h = read_all(hashes, {"HGETALL"}, "migrate_logouts");
    if (Status st = settle(h); !st.ok()) return st;
    auto untils = until_of(hashes, now);
    if (!untils.ok()) return untils.status();
    for (std::size_t i = 0; i < hashes.size(); ++i) {
      if (!h[i].ok()) continue;  // skipped (settled)
      if (!(*untils)[i]) continue;
      const std::string route = tag_at(std::string_view(hashes[i]).substr(3));
      if (route.empty()) {
        skip();
        continue;
      }
      const auto& e = h[i]->elements();
      for (std::size_t j = 0; j + 1 < e.size(); j += 2) {
        const std::string& f = e[j].str();
        if (!f.starts_with("a:")) continue;
        // A garbled time counts as a logout at any time (refresh_grant_live): the latest one.
        const std::string& v = e[j + 1].str();
        auto t = v.size() <= 16 ? parse_int(v) : std::nullopt;
        if (!t) skip();
        const Millis at = t ? *t : kNever;
        const std::size_t c = f.find(':', 2);
        if (c == std::string::npos) {
          rows.emplace_back(GrantRow{route, f.substr(2), logout_key(nullptr, at), *(*untils)[i]});
        } else {
          const std::string cli = f.substr(c + 1);
          rows.emplace_back(GrantRow{route, f.substr(2, c - 2), logout_key(&cli, at), *(*untils)[i]});
        }
      }
    }
    auto z = read_all(zsets, {"ZRANGE", "0", "-1", "WITHSCORES"}, "migrate_grants");
    if (Status st = settle(z); !st.ok()) return st;
    for (std::size_t i = 0; i < zsets.size(); ++i) {
      if (!z[i].ok()) continue;  // skipped (settled)
      const std::string& k = zsets[i];
      const std::string route = tag_at(std::string_view(k).substr(3));
      if (route.empty()) {
        skip();
        continue;
      }
      const bool legacy_key = k.starts_with("rg:");
      const auto& e = z[i]->elements();
      for (std::size_t j = 0; j + 1 < e.size(); j += 2) {
        const std::string& m = e[j].str();
        // Scores are integers the scripts wrote (decimal, possibly in exponent form above 2^53).
        double score = 0;
        try {
          score = std::stod(e[j + 1].str());
        } catch (...) {
          skip();
          continue;
        }
        const Millis until = score >= 9.2e18 ? kNever : static_cast<Millis>(score);
        if (until <= now) continue;
        if (legacy_key) {
          if (k.size() < 3 + route.size() + 2) break;
          rows.emplace_back(GrantRow{route, k.substr(3 + route.size() + 1), m, until});
        } else {
          const std::size_t c = m.find(':');
          if (c == std::string::npos) {
            skip();
            continue;
          }
          rows.emplace_back(GrantRow{route, m.substr(0, c), m.substr(c + 1), until});
        }
      }
    }
    return Status::Ok();
  }

  // --- refresh families and tokens ------------------------------------------------------------
  struct Family {
    std::string rec, sub, cli, gra, st, cur;
    std::int64_t gen = 0, cg = 0, ca = 0, lu = 0, it = 0, ie = 0, ea = 0, rot = 0;
  };
  static std::optional<Family> parse_family(const std::vector<std::optional<std::string>>& v) {
    if (v.size() != 14 || !v[0]) return std::nullopt;
    for (const auto& x : v) {
      if (!x) return std::nullopt;
    }
    Family f;
    f.rec = *v[0];
    f.sub = *v[1];
    f.cli = *v[2];
    f.gra = *v[3];
    f.st = *v[6];
    f.cur = *v[7];
    std::int64_t* ints[] = {&f.gen, &f.cg, nullptr, nullptr, &f.ca, &f.lu, &f.it, &f.ie, &f.ea, &f.rot};
    const std::size_t idx[] = {4, 5, 0, 0, 8, 9, 10, 11, 12, 13};
    for (std::size_t i = 0; i < 10; ++i) {
      if (ints[i] == nullptr) continue;
      auto n = v[idx[i]]->size() <= 16 ? parse_int(*v[idx[i]]) : std::nullopt;
      if (!n) return std::nullopt;
      *ints[i] = *n;
    }
    if (f.st != "a" && f.st != "r" && f.st != "e") return std::nullopt;
    return f;
  }
  static std::vector<std::string> family_fields() {
    return {"HMGET", "rec", "sub", "cli", "gra", "gen", "cg", "st",
            "cur",   "ca",  "lu",  "it",  "ie",  "ea",  "rot"};
  }

  // The tokens spent by being presented (s 1) of the whole store, by (family, successor n): a
  // family's candidates are those whose successor is its current token ('' once it ended: the token
  // that consumed it). One walk of every rt: key, once per export of the families (a family does
  // not name the token whose rotation made its current one).
  Status build_candidates() {
    candidates_.clear();
    std::string cursor;
    for (int guard = 0; guard < 1'000'000; ++guard) {
      Result<Scanned> sc = scan({"rt:*"}, cursor, kScanCount);
      if (!sc.ok()) return sc.status();
      auto replies = read_all(sc->keys, {"HMGET", "f", "s", "sa", "n"}, "migrate_token_state");
      for (std::size_t i = 0; i < sc->keys.size(); ++i) {
        if (!replies[i].ok()) {
          if (replies[i].status().code() == StatusCode::kDataLoss) continue;
          return replies[i].status();
        }
        auto v = fields(replies[i].value());
        if (v.size() != 4 || !v[0] || !v[1] || *v[1] != "1" || !v[2]) continue;
        auto sa = parse_int(*v[2]);
        if (!sa) continue;
        candidates_[*v[0] + '\n' + v[3].value_or("")].push_back(Candidate{sc->keys[i], *v[0], *sa});
      }
      cursor = sc->next;
      if (cursor.empty()) break;
    }
    candidates_built_ = true;
    return Status::Ok();
  }

  Status export_families(const std::vector<std::string>& keys, Millis now, bool first_page,
                         std::vector<Row>& rows) {
    if (first_page || !candidates_built_) {
      if (Status s = build_candidates(); !s.ok()) return s;
    }
    auto replies = read_all(keys, family_fields(), "migrate_families");
    if (Status st = settle(replies); !st.ok()) return st;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!replies[i].ok()) continue;  // skipped (settled)
      auto v = fields(replies[i].value());
      if (v.empty() || !v[0]) continue;  // gone meanwhile
      std::optional<Family> f = parse_family(v);
      const std::string route = tag_at(std::string_view(keys[i]).substr(3));
      if (!f || route.empty()) {
        skip();
        continue;
      }
      if (!(now < f->ea && now < f->ie)) continue;
      FamilyRow row;
      row.family_key = keys[i];
      row.route = route;
      row.subject_key = f->sub;
      row.client_key = f->cli;
      row.grant_key = f->gra;
      row.record = f->rec;
      row.user_gen = f->gen;
      row.client_gen = f->cg;
      row.state = f->st == "a" ? 0 : f->st == "e" ? 1 : 2;
      row.current_token = f->cur;
      // The grace candidates (refresh_rotate: spent by being presented, successor the current
      // token; once ended: the token that consumed it). As SQLite keeps them: spent by the last
      // rotation (spent_at = last_used_at) -> prev_token; spent before it, re-rotated by a grace
      // retry -> grace_token. (SQLite decides on both alike; the columns only keep rows equal.)
      if (auto it = candidates_.find(keys[i] + '\n' + f->cur); it != candidates_.end()) {
        for (const Candidate& c : it->second) {
          if (c.spent_at == f->lu && row.prev_token.empty()) {
            row.prev_token = c.token;
            row.prev_spent_at = c.spent_at;
          } else if (row.grace_token.empty()) {
            row.grace_token = c.token;
            row.grace_spent_at = c.spent_at;
          }
        }
      }
      row.created_at = f->ca;
      row.last_used_at = f->lu;
      row.idle_ttl = f->it;
      row.idle_expires_at = f->ie;
      row.expires_at = f->ea;
      row.rotations = f->rot;
      rows.emplace_back(std::move(row));
    }
    return Status::Ok();
  }

  Status export_tokens(const std::vector<std::string>& keys, Millis now, std::vector<Row>& rows) {
    auto replies = read_all(keys, {"HGET", "f"}, "migrate_tokens");
    if (Status st = settle(replies); !st.ok()) return st;
    std::vector<std::string> families;
    std::vector<std::optional<std::string>> fam_of(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!replies[i].ok()) continue;  // skipped (settled)
      if (!replies[i]->is_string()) continue;
      fam_of[i] = replies[i]->str();
      families.push_back(replies[i]->str());
    }
    std::sort(families.begin(), families.end());
    families.erase(std::unique(families.begin(), families.end()), families.end());
    auto fr = read_all(families, {"HMGET", "ea", "ie"}, "migrate_token_family");
    std::map<std::string, Millis> ends;  // unexpired families -> expires_at
    for (std::size_t i = 0; i < families.size(); ++i) {
      if (!fr[i].ok()) {
        if (fr[i].status().code() == StatusCode::kDataLoss) continue;
        return fr[i].status();
      }
      auto v = fields(fr[i].value());
      if (v.size() != 2 || !v[0] || !v[1]) continue;
      auto ea = parse_int(*v[0]);
      auto ie = parse_int(*v[1]);
      if (!ea || !ie || !(now < *ea && now < *ie)) continue;
      ends[families[i]] = *ea;
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!fam_of[i]) continue;
      auto it = ends.find(*fam_of[i]);
      if (it == ends.end()) continue;
      rows.emplace_back(TokenRow{keys[i], *fam_of[i], it->second});
    }
    return Status::Ok();
  }

  Status export_jtis(const std::vector<std::string>& keys, Millis now, std::vector<Row>& rows) {
    auto replies = read_all(keys, {"HMGET", "rec", "sub", "cli", "gen", "cg", "c", "e"}, "migrate_jtis");
    if (Status st = settle(replies); !st.ok()) return st;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!replies[i].ok()) continue;  // skipped (settled)
      auto v = fields(replies[i].value());
      if (v.size() != 7 || !v[0]) continue;
      const std::string route = tag_at(std::string_view(keys[i]).substr(3));
      bool ok = !route.empty();
      for (const auto& x : v) ok = ok && x.has_value();
      auto gen = ok ? parse_int(*v[3]) : std::nullopt;
      auto cg = ok ? parse_int(*v[4]) : std::nullopt;
      auto e = ok ? parse_int(*v[6]) : std::nullopt;
      if (!gen || !cg || !e || (*v[5] != "0" && *v[5] != "1")) {
        skip();
        continue;
      }
      if (*e <= now) continue;
      rows.emplace_back(JtiRow{route, *v[1], keys[i], *v[2], *v[0], *gen, *cg, *v[5] == "1", *e});
    }
    return Status::Ok();
  }

  // The TYPE of each key ("" when the read failed: settled, counted).
  std::vector<std::string> types(const std::vector<std::string>& keys, Status& err) {
    auto replies = read_all(keys, {"TYPE"}, "migrate_type");
    std::vector<std::string> out(keys.size());
    if (Status st = settle(replies); !st.ok()) {
      err = st;
      return out;
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (replies[i].ok() && replies[i]->is_string()) out[i] = replies[i]->str();
    }
    return out;
  }
  // "<expires_at>:<blob>" (expires_at > 0, at most 19 digits), as the native layout's reads parse it.
  static std::optional<std::pair<Millis, std::string>> expiry_value(const std::string& v) {
    const std::size_t colon = v.find(':');
    if (colon == std::string::npos || colon == 0 || colon > 19) return std::nullopt;
    auto e = parse_int(std::string_view(v).substr(0, colon));
    if (!e || *e <= 0) return std::nullopt;
    return std::make_pair(*e, v.substr(colon + 1));
  }

  // --- codes (docs/redis.md, "Codes": P ac:{R}:<h> "<e>:<record>" until consumed, P act:{R}:<h>
  // "<e>:<tombstone>"; or a hash {e, c, r, t} of the earlier layout at P ac:{R}:<h>) ----------------
  static std::string code_tomb_key(const std::string& key) {
    return key.starts_with("ac:") ? "act:" + key.substr(3) : key + ":t";
  }
  Status export_codes(const std::vector<std::string>& found, Millis now, std::vector<Row>& rows) {
    // The codes named by the keys found (a record or a tombstone; a consumed code has only the latter).
    std::vector<std::string> keys;
    for (const auto& k : found) keys.push_back(k.starts_with("act:") ? "ac:" + k.substr(4) : k);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    Status err;
    std::vector<std::string> type = types(keys, err);
    if (!err.ok()) return err;
    std::vector<std::string> tombs;
    for (const auto& k : keys) tombs.push_back(code_tomb_key(k));
    auto tomb = read_all(tombs, {"GET"}, "migrate_code_tombstones");
    if (Status st = settle(tomb); !st.ok()) return st;
    std::vector<std::string> strings, hashes;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (type[i] == "string") strings.push_back(keys[i]);
      if (type[i] == "hash") hashes.push_back(keys[i]);
    }
    auto recs = read_all(strings, {"GET"}, "migrate_codes");
    if (Status st = settle(recs); !st.ok()) return st;
    auto olds = read_all(hashes, {"HMGET", "e", "c", "r", "t"}, "migrate_codes_earlier");
    if (Status st = settle(olds); !st.ok()) return st;
    std::size_t si = 0, hi = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (type[i] == "hash") {
        const Result<Reply>& r = olds[hi++];
        if (!r.ok()) continue;  // skipped (settled)
        auto v = fields(r.value());
        if (v.size() != 4 || !v[0]) continue;
        auto e = parse_int(*v[0]);
        const bool consumed = v[1] && *v[1] == "1";
        if (!e || !v[1] || (*v[1] != "0" && *v[1] != "1") || !v[3] || (!consumed && !v[2])) {
          skip();
          continue;
        }
        if (*e <= now) continue;
        rows.emplace_back(CodeRow{keys[i], consumed, consumed ? std::string() : *v[2], *v[3], *e});
        continue;
      }
      std::optional<std::string> record;
      if (type[i] == "string") {
        const Result<Reply>& r = recs[si++];
        if (!r.ok()) continue;  // skipped (settled)
        if (r->is_string()) record = r->str();
      } else if (!type[i].empty() && type[i] != "none") {
        skip();  // another type at the code's key
        continue;
      }
      if (!tomb[i].ok() || (!tomb[i]->is_string() && !record)) continue;  // settled, or gone
      auto t = tomb[i]->is_string() ? expiry_value(tomb[i]->str()) : std::nullopt;
      auto rec = record ? expiry_value(*record) : std::nullopt;
      if (!t || (record && !rec)) {
        skip();
        continue;
      }
      if (t->first <= now) continue;
      rows.emplace_back(CodeRow{keys[i], !record, rec ? rec->second : std::string(), t->second, t->first});
    }
    return Status::Ok();
  }
  void add_import(const CodeRow& r, Millis now, std::vector<Call>& calls) {
    if (r.expires_at <= now) return;
    const std::string e = std::to_string(r.expires_at);
    calls.push_back(scripted(script_code(), {b_.key(r.key), b_.key(code_tomb_key(r.key))},
                             {std::to_string(now), r.consumed ? std::string() : e + ":" + r.record,
                              e + ":" + r.tombstone, ttl_for(r.expires_at, now)}));
  }

  // --- replay reservations (P jr:<h> "<kept_until>:<owner>"; a hash {u, o} of the earlier layout) --
  Status export_replay(const std::vector<std::string>& keys, Millis now, std::vector<Row>& rows) {
    Status err;
    std::vector<std::string> type = types(keys, err);
    if (!err.ok()) return err;
    std::vector<std::string> strings, hashes;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (type[i] == "string") strings.push_back(keys[i]);
      if (type[i] == "hash") hashes.push_back(keys[i]);
      if (!type[i].empty() && type[i] != "string" && type[i] != "hash" && type[i] != "none") skip();
    }
    auto natives = read_all(strings, {"GET"}, "migrate_replay");
    if (Status st = settle(natives); !st.ok()) return st;
    for (std::size_t i = 0; i < strings.size(); ++i) {
      if (!natives[i].ok() || !natives[i]->is_string()) continue;
      auto v = expiry_value(natives[i]->str());
      if (!v || v->second.empty()) {
        skip();
        continue;
      }
      if (v->first <= now) continue;
      rows.emplace_back(ReplayRow{strings[i], v->second, v->first});
    }
    auto olds = read_all(hashes, {"HMGET", "u", "o"}, "migrate_replay_earlier");
    if (Status st = settle(olds); !st.ok()) return st;
    for (std::size_t i = 0; i < hashes.size(); ++i) {
      if (!olds[i].ok()) continue;  // skipped (settled)
      auto v = fields(olds[i].value());
      if (v.size() != 2 || (!v[0] && !v[1])) continue;
      auto u = v[0] ? parse_int(*v[0]) : std::nullopt;
      if (!u || !v[1]) {
        skip();
        continue;
      }
      if (*u <= now) continue;
      rows.emplace_back(ReplayRow{hashes[i], *v[1], *u});
    }
    return Status::Ok();
  }
  // One native SET (replacing a reservation of either layout).
  void add_import(const ReplayRow& r, Millis now, std::vector<Call>& calls) {
    if (r.kept_until <= now) return;
    const std::string k = b_.key(r.key);
    calls.push_back(native(
        "migrate_replay",
        {"SET", k, std::to_string(r.kept_until) + ":" + r.owner, "PX", ttl_for(r.kept_until, now)}, k));
  }

  // --- sessions (sh: hash, sx: live index, sz: tombstones) --------------------------------------
  Status export_sessions(const std::vector<std::string>& keys, Millis now, std::vector<Row>& rows) {
    std::vector<std::string> hashes, tombs;
    for (const auto& k : keys) (k.starts_with("sh:") ? hashes : tombs).push_back(k);
    auto h = read_all(hashes, {"HGETALL"}, "migrate_sessions");
    if (Status st = settle(h); !st.ok()) return st;
    for (std::size_t i = 0; i < hashes.size(); ++i) {
      if (!h[i].ok()) continue;  // skipped (settled)
      const std::string_view rest = std::string_view(hashes[i]).substr(3);
      const std::string route = tag_at(rest);
      if (route.empty() || rest.size() < route.size() + 2) {
        skip();
        continue;
      }
      const std::string bucket(rest.substr(route.size() + 1));
      const auto& e = h[i]->elements();
      for (std::size_t j = 0; j + 1 < e.size(); j += 2) {
        const std::string& v = e[j + 1].str();
        const std::size_t a = v.find(':');
        const std::size_t c = a == std::string::npos ? a : v.find(':', a + 1);
        auto lock = c == std::string::npos ? std::nullopt : parse_int(std::string_view(v).substr(0, a));
        auto exp =
            c == std::string::npos ? std::nullopt : parse_int(std::string_view(v).substr(a + 1, c - a - 1));
        if (!lock || !exp) {
          skip();
          continue;
        }
        if (*exp <= now) continue;
        rows.emplace_back(SessionRow{route, bucket, e[j].str(), v.substr(c + 1), *lock, false, *exp});
      }
    }
    auto z = read_all(tombs, {"ZRANGE", "0", "-1", "WITHSCORES"}, "migrate_tombstones");
    if (Status st = settle(z); !st.ok()) return st;
    for (std::size_t i = 0; i < tombs.size(); ++i) {
      if (!z[i].ok()) continue;  // skipped (settled)
      const std::string_view rest = std::string_view(tombs[i]).substr(3);
      const std::string route = tag_at(rest);
      if (route.empty() || rest.size() < route.size() + 2) {
        skip();
        continue;
      }
      const std::string bucket(rest.substr(route.size() + 1));
      const auto& e = z[i]->elements();
      for (std::size_t j = 0; j + 1 < e.size(); j += 2) {
        auto exp = parse_int(e[j + 1].str());
        if (!exp) {
          skip();
          continue;
        }
        if (*exp <= now) continue;
        rows.emplace_back(SessionRow{route, bucket, e[j].str(), std::string(), 0, true, *exp});
      }
    }
    return Status::Ok();
  }

  // --- client tokens (ct: strings "<expires_at>:<blob>"; generic ones under ct:{g}:) -----------
  Status export_client_tokens(const std::vector<std::string>& keys, Millis now, std::vector<Row>& rows) {
    // Generic tokens of the layout before the index (P ct:g:<k>) are what a process reads only
    // until the first generic operation moved them (P ctv:{g} set); once moved, they are hidden.
    if (!moved_known_) {
      const std::string k = b_.key("ctv:{g}");
      Result<Reply> r = batch_.one(native("migrate_ctv", {"EXISTS", k}, k));
      if (!r.ok()) return r.status();
      auto n = int_of(r.value());
      moved_ = n && *n == 1;
      moved_known_ = true;
    }
    auto replies = read_all(keys, {"GET"}, "migrate_client_tokens");
    if (Status st = settle(replies); !st.ok()) return st;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!replies[i].ok()) continue;  // skipped (settled)
      if (!replies[i]->is_string()) continue;
      std::string key = keys[i];
      if (key.starts_with("ct:{g}:")) {
        key = "ct:g:" + key.substr(7);
      } else if (key.starts_with("ct:g:") && moved_) {
        continue;
      }
      const std::string& v = replies[i]->str();
      const std::size_t c = v.find(':');
      auto e = c == std::string::npos ? std::nullopt : parse_int(std::string_view(v).substr(0, c));
      if (!e || *e < 0) {
        skip();
        continue;
      }
      const Millis at = *e == 0 ? kNever : *e;
      if (at <= now) continue;
      rows.emplace_back(ClientTokenRow{key, v.substr(c + 1), at});
    }
    return Status::Ok();
  }
  void add_import(const ClientTokenRow& r, Millis now, std::vector<Call>& calls) {
    if (r.expires_at <= now) return;
    const bool never = r.expires_at == kNever;
    const std::string value = (never ? std::string("0") : std::to_string(r.expires_at)) + ":" + r.blob;
    const std::string ttl = never ? std::string() : ttl_for(r.expires_at, now);
    if (r.key.starts_with("ct:g:")) {
      const std::string k = b_.prefix() + "ct:{g}:" + r.key.substr(5);
      // Score of "never" as token_common.lua's NEVER (2^53 - 1).
      const std::string score = never ? std::string("9007199254740991") : std::to_string(r.expires_at);
      calls.push_back(scripted(script_generic_token(), {b_.key("cti:{g}"), b_.key("cte:{g}"), k},
                               {std::to_string(now), r.key, value, score, ttl}));
      return;
    }
    const std::string k = b_.key(r.key);
    std::vector<std::string> args = {"SET", k, value};
    if (!never) args.insert(args.end(), {"PX", ttl});
    calls.push_back(native("migrate_client_token", std::move(args), k));
  }

  // --- payloads (pl: hash e c r g; pu: / pc: pointers; pg: revoked-until) -----------------------
  Status export_payloads(const std::vector<std::string>& keys, Millis now, std::vector<Row>& rows) {
    auto replies = read_all(keys, {"HMGET", "e", "c", "r", "g"}, "migrate_payloads");
    if (Status st = settle(replies); !st.ok()) return st;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!replies[i].ok()) continue;  // skipped (settled)
      auto v = fields(replies[i].value());
      if (v.size() != 4 || (!v[0] && !v[1] && !v[2] && !v[3])) continue;
      auto e = v[0] ? parse_int(*v[0]) : std::nullopt;
      auto c = v[1] ? parse_int(*v[1]) : std::nullopt;
      if (!e || !c || !v[2] || !v[3]) {
        skip();
        continue;
      }
      if (*e <= now) continue;
      rows.emplace_back(PayloadRow{keys[i], *v[2], *v[3], *c, *e});
    }
    return Status::Ok();
  }
  Status export_payload_grants(const std::vector<std::string>& keys, Millis now, std::vector<Row>& rows) {
    auto replies = read_all(keys, {"GET"}, "migrate_payload_grants");
    if (Status st = settle(replies); !st.ok()) return st;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!replies[i].ok()) continue;  // skipped (settled)
      if (!replies[i]->is_string()) continue;
      // A garbled value reads as revoked (redis_payloads.cc): exported as revoked for ever.
      auto u = parse_int(replies[i]->str());
      if (!u) skip();
      const Millis until = u ? *u : kNever;
      if (until <= now) continue;
      rows.emplace_back(PayloadGrantRow{keys[i], until});
    }
    return Status::Ok();
  }
  // A pointer whose payload is gone or expired finds nothing on Redis; it is not exported. Its
  // expiry is its payload's (the pointer's TTL was set from it).
  Status export_payload_index(const std::vector<std::string>& keys, Millis now, std::vector<Row>& rows) {
    auto replies = read_all(keys, {"GET"}, "migrate_payload_index");
    if (Status st = settle(replies); !st.ok()) return st;
    std::vector<std::string> targets;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!replies[i].ok()) continue;  // skipped (settled)
      if (!replies[i]->is_string()) continue;
      targets.push_back(replies[i]->str());
      which.push_back(i);
    }
    auto te = read_all(targets, {"HGET", "e"}, "migrate_payload_target");
    for (std::size_t j = 0; j < targets.size(); ++j) {
      if (!te[j].ok()) {
        if (te[j].status().code() == StatusCode::kDataLoss) continue;
        return te[j].status();
      }
      if (!te[j]->is_string()) continue;
      auto e = parse_int(te[j]->str());
      if (!e || *e <= now) continue;
      rows.emplace_back(PayloadIndexRow{keys[which[j]], targets[j], *e});
    }
    return Status::Ok();
  }
  void add_import(const PayloadRow& r, Millis now, std::vector<Call>& calls) {
    if (r.expires_at <= now) return;
    calls.push_back(
        scripted(script_payload(), {b_.key(r.key)},
                 {std::to_string(now), std::to_string(r.expires_at), std::to_string(r.consumed_at), r.record,
                  r.grant_key, ttl_for(r.expires_at, now)}));
  }
  void add_import(const PayloadIndexRow& r, Millis now, std::vector<Call>& calls) {
    if (r.expires_at <= now) return;
    const std::string k = b_.key(r.key);
    calls.push_back(
        native("migrate_payload_index", {"SET", k, r.target, "PX", ttl_for(r.expires_at, now)}, k));
  }
  void add_import(const PayloadGrantRow& r, Millis now, std::vector<Call>& calls) {
    if (r.until <= now) return;
    const std::string k = b_.key(r.grant_key);
    calls.push_back(
        native("migrate_payload_grant", {"SET", k, std::to_string(r.until), "PX", ttl_for(r.until, now)}, k));
  }

  // --- refresh imports ---------------------------------------------------------------------------
  std::string gens_key(const std::string& route) const { return b_.key("rs:" + route); }
  std::string legacy_user(const std::string& route, const std::string& sub) const {
    return b_.key("ru:" + route + ":" + sub);
  }

  void add_import(const UserRow& r, Millis now, std::vector<Call>& calls) {
    if (r.expires_at <= now) return;
    std::vector<std::string> keys = {gens_key(r.route)};
    if (b_.options().legacy()) keys.push_back(legacy_user(r.route, r.subject_key));
    calls.push_back(scripted(
        script_gen(), std::move(keys),
        {std::to_string(now), "g:" + r.subject_key, std::to_string(r.gen), ttl_for(r.expires_at, now), "g"}));
  }
  void add_import(const ClientGenRow& r, Millis now, std::vector<Call>& calls) {
    if (r.expires_at <= now) return;
    std::vector<std::string> keys = {gens_key(r.route)};
    if (b_.options().legacy()) keys.push_back(legacy_user(r.route, r.subject_key));
    calls.push_back(scripted(script_gen(), std::move(keys),
                             {std::to_string(now), "c:" + r.subject_key + ":" + r.client_key,
                              std::to_string(r.gen), ttl_for(r.expires_at, now), "c:" + r.client_key}));
  }
  void add_import(const GrantRow& r, Millis now, std::vector<Call>& calls) {
    if (r.until <= now) return;
    const std::string& g = r.grant_key;
    // Logouts (SQLite's keys, migration.h): Redis keeps the latest per user / client.
    if (g.size() == 9 && g[0] == '\x00') {
      calls.push_back(
          scripted(script_logout(), {gens_key(r.route)},
                   {std::to_string(now), "a:" + r.subject_key,
                    std::to_string(time_of(std::string_view(g).substr(1))), ttl_for(r.until, now)}));
      return;
    }
    if (g.size() > 9 && g[0] == '\x01') {
      const std::string cli = g.substr(1, g.size() - 9);
      calls.push_back(scripted(
          script_logout(), {gens_key(r.route)},
          {std::to_string(now), "a:" + r.subject_key + ":" + cli,
           std::to_string(time_of(std::string_view(g).substr(g.size() - 8))), ttl_for(r.until, now)}));
      return;
    }
    std::vector<std::string> keys = {b_.key("rx:" + r.route)};
    if (b_.options().legacy()) keys.push_back(b_.key("rg:" + r.route + ":" + r.subject_key));
    const std::string until = r.until == kNever ? std::string("+inf") : std::to_string(r.until);
    calls.push_back(
        scripted(script_grant(), std::move(keys),
                 {std::to_string(now), r.subject_key + ":" + g, until, ttl_for(r.until, now), g}));
  }
  void add_import(const FamilyRow& r, Millis now, std::vector<Call>& calls) {
    if (!(now < r.expires_at && now < r.idle_expires_at)) return;
    std::vector<std::string> keys = {b_.key(r.family_key), b_.key("ri:" + r.route + ":" + r.subject_key),
                                     gens_key(r.route)};
    std::vector<std::string> tokens;  // key, state, spent_at
    // The current token, and the candidates: spent by being presented, successor the current token
    // ('' once the family ended: then only the token that consumed it, never grace-eligible).
    if (!r.current_token.empty()) tokens.insert(tokens.end(), {r.current_token, "0", "0"});
    if (!r.prev_token.empty() && r.prev_token != r.current_token) {
      tokens.insert(tokens.end(), {r.prev_token, "1", std::to_string(r.prev_spent_at)});
    }
    if (!r.grace_token.empty() && r.grace_token != r.current_token && r.grace_token != r.prev_token) {
      tokens.insert(tokens.end(), {r.grace_token, "1", std::to_string(r.grace_spent_at)});
    }
    const std::size_t n = tokens.size() / 3;
    for (std::size_t i = 0; i < n; ++i) keys.push_back(b_.key(tokens[3 * i]));
    if (b_.options().legacy()) keys.push_back(legacy_user(r.route, r.subject_key));
    static constexpr const char* kStates[] = {"a", "e", "r"};
    const char* st = r.state >= 0 && r.state <= 2 ? kStates[r.state] : "r";
    std::vector<std::string> args = {std::to_string(now),
                                     r.family_key,
                                     r.record,
                                     r.subject_key,
                                     r.client_key,
                                     r.grant_key,
                                     std::to_string(r.user_gen),
                                     std::to_string(r.client_gen),
                                     st,
                                     r.current_token,
                                     std::to_string(r.created_at),
                                     std::to_string(r.last_used_at),
                                     std::to_string(r.idle_ttl),
                                     std::to_string(r.idle_expires_at),
                                     std::to_string(r.expires_at),
                                     std::to_string(r.rotations),
                                     ttl_for(std::min(r.idle_expires_at, r.expires_at), now),
                                     ttl_for(r.expires_at, now),
                                     std::to_string(n),
                                     r.state == 0 ? "1" : "0"};
    for (std::size_t i = 0; i < n; ++i) {
      args.push_back(tokens[3 * i + 1]);
      args.push_back(tokens[3 * i + 2]);
    }
    calls.push_back(scripted(script_family(), std::move(keys), std::move(args)));
  }
  void add_import(const TokenRow& r, Millis now, std::vector<Call>& calls) {
    if (r.expires_at <= now) return;
    calls.push_back(scripted(script_token(), {b_.key(r.token_key), b_.key(r.family_key)},
                             {std::to_string(now), r.family_key, ttl_for(r.expires_at, now), b_.prefix()}));
  }
  void add_import(const JtiRow& r, Millis now, std::vector<Call>& calls) {
    if (r.expires_at <= now) return;
    std::vector<std::string> keys = {b_.key(r.jti_key), gens_key(r.route)};
    if (b_.options().legacy()) keys.push_back(legacy_user(r.route, r.subject_key));
    calls.push_back(
        scripted(script_jti(), std::move(keys),
                 {std::to_string(now), r.record, r.subject_key, r.client_key, std::to_string(r.user_gen),
                  std::to_string(r.client_gen), r.consumed ? "1" : "0", std::to_string(r.expires_at),
                  ttl_for(r.expires_at, now)}));
  }
  void add_import(const SessionRow& r, Millis now, std::vector<Call>& calls) {
    if (r.refresh_expires_at <= now) return;
    const std::string base = r.route + ":" + r.bucket_key;
    const std::string value = r.deleted ? std::string()
                                        : std::to_string(r.lock_version) + ":" +
                                              std::to_string(r.refresh_expires_at) + ":" + r.record;
    calls.push_back(scripted(script_session(),
                             {b_.key("sh:" + base), b_.key("sx:" + base), b_.key("sz:" + base)},
                             {std::to_string(now), r.session_key, value, std::to_string(r.refresh_expires_at),
                              ttl_for(r.refresh_expires_at, now), r.deleted ? "1" : "0"}));
  }

  struct Candidate {
    std::string token, family;
    Millis spent_at = 0;
  };

  RedisBackend& b_;
  Batch batch_;
  std::int64_t skipped_ = 0;
  std::unordered_map<std::string, std::vector<Candidate>>
      candidates_;  // family '\n' successor -> spent tokens
  bool candidates_built_ = false;
  bool moved_known_ = false;
  bool moved_ = false;
};

}  // namespace

std::unique_ptr<migration::MigrationBackend> make_redis_migration(RedisBackend& b) {
  return std::make_unique<RedisMigration>(b);
}

}  // namespace authstore::internal
