// A build without the Redis and SQLite backends (AUTHSTORE_WITH_REDIS=OFF, AUTHSTORE_WITH_SQLITE=OFF):
// this program compiles src/backends/registered_backends.cc itself, without the AUTHSTORE_HAVE_*
// definitions the library's build gives it, and its definition of registered_backends() takes the
// place of the library's (tests/packaging/CMakeLists.txt). The rest of the library is the normal
// one, so this checks what such a build answers without configuring and compiling one: every URL
// of a left-out backend is kInvalidArgument (field "url") naming the option that builds it, and
// memory:// still opens.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "authstore/authstore.h"
#include "backends/factories.h"

namespace authstore {
namespace {

Options keyed_options() {
  Options options;
  options.keys.keys = {KeyEntry{1, std::string(32, 'k')}};
  options.keys.route_secret = std::string(32, 'r');
  return options;
}

void expect_compiled_out(std::string_view url, std::string_view option) {
  auto store = authstore::open(url, keyed_options());
  ASSERT_FALSE(store.ok()) << url;
  EXPECT_EQ(store.code(), StatusCode::kInvalidArgument) << url << ": " << store.status().to_string();
  EXPECT_EQ(store.status().field(), "url") << url;
  EXPECT_NE(store.status().message().find(option), std::string::npos)
      << url << ": " << store.status().to_string();
}

TEST(BackendsCompiledOut, RedisUrlsNameTheOption) {
  for (std::string_view url : {"redis://127.0.0.1:6379", "rediss://127.0.0.1:6379", "unix:///tmp/redis.sock",
                               "redis+cluster://127.0.0.1:7000", "redis+sentinel://127.0.0.1:26379/m",
                               "redis-sentinel://127.0.0.1:26379?sentinelMasterId=m"}) {
    expect_compiled_out(url, "AUTHSTORE_WITH_REDIS=OFF");
  }
}

TEST(BackendsCompiledOut, SqliteUrlsNameTheOption) {
  expect_compiled_out("sqlite:///tmp/authstore-compiled-out.db", "AUTHSTORE_WITH_SQLITE=OFF");
  expect_compiled_out("sqlite://relative.db", "AUTHSTORE_WITH_SQLITE=OFF");
}

TEST(BackendsCompiledOut, MemoryStillOpensAndUnknownSchemesListOnlyIt) {
  auto store = authstore::open("memory://", keyed_options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ(store->backend(), "memory");
  CodeGrant grant;
  grant.client_id = "c";
  grant.subject = "s";
  grant.redirect_uri = "https://a/cb";
  auto code = store->codes().issue(grant);
  EXPECT_TRUE(code.ok()) << code.status().to_string();
  // The unknown-scheme message lists what this build serves: memory only.
  auto bogus = authstore::open("bogus://x", keyed_options());
  EXPECT_EQ(bogus.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bogus.status().message().find("(expected memory)"), std::string::npos)
      << bogus.status().to_string();
  // Every scheme is still known (refused by name, not as unknown).
  for (std::string_view s : {"sqlite", "redis", "rediss", "unix", "redis+cluster", "rediss+sentinel"}) {
    const internal::BackendRegistration* r = internal::find_backend(s);
    ASSERT_NE(r, nullptr) << s;
    EXPECT_EQ(r->make, nullptr) << s;
  }
}

}  // namespace
}  // namespace authstore
