// Several processes on one file, in the pre-fork pattern: the parent opens a store and uses it,
// forks 4 workers, and all 5 processes race from a barrier in shared memory to consume the same
// codes, rotate the same refresh tokens and reserve the same JTIs. Every round must have
// exactly one winner. Children never reuse the parent's SQLite handle: the first operation in a
// child opens a new connection (checked through /proc/self/fd).
#include <dirent.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "sqlite/util.h"

namespace authstore::sqlite_testing {
namespace {

constexpr int kWorkers = 4;
constexpr int kRacers = kWorkers + 1;  // the parent races too
constexpr int kRounds = 60;            // per kind of item and attempt
// Phases run again on fresh items (at most kAttempts times) until the racers overlapped in at
// least kMinOverlap rounds in all (a busy machine, or ASan, can keep them apart).
// A few overlapped rounds prove the race happened; on a loaded 2-core machine (ctest -j2 beside
// other tests) a kind sometimes overlapped in only 4 of 480 rounds, so more would be flaky.
constexpr int kMinOverlap = 3;
constexpr int kAttempts = 8;
constexpr int kItems = kRounds * kAttempts;
enum Kind { kCode = 0, kRefresh = 1, kJti = 2, kKinds = 3 };

struct Board {
  ProcessBarrier barrier;
  std::atomic<int> wins[kKinds][kItems];
  std::atomic<int> losses[kKinds][kItems];  // the expected "someone else won" outcome
  std::atomic<int> errors;
  std::atomic<int> fresh_connection[kRacers];  // 1: a child opened its own connection
  std::atomic<int> arrived[kKinds][kItems];    // second gate: every racer running before any calls
  std::atomic<std::int64_t> start[kKinds][kItems][kRacers];
  std::atomic<std::int64_t> end[kKinds][kItems][kRacers];
  std::atomic<int> attempts[kKinds];    // attempts run per kind (set by racer 0)
  std::atomic<int> overlapped[kKinds];  // overlapped rounds over all attempts
  std::atomic<bool> again;
};

// Open file descriptors of this process that point at `path`.
int fds_on(const std::string& path) {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) {
    char target[PATH_MAX];
    const std::string link = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t len = ::readlink(link.c_str(), target, sizeof(target) - 1);
    if (len > 0 && std::string(target, static_cast<std::size_t>(len)) == path) ++n;
  }
  ::closedir(d);
  return n;
}

// Rounds in which some two racers were inside their call at the same moment.
int count_overlapped(Board& b, int kind, int first) {
  int n = 0;
  for (int r = first; r < first + kRounds; ++r) {
    std::vector<std::pair<std::int64_t, std::int64_t>> spans;
    for (int p = 0; p < kRacers; ++p) {
      spans.emplace_back(b.start[kind][r][p].load(), b.end[kind][r][p].load());
    }
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i) {
      if (spans[i].first < spans[i - 1].second) {
        ++n;
        break;
      }
    }
  }
  return n;
}

void race(Board& b, Store& store, int racer, const std::vector<std::string>& codes,
          const std::vector<std::string>& tokens) {
  for (int kind = 0; kind < kKinds; ++kind) {
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      const int first = attempt * kRounds;
      for (int r = first; r < first + kRounds; ++r) {
        if (!b.barrier.wait(kRacers)) {
          b.errors.fetch_add(1);
          return;
        }
        // Second gate: spin (yielding) until every racer is past the barrier, bounded in time,
        // so the calls below start together instead of in wake-up order.
        b.arrived[kind][r].fetch_add(1);
        const std::int64_t gate_deadline = mono_ns() + 200'000'000;
        while (b.arrived[kind][r].load() < kRacers && mono_ns() < gate_deadline) sched_yield();
        b.start[kind][r][racer].store(mono_ns());
        StatusCode code = StatusCode::kInternal;
        StatusCode lost = StatusCode::kInternal;
        StatusCode lost_too = StatusCode::kInternal;
        switch (kind) {
          case kCode:
            code = store.codes().consume(codes[static_cast<std::size_t>(r)]).code();
            lost = StatusCode::kAlreadyConsumed;
            break;
          case kRefresh:
            code = store.refresh().rotate(tokens[static_cast<std::size_t>(r)], "client-1").code();
            lost = StatusCode::kReused;       // the first loser detects reuse, revoking the family;
            lost_too = StatusCode::kRevoked;  // later losers find it revoked
            break;
          default:
            code = store.replay()
                       .reserve("https://issuer.example", "jti-" + std::to_string(r), kStart + 60'000)
                       .code();
            lost = StatusCode::kReplayed;
            break;
        }
        b.end[kind][r][racer].store(mono_ns());
        if (code == StatusCode::kOk) {
          b.wins[kind][r].fetch_add(1);
        } else if (code == lost || code == lost_too) {
          b.losses[kind][r].fetch_add(1);
        } else {
          b.errors.fetch_add(1);
        }
      }
      // Racer 0 decides whether the phase proved anything; everyone follows its decision.
      if (!b.barrier.wait(kRacers)) {
        b.errors.fetch_add(1);
        return;
      }
      if (racer == 0) {
        // Overlapped rounds add up over attempts: every round is a real race and is checked for
        // exactly one winner; the attempts only continue until enough of them overlapped.
        const int n = count_overlapped(b, kind, first);
        const int total = b.overlapped[kind].fetch_add(n) + n;
        b.attempts[kind].store(attempt + 1);
        b.again.store(total < kMinOverlap && attempt + 1 < kAttempts);
      }
      if (!b.barrier.wait(kRacers)) {
        b.errors.fetch_add(1);
        return;
      }
      if (!b.again.load()) break;
      // The machine was busy: give it a moment before the next attempt.
      std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
    }
  }
}

