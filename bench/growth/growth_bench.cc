// growth_bench: does an operation's cost depend on the store's size? (issue 17, target 5;
// docs/performance.md, "Growth"). bench/growth/run.sh drives it for memory, SQLite and Redis.
//
//   growth_bench --small URL --big URL [--n-small 1000] [--n-big 10000000] [--ops 20000]
//                [--reps 5] [--inflight 1] [--fill-threads 2] [--fill-inflight 256]
//                [--list-sizes 10,100,1000,10000] [--logout-families 10,10000] [--max-seconds 600]
//                [--parts hot,logout,list] [--reuse]
//
// 1. Fill: the small store gets n-small live records, the big one n-big, spread evenly over five
//    kinds (codes issued and not consumed, refresh families of distinct users, sessions, replay
//    reservations, client tokens), all living for hours, through the public *_async calls:
//    fill-threads threads, each with up to fill-inflight calls outstanding (memory and SQLite
//    complete a call before it returns, so there the threads are the concurrency; SQLite's group
//    commit puts the threads' writes in shared transactions). Prints the time and the process's
//    peak RSS. Deterministic names (session "sess-<i>", client token "tok-<i>") let the timed
//    reads pick any filled record, uniformly at random, so the big store's reads miss caches as
//    a real store's would.
// 2. Hot operations, each timed on the small store then the big one (the order alternating per
//    repetition), `ops` operations per timing with `inflight` outstanding (1: one call at a time;
//    Redis: 256 makes the server the limit): code issue+consume (a pair), refresh rotate (of
//    filled families picked at random, each chain rotating its own), session get, replay reserve
//    (a fresh jti), client token get. Prints ns per operation (median of reps) and big/small.
// 3. Logout everywhere (refresh().revoke_subject) of a user holding F families, for each F of
//    --logout-families, in the big store: each repetition issues F families to a fresh user per F
//    (untimed), then times each user's one call. Prints µs per logout, µs per family, and the
//    ratio to the first F.
// 4. Listing (refresh().list) of a user holding L families, for each L of --list-sizes, in the
//    small and the big store: µs per list, ns per listed family, and big/small.
// Every timed call must succeed (a failure aborts the run: no figure from a failing path).
// Bounded: every wait ends after --max-seconds.
//
// --reuse (SQLite only: fill once, time several times, e.g. with other URL options such as
// cache_size_kib). Each store's fill is recorded beside its database file, in "<db>.growth-fill"
// (fill_record.h): n, the kinds and names of the records, when the fill began and when its first
// records expire, the database file's device and inode, and the sampled refresh tokens. A run
// with --reuse finds either no database file (it fills, as without --reuse, then writes the
// record) or a database file with its record, which must match the arguments and the file (same
// n, same layout, same inode, not expiring within --max-seconds, a few filled records readable):
// then it skips the fill and times at once. Anything else is refused with an error naming the
// file: a database without a record, a record that does not match, a record without --reuse.
// The rotation sample: rotations spend tokens, so the record's tokens are rewritten after every
// run's rotation timing (untimed, between two operations' timings), and marked spent while it
// runs; a reuse run finding them spent (a run that did not finish) issues a fresh sample of the
// same size, untimed, and says so. A fresh fill's run does exactly today's timed work: the fill
// is the same, and the record is written only between timings. A reused store differs from a
// fresh one in what earlier runs' timed calls left: their codes, rotated tokens, reservations
// and families live on until they expire (hours); the run prints how many (added_records). And in
// what the OS caches: a fresh fill leaves the file's pages in the page cache, a reused file's
// pages may have been evicted since (each operation's untimed warm-up reads only some back).
#include <sys/resource.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <mutex>
#include <random>
#include <semaphore>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "authstore/authstore.h"
#include "common/records.h"
#include "growth/fill_record.h"

namespace {

using Clock = std::chrono::steady_clock;
using authstore::Result;
using authstore::UnixMillis;

struct Args {
  std::string small_url;
  std::string big_url;
  long n_small = 1000;
  long n_big = 10'000'000;
  long ops = 20000;
  int reps = 5;
  long inflight = 1;
  int fill_threads = 2;
  long fill_inflight = 256;
  std::string list_sizes = "10,100,1000,10000";
  std::string logout_families = "10,10000";
  double max_seconds = 600;
  std::string parts = "hot,logout,list";
  bool reuse = false;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "growth_bench: %s\n", msg.c_str());
  std::exit(1);
}

