// Conformance: a blocking call made inside an async callback answers kFailedPrecondition at once,
// on every backend alike (on Redis it would otherwise wait for the I/O thread running it).
#include <chrono>
#include <future>
#include <thread>

#include "conformance/backends.h"

namespace authstore::testing {
namespace {

using namespace std::chrono_literals;

template <class T>
class BlockingTest : public StoreTest<T> {};
TYPED_TEST_SUITE(BlockingTest, Backends, TraitsName);

CodeGrant grant() {
  CodeGrant g;
  g.client_id = "client-1";
  g.subject = "alice";
  g.redirect_uri = "https://app.example/cb";
  g.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  g.code_challenge_method = "S256";
  return g;
}

TYPED_TEST(BlockingTest, BlockingCallInsideAsyncCallbackIsRefusedAtOnce) {
  Store& s = this->store();
  std::promise<void> done;
  Status inner_code, inner_replay, outer;
  s.codes().issue_async(grant(), [&](Result<IssuedCode> r) {
    outer = r.status();
    if (r.ok()) inner_code = s.codes().peek(r->code).status();
    inner_replay = s.replay().reserve("https://issuer", "jti-1", this->clock().now() + 60'000).status();
    done.set_value();
  });
  auto f = done.get_future();
  // Bounded: before the fix this hung for ever on Redis.
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "the callback hung";
  ASSERT_TRUE(outer.ok()) << outer.to_string();
  EXPECT_EQ(inner_code.code(), StatusCode::kFailedPrecondition) << inner_code.to_string();
  EXPECT_NE(inner_code.message().find("_async"), std::string::npos) << inner_code.message();
  EXPECT_EQ(inner_replay.code(), StatusCode::kFailedPrecondition) << inner_replay.to_string();

  // The replay cache's synchronous answer (memory) is a store callback too.
  std::promise<Status> nested;
  s.replay().reserve_async("https://issuer", "jti-2", this->clock().now() + 60'000, [&](Result<Reservation>) {
    nested.set_value(s.client_tokens().get("k").status());
  });
  auto g = nested.get_future();
  ASSERT_EQ(g.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(g.get().code(), StatusCode::kFailedPrecondition);

  // Outside any callback, blocking calls work, from this thread and from another.
  EXPECT_TRUE(s.codes().issue(grant()).ok());
  std::thread other([&] { EXPECT_TRUE(s.codes().issue(grant()).ok()); });
  other.join();
}

}  // namespace
}  // namespace authstore::testing
