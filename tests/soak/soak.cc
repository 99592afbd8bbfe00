// authstore_soak: mixed load on one store for a bounded time, sampling what must stay flat.
//
//   authstore_soak --store URL [--seconds 300] [--sample 10] [--threads 4] [--csv FILE]
//
// Every worker loops over the five stores with short lifetimes (codes 3 s, families 20 s,
// sessions 20 s, reservations 2-4 s, client tokens 10 s), so expiry, tombstones, indexes and
// sweeps all run many times within a few minutes and the store reaches a steady state. Every
// `--sample` seconds it records: resident memory, open file descriptors, threads, operations and
// unexpected outcomes so far, and the backend's own count (SQLite: rows of every table; Redis:
// keys under the prefix). At the end it checks that each series grew by less than 5 % over the
// second half of the run ("flat": its least-squares trend there, against its mean; the backend's
// count is judged per unit of load, count / recent operations per second, since what a store
// holds is the rate times the lifetimes), that no operation had an unexpected outcome, and
// (Redis) that every key under the prefix has a TTL except the store's marker. Exit 0: all held.
// Bounded: the run stops at --seconds; each worker's loop is bounded by count as well.
// Keys: from the environment (AUTHSTORE_SECRET / AUTHSTORE_KEY_FILE) or --key-file.
#include <dirent.h>
#include <hiredis/hiredis.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "authstore/authstore.h"

namespace {

using namespace authstore;
using SteadyClock = std::chrono::steady_clock;

struct Config {
  std::string url;
  std::string key_file;
  std::string csv;
  double seconds = 300;
  double sample = 10;
  int threads = 4;
  bool smoke = false;  // a short run: check outcomes only (too short to reach a steady state).
};

struct Sample {
  double t = 0;
  long rss_kb = 0;
  long fds = 0;
  long threads = 0;
  long long ops = 0;
  long long unexpected = 0;
  long long backend_count = -1;  // rows (SQLite) or keys (Redis); -1 when not measurable.
};

long status_field(const char* name) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(name);
  while (std::getline(in, line)) {
    if (line.compare(0, n, name) == 0) return std::atol(line.c_str() + n);
  }
  return -1;
}

long count_dir(const char* path) {
  DIR* d = ::opendir(path);
  if (d == nullptr) return -1;
  long n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

// The SQLite file's rows, every authstore table, through a read-only connection of our own.
long long sqlite_rows(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  sqlite3_busy_timeout(db, 2000);
  long long total = 0;
  std::vector<std::string> tables;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='table'", -1, &st, nullptr) ==
      SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW)
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  }
  sqlite3_finalize(st);
  for (const auto& t : tables) {
    const std::string q = "SELECT count(*) FROM \"" + t + "\"";
    if (sqlite3_prepare_v2(db, q.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      total += sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return total;
}

struct RedisTarget {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string prefix = "authstore:";
};

// Parses the parts of a plain redis:// URL the sampler needs (no TLS, no password).
bool parse_redis(const std::string& url, RedisTarget& out) {
  if (url.rfind("redis://", 0) != 0) return false;
  std::string rest = url.substr(8);
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.resize(q);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    out.db = std::atoi(rest.c_str() + slash + 1);
    rest.resize(slash);
  }
  if (rest.find('@') != std::string::npos) return false;
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    out.port = std::atoi(rest.c_str() + colon + 1);
    rest.resize(colon);
  }
  if (!rest.empty()) out.host = rest;
  std::istringstream qs(query);
  std::string kv;
  while (std::getline(qs, kv, '&')) {
    if (kv.rfind("prefix=", 0) == 0) out.prefix = kv.substr(7);
  }
  return true;
}

redisReply* command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
}

// Keys under the prefix (SCAN, paged) and how many of them have no TTL (besides the marker).
struct RedisCount {
  long long keys = -1;
  long long without_ttl = 0;
  std::vector<std::string> examples;
};

RedisCount redis_count(const RedisTarget& t, bool check_ttl) {
  RedisCount out;
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout(t.host.c_str(), t.port, tv);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    return out;
  }
  redisSetTimeout(c, tv);
  if (t.db != 0) freeReplyObject(command(c, {"SELECT", std::to_string(t.db)}));
  out.keys = 0;
  std::string cursor = "0";
  for (int page = 0; page < 1'000'000; ++page) {
    redisReply* r = command(c, {"SCAN", cursor, "MATCH", t.prefix + "*", "COUNT", "1000"});
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      if (r != nullptr) freeReplyObject(r);
      out.keys = -1;
      break;
    }
    cursor.assign(r->element[0]->str, r->element[0]->len);
    for (std::size_t i = 0; i < r->element[1]->elements; ++i) {
      const redisReply* k = r->element[1]->element[i];
      const std::string key(k->str, k->len);
      ++out.keys;
      if (!check_ttl || key.find("marker") != std::string::npos) continue;
      redisReply* ttl = command(c, {"PTTL", key});
      if (ttl != nullptr && ttl->type == REDIS_REPLY_INTEGER && ttl->integer == -1) {
        ++out.without_ttl;
        if (out.examples.size() < 5) out.examples.push_back(key);
      }
      if (ttl != nullptr) freeReplyObject(ttl);
    }
    freeReplyObject(r);
    if (cursor == "0") break;
  }
  redisFree(c);
  return out;
}