std::vector<long> parse_list(const std::string& s, const char* what) {
  std::vector<long> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (end == item.c_str() || *end != '\0' || v <= 0)
      die(std::string(what) + ": expected positive integers");
    out.push_back(v);
  }
  if (out.empty()) die(std::string(what) + ": empty");
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  CLI::App app{"growth_bench: operation cost in a small vs a big store (bench/growth/run.sh drives it)"};
  app.add_option("--small", a.small_url, "URL of the small store")->required();
  app.add_option("--big", a.big_url, "URL of the big store")->required();
  app.add_option("--n-small", a.n_small, "live records filled into the small store")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--n-big", a.n_big, "live records filled into the big store")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--ops", a.ops, "operations per timing")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--reps", a.reps, "repetitions (alternating small/big)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--inflight", a.inflight, "calls outstanding while timing")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--fill-threads", a.fill_threads, "threads filling")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--fill-inflight", a.fill_inflight, "calls outstanding per filling thread")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--list-sizes", a.list_sizes, "families per listed user")->capture_default_str();
  app.add_option("--logout-families", a.logout_families, "families per logged-out user (first = reference)")
      ->capture_default_str();
  app.add_option("--parts", a.parts, "what to time after the fill: hot, logout, list (comma-separated)")
      ->capture_default_str();
  app.add_option("--max-seconds", a.max_seconds, "bound of any one wait")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--reuse", a.reuse,
               "SQLite: keep a record of each fill beside its file (<db>.growth-fill) and, when it matches, "
               "time the store without filling it again");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  return a;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

using bench::now_ms;

long peak_rss_mb() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

// ------------------------------------------------------------------------------------------------
// Running calls: `chains` chains, each issuing its next call from the previous one's completion
// (chain c's k-th call is op(c, k, done)), until `per_chain` calls per chain ran. On memory and
// SQLite a call completes before it returns, so a chain is a loop there (no recursion: a
// completion only counts; the chain's thread issues the next call). Returns the seconds taken.
using Op = std::function<void(long chain, long k, std::function<void(bool ok)> done)>;

class Runner {
 public:
  explicit Runner(double max_seconds) : max_seconds_(max_seconds) {}

  // Runs the chains from `threads` threads (chain c on thread c % threads); aborts on a failure.
  double run(const char* what, long chains, long per_chain, int threads, const Op& op) {
    if (chains <= 0 || per_chain <= 0) return 0;
    failed_ = 0;
    const auto t0 = Clock::now();
    const auto deadline =
        t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(max_seconds_));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        // This thread's chains advance in turn; a chain whose call is outstanding is skipped.
        std::vector<long> mine;
        for (long c = t; c < chains; c += threads) mine.push_back(c);
        std::vector<long> next(mine.size(), 0);
        std::vector<std::atomic<bool>> busy(mine.size());
        long left = static_cast<long>(mine.size()) * per_chain;
        while (left > 0 && Clock::now() < deadline) {
          bool issued = false;
          for (std::size_t j = 0; j < mine.size(); ++j) {
            if (next[j] >= per_chain || busy[j].load(std::memory_order_acquire)) continue;
            busy[j].store(true, std::memory_order_relaxed);
            const long k = next[j]++;
            --left;
            issued = true;
            op(mine[j], k, [this, &busy, j](bool ok) {
              if (!ok) failed_.fetch_add(1);
              busy[j].store(false, std::memory_order_release);
              std::lock_guard l(m_);
              cv_.notify_all();
            });
          }
          if (failed_.load() != 0) break;
          if (!issued) {  // every chain of this thread waits for its completion
            std::unique_lock l(m_);
            cv_.wait_for(l, std::chrono::milliseconds(1));
          }
        }
        std::unique_lock l(m_);
        cv_.wait_until(l, deadline, [&] {
          for (auto& b : busy) {
            if (b.load()) return false;
          }
          return true;
        });
      });
    }
    for (auto& th : pool) th.join();
    const double secs = seconds_since(t0);
    if (failed_.load() != 0) die(std::string(what) + ": " + std::to_string(failed_.load()) + " calls failed");
    if (Clock::now() > deadline) die(std::string(what) + ": time bound reached");
    return secs;
  }

 private:
  double max_seconds_;
  std::atomic<long> failed_{0};
  std::mutex m_;
  std::condition_variable cv_;
};

