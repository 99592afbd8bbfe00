// The store marker on Redis (src/stores/marker.h): one string key "P marker" without a TTL.
// read: GET. swap: one script, GET then SET when the value is the expected one (atomic
// create-if-absent and compare-and-set), answering the value stored afterwards. sample: native
// SCAN steps and one native read per record found (a store written before markers).
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

const redis::Script& swap_script() {
  static const redis::Script s("marker_swap", 1, kSwap);
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

// The sample: native SCAN steps (MATCH P*, COUNT 1000; no key, so any node of a standalone
// server), then one native read per record key found, declaring it: HMGET r t of a code (record,
// else tombstone), HGET rec of a family or JWT id, GET of a client token (the blob after the
// expiry), HGETALL of a session bucket. It goes on until the database was scanned through (a
// store written before markers is found however many other keys the database holds) or `limit`
// records were found.
struct Sampling {
  RedisBackend* backend;
  std::size_t limit;
  Sample found;
  std::vector<std::string> keys;  // of the current SCAN step
  std::size_t next = 0;
  std::string cursor;  // to go on from after this step
  Callback<Sample> done;
};

void sample_scan(std::shared_ptr<Sampling> s);

// The sessions of one bucket hash "P sh:{R}:<bucket>" (HGETALL: field session key, value
// "<lock>:<refresh_expires_at>:<session key>:<sealed>"), as (storage key "ss:{R}:<bucket>:<session
// key>", sealed). A value that does not name its field is skipped (it reads as absent anyway).
void add_sessions(Sampling& s, const std::string& hash_key, const std::vector<Reply>& fields) {
  const std::string bucket = hash_key.substr(s.backend->prefix().size() + 3);
  for (std::size_t i = 0; i + 1 < fields.size() && s.found.size() < s.limit; i += 2) {
    if (!fields[i].is_string() || !fields[i + 1].is_string()) continue;
    const std::string& field = fields[i].str();
    const std::string& value = fields[i + 1].str();
    const std::size_t c1 = value.find(':');
    const std::size_t c2 = c1 == std::string::npos ? c1 : value.find(':', c1 + 1);
    if (c2 == std::string::npos || value.compare(c2 + 1, field.size(), field) != 0 ||
        value.size() <= c2 + 1 + field.size() || value[c2 + 1 + field.size()] != ':') {
      continue;
    }
    s.found.emplace_back("ss:" + bucket + ":" + field, value.substr(c2 + 2 + field.size()));
  }
}

void sample_read(std::shared_ptr<Sampling> s) {
  while (s->next < s->keys.size() && s->found.size() < s->limit) {
    std::string k = s->keys[s->next++];
    const std::string_view kind = std::string_view(k).substr(s->backend->prefix().size(), 3);
    std::vector<std::string> args;
    if (kind == "ac:" || kind == "act") {
      // A code's record "P ac:{R}:<h>" or tombstone "P act:{R}:<h>", "<expires_at>:<sealed>",
      // both bound to the storage key "ac:{R}:<h>"; a code of the earlier layout is a hash
      // {e, c, r, t} at "P ac:{R}:<h>" (GET answers WRONGTYPE: HMGET r t).
      std::string storage = kind == "ac:" ? k.substr(s->backend->prefix().size())
                                          : "ac:" + k.substr(s->backend->prefix().size() + 4);
      s->backend->command_or_wrongtype(
          "marker_sample", {"GET", k}, {k}, [s, k, storage](Result<Reply> r, bool wrongtype) mutable {
            if (wrongtype) {
              return s->backend->command(
                  "marker_sample", {"HMGET", k, "r", "t"}, {k}, [s, storage](Result<Reply> r2) {
                    if (!r2.ok()) return s->done(Result<Sample>(r2.status()));
                    if (!r2->is_array() || r2->elements().size() != 2) {
                      return s->done(Result<Sample>(redis_reply::unexpected("marker_sample")));
                    }
                    const auto& v = r2->elements();
                    const Reply& blob = v[0].is_string() ? v[0] : v[1];
                    if (blob.is_string()) s->found.emplace_back(storage, blob.str());
                    sample_read(s);
                  });
            }
            if (!r.ok()) return s->done(Result<Sample>(r.status()));
            const std::size_t colon = r->is_string() ? r->str().find(':') : std::string::npos;
            if (colon != std::string::npos) s->found.emplace_back(storage, r->str().substr(colon + 1));
            sample_read(s);
          });
      return;
    } else if (kind == "rf:" || kind == "rj:") {
      args = {"HGET", k, "rec"};
    } else if (kind == "ct:") {
      args = {"GET", k};
    } else if (kind == "sh:") {
      args = {"HGETALL", k};
    } else {
      continue;
    }
    const bool token = kind == "ct:";
    std::vector<std::string> keys = {k};
    if (kind == "sh:") {
      s->backend->command_list("marker_sample", args, keys, [s, k](Result<Reply> r) {
        if (!r.ok()) return s->done(Result<Sample>(r.status()));
        if (!r->is_array()) return s->done(Result<Sample>(redis_reply::unexpected("marker_sample")));
        add_sessions(*s, k, r->elements());
        sample_read(s);
      });
      return;
    }
    s->backend->command_list("marker_sample", args, keys, [s, k, token](Result<Reply> r) {
      if (!r.ok()) return s->done(Result<Sample>(r.status()));
      const Reply* v = &r.value();
      const std::size_t colon = v->is_string() && token ? v->str().find(':') : 0;
      if (v->is_string() && colon != std::string::npos) {
        std::string storage = k.substr(s->backend->prefix().size());
        // A generic client token is stored as "ct:{g}:<k>" (redis_codes_replay_tokens.cc): its
        // record is bound to its storage key "ct:g:<k>".
        if (storage.rfind("ct:{g}:", 0) == 0) storage = "ct:g:" + storage.substr(7);
        s->found.emplace_back(std::move(storage), v->str().substr(token ? colon + 1 : 0));
      }
      sample_read(s);
    });
    return;
  }
  if (s->cursor == "0" || s->found.size() >= s->limit) return s->done(Result<Sample>(std::move(s->found)));
  sample_scan(std::move(s));
}

void sample_scan(std::shared_ptr<Sampling> s) {
  std::vector<std::string> args = {"SCAN", s->cursor, "MATCH", s->backend->prefix() + "*", "COUNT", "1000"};
  s->backend->command_list("marker_sample_scan", args, {}, [s](Result<Reply> r) {
    if (!r.ok()) return s->done(Result<Sample>(r.status()));
    const auto& v = r->elements();
    if (!r->is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_array()) {
      return s->done(Result<Sample>(redis_reply::unexpected("marker_sample_scan")));
    }
    s->cursor = v[0].str();
    s->keys.clear();
    s->next = 0;
    for (const Reply& k : v[1].elements()) {
      if (k.is_string()) s->keys.push_back(k.str());
    }
    sample_read(std::move(s));
  });
}
}  // namespace

void RedisBackend::sample_records(std::size_t limit, Callback<Sample> done) {
  if (limit == 0) return done(Result<Sample>(Sample{}));
  sample_scan(std::make_shared<Sampling>(Sampling{this, limit, {}, {}, 0, "0", std::move(done)}));
}

}  // namespace authstore::internal
