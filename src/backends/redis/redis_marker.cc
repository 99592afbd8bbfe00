// The store marker on Redis (src/stores/marker.h): one string key "P marker" without a TTL.
// read: GET. swap: one script, GET then SET when the value is the expected one (atomic
// create-if-absent and compare-and-set), answering the value stored afterwards. sample: one
// script scanning a bounded number of the store's keys (a store written before markers).
#include "backends/redis/redis_backend.h"

namespace authstore::internal {
namespace {

using redis::Reply;

constexpr std::string_view kMarkerKey = "marker";

// KEYS[1] marker key; ARGV[1] expected ('' = absent), ARGV[2] desired.
constexpr std::string_view kSwap = R"lua(
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return ARGV[2]
end
return cur
)lua";

// ARGV[1] prefix, ARGV[2] most records, ARGV[3] most SCAN calls, ARGV[4] the cursor to start
// from. Returns the cursor to go on from ('0': the keyspace was scanned through), then key, blob,
// key, blob, ... (keys without the prefix): code records / tombstones, families, JWT ids, client
// tokens. One call scans at most ARGV[3] x 1000 keys of the database (the server is busy for about
// a millisecond); the caller goes on from the cursor until the scan ends or the sample is full.
constexpr std::string_view kSample = R"lua(
local prefix, limit, rounds = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out, cursor = {'0'}, ARGV[4]
for _ = 1, rounds do
  local r = redis.call('SCAN', cursor, 'MATCH', prefix .. '*', 'COUNT', 1000)
  cursor = r[1]
  for _, k in ipairs(r[2]) do
    local short = string.sub(k, #prefix + 1)
    local kind = string.sub(short, 1, 3)
    local v = false
    if kind == 'ac:' then
      v = redis.call('HGET', k, 'r') or redis.call('HGET', k, 't')
    elseif kind == 'rf:' or kind == 'rj:' then
      v = redis.call('HGET', k, 'rec')
    elseif kind == 'ct:' then
      local s = redis.call('GET', k)
      local colon = s and string.find(s, ':', 1, true)
      if colon then v = string.sub(s, colon + 1) end
    end
    if v then
      out[#out + 1] = short
      out[#out + 1] = v
    end
  end
  if cursor == '0' or (#out - 1) / 2 >= limit then break end
end
out[1] = cursor
return out
)lua";

const redis::Script& swap_script() {
  static const redis::Script s("marker_swap", 1, kSwap);
  return s;
}
const redis::Script& sample_script() {
  static const redis::Script s("marker_sample", 1, kSample);
  return s;
}

}  // namespace

void RedisBackend::read_marker(Callback<std::string> done) {
  std::string k = key(kMarkerKey);
  command("marker_read", {"GET", k}, {k}, [done = std::move(done)](Result<Reply> r) {
    if (!r.ok()) return done(Result<std::string>(r.status()));
    if (r->is_nil()) return done(Result<std::string>(Status(StatusCode::kNotFound, "no marker")));
    if (!r->is_string()) return done(Result<std::string>(redis_reply::unexpected("marker_read")));
    done(Result<std::string>(std::move(r.value()).str()));
  });
}

void RedisBackend::swap_marker(const std::string& expected, const std::string& desired,
                               Callback<std::string> done) {
  std::string k = key(kMarkerKey);
  eval(swap_script(), {k}, {expected, desired}, [done = std::move(done)](Result<Reply> r) {
    if (!r.ok()) return done(Result<std::string>(r.status()));
    if (!r->is_string()) return done(Result<std::string>(redis_reply::unexpected("marker_swap")));
    done(Result<std::string>(std::move(r.value()).str()));
  });
}

namespace {
using Sample = std::vector<std::pair<std::string, std::string>>;

// One step of the sample: a script call from `cursor`; goes on until the database was scanned
// through (a store written before markers is found however many other keys the database holds)
// or `limit` records were found.
void sample_from(RedisBackend* backend, std::string cursor, std::size_t limit,
                 std::shared_ptr<Sample> found, Callback<Sample> done) {
  backend->eval(sample_script(), {}, {backend->prefix(), std::to_string(limit), "8", std::move(cursor)},
                [backend, limit, found, done = std::move(done)](Result<Reply> r) mutable {
                  if (!r.ok()) return done(Result<Sample>(r.status()));
                  auto& v = r->elements();
                  if (!r->is_array() || v.empty() || v.size() % 2 != 1 || !v[0].is_string()) {
                    return done(Result<Sample>(redis_reply::unexpected("marker_sample")));
                  }
                  for (std::size_t i = 1; i + 1 < v.size() && found->size() < limit; i += 2) {
                    found->emplace_back(std::move(v[i]).str(), std::move(v[i + 1]).str());
                  }
                  std::string next = std::move(v[0]).str();
                  if (next == "0" || found->size() >= limit) return done(Result<Sample>(std::move(*found)));
                  sample_from(backend, std::move(next), limit, std::move(found), std::move(done));
                });
}
}  // namespace

void RedisBackend::sample_records(std::size_t limit, Callback<Sample> done) {
  sample_from(this, "0", limit, std::make_shared<Sample>(), std::move(done));
}

}  // namespace authstore::internal
