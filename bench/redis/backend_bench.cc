// redis_backend_bench: every store operation of the Redis backend, authstore through its public
// API versus redis-benchmark sending the very same loaded script. run_backend.sh drives it.
//
//   redis_backend_bench --mode authstore --url redis://127.0.0.1:P --op OP --requests N
//       [--inflight 256] [--max-seconds 30] [--blocking 1]
//     Opens authstore::open(url + "?prefix=a:"), prepares what the operation needs (codes to
//     consume, families to rotate, ... through the API, untimed), then runs N operations through
//     the *_async calls with `inflight` outstanding (each completion issues the next) and prints
//     "op=... requests=... failed=... rps=...". --blocking 1 runs the blocking calls instead, one at
//     a time from the main thread (replay_reserve, code_peek, session_get, token_get: one request in
//     flight, against redis-benchmark -c 1 -P 1; add spin_us=N to the URL for the low-latency mode). Every
//     timed call must succeed on the user path (a code that exists and was not consumed, a fresh JTI, the
//     current refresh token, ...).
//   redis_backend_bench --mode prefill --url ... --op OP --requests N
//     Writes the records redis-benchmark will hit (prefix "b:", route tag "{bench}", ids
//     %012d as redis-benchmark's __rand_int__ produces them), through the backend's own scripts
//     or native commands (codes, reservations).
//   redis_backend_bench --mode rb --url ... --op OP --requests N
//     SCRIPT LOADs the exact source the backend loads (redis::Script: "-- authstore:<name>:v1",
//     common.lua, helper, script), checks the SHA, and prints one line: the -r keyspace, then the
//     command for redis-benchmark (EVALSHA <sha> numkeys keys... args..., or the native command:
//     GET / GETDEL of a code's record for code peek / consume, SET ... NX PX ... GET for replay
//     reserve; code issue's first of two SETs, the pair being --mode pipe's).
//
// On a Cluster (run_cluster.sh): --cluster 1 gives every key redis-benchmark's route placeholder
// (jr: keys too), --route '{tag}' puts the placeholder in rb's command, --tags FILE makes the
// prefill write the records under each tag redis-benchmark was seen to use (routed by authstore's
// Cluster executor, -r then counts records per tag), --load-urls u1,u2,u3 SCRIPT LOADs on each master.
//
//   redis_backend_bench --mode pipe --url ... --op OP --requests N --out DIR [--tags FILE --load-urls ...]
//     The reference for operations whose command names several keys that must belong together
//     (refresh rotate / peek: the token and its family; refresh list: the index, then the families
//     it names). redis-benchmark replaces each __rand_int__ of a command with its own random number
//     (redis-benchmark.c, randomizeClientKey), so it cannot send those: its rotate would name a
//     family the token is not in and run the script's refusal path. This mode writes the same
//     command stream with one id per command (drawn like redis-benchmark's: uniform in the -r
//     keyspace), as RESP, to DIR/pipe-<k>.resp for each route tag k (one file without --tags),
//     for `redis-cli --pipe` to send, and prints "<commands per operation> <operations>". A list
//     sends two commands per operation, as authstore does: ZRANGE of the index, then the script
//     declaring every family the index named (prefill: 3 per user).
//
// Key mix (both sides): see kOps below and docs/redis.md. Blob sizes in the redis-benchmark
// commands are those authstore writes with the grants used here (measured: docs/redis.md).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alloc_counter.h"
#include "authstore/authstore.h"
#include "backends/redis/executor.h"
#include "backends/redis/scripts.h"
#include "common/records.h"
#include "redis/client.h"
#include "redis/script.h"

namespace {

using Clock = std::chrono::steady_clock;
using authstore::Result;
using authstore::UnixMillis;
namespace redis = authstore::redis;
namespace lua = authstore::internal::lua;

// The route tag of redis-benchmark's keys: "{bench000000}" (11 characters in braces, as authstore's)
// on a standalone server; on a Cluster, redis-benchmark --cluster's placeholder "{tag}" in the
// command and, in the prefill, each tag it was seen to put there (--tags).
std::string kRoute = "{bench000000}";
bool g_cluster = false;  // --cluster: keys without a route tag get one (jr:), prefill routes by slot

struct Args {
  std::string url = "redis://127.0.0.1:6379";
  std::string mode = "authstore";
  std::string op;
  long requests = 100000;
  long inflight = 256;
  double max_seconds = 30;
  std::string tags_file;  // --tags: prefill once per route tag listed (one per line)
  std::string load_urls;  // --load-urls: rb mode SCRIPT LOADs on each of these (comma-separated)
  std::string out_dir;    // --out: pipe mode writes its files here
  bool blocking = false;  // --blocking 1: authstore mode runs the blocking calls, one at a time
  long rounds = 1;        // --rounds: the timed phase again over the same records (for profiling)
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "redis_backend_bench: %s\n", msg.c_str());
  std::exit(1);
}