template <class T>
std::function<void(Result<T>)> ok_cb(std::function<void(bool)> done) {
  return [done = std::move(done)](Result<T> r) {
    static std::atomic<bool> told{false};
    if (!r.ok() && !told.exchange(true)) {
      std::fprintf(stderr, "growth_bench: a call failed: %s\n", r.status().to_string().c_str());
    }
    done(r.ok());
  };
}

// ------------------------------------------------------------------------------------------------
// What the calls write.

constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kCodeTtl = 10 * kHour;  // the shortest life of a filled record

authstore::CodeGrant code_grant(const std::string& subject) {
  authstore::CodeGrant g = bench::code_grant(subject);
  g.ttl_ms = kCodeTtl;  // lives through a long run (Options::codes.max_ttl_ms raised below)
  return g;
}

using bench::refresh_grant;

std::string fill_user(long i) { return "fill-u" + std::to_string(i); }
std::string session_id(long i) {  // 16..256 bytes
  char buf[40];
  std::snprintf(buf, sizeof buf, "sess-growth-%012ld", i);
  return buf;
}
std::string token_key(long i) { return "tok-" + std::to_string(i); }

authstore::Session session(long i) {
  authstore::Session s;
  s.id = session_id(i);
  s.user_id = fill_user(i);
  s.type = "full";
  const UnixMillis now = now_ms();
  s.expires_at = now + kHour;
  s.refresh_expires_at = now + 24 * kHour;
  s.refresh_token_id = "rt-id-" + std::to_string(i);
  return s;
}

using bench::token_record;

// ------------------------------------------------------------------------------------------------
// One store under test and what its fill left to read.

constexpr long kRotateSample = 65536;  // refresh tokens kept for rotation (spread over the fill)

// What fill() writes, in words: a reused fill must have been made this way (fill_record.h). Change
// it with fill(), session(), the names or the lifetimes.
constexpr const char* kFillLayout =
    "kinds codes,refresh,sessions,replay,client_tokens (record r: kind r%5, index r/5); names fill-u<i> "
    "sess-growth-<i:012> tok-<i>; lives codes 10h, replay 20h, sessions 24h, client tokens 24h; "
    "rotation sample every max(1, per_kind/65536)-th family";

struct Subject {
  std::string name;
  authstore::Store store;
  long n = 0;                              // live records filled
  long per_kind = 0;                       // n / 5
  std::vector<std::string> rotate_tokens;  // current tokens of sampled families
  std::string run_id = std::to_string(now_ms());
  std::atomic<long> fresh{0};  // counter for fresh names (replay jtis, users)
  std::atomic<long> draws{0};  // counter behind the random picks of the reads
  long rotate_chains = 1;      // chains of the refresh rotate timing (disjoint families each)
  // --reuse: the fill's record beside the database file (fill_record.h).
  bool keep_record = false;   // a record is kept (written after a fill, updated by the runs)
  bool reused = false;        // the record matched: no fill
  std::string db_path;        // the database file
  std::string record_file;    // its record
  growth::FillRecord record;  // as read, or as written after the fill
  long added = 0;             // records this run's timed calls added (codes, tokens, jtis, families)
};

authstore::Store open_store(const std::string& url) {
  authstore::Options o;
  o.keys.keys = {{1, std::string(32, 'k')}};
  o.keys.route_secret = std::string(32, 'r');
  o.codes.max_ttl_ms = kCodeTtl;
  auto opened = authstore::open(url, o);
  if (!opened.ok()) die("open " + url + ": " + opened.status().to_string());
  return opened.value();
}

