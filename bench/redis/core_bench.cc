// Where a request's client-side time goes, without a socket: encoding a command, parsing a
// reply, and a full pass through the connection core (push, take the write buffer, feed the
// reply, run the completion). Counters report allocations per request.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "alloc_counter.h"
#include "redis/connection_core.h"
#include "redis/resp.h"

namespace authstore::redis {
namespace {

void BM_EncodeSet(benchmark::State& state) {
  std::string out;
  out.reserve(1 << 16);
  for (auto _ : state) {
    out.clear();
    append_command(out, {"SET", "key:__rand_int__", "xxx"});
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_EncodeSet);

// Parse `batch` replies fed in one read, the way they arrive under pipelining.
void BM_ParseReplies(benchmark::State& state, std::string one) {
  const int batch = 256;
  std::string stream;
  for (int i = 0; i < batch; ++i) stream += one;
  ReplyReader reader;
  Reply r;
  const auto before = bench::allocations();
  for (auto _ : state) {
    for (std::size_t off = 0; off < stream.size(); off += 4096) {
      const std::size_t n = std::min<std::size_t>(4096, stream.size() - off);
      (void)reader.feed(stream.data() + off, n);
      while (reader.next(r) == ReplyReader::Next::kReply) benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["allocs/reply"] = benchmark::Counter(static_cast<double>(bench::allocations() - before) /
                                                      static_cast<double>(state.iterations() * batch));
}
BENCHMARK_CAPTURE(BM_ParseReplies, ok, std::string("+OK\r\n"));
BENCHMARK_CAPTURE(BM_ParseReplies, bulk3, std::string("$3\r\nxxx\r\n"));
BENCHMARK_CAPTURE(BM_ParseReplies, bulk100, "$100\r\n" + std::string(100, 'v') + "\r\n");

// 256 GETs through the core: push, take, feed 256 replies, run completions.
void BM_CoreRoundTrip(benchmark::State& state) {
  static constexpr std::string_view kGet[] = {"GET", "key:__rand_int__"};
  const int batch = 256;
  ConnectionCore core;
  std::string wire;
  std::string replies;
  for (int i = 0; i < batch; ++i) replies += "$3\r\nxxx\r\n";
  std::vector<ConnectionCore::Completion> done;
  long answered = 0;
  const auto deadline = ConnectionCore::Clock::now() + std::chrono::hours(1);
  const auto before = bench::allocations();
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) {
      (void)core.push(
          kGet, deadline, [&answered](Result<Reply>) { ++answered; }, 1 << 20);
    }
    core.take_write_buffer(wire);
    (void)core.on_bytes(replies.data(), replies.size(), done);
    for (auto& c : done) c.callback(std::move(c.result));
    done.clear();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["allocs/request"] = benchmark::Counter(static_cast<double>(bench::allocations() - before) /
                                                        static_cast<double>(state.iterations() * batch));
  benchmark::DoNotOptimize(answered);
}
BENCHMARK(BM_CoreRoundTrip);

}  // namespace
}  // namespace authstore::redis

BENCHMARK_MAIN();