// The options (CLI11, as the authstore command): --name VALUE or --name=VALUE.
Args parse(int argc, char** argv) {
  Args a;
  std::string cluster = "0";
  CLI::App app{
      "redis_backend_bench: every store operation of the Redis backend, authstore vs redis-benchmark "
      "(bench/redis/run_backend.sh drives it)"};
  app.add_option("--url", a.url, "the server (redis:// or a Cluster URL)")->capture_default_str();
  app.add_option("--mode", a.mode, "authstore | prefill | rb | pipe")
      ->check(CLI::IsMember({"authstore", "prefill", "rb", "pipe"}))
      ->capture_default_str();
  app.add_option("--op", a.op, "the operation (see run_backend.sh)")->required();
  app.add_option("--requests", a.requests, "operations per run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--inflight", a.inflight, "operations outstanding (authstore mode)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-seconds", a.max_seconds, "time bound of a run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rounds", a.rounds,
                 "authstore mode: run the timed phase this many times over the same records (read "
                 "operations only; to profile the timed phase rather than the preparation)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--route", kRoute, "route tag in redis-benchmark's command")->capture_default_str();
  app.add_option("--cluster", cluster, "1: keys get the route placeholder, prefill routes by slot")
      ->check(CLI::IsMember({"0", "1"}))
      ->capture_default_str();
  app.add_option("--tags", a.tags_file, "prefill once per route tag listed in FILE");
  app.add_option("--load-urls", a.load_urls, "rb mode: SCRIPT LOAD on each (comma-separated)");
  app.add_option("--out", a.out_dir, "pipe mode: write the RESP files here");
  std::string blocking = "0";
  app.add_option("--blocking", blocking,
                 "1: blocking calls, one at a time (authstore mode; run_one_in_flight.sh)")
      ->check(CLI::IsMember({"0", "1"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  g_cluster = cluster == "1";
  a.blocking = blocking == "1";
  return a;
}

// ------------------------------------------------------------------------------------------------
// A bounded window: `inflight` chains, each issuing its next operation from the previous one's
// completion, until `n` were issued or the deadline passed.
class Window {
 public:
  using Issue = std::function<void(long i, std::function<void(bool ok)> done)>;

  // Returns the wall-clock seconds; completed() and failed() tell what ran.
  double run(long n, long inflight, double max_seconds, Issue issue) {
    n_ = n;
    chains_ = std::min(inflight, n);
    if (chains_ <= 0) return 0;  // nothing to run: no chain would ever end the wait below
    issue_ = std::move(issue);
    deadline_ = Clock::now() +
                std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(max_seconds));
    const auto t0 = Clock::now();
    for (long c = 0; c < chains_; ++c) launch();
    std::unique_lock l(m_);
    cv_.wait(l, [&] { return finished_; });
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }
  long completed() const { return done_.load(); }
  long failed() const { return failed_.load(); }

 private:
  void launch() {
    const long i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= n_ || stop_.load(std::memory_order_relaxed)) {
      if (ended_.fetch_add(1) + 1 == chains_) {
        std::lock_guard l(m_);
        finished_ = true;
        cv_.notify_all();
      }
      return;
    }
    issue_(i, [this](bool ok) {
      if (!ok) failed_.fetch_add(1, std::memory_order_relaxed);
      const long d = done_.fetch_add(1, std::memory_order_relaxed) + 1;
      if ((d & 1023) == 0 && Clock::now() > deadline_) stop_.store(true);
      launch();
    });
  }

  long n_ = 0;
  long chains_ = 0;
  Issue issue_;
  Clock::time_point deadline_;
  std::atomic<long> next_{0};
  std::atomic<long> done_{0};
  std::atomic<long> failed_{0};
  std::atomic<long> ended_{0};
  std::atomic<bool> stop_{false};
  std::mutex m_;
  std::condition_variable cv_;
  bool finished_ = false;
};

// Runs an untimed preparation step; aborts when any call failed.
void prepare(const char* what, long n, const Window::Issue& issue) {
  Window w;
  w.run(n, 256, 120, issue);
  if (w.failed() != 0 || w.completed() != n) {
    die(std::string("preparing ") + what + ": " + std::to_string(w.failed()) + " failed, " +
        std::to_string(w.completed()) + "/" + std::to_string(n) + " done");
  }
}

template <class T>
std::function<void(Result<T>)> ok_cb(std::function<void(bool)> done) {
  return [done = std::move(done)](Result<T> r) { done(r.ok()); };
}

// ------------------------------------------------------------------------------------------------
// authstore through the public API.

using bench::now_ms;
using bench::token_record;

authstore::CodeGrant code_grant(long i) { return bench::code_grant("user-" + std::to_string(i)); }

authstore::RefreshGrant refresh_grant(const std::string& subject, long i) {
  return bench::refresh_grant(subject, "grant-" + std::to_string(i));
}

authstore::Session session(long i) {
  authstore::Session s;
  s.id = authstore::SessionStore::new_session_id();
  s.user_id = "user-" + std::to_string(i);
  s.type = "full";
  const UnixMillis now = now_ms();
  s.expires_at = now + 3'600'000;
  s.refresh_expires_at = now + 30LL * 24 * 3'600'000;
  s.refresh_token_id = "rt-id-" + std::to_string(i);
  return s;
}

int run_authstore(const Args& a) {
  authstore::Options o;
  o.keys.keys = {{1, std::string(32, 'k')}};
  const std::string url = a.url + (a.url.find('?') == std::string::npos ? "?" : "&") + "prefix=a:";
  auto opened = authstore::open(url, o);
  if (!opened.ok()) die(opened.status().to_string());
  authstore::Store store = opened.value();
  const long n = a.requests;
  const auto un = static_cast<std::size_t>(n);
  const long half = std::max(1L, n / 2);  // subjects / users of the multi-entry reads
  const std::string run = std::to_string(now_ms());
  auto& codes = store.codes();
  auto& refresh = store.refresh();
  auto& sessions = store.sessions();
  auto& replay = store.replay();
  auto& tokens = store.client_tokens();

  std::vector<std::string> strs(un);  // codes, refresh tokens, session ids, ...
  std::vector<authstore::Reservation> reservations;
  const authstore::TokenRecord rec = token_record();
  Window::Issue timed;
  const std::string& op = a.op;

  if (op == "code_issue") {
    timed = [&](long i, auto done) { codes.issue_async(code_grant(i), ok_cb<authstore::IssuedCode>(done)); };
  } else if (op == "code_peek" || op == "code_consume") {
    prepare("codes", n, [&](long i, auto done) {
      codes.issue_async(code_grant(i), [&strs, i, done](Result<authstore::IssuedCode> r) {
        if (r.ok()) strs[static_cast<std::size_t>(i)] = r->code;
        done(r.ok());
      });
    });
    if (op == "code_peek") {
      timed = [&](long i, auto done) {
        codes.peek_async(strs[static_cast<std::size_t>(i)], ok_cb<authstore::CodeRecord>(done));
      };
    } else {
      timed = [&](long i, auto done) {
        codes.consume_async(strs[static_cast<std::size_t>(i)], ok_cb<authstore::CodeRecord>(done));
      };
    }
  } else if (op == "refresh_issue") {
    timed = [&](long i, auto done) {
      refresh.issue_async(refresh_grant("user-" + std::to_string(i), i),
                          ok_cb<authstore::IssuedRefreshToken>(done));
    };
  } else if (op == "refresh_rotate" || op == "refresh_peek" || op == "revoke_subject") {
    prepare("families", n, [&](long i, auto done) {
      refresh.issue_async(refresh_grant("user-" + std::to_string(i), i),
                          [&strs, i, done](Result<authstore::IssuedRefreshToken> r) {
                            if (r.ok()) strs[static_cast<std::size_t>(i)] = r->token;
                            done(r.ok());
                          });
    });
    if (op == "refresh_rotate") {
      timed = [&](long i, auto done) {
        refresh.rotate_async(strs[static_cast<std::size_t>(i)], "client-app",
                             ok_cb<authstore::IssuedRefreshToken>(done));
      };
    } else if (op == "refresh_peek") {
      timed = [&](long i, auto done) {
        refresh.peek_async(strs[static_cast<std::size_t>(i)], ok_cb<authstore::RefreshTokenInfo>(done));
      };
    } else {
      timed = [&](long i, auto done) {
        refresh.revoke_subject_async("user-" + std::to_string(i), ok_cb<authstore::Done>(done));
      };
    }
  } else if (op == "refresh_list") {
    prepare("families", 3 * half, [&](long i, auto done) {
      refresh.issue_async(refresh_grant("user-" + std::to_string(i % half), i),
                          ok_cb<authstore::IssuedRefreshToken>(done));
    });
    timed = [&](long i, auto done) {
      refresh.list_async(
          "user-" + std::to_string(i % half),
          [done](Result<std::vector<authstore::RefreshFamily>> r) { done(r.ok() && r->size() == 3); });
    };
  } else if (op == "jti_store") {
    timed = [&](long i, auto done) {
      refresh.store_jti_async("user-" + std::to_string(i), "jti-" + run + "-" + std::to_string(i),
                              "client-app", 3'600'000, ok_cb<authstore::Done>(done));
    };
  } else if (op == "jti_consume") {
    prepare("jtis", n, [&](long i, auto done) {
      refresh.store_jti_async("user-" + std::to_string(i), "jti-" + std::to_string(i), "client-app",
                              3'600'000, ok_cb<authstore::Done>(done));
    });
    timed = [&](long i, auto done) {
      refresh.consume_jti_async("user-" + std::to_string(i), "jti-" + std::to_string(i),
                                ok_cb<authstore::JtiRecord>(done));
    };
  } else if (op == "session_upsert") {
    timed = [&](long i, auto done) { sessions.upsert_async(session(i), ok_cb<authstore::Session>(done)); };
  } else if (op == "session_get" || op == "session_delete") {
    prepare("sessions", n, [&](long i, auto done) {
      authstore::Session s = session(i);
      strs[static_cast<std::size_t>(i)] = s.id;
      sessions.upsert_async(s, ok_cb<authstore::Session>(done));
    });
    if (op == "session_get") {
      timed = [&](long i, auto done) {
        sessions.get_async(strs[static_cast<std::size_t>(i)], "user-" + std::to_string(i), "full",
                           ok_cb<authstore::Session>(done));
      };
    } else {
      timed = [&](long i, auto done) {
        sessions.delete_session_async(strs[static_cast<std::size_t>(i)], "user-" + std::to_string(i), "full",
                                      ok_cb<authstore::Done>(done));
      };
    }
  } else if (op == "session_get_all") {
    prepare("sessions", 3 * half, [&](long i, auto done) {
      sessions.upsert_async(session(i % half), ok_cb<authstore::Session>(done));
    });
    timed = [&](long i, auto done) {
      sessions.get_all_async(
          "user-" + std::to_string(i % half), "full",
          [done](Result<std::vector<authstore::Session>> r) { done(r.ok() && r->size() == 3); });
    };
  } else if (op == "replay_reserve") {
    const UnixMillis exp = now_ms() + 600'000;
    timed = [&, exp](long i, auto done) {
      replay.reserve_async("https://issuer.example", "jti-" + run + "-" + std::to_string(i), exp,
                           ok_cb<authstore::Reservation>(done));
    };
  } else if (op == "replay_release") {
    reservations.resize(un);
    const UnixMillis exp = now_ms() + 600'000;
    prepare("reservations", n, [&, exp](long i, auto done) {
      replay.reserve_async("https://issuer.example", "jti-" + std::to_string(i), exp,
                           [&reservations, i, done](Result<authstore::Reservation> r) {
                             if (r.ok()) reservations[static_cast<std::size_t>(i)] = r.value();
                             done(r.ok());
                           });
    });
    timed = [&](long i, auto done) {
      replay.release_async(reservations[static_cast<std::size_t>(i)], ok_cb<authstore::Done>(done));
    };
  } else if (op == "token_save") {
    timed = [&](long i, auto done) {
      tokens.save_async("tok-" + std::to_string(i), rec, 0, ok_cb<authstore::Done>(done));
    };
  } else if (op == "token_get" || op == "token_take") {
    prepare("tokens", n, [&](long i, auto done) {
      tokens.save_async("tok-" + std::to_string(i), rec, 0, ok_cb<authstore::Done>(done));
    });
    if (op == "token_get") {
      timed = [&](long i, auto done) {
        tokens.get_async("tok-" + std::to_string(i), ok_cb<authstore::TokenRecord>(done));
      };
    } else {
      // take: GETDEL, the command take_pkce() and remove() send; remove_async is its async form.
      timed = [&](long i, auto done) {
        tokens.remove_async("tok-" + std::to_string(i), ok_cb<authstore::Done>(done));
      };
    }
  } else if (op == "token_list") {
    prepare("tokens", 1000, [&](long i, auto done) {
      tokens.save_async("user-" + std::to_string(i % 10) + "/tok-" + std::to_string(i), rec, 0,
                        ok_cb<authstore::Done>(done));
    });
    timed = [&](long i, auto done) {
      tokens.list_async("user-" + std::to_string(i % 10) + "/", "", 100,
                        [done](Result<authstore::KeyPage> r) { done(r.ok() && !r->keys.empty()); });
    };
  } else {
    die("unknown --op " + op);
  }

  if (a.blocking) {
    // One request in flight through the blocking calls (the store's own wait: spin_us / the
    // Options field apply), from this thread: the reference is redis-benchmark -c 1 -P 1.
    std::function<bool(long)> call;
    const UnixMillis exp = now_ms() + 600'000;
    if (op == "replay_reserve") {
      call = [&, exp](long i) {
        return replay.reserve("https://issuer.example", "jti-b-" + run + "-" + std::to_string(i), exp).ok();
      };
    } else if (op == "code_peek") {
      call = [&](long i) { return codes.peek(strs[static_cast<std::size_t>(i)]).ok(); };
    } else if (op == "session_get") {
      call = [&](long i) {
        return sessions.get(strs[static_cast<std::size_t>(i)], "user-" + std::to_string(i), "full").ok();
      };
    } else if (op == "token_get") {
      call = [&](long i) { return tokens.get("tok-" + std::to_string(i)).ok(); };
    } else {
      die("--blocking 1 runs replay_reserve, code_peek, session_get or token_get");
    }
    const auto t0 = Clock::now();
    const auto stop =
        t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.max_seconds));
    long completed = 0, failed = 0;
    for (long i = 0; i < n && Clock::now() < stop; ++i) {
      ++completed;
      if (!call(i)) ++failed;
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("op=%s blocking=1 requests=%ld completed=%ld failed=%ld rps=%.0f\n", op.c_str(), n, completed,
                failed, static_cast<double>(completed) / wall);
    return failed == 0 && completed == n ? 0 : 1;
  }

  int rc = 0;
  for (long round = 0; round < a.rounds; ++round) {
    Window w;
    const std::uint64_t allocs0 = authstore::bench::allocations();
    const double wall = w.run(n, a.inflight, a.max_seconds, timed);
    const double done = static_cast<double>(w.completed());
    // Allocations per operation (global operator new in this process: the library's and the
    // benchmark's own few), a figure that does not depend on the machine's load.
    const double allocs =
        static_cast<double>(authstore::bench::allocations() - allocs0) / std::max(done, 1.0);
    std::printf("op=%s inflight=%ld requests=%ld completed=%ld failed=%ld rps=%.0f allocs_per_op=%.1f\n",
                op.c_str(), a.inflight, n, w.completed(), w.failed(), done / wall, allocs);
    if (w.failed() != 0 || w.completed() != n) rc = 1;
  }
  return rc;
}