void fill(Subject& s, const Args& a, Runner& runner) {
  const long k = s.per_kind;
  const long stride = std::max(1L, k / kRotateSample);
  s.rotate_tokens.assign(static_cast<std::size_t>(std::min(k, kRotateSample)), std::string());
  const authstore::TokenRecord rec = token_record();
  const UnixMillis replay_exp = now_ms() + 20 * kHour;
  const long chains = static_cast<long>(a.fill_threads) * a.fill_inflight;
  // Record r of the fill is kind r % 5, index r / 5 of its kind: the kinds grow together.
  const long total = 5 * k;
  const long per_chain = (total + chains - 1) / chains;
  std::mutex tokens_mu;
  const auto t0 = Clock::now();
  runner.run("fill", chains, per_chain, a.fill_threads, [&](long c, long j, std::function<void(bool)> done) {
    const long r = c * per_chain + j;
    if (r >= total) return done(true);
    const long i = r / 5;
    switch (r % 5) {
      case 0:
        s.store.codes().issue_async(code_grant(fill_user(i)), ok_cb<authstore::IssuedCode>(std::move(done)));
        break;
      case 1:
        s.store.refresh().issue_async(
            refresh_grant(fill_user(i)),
            [&s, &tokens_mu, i, stride, done = std::move(done)](Result<authstore::IssuedRefreshToken> t) {
              if (t.ok() && i % stride == 0 && i / stride < static_cast<long>(s.rotate_tokens.size())) {
                std::lock_guard l(tokens_mu);
                s.rotate_tokens[static_cast<std::size_t>(i / stride)] = t->token;
              }
              ok_cb<authstore::IssuedRefreshToken>(done)(std::move(t));
            });
        break;
      case 2:
        s.store.sessions().upsert_async(session(i), ok_cb<authstore::Session>(std::move(done)));
        break;
      case 3:
        s.store.replay().reserve_async("https://issuer.example", "fill-" + s.run_id + "-" + std::to_string(i),
                                       replay_exp, ok_cb<authstore::Reservation>(std::move(done)));
        break;
      default:
        s.store.client_tokens().save_async(token_key(i), rec, 24 * kHour,
                                           ok_cb<authstore::Done>(std::move(done)));
        break;
    }
  });
  const double secs = seconds_since(t0);
  for (const auto& t : s.rotate_tokens) {
    if (t.empty()) die("fill: a sampled refresh token is missing");
  }
  std::printf("fill %-5s %ld records (%ld per kind) in %.1f s (%.0f records/s); process peak RSS %ld MB\n",
              s.name.c_str(), 5 * k, k, secs, static_cast<double>(5 * k) / secs, peak_rss_mb());
  std::fflush(stdout);
}

// ------------------------------------------------------------------------------------------------
// --reuse: a fill recorded beside the database file (fill_record.h), checked before it is timed.