TEST(SqliteFork, PreForkWorkersRaceOnOneFileExactlyOneWinnerEveryRound) {
  const std::string path = fresh_path();
  Opened o = open_store(path);
  ASSERT_TRUE(o.store.valid());
  Shared<Board> board;
  ASSERT_TRUE(board);

  // Use the store before forking: the parent's connection is open and has written.
  std::vector<std::string> codes;
  std::vector<std::string> tokens;
  for (int r = 0; r < kItems; ++r) {
    auto c = o.store.codes().issue(a_grant());
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    codes.push_back(c->code);
    auto t = o.store.refresh().issue(a_refresh_grant("user-" + std::to_string(r)));
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    tokens.push_back(t->token);
  }
  ASSERT_TRUE(o.store.codes().peek(codes[0]).ok());
  const int parent_fds = fds_on(path);
  ASSERT_GE(parent_fds, 1);

  std::vector<pid_t> children;
  for (int w = 1; w <= kWorkers; ++w) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: its first operation must open a connection of its own.
      const int before = fds_on(path);
      auto mine = o.store.codes().issue(a_grant());
      const bool works = mine.ok() && o.store.codes().peek(mine->code).ok();
      board->fresh_connection[w].store(works && fds_on(path) > before ? 1 : 0);
      race(*board, o.store, w, codes, tokens);
      ::_exit(works ? 0 : 3);  // no destructors: the parent's objects belong to the parent
    }
    children.push_back(pid);
  }
  race(*board, o.store, 0, codes, tokens);
  for (pid_t pid : children) EXPECT_EQ(wait_child(pid), 0);

  EXPECT_EQ(board->errors.load(), 0);
  std::string too_few_overlaps;
  for (int kind = 0; kind < kKinds; ++kind) {
    const int rounds = board->attempts[kind].load() * kRounds;
    ASSERT_GT(rounds, 0);
    for (int r = 0; r < rounds; ++r) {
      ASSERT_EQ(board->wins[kind][r].load(), 1) << "kind " << kind << " round " << r;
      ASSERT_EQ(board->losses[kind][r].load(), kRacers - 1) << "kind " << kind << " round " << r;
    }
    if (board->overlapped[kind].load() < kMinOverlap) {
      too_few_overlaps += " kind " + std::to_string(kind) + ": " +
                          std::to_string(board->overlapped[kind].load()) + " rounds;";
    }
  }
  for (int w = 1; w <= kWorkers; ++w) EXPECT_EQ(board->fresh_connection[w].load(), 1) << w;

  // The parent keeps working after its children are gone.
  auto after = o.store.codes().issue(a_grant());
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_TRUE(o.store.codes().consume(after->code).ok());
  EXPECT_EQ(fds_on(path), parent_fds);  // still the parent's own connection
  std::printf(
      "5 processes, exactly one winner in every round; overlapped rounds over all "
      "attempts of %d rounds: codes %d (attempts %d), refresh %d (%d), jti %d (%d)\n",
      kRounds, board->overlapped[kCode].load(), board->attempts[kCode].load(),
      board->overlapped[kRefresh].load(), board->attempts[kRefresh].load(), board->overlapped[kJti].load(),
      board->attempts[kJti].load());
  // Every round was checked above; but a race whose racers were rarely inside their calls at
  // once proves little. The attempts went on (a bounded number) until enough rounds overlapped:
  // if they still did not, the test fails rather than pass without a race.
  EXPECT_TRUE(too_few_overlaps.empty())
      << "the racers overlapped in fewer than " << kMinOverlap << " rounds of a kind after " << kAttempts
      << " attempts (every round still had exactly one winner):" << too_few_overlaps;
}

// A child that only reads, then exits normally through exit(): the inherited handle must not
// be closed by the child, and the parent's file stays intact and writable.
TEST(SqliteFork, ChildExitLeavesParentConnectionIntact) {
  const std::string path = fresh_path();
  Opened o = open_store(path);
  ASSERT_TRUE(o.store.valid());
  auto c = o.store.codes().issue(a_grant());
  ASSERT_TRUE(c.ok());
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const bool ok = o.store.codes().peek(c->code).ok();
    ::_exit(ok ? 0 : 1);
  }
  EXPECT_EQ(wait_child(pid), 0);
  EXPECT_TRUE(o.store.codes().consume(c->code).ok());
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM codes WHERE consumed = 1"), 1);
}

}  // namespace
}  // namespace authstore::sqlite_testing