// ------------------------------------------------------------------------------------------------
// redis-benchmark's side: the same scripts, the records it hits, and its command line.
//
// Sizes: what authstore writes for the grants above (lookup hashes, signed/encrypted records).
constexpr std::size_t kHashLen = 43;         // a keyed lookup hash (base64url of 256 bits)
constexpr std::size_t kCodeRecord = 283;     // code record blob
constexpr std::size_t kCodeTombstone = 107;  // code tombstone blob
constexpr std::size_t kFamilyRecord = 228;   // refresh family record blob
constexpr std::size_t kJtiRecord = 89;       // jti record blob
constexpr std::size_t kSessionRecord = 287;  // session record blob
constexpr std::size_t kTokenRecord = 232;    // client token blob (encrypted record)
constexpr std::size_t kOwner = 22;           // replay owner

std::string id12(long i) {
  char b[24];
  std::snprintf(b, sizeof b, "%012ld", i);
  return b;
}

std::string blob(std::size_t n, char c) { return std::string(n, c); }
std::string pad(std::size_t total, std::string_view tail) {
  return std::string(total > tail.size() ? total - tail.size() : 0, 'h') + std::string(tail);
}

struct Scripts {
  // Version 2: the native layout's rare-path scripts (docs/redis.md, "Codes", "Replay
  // reservations"); only replay_release is on a path the benchmark times.
  redis::Script code_insert{"code_insert", 2, lua::code_insert};
  redis::Script code_consume{"code_consume", 2, lua::code_consume};
  redis::Script replay_reserve{"replay_reserve", 2, lua::replay_reserve};
  redis::Script replay_release{"replay_release", 2, lua::replay_release};
  redis::Script token_list{"token_list", 1, lua::token_list};
  redis::Script session_upsert{"session_upsert", 1, lua::session_upsert};
  redis::Script session_remove{"session_remove", 1, lua::session_remove};
  redis::Script session_get_all{"session_get_all", 1, lua::session_get_all};
  redis::Script refresh_issue{"refresh_issue", 2, lua::refresh_issue};
  redis::Script refresh_rotate{"refresh_rotate", 2, lua::refresh_rotate};
  redis::Script refresh_peek{"refresh_peek", 2, lua::refresh_peek};
  redis::Script refresh_list{"refresh_list", 2, lua::refresh_list};
  redis::Script refresh_revoke_subject{"refresh_revoke_subject", 2, lua::refresh_revoke_subject};
  redis::Script jti_store{"jti_store", 2, lua::jti_store};
  redis::Script jti_consume{"jti_consume", 2, lua::jti_consume};
};