std::string utc(std::int64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Writes the record, with the records this run's timed calls added so far.
void save_record(Subject& s) {
  s.record.added_records += s.added;
  s.added = 0;
  std::string error;
  if (!growth::write_record(s.record_file, s.record, &error)) die(error);
}

// Before the store is opened (opening creates the file): fill, or reuse a recorded fill that
// matches this run (s.n and s.per_kind set). Dies, naming the file, on anything else.
void check_reuse(Subject& s, const std::string& url, const Args& a) {
  std::string error;
  const std::string db = growth::sqlite_db_path(url, &error);
  if (!error.empty()) die(error);
  if (db.empty()) {
    if (a.reuse)
      die("--reuse needs sqlite:// stores (a fill's record is a file beside the database): " + url);
    return;
  }
  const std::string rec = growth::record_path(db);
  struct stat db_st {};
  struct stat rec_st {};
  const bool db_exists = ::stat(db.c_str(), &db_st) == 0;
  const bool rec_exists = ::stat(rec.c_str(), &rec_st) == 0;
  if (!a.reuse) {
    if (rec_exists) {
      die(rec + " records an earlier fill of " + db + ": pass --reuse to time it again, or delete both");
    }
    return;
  }
  s.keep_record = true;
  s.db_path = db;
  s.record_file = rec;
  if (!rec_exists) {
    if (db_exists) {
      die(db + " exists but has no record of a fill (" + rec +
          "): --reuse fills only a new file; delete it or name another");
    }
    return;  // a new file: filled, then recorded
  }
  if (!db_exists)
    die(rec + " records a fill of " + db + ", which does not exist: delete " + rec + " to refill");
  growth::FillRecord r;
  if (!growth::read_record(rec, &r, &error)) die(error);
  const std::string refill = " (delete " + db + ", its -wal and -shm, and " + rec + " to fill again)";
  auto refuse = [&](const std::string& why) {
    die(rec + ": the recorded fill cannot be reused: " + why + refill);
  };
  if (r.layout != kFillLayout)
    refuse("it was made as '" + r.layout + "', this program fills '" + kFillLayout + "'");
  if (r.n != s.n || r.per_kind != s.per_kind) {
    refuse("it holds n=" + std::to_string(r.n) + " records, this run asks for " + std::to_string(s.n));
  }
  if (r.db_dev != static_cast<std::uint64_t>(db_st.st_dev) ||
      r.db_ino != static_cast<std::uint64_t>(db_st.st_ino)) {
    refuse(db + " is not the file that was filled (another device or inode: replaced or copied since)");
  }
  if (static_cast<long>(r.rotate_tokens.size()) != std::min(s.per_kind, kRotateSample)) {
    refuse("its rotation sample has " + std::to_string(r.rotate_tokens.size()) + " tokens, expected " +
           std::to_string(std::min(s.per_kind, kRotateSample)));
  }
  const auto margin = static_cast<std::int64_t>(a.max_seconds * 1000);
  if (now_ms() + margin >= r.expires_at_ms) {
    refuse("its first records expire at " + utc(r.expires_at_ms) + " (filled at " + utc(r.filled_at_ms) +
           "), within --max-seconds of now");
  }
  s.record = std::move(r);
  s.reused = true;
}

// After a fill under --reuse: the record of what it left.
void record_fill(Subject& s, std::int64_t filled_at) {
  struct stat st {};
  if (::stat(s.db_path.c_str(), &st) != 0)
    die("stat " + s.db_path + " after the fill: " + std::strerror(errno));
  growth::FillRecord& r = s.record;
  r.n = s.n;
  r.per_kind = s.per_kind;
  r.layout = kFillLayout;
  r.run_id = s.run_id;
  r.filled_at_ms = filled_at;
  r.expires_at_ms = filled_at + kCodeTtl;
  r.db_dev = static_cast<std::uint64_t>(st.st_dev);
  r.db_ino = static_cast<std::uint64_t>(st.st_ino);
  r.rotate_tokens = s.rotate_tokens;
  save_record(s);
}

// A fresh rotation sample of the same size (families of fresh users), untimed: the recorded one
// was spent by a run that did not finish.
void resample(Subject& s, const Args& a, Runner& runner) {
  const long size = static_cast<long>(s.rotate_tokens.size());
  const long chains = std::min<long>(a.fill_inflight, size);
  const long per_chain = (size + chains - 1) / chains;
  std::mutex mu;
  runner.run("resample", chains, per_chain, 1, [&](long c, long j, std::function<void(bool)> done) {
    const long idx = c * per_chain + j;
    if (idx >= size) return done(true);
    s.store.refresh().issue_async(
        refresh_grant("resample-" + s.run_id + "-" + std::to_string(idx)),
        [&s, &mu, idx, done = std::move(done)](Result<authstore::IssuedRefreshToken> t) {
          if (t.ok()) {
            std::lock_guard l(mu);
            s.rotate_tokens[static_cast<std::size_t>(idx)] = t->token;
          }
          ok_cb<authstore::IssuedRefreshToken>(done)(std::move(t));
        });
  });
  s.added += size;
}

// Instead of fill(): checks that the recorded fill is in the store (records of the fill read back,
// sampled tokens active), untimed, and says what the store holds.
void reuse_fill(Subject& s, const Args& a, Runner& runner) {
  growth::FillRecord& r = s.record;
  s.rotate_tokens = r.rotate_tokens;
  for (const long i : {0L, s.per_kind / 2, s.per_kind - 1}) {
    auto session = s.store.sessions().get(session_id(i), fill_user(i), "full");
    if (!session.ok())
      die(s.record_file + ": filled session " + std::to_string(i) +
          " does not read back: " + session.status().to_string());
    auto token = s.store.client_tokens().get(token_key(i));
    if (!token.ok())
      die(s.record_file + ": filled client token " + std::to_string(i) +
          " does not read back: " + token.status().to_string());
  }
  std::string note;
  if (r.sample_spent) {
    resample(s, a, runner);
    note = "; its rotation sample was left spent by a run that did not finish: issued a fresh one of " +
           std::to_string(s.rotate_tokens.size()) + " families (untimed)";
    r.sample_spent = false;
    r.rotate_tokens = s.rotate_tokens;
    save_record(s);
  } else {
    const std::size_t last = s.rotate_tokens.size() - 1;
    for (const std::size_t idx : {std::size_t{0}, last / 2, last}) {
      auto info = s.store.refresh().peek(s.rotate_tokens[idx]);
      if (!info.ok() || info->state != authstore::RefreshTokenState::kActive) {
        die(s.record_file + ": sampled refresh token " + std::to_string(idx) +
            " is not the active token of its family (" +
            (info.ok() ? "rotated or revoked" : info.status().to_string()) + ")");
      }
    }
  }
  std::printf(
      "reuse %-5s the fill of %s (%ld records, %ld per kind; timed %ld times since, whose calls "
      "added %ld records that live on until they expire)%s\n",
      s.name.c_str(), utc(r.filled_at_ms).c_str(), 5 * s.per_kind, s.per_kind, r.timed_runs, r.added_records,
      note.c_str());
  std::fflush(stdout);
}

// The rotation timing spends the sampled tokens: marked spent in the record while it runs (a run
// that dies there leaves it so), rewritten with the new tokens after.
void mark_sample(Subject& s, bool spent) {
  if (!s.keep_record) return;
  s.record.sample_spent = spent;
  if (!spent) s.record.rotate_tokens = s.rotate_tokens;
  save_record(s);
}

// ------------------------------------------------------------------------------------------------
// The timed operations: ns per operation on one store.

// A random draw per call: std::hash<long> is the identity on libstdc++, so mix it.
long mix(long x) {
  auto z = static_cast<std::uint64_t>(x) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<long>((z ^ (z >> 31)) & 0x7fffffffffffffffULL);
}

struct HotOp {
  const char* name;
  std::function<Op(Subject&)> make;
  bool adds_record = false;  // each call leaves a record behind (Subject::added)
};

std::vector<HotOp> hot_ops() {
  std::vector<HotOp> ops;
  ops.push_back({"code issue+consume",
                 [](Subject& s) -> Op {
                   return [&s](long, long, std::function<void(bool)> done) {
                     const long u = s.fresh.fetch_add(1);
                     s.store.codes().issue_async(
                         code_grant("hot-u" + std::to_string(u)),
                         [&s, done = std::move(done)](Result<authstore::IssuedCode> c) mutable {
                           if (!c.ok()) return ok_cb<authstore::IssuedCode>(done)(std::move(c));
                           s.store.codes().consume_async(c->code,
                                                         ok_cb<authstore::CodeRecord>(std::move(done)));
                         });
                   };
                 },
                 true});
  ops.push_back({"refresh rotate",
                 [](Subject& s) -> Op {
                   // Chain c rotates the sampled families c, c + chains, ... in turn: never two
                   // rotations of one family at once (time_hot sets rotate_chains).
                   return [&s](long c, long k, std::function<void(bool)> done) {
                     const long n = static_cast<long>(s.rotate_tokens.size());
                     const long chains = s.rotate_chains;
                     const long per = std::max(1L, n / chains);
                     const auto idx = static_cast<std::size_t>(c + chains * (k % per));
                     s.store.refresh().rotate_async(
                         s.rotate_tokens[idx], "client-app",
                         [&s, idx, done = std::move(done)](Result<authstore::IssuedRefreshToken> t) {
                           if (t.ok()) s.rotate_tokens[idx] = t->token;
                           ok_cb<authstore::IssuedRefreshToken>(done)(std::move(t));
                         });
                   };
                 },
                 true});
  ops.push_back({"session get", [](Subject& s) -> Op {
                   return [&s](long, long, std::function<void(bool)> done) {
                     const long i = mix(s.draws.fetch_add(1)) % s.per_kind;
                     s.store.sessions().get_async(session_id(i), fill_user(i), "full",
                                                  ok_cb<authstore::Session>(std::move(done)));
                   };
                 }});
  ops.push_back({"replay reserve",
                 [](Subject& s) -> Op {
                   return [&s](long, long, std::function<void(bool)> done) {
                     const long u = s.fresh.fetch_add(1);
                     s.store.replay().reserve_async(
                         "https://issuer.example", "hot-" + s.run_id + "-" + std::to_string(u),
                         now_ms() + 20 * kHour, ok_cb<authstore::Reservation>(std::move(done)));
                   };
                 },
                 true});
  ops.push_back({"client token get", [](Subject& s) -> Op {
                   return [&s](long, long, std::function<void(bool)> done) {
                     const long i = mix(s.draws.fetch_add(1)) % s.per_kind;
                     s.store.client_tokens().get_async(token_key(i),
                                                       ok_cb<authstore::TokenRecord>(std::move(done)));
                   };
                 }});
  return ops;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

std::string samples_of(const std::vector<double>& v, int decimals) {
  std::string out;
  char buf[32];
  for (double x : v) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
    if (!out.empty()) out += ' ';
    out += buf;
  }
  return out;
}

// ns per operation of `ops` operations over `chains` chains.
double time_hot(Subject& s, const HotOp& op, long chains, long ops, Runner& runner) {
  s.rotate_chains = chains;
  const long per_chain = std::max(1L, ops / chains);
  const double secs = runner.run(op.name, chains, per_chain, 1, op.make(s));
  if (op.adds_record) s.added += chains * per_chain;
  return secs * 1e9 / static_cast<double>(chains * per_chain);
}

void run_hot(Subject& small, Subject& big, const Args& a, Runner& runner) {
  std::printf(
      "\n| operation | small ns/op (n=%ld) | big ns/op (n=%ld) | big/small | small runs | big runs |\n",
      small.n, big.n);
  std::printf("|---|---:|---:|---:|---|---|\n");
  for (const HotOp& op : hot_ops()) {
    // Both stores run the same number of chains. Rotate: at most a quarter of the smaller
    // sample of families, so that each chain has families of its own.
    long chains = std::min(a.inflight, a.ops);
    if (std::string(op.name) == "refresh rotate") {
      const auto fewest = std::min(small.rotate_tokens.size(), big.rotate_tokens.size());
      chains = std::min(chains, std::max(1L, static_cast<long>(fewest) / 4));
    }
    std::vector<double> ns_small, ns_big;
    const bool rotates = std::string(op.name) == "refresh rotate";
    if (rotates) {
      mark_sample(small, true);
      mark_sample(big, true);
    }
    time_hot(small, op, chains, a.ops, runner);  // warm-up of both: code paths, connections
    time_hot(big, op, chains, a.ops, runner);
    for (int r = 0; r < a.reps; ++r) {
      if (r % 2 == 0) {
        ns_small.push_back(time_hot(small, op, chains, a.ops, runner));
        ns_big.push_back(time_hot(big, op, chains, a.ops, runner));
      } else {
        ns_big.push_back(time_hot(big, op, chains, a.ops, runner));
        ns_small.push_back(time_hot(small, op, chains, a.ops, runner));
      }
    }
    if (rotates) {
      mark_sample(small, false);
      mark_sample(big, false);
    }
    const double ms = median(ns_small), mb = median(ns_big);
    std::printf("| %s | %.0f | %.0f | %.2f | %s | %s |\n", op.name, ms, mb, mb / ms,
                samples_of(ns_small, 0).c_str(), samples_of(ns_big, 0).c_str());
    std::fflush(stdout);
  }
}

// ------------------------------------------------------------------------------------------------
// Per-user operations: a user holding F families.

std::string issue_families(Subject& s, const char* tag, long f, const Args& a, Runner& runner) {
  const std::string user = std::string(tag) + "-" + s.run_id + "-" + std::to_string(s.fresh.fetch_add(1));
  const long chains = std::min<long>(a.fill_inflight, f);
  const long per_chain = (f + chains - 1) / chains;
  runner.run("issue families", chains, per_chain, 1, [&](long c, long j, std::function<void(bool)> done) {
    if (c * per_chain + j >= f) return done(true);
    s.store.refresh().issue_async(refresh_grant(user), ok_cb<authstore::IssuedRefreshToken>(std::move(done)));
  });
  s.added += f;
  return user;
}

// One blocking call, timed, in µs.
template <class F>
double time_us(F&& call) {
  const auto t0 = Clock::now();
  call();
  return seconds_since(t0) * 1e6;
}

void run_logout(Subject& s, const Args& a, Runner& runner) {
  const std::vector<long> sizes = parse_list(a.logout_families, "--logout-families");
  std::printf("\nlogout everywhere (refresh().revoke_subject) in the %s store (n=%ld)\n", s.name.c_str(),
              s.n);
  std::printf("| families | µs per logout | µs per family | vs %ld families | runs (µs) |\n", sizes.front());
  std::printf("|---:|---:|---:|---:|---|\n");
  // Each repetition first gives a fresh user each size's families (untimed), then times their
  // logouts one after the other (the order alternating), so that every size meets the store in
  // the same state (page caches, SQLite's WAL).
  std::vector<std::vector<double>> us(sizes.size());
  for (int r = 0; r < a.reps; ++r) {
    std::vector<std::string> users;
    for (const long f : sizes) users.push_back(issue_families(s, "logout", f, a, runner));
    for (std::size_t j = 0; j < sizes.size(); ++j) {
      const std::size_t k = r % 2 == 0 ? j : sizes.size() - 1 - j;
      us[k].push_back(time_us([&] {
        auto done = s.store.refresh().revoke_subject(users[k]);
        if (!done.ok()) die("revoke_subject: " + done.status().to_string());
      }));
    }
    for (const std::string& user : users) {
      auto left = s.store.refresh().list(user);
      if (!left.ok() || !left->empty()) die("revoke_subject left families listed");
    }
  }
  const double reference = median(us.front());
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    const double m = median(us[k]);
    std::printf("| %ld | %.1f | %.3f | %.2f | %s |\n", sizes[k], m, m / static_cast<double>(sizes[k]),
                m / reference, samples_of(us[k], 1).c_str());
  }
  std::fflush(stdout);
}

