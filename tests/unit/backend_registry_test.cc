// The backend registry (src/backends/factories.h): open_backend() dispatches on the registered
// schemes only, and refuses the others with precise kInvalidArgument errors (field "url").
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "authstore/clock.h"
#include "backends/factories.h"

namespace authstore {
namespace {

using internal::BackendConfig;
using internal::BackendRegistration;
using internal::find_backend;
using internal::open_backend;
using internal::registered_backends;

class BackendRegistry : public ::testing::Test {
 protected:
  Result<std::shared_ptr<internal::Backend>> open(std::string_view url) {
    return open_backend(url, BackendConfig{&options_, std::make_shared<ManualClock>(1'000'000), {}});
  }
  static bool url_error(const Status& s) {
    return s.code() == StatusCode::kInvalidArgument && s.field() == "url";
  }
  Options options_;
};

TEST_F(BackendRegistry, EverySchemeHasOneRegistration) {
  std::set<std::string_view> seen;
  for (const BackendRegistration& r : registered_backends()) {
    EXPECT_FALSE(r.schemes.empty());
    EXPECT_TRUE(r.make != nullptr || !r.unavailable.empty()) << "a refusal needs its reason";
    for (std::string_view s : r.schemes) {
      EXPECT_TRUE(seen.insert(s).second) << "scheme registered twice: " << s;
      EXPECT_EQ(find_backend(s), &r);
    }
  }
  for (std::string_view s : {"memory", "sqlite", "redis", "rediss", "unix", "redis+sentinel",
                             "rediss+sentinel", "redis-sentinel", "redis+cluster", "rediss+cluster"}) {
    EXPECT_TRUE(seen.count(s)) << s;
  }
  EXPECT_EQ(find_backend("Memory"), nullptr);
  EXPECT_EQ(find_backend(""), nullptr);
  // Only memory keeps nothing beyond the process (the only one allowed a throwaway key).
  for (const BackendRegistration& r : registered_backends()) {
    EXPECT_EQ(r.ephemeral, r.schemes.front() == "memory") << r.schemes.front();
  }
}

TEST_F(BackendRegistry, DispatchesOnTheScheme) {
  auto m = open("memory://");
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ(m.value()->name(), "memory");
  auto r = open("redis://127.0.0.1:1?cluster=no");  // lazy: nothing connects before the first call
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value()->name(), "redis");
  // cluster=auto (the default) probes INFO cluster at open: a refused port answers at once and
  // the backend is standalone (the store's open then fails reading its marker).
  auto probed = open("redis://127.0.0.1:1");
  ASSERT_TRUE(probed.ok()) << probed.status().to_string();
  EXPECT_EQ(probed.value()->name(), "redis");
  for (std::string_view url :
       {"redis+sentinel://127.0.0.1:1/m", "redis-sentinel://127.0.0.1:1?sentinelMasterId=m",
        "redis-sentinel://127.0.0.1:1?prefix=p:#m"}) {
    auto s = open(url);  // lazy too: no sentinel is asked before the first call
    ASSERT_TRUE(s.ok()) << url << ": " << s.status().to_string();
    EXPECT_EQ(s.value()->name(), "redis_sentinel");
  }
}

TEST_F(BackendRegistry, RefusalsAreUrlErrors) {
  for (std::string_view url : {"memory", "://x", "memory://x", "bogus://x", "redis+sentinel://h:26379",
                               "redis+cluster://h:7000/2", "redis://h:0"}) {
    auto b = open(url);
    EXPECT_TRUE(url_error(b.status())) << url << ": " << b.status().to_string();
  }
  const std::string unknown = open("bogus://x").status().message();
  EXPECT_NE(unknown.find("unknown scheme 'bogus'"), std::string::npos) << unknown;
  for (const BackendRegistration& r : registered_backends()) {  // it lists what this build serves
    for (std::string_view s : r.schemes) {
      EXPECT_EQ(unknown.find(std::string(s)) != std::string::npos, r.make != nullptr) << s << ": " << unknown;
    }
  }
  EXPECT_NE(open("redis+sentinel://h:26379").status().message().find("names its master"), std::string::npos);
}

}  // namespace
}  // namespace authstore