const std::string kP = "b:";
// The scripts' last argument: the route-named layout only (legacy_user_keys=false, a Cluster's).
const std::string kLayout = "0";
const std::string kCli = pad(kHashLen, "cli");
const std::string kGra = pad(kHashLen, "gra");
const std::string kOwnerV = blob(kOwner, 'o');
constexpr std::int64_t kDay = 24LL * 3'600'000;

std::string ms(std::int64_t v) { return std::to_string(v); }

// A replay reservation's key: `jr:<h>` hashes as a whole (no route); on a Cluster redis-benchmark
// needs its placeholder in every key, so the key gains the route there (the same server work).
std::string jr_key(const std::string& h) { return kP + "jr:" + (g_cluster ? kRoute : "") + h; }

// A record id as redis-benchmark writes it: a fixed-width hash whose last 12 characters are the
// number (`tail` "__rand_int__" for the command line, id12(i) for the prefill).
std::string hid(std::string_view tail) { return pad(kHashLen, tail); }

// Keys of the refresh records: family, token, subject (one per family, or `sub` when set).
std::vector<std::string> issue_cmd(const Scripts& s, std::int64_t now, const std::string& fam,
                                   const std::string& tok, const std::string& sub) {
  return {"EVALSHA",
          s.refresh_issue.sha1(),
          "5",
          kP + "rf:" + kRoute + ":" + fam,
          kP + "rt:" + kRoute + ":" + tok,
          kP + "ri:" + kRoute + ":" + sub,
          kP + "rs:" + kRoute,
          kP + "rx:" + kRoute,
          ms(now),
          kP,
          kRoute,
          sub,
          "rf:" + kRoute + ":" + fam,
          "rt:" + kRoute + ":" + tok,
          kCli,
          kGra,
          blob(kFamilyRecord, 'f'),
          ms(14 * kDay),
          ms(now + 90 * kDay),
          kLayout};
}