void run_list(Subject& small, Subject& big, const Args& a, Runner& runner) {
  const std::vector<long> sizes = parse_list(a.list_sizes, "--list-sizes");
  std::printf("\nlisting a user's families (refresh().list), small store n=%ld vs big store n=%ld\n", small.n,
              big.n);
  std::printf("| families | small µs | big µs | big/small | big ns per family | runs small / big (µs) |\n");
  std::printf("|---:|---:|---:|---:|---:|---|\n");
  for (const long l : sizes) {
    const std::string us_small = issue_families(small, "list", l, a, runner);
    const std::string us_big = issue_families(big, "list", l, a, runner);
    auto list_us = [&](Subject& s, const std::string& user) {
      return time_us([&] {
        auto r = s.store.refresh().list(user);
        if (!r.ok()) die("list: " + r.status().to_string());
        if (static_cast<long>(r->size()) != l) die("list: wrong count");
      });
    };
    list_us(small, us_small);  // warm-up
    list_us(big, us_big);
    std::vector<double> ts, tb;
    for (int r = 0; r < a.reps; ++r) {
      if (r % 2 == 0) {
        ts.push_back(list_us(small, us_small));
        tb.push_back(list_us(big, us_big));
      } else {
        tb.push_back(list_us(big, us_big));
        ts.push_back(list_us(small, us_small));
      }
    }
    const double ms = median(ts), mb = median(tb);
    std::printf("| %ld | %.1f | %.1f | %.2f | %.0f | %s / %s |\n", l, ms, mb, mb / ms,
                mb * 1e3 / static_cast<double>(l), samples_of(ts, 1).c_str(), samples_of(tb, 1).c_str());
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  Runner runner(a.max_seconds);
  Subject small, big;
  small.name = "small";
  small.n = a.n_small;
  small.per_kind = std::max(1L, a.n_small / 5);
  big.name = "big";
  big.n = a.n_big;
  big.per_kind = std::max(1L, a.n_big / 5);
  check_reuse(small, a.small_url, a);  // before opening: open() creates the file
  check_reuse(big, a.big_url, a);
  small.store = open_store(a.small_url);
  big.store = open_store(a.big_url);
  std::printf("backend %s; small %s, big %s; %ld ops per timing, %ld in flight, %d repetitions\n",
              small.store.backend().c_str(), a.small_url.c_str(), a.big_url.c_str(), a.ops, a.inflight,
              a.reps);
  for (Subject* s : {&small, &big}) {
    if (s->reused) {
      reuse_fill(*s, a, runner);
      continue;
    }
    const std::int64_t filled_at = now_ms();
    fill(*s, a, runner);
    if (s->keep_record) record_fill(*s, filled_at);
  }
  auto wanted = [&](const char* part) {
    return ("," + a.parts + ",").find(std::string(",") + part + ",") != std::string::npos;
  };
  if (wanted("hot")) run_hot(small, big, a, runner);
  if (wanted("logout")) run_logout(big, a, runner);
  if (wanted("list")) run_list(small, big, a, runner);
  for (Subject* s : {&small, &big}) {
    if (!s->keep_record) continue;
    s->record.timed_runs += 1;
    save_record(*s);
  }
  return 0;
}