struct Counters {
  std::atomic<long long> ops{0};
  std::atomic<long long> unexpected{0};
  std::atomic<bool> stop{false};
};

void expect(Counters& c, bool ok, const char* what, const Status& s) {
  c.ops.fetch_add(1, std::memory_order_relaxed);
  if (ok) return;
  if (c.unexpected.fetch_add(1) < 10) std::cerr << "unexpected: " << what << ": " << s.to_string() << "\n";
}

void worker(Store store, std::shared_ptr<Clock> clock, int id, Counters& c) {
  const std::string challenge = "BQ208s5okL7Nri7Wf5IU2CyrhFHF3S_Iqn5pmwq9wDc";  // S256 of `verifier`
  const std::string verifier = "dBjftJeZ4CVP-mB92K1uBhBEjXOE0i2ixjOkzUWb5pmNgU9rXQkE5gWCmvwLfoOi";
  for (long long i = 0; i < 100'000'000 && !c.stop.load(std::memory_order_relaxed); ++i) {
    const std::string user = "user-" + std::to_string(id) + "-" + std::to_string(i % 500);
    // A code: issue, peek, consume, replay.
    CodeGrant g;
    g.client_id = "soak-client";
    g.subject = user;
    g.redirect_uri = "https://app.example.com/cb";
    g.code_challenge = challenge;
    g.code_challenge_method = "S256";
    g.grant_id = "g" + std::to_string(id) + "x" + std::to_string(i);
    g.ttl_ms = 3'000;
    auto code = store.codes().issue(g);
    expect(c, code.ok(), "codes.issue", code.status());
    if (code.ok()) {
      auto rec = store.codes().peek(code->code);
      expect(c, rec.ok() && verify_pkce(rec.value(), verifier).ok(), "codes.peek", rec.status());
      auto won = store.codes().consume(code->code);
      expect(c, won.ok(), "codes.consume", won.status());
      auto again = store.codes().consume(code->code);
      expect(c, again.code() == StatusCode::kAlreadyConsumed, "codes.consume replay", again.status());
    }
    // A refresh family: issue, rotate twice, then every 4th is revoked, every 8th user logged out.
    RefreshGrant rg;
    rg.subject = user;
    rg.client_id = "soak-client";
    rg.lifetime_ms = 20'000;
    rg.idle_ttl_ms = 10'000;
    auto fam = store.refresh().issue(rg);
    expect(c, fam.ok(), "refresh.issue", fam.status());
    if (fam.ok()) {
      auto r1 = store.refresh().rotate(fam->token, "soak-client");
      expect(c, r1.ok(), "refresh.rotate", r1.status());
      if (r1.ok()) {
        auto r2 = store.refresh().rotate(r1->token, "soak-client");
        expect(c, r2.ok(), "refresh.rotate 2", r2.status());
        if (i % 4 == 0) {
          auto rv = store.refresh().revoke_family(fam->family.family_id);
          expect(c, rv.ok(), "refresh.revoke_family", rv.status());
        }
      }
    }
    if (i % 8 == 0) {
      auto rs = store.refresh().revoke_subject(user);
      expect(c, rs.ok(), "refresh.revoke_subject", rs.status());
    }
    // A session: insert, get, update, and every other one deleted.
    Session s;
    s.id = SessionStore::new_session_id();
    s.user_id = user;
    s.type = "full";
    s.created_at = clock->now();
    s.refresh_expires_at = clock->now() + 20'000;
    auto up = store.sessions().upsert(s);
    expect(c, up.ok(), "sessions.upsert", up.status());
    if (up.ok()) {
      auto got = store.sessions().get(s.id, user, "full");
      expect(c, got.ok(), "sessions.get", got.status());
      if (got.ok()) {
        Session next = got.value();
        next.refreshed_at = clock->now();
        auto up2 = store.sessions().upsert(next);
        expect(c, up2.ok(), "sessions.upsert 2", up2.status());
      }
      if (i % 2 == 0) {
        auto del = store.sessions().delete_session(s.id, user, "full");
        expect(c, del.ok(), "sessions.delete", del.status());
      }
    }
    // A replay reservation: reserve, replay refused, every 3rd released.
    const std::string jti = "jti-" + std::to_string(id) + "-" + std::to_string(i);
    auto res = store.replay().reserve("https://issuer.example", jti, clock->now() + 2'000 + (i % 3) * 1'000);
    expect(c, res.ok(), "replay.reserve", res.status());
    auto rep = store.replay().reserve("https://issuer.example", jti, clock->now() + 2'000);
    expect(c, rep.code() == StatusCode::kReplayed, "replay.reserve replay", rep.status());
    if (res.ok() && i % 3 == 0) {
      auto rel = store.replay().release(res.value());
      expect(c, rel.ok(), "replay.release", rel.status());
    }
    // A client token: save with a TTL, read, and every other one removed.
    TokenRecord t;
    t.access_token = "at-" + std::to_string(i);
    t.refresh_token = "rt-" + std::to_string(i);
    t.expires_at = clock->now() + 10'000;
    const std::string key = "soak/" + std::to_string(id) + "/" + std::to_string(i % 1000);
    auto sv = store.client_tokens().save(key, t, 10'000);
    expect(c, sv.ok(), "client_tokens.save", sv.status());
    auto gt = store.client_tokens().get(key);
    expect(c, gt.ok(), "client_tokens.get", gt.status());
    if (i % 2 == 0) {
      auto rm = store.client_tokens().remove(key);
      expect(c, rm.ok(), "client_tokens.remove", rm.status());
    }
  }
}

// "Flat": over the second half of the run, the least-squares trend of the series changes it by less
// than 5 % of its mean (a trend, not one noisy sample: counts follow the momentary throughput).
bool flat(const std::vector<double>& t, const std::vector<long long>& v, const char* name) {
  if (v.size() < 4) return true;
  const std::size_t half = std::max<std::size_t>(v.size() / 2, 2);
  double n = 0, st = 0, sv = 0, stt = 0, stv = 0;
  for (std::size_t i = half; i < v.size(); ++i) {
    if (v[i] < 0) return true;  // not measurable
    const double x = t[i], y = static_cast<double>(v[i]);
    n += 1, st += x, sv += y, stt += x * x, stv += x * y;
  }
  const double mean = sv / n;
  const double denom = n * stt - st * st;
  const double slope = denom == 0 ? 0 : (n * stv - st * sv) / denom;
  const double change = slope * (t.back() - t[half]);
  const double growth = mean == 0 ? 0 : change / mean;
  std::printf("  %-14s second half: mean %.0f, trend %+.0f (%+.1f %%) %s\n", name, mean, change, growth * 100,
              growth < 0.05 ? "flat" : "GROWING");
  return growth < 0.05;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << a << "\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--store")
      cfg.url = next();
    else if (a == "--seconds")
      cfg.seconds = std::atof(next().c_str());
    else if (a == "--sample")
      cfg.sample = std::atof(next().c_str());
    else if (a == "--threads")
      cfg.threads = std::atoi(next().c_str());
    else if (a == "--csv")
      cfg.csv = next();
    else if (a == "--key-file")
      cfg.key_file = next();
    else if (a == "--smoke")
      cfg.smoke = true;
    else {
      std::cerr << "usage: authstore_soak --store URL [--seconds N] [--sample N] [--threads N] "
                   "[--csv FILE] [--key-file FILE] [--smoke]\n";
      return 2;
    }
  }
  if (cfg.url.empty() || cfg.seconds <= 0 || cfg.seconds > 24 * 3600 || cfg.sample <= 0 || cfg.threads < 1 ||
      cfg.threads > 64) {
    std::cerr << "authstore_soak: --store is required; 0 < seconds <= 86400; 1 <= threads <= 64\n";
    return 2;
  }
  Options options;
  options.keys.key_file = cfg.key_file;
  options.memory_sweep_interval_ms = 500;
  options.codes.max_ttl_ms = 600'000;
  auto clock = SystemClock::instance();
  auto opened = open(cfg.url, options);
  if (!opened.ok()) {
    std::cerr << "authstore_soak: open: " << opened.status().to_string() << "\n";
    return 1;
  }
  Store store = opened.value();
  std::string sqlite_path;
  if (cfg.url.rfind("sqlite://", 0) == 0) {
    sqlite_path = cfg.url.substr(9);
    if (auto q = sqlite_path.find('?'); q != std::string::npos) sqlite_path.resize(q);
  }
  RedisTarget redis;
  const bool is_redis = parse_redis(cfg.url, redis);

  Counters counters;
  std::vector<std::thread> workers;
  for (int t = 0; t < cfg.threads; ++t) {
    workers.emplace_back(worker, store, clock, t, std::ref(counters));
  }
  std::vector<Sample> samples;
  std::ofstream csv;
  if (!cfg.csv.empty()) {
    csv.open(cfg.csv);
    csv << "seconds,rss_kb,fds,threads,ops,unexpected,backend_count\n";
  }
  const auto start = SteadyClock::now();
  const auto end = start + std::chrono::duration<double>(cfg.seconds);
  auto next_sample = start + std::chrono::duration<double>(cfg.sample);
  std::printf("%8s %10s %6s %8s %12s %10s %14s\n", "seconds", "rss_kb", "fds", "threads", "ops", "unexpected",
              "rows/keys");
  for (;;) {
    const auto now = SteadyClock::now();
    if (now >= next_sample || now >= end) {
      Sample s;
      s.t = std::chrono::duration<double>(now - start).count();
      s.rss_kb = status_field("VmRSS:");
      s.fds = count_dir("/proc/self/fd");
      s.threads = count_dir("/proc/self/task");
      s.ops = counters.ops.load();
      s.unexpected = counters.unexpected.load();
      if (!sqlite_path.empty()) s.backend_count = sqlite_rows(sqlite_path);
      if (is_redis) s.backend_count = redis_count(redis, false).keys;
      samples.push_back(s);
      std::printf("%8.1f %10ld %6ld %8ld %12lld %10lld %14lld\n", s.t, s.rss_kb, s.fds, s.threads, s.ops,
                  s.unexpected, s.backend_count);
      std::fflush(stdout);
      if (csv) {
        csv << s.t << "," << s.rss_kb << "," << s.fds << "," << s.threads << "," << s.ops << ","
            << s.unexpected << "," << s.backend_count << "\n";
        csv.flush();
      }
      next_sample += std::chrono::duration<double>(cfg.sample);
      if (now >= end) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  counters.stop.store(true);
  for (auto& w : workers) w.join();

  bool ok = true;
  std::printf("flatness (growth over the second half must stay under 5 %%):\n");
  std::vector<double> times;
  for (const Sample& x : samples) times.push_back(x.t);
  auto series = [&](auto field) {
    std::vector<long long> out;
    for (const Sample& x : samples) out.push_back(static_cast<long long>(x.*field));
    return out;
  };
  bool level = flat(times, series(&Sample::rss_kb), "rss_kb");
  level &= flat(times, series(&Sample::fds), "fds");
  level &= flat(times, series(&Sample::threads), "threads");
  if (!sqlite_path.empty() || is_redis) {
    // What the store holds follows the load: rows / keys = rate x the lifetimes. So the count is
    // judged per unit of load: count / (operations per second over the last two samples), the
    // "seconds of load kept", which must not trend up (a leak); the raw count is shown beside it.
    std::vector<long long> kept(samples.size(), -1);
    for (std::size_t i = 2; i < samples.size(); ++i) {
      const double rate =
          static_cast<double>(samples[i].ops - samples[i - 2].ops) / (samples[i].t - samples[i - 2].t);
      if (rate > 0 && samples[i].backend_count >= 0) {
        kept[i] = static_cast<long long>(100.0 * static_cast<double>(samples[i].backend_count) / rate);
      }
    }
    const char* what = sqlite_path.empty() ? "redis keys" : "sqlite rows";
    (void)flat(times, series(&Sample::backend_count), what);
    std::printf("  (%s follow the load; judged per unit of load:)\n", what);
    level &= flat(times, kept, sqlite_path.empty() ? "keys/(op/s)x100" : "rows/(op/s)x100");
  }
  if (cfg.smoke) std::printf("  (--smoke: flatness reported, not required)\n");
  ok &= level || cfg.smoke;
  const long long unexpected = counters.unexpected.load();
  std::printf("  operations %lld, unexpected outcomes %lld %s\n", counters.ops.load(), unexpected,
              unexpected == 0 ? "" : "FAIL");
  ok &= unexpected == 0;
  if (is_redis) {
    const RedisCount rc = redis_count(redis, true);
    std::printf("  redis keys under %s: %lld, without a TTL (marker excepted): %lld %s\n",
                redis.prefix.c_str(), rc.keys, rc.without_ttl, rc.without_ttl == 0 ? "" : "FAIL");
    for (const auto& k : rc.examples) std::printf("    e.g. %s\n", k.c_str());
    ok &= rc.keys >= 0 && rc.without_ttl == 0;
  }
  std::printf("%s\n", ok ? "soak: OK" : "soak: FAILED");
  return ok ? 0 : 1;
}