std::vector<std::string> session_cmd(const Scripts& s, std::int64_t now, const std::string& bucket,
                                     const std::string& field) {
  return {"EVALSHA",
          s.session_upsert.sha1(),
          "3",
          kP + "sh:" + kRoute + ":" + bucket,
          kP + "sx:" + kRoute + ":" + bucket,
          kP + "sz:" + kRoute + ":" + bucket,
          ms(now),
          field,
          blob(kSessionRecord, 's'),
          "0",
          ms(now + 30 * kDay),
          "0"};
}

std::vector<std::string> jti_cmd(const Scripts& s, std::int64_t now, const std::string& jti,
                                 const std::string& sub) {
  return {"EVALSHA",
          s.jti_store.sha1(),
          "2",
          kP + "rj:" + kRoute + ":" + jti,
          kP + "rs:" + kRoute,
          ms(now),
          kP,
          kRoute,
          sub,
          kCli,
          blob(kJtiRecord, 'j'),
          ms(now + 3'600'000),
          kLayout};
}

std::string token_value(std::int64_t now) { return ms(now + 30 * kDay) + ":" + blob(kTokenRecord, 't'); }

// How many records redis-benchmark's keys are drawn from (-r): twice the requests for operations
// that spend what they hit (so ~79% of draws hit a fresh record), the requests for single reads,
// half of them for the reads of three records each.
long keyspace(const std::string& op, long n) {
  if (op == "code_issue" || op == "refresh_issue" || op == "jti_store" || op == "session_upsert" ||
      op == "replay_reserve" || op == "token_save") {
    return 1'000'000'000;
  }
  if (op == "code_peek" || op == "refresh_peek" || op == "session_get" || op == "token_get") return n;
  if (op == "refresh_list" || op == "session_get_all") return std::max(1L, n / 2);
  if (op == "token_list") return 1;
  return 2 * n;
}

