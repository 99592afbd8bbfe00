// Operator views on Redis (authstore/admin.h). Counts: native SCAN steps (MATCH P*, COUNT 1000;
// no key, so any node of a standalone server) classify the keys under the prefix by kind; live
// sessions are one ZCOUNT per session bucket (P sx:{R}:<bucket>). The cost follows the keyspace:
// one round trip per 1000 keys the server walks, prefix or not. Health: one INFO, and the same
// SCAN for the number of keys under the prefix. Neither view runs on a Cluster (a SCAN without a
// key reaches one node).
#include <memory>
#include <unordered_set>

#include "backends/redis/redis_backend.h"

namespace authstore::internal {
namespace {

using redis::Reply;
using Items = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kCountBatch = "1000";

// A paged SCAN of the prefix: `on_keys` gets each step's keys; `finish` the status at the end.
struct Scan {
  RedisBackend* backend;
  std::string cursor = "0";
  std::int64_t steps = 0;
  std::int64_t keys = 0;
  std::function<void(const std::vector<Reply>&)> on_keys;
  std::function<void(Status)> finish;
};

void scan_step(std::shared_ptr<Scan> s) {
  std::vector<std::string> args = {
      "SCAN", s->cursor, "MATCH", s->backend->prefix() + "*", "COUNT", std::string(kCountBatch)};
  s->backend->command_list("admin_scan", args, {}, [s](Result<Reply> r) {
    if (!r.ok()) return s->finish(r.status());
    const auto& v = r->elements();
    if (!r->is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_array()) {
      return s->finish(redis_reply::unexpected("admin_scan"));
    }
    ++s->steps;
    s->keys += static_cast<std::int64_t>(v[1].elements().size());
    s->on_keys(v[1].elements());
    s->cursor = v[0].str();
    if (s->cursor == "0") return s->finish(Status::Ok());
    scan_step(s);
  });
}

bool on_cluster(const RedisBackend& b) { return b.name() == "redis_cluster"; }

Status cluster_refused(std::string_view what) {
  return Status(StatusCode::kFailedPrecondition,
                std::string(what) + " is not available on a Redis Cluster (a SCAN reaches one node)",
                "admin");
}

// The value of `field` in INFO text ("field:value" lines), or "".
std::string info_field(const std::string& info, std::string_view field) {
  std::size_t pos = 0;
  while (pos < info.size()) {
    std::size_t end = info.find('\n', pos);
    if (end == std::string::npos) end = info.size();
    std::string_view line(info.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::string(line.substr(field.size() + 1));
    }
    pos = end + 1;
  }
  return {};
}

// The counting state: the keys by kind, then one ZCOUNT per session bucket.
struct Counting {
  RedisBackend* backend;
  Millis now;
  StoreCounts counts;
  std::vector<std::string> buckets;  // sx: keys (prefixed)
  // Codes: every code written since the native layout has its tombstone "act:{R}:<h>" (counted),
  // and its record "ac:{R}:<h>" until consumed; a code of the earlier layout is the hash
  // "ac:{R}:<h>" alone. The scan pairs them by name (memory follows the number of codes; this is
  // an operator view): records without a tombstone count once more at the end.
  std::unordered_set<std::string> records_unpaired;
  std::unordered_set<std::string> tombs_unpaired;
  std::size_t next_bucket = 0;
  std::int64_t steps = 0;
  std::int64_t keys = 0;
  Callback<StoreCounts> done;
};

void count_sessions(std::shared_ptr<Counting> c) {
  if (c->next_bucket == c->buckets.size()) {
    c->counts.cost = "SCAN MATCH " + c->backend->prefix() + "* COUNT " + std::string(kCountBatch) + ": " +
                     std::to_string(c->steps) + " round trips over " + std::to_string(c->keys) +
                     " keys under the prefix (the cost follows the keyspace), plus one ZCOUNT per "
                     "session bucket (" +
                     std::to_string(c->buckets.size()) + ")";
    return c->done(Result<StoreCounts>(std::move(c->counts)));
  }
  std::string k = c->buckets[c->next_bucket++];
  std::vector<std::string> args = {"ZCOUNT", k, "(" + std::to_string(c->now), "+inf"};
  c->backend->command_list("admin_zcount", args, {k}, [c](Result<Reply> r) {
    if (!r.ok()) return c->done(Result<StoreCounts>(r.status()));
    std::int64_t n = 0;
    if (!redis_reply::to_int(r.value(), n)) {
      return c->done(Result<StoreCounts>(redis_reply::unexpected("admin_zcount")));
    }
    c->counts.sessions += n;
    count_sessions(c);
  });
}

}  // namespace

void RedisBackend::admin_counts(Millis now, Callback<StoreCounts> done) {
  if (on_cluster(*this)) return done(Result<StoreCounts>(cluster_refused("counting")));
  auto c = std::make_shared<Counting>();
  c->backend = this;
  c->now = now;
  c->counts = StoreCounts{0, 0, 0, 0, 0, {}};
  c->done = std::move(done);
  auto s = std::make_shared<Scan>();
  s->backend = this;
  const std::size_t skip = prefix().size();
  s->on_keys = [c, skip](const std::vector<Reply>& keys) {
    for (const Reply& k : keys) {
      if (!k.is_string() || k.str().size() < skip + 3) continue;
      const std::string_view kind = std::string_view(k.str()).substr(skip, 3);
      if (kind == "ac:") {
        std::string id = k.str().substr(skip + 3);
        if (c->tombs_unpaired.erase(id) == 0) c->records_unpaired.insert(std::move(id));
      } else if (kind == "act") {
        ++c->counts.codes;
        std::string id = k.str().substr(skip + 4);
        if (c->records_unpaired.erase(id) == 0) c->tombs_unpaired.insert(std::move(id));
      } else if (kind == "rf:") {
        ++c->counts.refresh_families;
      } else if (kind == "jr:") {
        ++c->counts.replay_reservations;
      } else if (kind == "ct:") {
        ++c->counts.client_tokens;
      } else if (kind == "sx:") {
        c->buckets.push_back(k.str());
      }
    }
  };
  s->finish = [c, s_weak = std::weak_ptr<Scan>(s)](Status st) {
    if (!st.ok()) return c->done(Result<StoreCounts>(std::move(st)));
    c->counts.codes += static_cast<std::int64_t>(c->records_unpaired.size());
    c->records_unpaired.clear();
    c->tombs_unpaired.clear();
    if (auto scan = s_weak.lock()) {
      c->steps = scan->steps;
      c->keys = scan->keys;
    }
    count_sessions(c);
  };
  scan_step(std::move(s));
}

void RedisBackend::admin_health(Callback<Items> done) {
  if (on_cluster(*this)) return done(Result<Items>(cluster_refused("health")));
  auto shared_done = std::make_shared<Callback<Items>>(std::move(done));
  command("admin_info", {"INFO"}, {}, [this, shared_done](Result<Reply> r) {
    if (!r.ok()) return (*shared_done)(Result<Items>(r.status()));
    if (!r->is_string()) return (*shared_done)(Result<Items>(redis_reply::unexpected("admin_info")));
    auto items = std::make_shared<Items>();
    const std::string& info = r->str();
    for (std::string_view f :
         {"redis_version", "role", "used_memory_human", "maxmemory_human", "maxmemory_policy"}) {
      items->emplace_back(std::string(f), info_field(info, f));
    }
    const std::string scripts = info_field(info, "number_of_cached_scripts");
    auto s = std::make_shared<Scan>();
    s->backend = this;
    s->on_keys = [](const std::vector<Reply>&) {};
    s->finish = [items, scripts, shared_done, s_weak = std::weak_ptr<Scan>(s)](Status st) {
      if (!st.ok()) return (*shared_done)(Result<Items>(std::move(st)));
      const auto scan = s_weak.lock();
      items->emplace_back("keys_under_prefix", std::to_string(scan ? scan->keys : 0));
      items->emplace_back("number_of_cached_scripts", scripts);
      (*shared_done)(Result<Items>(std::move(*items)));
    };
    scan_step(std::move(s));
  });
}

}  // namespace authstore::internal
