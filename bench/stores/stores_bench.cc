// Google Benchmark: store operations on the path users take, through the public API.
// Backend: memory:// by default; AUTHSTORE_BENCH_URL selects another (e.g. sqlite:///tmp/b.db).
// Key mix: codes for 1000 distinct subjects; a fresh JTI per reservation (60 s expiries: a
// growing table; and 1 s expiries: a table in steady state); one session and one refresh family
// per thread. Run with --benchmark_repetitions=5 --benchmark_report_aggregates_only
// (alternating repetitions are what `bench/run.sh` does) and read the medians.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "authstore/authstore.h"

namespace {

authstore::Store& store() {
  static authstore::Store s = [] {
    authstore::Options o;
    o.keys.keys = {{1, std::string(32, 'k')}};
    o.replay.memory_capacity = 64'000'000;
    const char* url = std::getenv("AUTHSTORE_BENCH_URL");
    auto r = authstore::open(url != nullptr ? url : "memory://", o);
    if (!r.ok()) std::abort();
    return r.value();
  }();
  return s;
}

std::atomic<std::int64_t> counter{0};

void BM_CodeIssueConsume(benchmark::State& state) {
  authstore::CodeGrant g;
  g.client_id = "client";
  g.redirect_uri = "https://app.example.com/cb";
  g.scope = "openid profile";
  g.code_challenge = authstore::pkce_s256_challenge(authstore::pkce_new_verifier());
  g.code_challenge_method = "S256";
  std::int64_t i = counter.fetch_add(1'000'000);
  for (auto _ : state) {
    g.subject = "user-" + std::to_string(i++ % 1000);
    auto code = store().codes().issue(g);
    auto rec = store().codes().consume(code->code);
    if (!rec.ok()) state.SkipWithError("consume failed");
    benchmark::DoNotOptimize(rec);
  }
  state.SetItemsProcessed(state.iterations());  // pairs
}
BENCHMARK(BM_CodeIssueConsume)->Threads(1)->Threads(2)->UseRealTime();

// One code peeked over and over: the C++ call that bench/python/run.sh measures the Python
// module's per-call overhead against (same store kind, same code, same run).
// A code of `subject`, issued for the peek benchmarks.
authstore::Result<authstore::IssuedCode> issue_code(const std::string& subject) {
  authstore::CodeGrant g;
  g.client_id = "client";
  g.subject = subject;
  g.redirect_uri = "https://app.example.com/cb";
  g.scope = "openid profile";
  g.code_challenge = authstore::pkce_s256_challenge(authstore::pkce_new_verifier());
  g.code_challenge_method = "S256";
  return store().codes().issue(g);
}

void BM_CodePeek(benchmark::State& state) {
  auto code = issue_code("user-peek");
  if (!code.ok()) {
    state.SkipWithError("issue failed");
    return;
  }
  for (auto _ : state) {
    auto rec = store().codes().peek(code->code);
    if (!rec.ok()) state.SkipWithError("peek failed");
    benchmark::DoNotOptimize(rec);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CodePeek)->Threads(1)->UseRealTime();

// The same peek through the asynchronous call (on memory its callback runs inline): the C++ call
// that bench/node/run.sh measures the Node addon's promise round trip against.
void BM_CodePeekAsync(benchmark::State& state) {
  auto code = issue_code("user-peek-async");
  if (!code.ok()) {
    state.SkipWithError("issue failed");
    return;
  }
  long answered = 0;
  bool ok = true;
  for (auto _ : state) {
    store().codes().peek_async(code->code, [&](authstore::Result<authstore::CodeRecord> rec) {
      ++answered;
      ok = ok && rec.ok();
      benchmark::DoNotOptimize(rec);
    });
  }
  // Every callback came inline (memory) and every peek found the code.
  if (!ok || answered != static_cast<long>(state.iterations())) state.SkipWithError("peek_async failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CodePeekAsync)->Threads(1)->UseRealTime();

void BM_ReplayReserve(benchmark::State& state) {
  const std::string prefix = "jti-" + std::to_string(counter.fetch_add(1)) + "-";
  const authstore::UnixMillis exp = authstore::SystemClock().now() + 60'000;
  std::int64_t i = 0;
  for (auto _ : state) {
    auto r = store().replay().reserve("https://issuer.example", prefix + std::to_string(i++), exp);
    if (!r.ok()) state.SkipWithError("reserve failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReplayReserve)->Threads(1)->Threads(2)->UseRealTime();

// The steady state of a busy cache: every reservation lasts 1 s (leeway 0, exp = now + 1 s), so
// the table holds the last second or two of reservations (millions at these rates) while the
// sweeper removes the expired ones; no growth, no page faults once warm. BM_ReplayReserve above
// is the other case: a table that only grows (60 s expiries), paying for its rehashes and fresh
// pages. A fresh JTI per call in both.
authstore::Store& steady_store() {
  static authstore::Store s = [] {
    authstore::Options o;
    o.keys.keys = {{1, std::string(32, 'k')}};
    o.replay.memory_capacity = 64'000'000;
    o.replay.leeway_ms = 0;
    o.replay.min_ttl_ms = 1'000;
    auto r = authstore::open("memory://", o);
    if (!r.ok()) std::abort();
    return r.value();
  }();
  return s;
}

void BM_ReplayReserveSteady(benchmark::State& state) {
  const std::string prefix = "jti-" + std::to_string(counter.fetch_add(1)) + "-";
  authstore::SystemClock clock;
  std::int64_t i = 0;
  authstore::UnixMillis exp = clock.now() + 1'000;
  for (auto _ : state) {
    if ((i & 1023) == 0) exp = clock.now() + 1'000;
    auto r = steady_store().replay().reserve("https://issuer.example", prefix + std::to_string(i++), exp);
    if (!r.ok()) state.SkipWithError("reserve failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReplayReserveSteady)->Threads(1)->Threads(2)->UseRealTime();

void BM_SessionUpsertGet(benchmark::State& state) {
  authstore::Session s;
  s.id = authstore::SessionStore::new_session_id();
  s.user_id = "user-" + std::to_string(counter.fetch_add(1));
  s.refresh_expires_at = authstore::SystemClock().now() + 3'600'000;
  for (auto _ : state) {
    auto up = store().sessions().upsert(s);
    if (!up.ok()) state.SkipWithError("upsert failed");
    s.lock_version = up->lock_version;
    auto got = store().sessions().get(s.id, s.user_id, s.type);
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(state.iterations());  // pairs
}
BENCHMARK(BM_SessionUpsertGet)->Threads(1)->Threads(2)->UseRealTime();

void BM_RefreshRotate(benchmark::State& state) {
  authstore::RefreshGrant g;
  g.subject = "user-" + std::to_string(counter.fetch_add(1));
  g.client_id = "client";
  std::string token = store().refresh().issue(g)->token;
  for (auto _ : state) {
    auto next = store().refresh().rotate(token, "client");
    if (!next.ok()) state.SkipWithError("rotate failed");
    token = std::move(next->token);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RefreshRotate)->Threads(1)->Threads(2)->UseRealTime();

// One saved token read over and over (a client application's hot path): reference
// BM_BareClientTokenGet in bare_bench.cc.
void BM_ClientTokenGet(benchmark::State& state) {
  const std::string key = "bench-token-" + std::to_string(counter.fetch_add(1));
  authstore::TokenRecord rec;
  rec.access_token = std::string(40, 'a');
  rec.refresh_token = std::string(40, 'r');
  rec.token_type = "Bearer";
  rec.scope = "openid profile";
  rec.resource = "https://api.example.com";
  rec.expires_at = authstore::SystemClock().now() + 3'600'000;
  if (!store().client_tokens().save(key, rec).ok()) {
    state.SkipWithError("save failed");
    return;
  }
  for (auto _ : state) {
    auto got = store().client_tokens().get(key);
    if (!got.ok()) state.SkipWithError("get failed");
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClientTokenGet)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