// What code issue sends for the code with lookup hash h (redis_codes_replay_tokens.cc): the
// record "<expires_at>:<record>" and the tombstone "<expires_at>:<tombstone>", each SET NX PX
// with the remaining lifetime plus 1 s, in the code's slot.
std::vector<std::vector<std::string>> code_issue_cmds(std::int64_t now, const std::string& h) {
  const std::string e = ms(now + 600'000) + ":";
  return {{"SET", kP + "ac:" + kRoute + ":" + h, e + blob(kCodeRecord, 'c'), "NX", "PX", ms(601'000)},
          {"SET", kP + "act:" + kRoute + ":" + h, e + blob(kCodeTombstone, 'x'), "NX", "PX", ms(601'000)}};
}

// The prefill commands for record i (empty for none).
std::vector<std::vector<std::string>> prefill_cmds(const Scripts& s, const std::string& op, std::int64_t now,
                                                   long i) {
  const std::string id = id12(i);
  if (op == "code_peek" || op == "code_consume") return code_issue_cmds(now, hid(id));
  if (op == "refresh_rotate" || op == "refresh_peek") return {issue_cmd(s, now, hid(id), hid(id), hid(id))};
  if (op == "revoke_subject") return {issue_cmd(s, now, hid(id), hid(id), hid(id))};
  if (op == "refresh_list") {
    std::vector<std::vector<std::string>> out;
    for (int t = 0; t < 3; ++t) {
      const std::string f = hid(std::to_string(t) + id);
      out.push_back(issue_cmd(s, now, f, f, hid(id)));
    }
    return out;
  }
  if (op == "jti_consume") return {jti_cmd(s, now, hid(id), hid("s0"))};
  if (op == "session_get" || op == "session_delete") return {session_cmd(s, now, hid(id), hid("session0"))};
  if (op == "session_get_all") {
    return {session_cmd(s, now, hid(id), hid("session0")), session_cmd(s, now, hid(id), hid("session1")),
            session_cmd(s, now, hid(id), hid("session2"))};
  }
  if (op == "replay_release") {
    return {{"SET", jr_key(hid(id)), ms(now + 660'000) + ":" + kOwnerV, "PX", ms(661'000)}};
  }
  if (op == "token_get" || op == "token_take") {
    return {{"SET", kP + "ct:g:tok-" + id, token_value(now), "PX", ms(30 * kDay + 1000)}};
  }
  if (op == "token_list") {
    return {{"SET", kP + "ct:g:user-" + std::to_string(i % 10) + "/tok-" + std::to_string(i),
             token_value(now), "PX", ms(30 * kDay + 1000)}};
  }
  return {};
}

// redis-benchmark's command for `op`.
std::vector<std::string> rb_cmd(const Scripts& s, const std::string& op, std::int64_t now) {
  const std::string R = "__rand_int__";
  const std::string rid = hid(R);
  // Code issue is two commands (the record's SET NX PX, then the tombstone's): this is the first;
  // the exact stream of both is --mode pipe's (run_backend.sh uses it for code_issue).
  if (op == "code_issue") return code_issue_cmds(now, rid)[0];
  if (op == "code_peek") return {"GET", kP + "ac:" + kRoute + ":" + rid};
  if (op == "code_consume") return {"GETDEL", kP + "ac:" + kRoute + ":" + rid};
  if (op == "refresh_issue") return issue_cmd(s, now, rid, rid, rid);
  if (op == "refresh_rotate") {
    const std::string nk = hid("n" + R);
    return {"EVALSHA",
            s.refresh_rotate.sha1(),
            "5",
            kP + "rt:" + kRoute + ":" + rid,
            kP + "rt:" + kRoute + ":" + nk,
            kP + "rs:" + kRoute,
            kP + "rx:" + kRoute,
            kP + "rf:" + kRoute + ":" + rid,
            ms(now),
            kP,
            kRoute,
            "rt:" + kRoute + ":" + nk,
            kCli,
            "0",
            "rf:" + kRoute + ":" + rid,
            kLayout};
  }
  if (op == "refresh_peek") {
    return {"EVALSHA",
            s.refresh_peek.sha1(),
            "4",
            kP + "rt:" + kRoute + ":" + rid,
            kP + "rs:" + kRoute,
            kP + "rx:" + kRoute,
            kP + "rf:" + kRoute + ":" + rid,
            ms(now),
            kP,
            kRoute,
            "rf:" + kRoute + ":" + rid,
            kLayout};
  }
  if (op == "revoke_subject") {
    return {"EVALSHA",
            s.refresh_revoke_subject.sha1(),
            "2",
            kP + "rs:" + kRoute,
            kP + "ri:" + kRoute + ":" + rid,
            ms(now),
            rid};
  }
  if (op == "refresh_list") {
    return {"EVALSHA",
            s.refresh_list.sha1(),
            "3",
            kP + "ri:" + kRoute + ":" + rid,
            kP + "rs:" + kRoute,
            kP + "rx:" + kRoute,
            ms(now),
            kP,
            kRoute,
            kLayout};
  }
  if (op == "jti_store") return jti_cmd(s, now, rid, rid);
  if (op == "jti_consume") {
    return {"EVALSHA",
            s.jti_consume.sha1(),
            "2",
            kP + "rj:" + kRoute + ":" + rid,
            kP + "rs:" + kRoute,
            ms(now),
            kP,
            kRoute,
            hid("s0"),
            kLayout};
  }
  if (op == "session_upsert") return session_cmd(s, now, rid, rid);
  if (op == "session_get") return {"HGET", kP + "sh:" + kRoute + ":" + rid, hid("session0")};
  if (op == "session_get_all") {
    return {"EVALSHA",
            s.session_get_all.sha1(),
            "2",
            kP + "sh:" + kRoute + ":" + rid,
            kP + "sx:" + kRoute + ":" + rid,
            ms(now)};
  }
  if (op == "session_delete") {
    return {"EVALSHA",
            s.session_remove.sha1(),
            "3",
            kP + "sh:" + kRoute + ":" + rid,
            kP + "sx:" + kRoute + ":" + rid,
            kP + "sz:" + kRoute + ":" + rid,
            ms(now),
            hid("session0")};
  }
  if (op == "replay_reserve") {
    return {"SET", jr_key(rid), ms(now + 660'000) + ":" + kOwnerV, "NX", "PX", ms(661'000), "GET"};
  }
  if (op == "replay_release") {
    return {"EVALSHA", s.replay_release.sha1(), "1", jr_key(rid), ms(now), kOwnerV};
  }
  if (op == "token_save") return {"SET", kP + "ct:g:tok-" + R, token_value(now), "PX", ms(30 * kDay + 1000)};
  if (op == "token_get") return {"GET", kP + "ct:g:tok-" + R};
  if (op == "token_take") return {"GETDEL", kP + "ct:g:tok-" + R};
  if (op == "token_list") {
    return {"EVALSHA", s.token_list.sha1(),      "0", ms(now), kP + "ct:g:user-3/*", "0", "0",
            "100",     std::to_string(kP.size())};
  }
  die("unknown --op " + op);
}

std::unique_ptr<redis::Client> connect(const std::string& url) {
  redis::ClientOptions base;
  base.command_timeout = std::chrono::seconds(30);
  auto c = redis::Client::from_url(url, base);
  if (!c.ok()) die(c.status().to_string());
  return std::move(c).value();
}

void send_all(redis::Client& client, const std::vector<std::vector<std::string>>& cmds) {
  prepare("redis-benchmark records", static_cast<long>(cmds.size()), [&](long i, auto done) {
    const auto& c = cmds[static_cast<std::size_t>(i)];
    std::vector<std::string_view> v(c.begin(), c.end());
    client.async_call(std::span<const std::string_view>(v),
                      [done](Result<redis::Reply> r) { done(r.ok() && !r->is_error()); });
  });
}

const redis::Script* find_script(const Scripts& s, std::string_view sha) {
  for (const redis::Script* sc :
       {&s.code_insert, &s.code_consume, &s.replay_reserve, &s.replay_release, &s.token_list,
        &s.session_upsert, &s.session_remove, &s.session_get_all, &s.refresh_issue, &s.refresh_rotate,
        &s.refresh_peek, &s.refresh_list, &s.refresh_revoke_subject, &s.jti_store, &s.jti_consume}) {
    if (sc->sha1() == sha) return sc;
  }
  die("no script for " + std::string(sha));
}

// On a Cluster: each command goes to its slot's master through authstore's Cluster executor (which
// also loads a script on a node that answers NOSCRIPT).
void send_all_cluster(authstore::internal::RedisExecutor& ex, const Scripts& s,
                      const std::vector<std::vector<std::string>>& cmds) {
  prepare("redis-benchmark records", static_cast<long>(cmds.size()), [&](long i, auto done) {
    const auto& c = cmds[static_cast<std::size_t>(i)];
    std::vector<std::string_view> v(c.begin(), c.end());
    const std::span<const std::string_view> all(v);
    authstore::internal::RedisCall call;
    call.op = "prefill";
    if (c[0] == "EVALSHA") {
      const auto nk = static_cast<std::size_t>(std::stoul(c[2]));
      call.script = find_script(s, c[1]);
      call.keys = all.subspan(3, nk);
      call.args = all.subspan(3 + nk);
    } else {
      call.keys = all.subspan(1, 1);
      call.args = all;
    }
    // execute() encodes the call before it returns: the views may end with this scope.
    ex.execute(call, Clock::now() + std::chrono::seconds(30),
               [done](Result<redis::Reply> r) { done(r.ok() && !r->is_error()); });
  });
}

// The route tags the prefill writes under: kRoute, or each line of --tags.
std::vector<std::string> route_tags(const Args& a) {
  if (a.tags_file.empty()) return {kRoute};
  std::ifstream in(a.tags_file);
  std::vector<std::string> tags;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) tags.push_back(line);
  }
  if (tags.empty()) die("no tags in " + a.tags_file);
  return tags;
}

// redis-benchmark's -r: the records per route tag (keyspace() spread over the tags).
long per_tag(const Args& a, long k) {
  if (k >= 1'000'000'000) return k;
  const auto tags = static_cast<long>(route_tags(a).size());
  return std::max(1L, (k + tags - 1) / tags);
}

int run_prefill(const Args& a) {
  const Scripts s;
  std::unique_ptr<redis::Client> client;
  std::unique_ptr<authstore::internal::RedisExecutor> cluster;
  if (g_cluster) {
    auto u = redis::parse_cluster_url(a.url);
    if (!u.ok()) die(u.status().to_string());
    cluster = authstore::internal::make_cluster_executor(std::move(u).value());
  } else {
    client = connect(a.url);
    for (const redis::Script* sc :
         {&s.code_insert, &s.refresh_issue, &s.jti_store, &s.session_upsert, &s.replay_reserve}) {
      auto r = client->call({"SCRIPT", "LOAD", sc->source()});
      if (!r.ok()) die(r.status().to_string());
    }
  }
  const long k = keyspace(a.op, a.requests);
  if (k >= 1'000'000'000) return 0;
  const std::int64_t now = now_ms();
  const long records = a.op == "token_list" ? 1000 : per_tag(a, k);
  std::vector<std::vector<std::string>> cmds;
  const auto flush = [&] {
    if (cmds.empty()) return;  // a keyspace that is a multiple of the chunk: nothing left
    if (cluster)
      send_all_cluster(*cluster, s, cmds);
    else
      send_all(*client, cmds);
    cmds.clear();
  };
  for (const std::string& tag : route_tags(a)) {
    kRoute = tag;
    for (long i = 0; i < records; ++i) {
      for (auto& c : prefill_cmds(s, a.op, now, i)) cmds.push_back(std::move(c));
      if (cmds.size() >= 50'000) flush();  // built in chunks so that memory stays bounded
    }
  }
  flush();
  return 0;
}

// Loads `found` (the exact source the backend loads) on every URL (--load-urls, else --url) and
// checks the SHA.
void load_script(const Args& a, const redis::Script* found) {
  std::vector<std::string> urls;
  if (a.load_urls.empty()) urls.push_back(a.url);
  for (std::size_t from = 0; from < a.load_urls.size();) {
    const std::size_t comma = std::min(a.load_urls.find(',', from), a.load_urls.size());
    urls.push_back(a.load_urls.substr(from, comma - from));
    from = comma + 1;
  }
  for (const auto& u : urls) {
    auto client = connect(u);
    auto r = client->call({"SCRIPT", "LOAD", found->source()});
    if (!r.ok() || !r->is_string() || r->str() != found->sha1()) die("SCRIPT LOAD did not return the SHA");
  }
}

void append_resp(std::string& out, const std::vector<std::string>& cmd) {
  out += '*' + std::to_string(cmd.size()) + "\r\n";
  for (const auto& arg : cmd) {
    out += '$' + std::to_string(arg.size()) + "\r\n";
    out += arg;
    out += "\r\n";
  }
}

int run_pipe(const Args& a) {
  if (a.out_dir.empty()) die("--out DIR is required with --mode pipe");
  const Scripts s;
  const std::int64_t now = now_ms();
  const auto tags = route_tags(a);
  const long records = per_tag(a, keyspace(a.op, a.requests));
  const long per_file = std::max(1L, a.requests / static_cast<long>(tags.size()));
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<long> draw(0, records - 1);
  bool loaded = false;
  for (std::size_t k = 0; k < tags.size(); ++k) {
    kRoute = tags[k];
    std::string out;
    for (long i = 0; i < per_file; ++i) {
      const std::string id = id12(draw(rng));
      std::vector<std::vector<std::string>> cmds;
      if (a.op == "code_issue") {
        cmds = code_issue_cmds(now, hid(id));
      } else if (a.op == "refresh_list") {
        const std::string idx = kP + "ri:" + kRoute + ":" + hid(id);
        cmds.push_back({"ZRANGE", idx, "0", "-1"});
        std::vector<std::string> c = {"EVALSHA", s.refresh_list.sha1(), "6",
                                      idx,       kP + "rs:" + kRoute,   kP + "rx:" + kRoute};
        for (int t = 0; t < 3; ++t) c.push_back(kP + "rf:" + kRoute + ":" + hid(std::to_string(t) + id));
        for (const auto& arg : {ms(now), kP, kRoute, kLayout}) c.push_back(arg);
        cmds.push_back(std::move(c));
      } else {
        std::vector<std::string> c = rb_cmd(s, a.op, now);
        for (auto& arg : c) {
          for (std::size_t at; (at = arg.find("__rand_int__")) != std::string::npos;) arg.replace(at, 12, id);
        }
        cmds.push_back(std::move(c));
      }
      if (!loaded) {
        for (const auto& c : cmds) {
          if (c[0] == "EVALSHA") load_script(a, find_script(s, c[1]));
        }
        loaded = true;
        std::printf("%zu %ld\n", cmds.size(), per_file * static_cast<long>(tags.size()));
      }
      for (const auto& c : cmds) append_resp(out, c);
    }
    std::ofstream f(a.out_dir + "/pipe-" + std::to_string(k) + ".resp", std::ios::binary);
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f) die("cannot write " + a.out_dir);
  }
  return 0;
}

int run_rb(const Args& a) {
  const Scripts s;
  const auto cmd = rb_cmd(s, a.op, now_ms());
  if (cmd[0] == "EVALSHA") {
    // The exact source the backend loads; its SHA must be the one EVALSHA names. On a Cluster:
    // on every master (--load-urls).
    load_script(a, find_script(s, cmd[1]));
  }
  std::printf("%ld", per_tag(a, keyspace(a.op, a.requests)));
  for (const auto& arg : cmd) std::printf(" %s", arg.c_str());
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (a.mode == "authstore") return run_authstore(a);
  if (a.mode == "prefill") return run_prefill(a);
  if (a.mode == "rb") return run_rb(a);
  if (a.mode == "pipe") return run_pipe(a);
  die("unknown --mode " + a.mode);
}
