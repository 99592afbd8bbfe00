// Uses only the installed public API: opens memory:// with an explicit key, issues a code,
// consumes it, checks that a second consume is refused. Prints OK on success.
#include <authstore/authstore.h>

#include <cstdio>
#include <string>

int main() {
  authstore::Options options;
  options.keys.keys = {{1, std::string(32, 'k')}};
  auto store = authstore::open("memory://", options);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().to_string().c_str());
    return 1;
  }
  authstore::CodeGrant grant;
  grant.client_id = "consumer";
  grant.subject = "alice";
  grant.redirect_uri = "https://client.example/cb";
  auto issued = store->codes().issue(grant);
  if (!issued.ok()) {
    std::fprintf(stderr, "issue: %s\n", issued.status().to_string().c_str());
    return 1;
  }
  auto consumed = store->codes().consume(issued->code);
  if (!consumed.ok() || consumed->grant.subject != "alice") {
    std::fprintf(stderr, "consume: %s\n", consumed.status().to_string().c_str());
    return 1;
  }
  auto again = store->codes().consume(issued->code);
  if (again.status().code() != authstore::StatusCode::kAlreadyConsumed) {
    std::fprintf(stderr, "second consume: %s\n", again.status().to_string().c_str());
    return 1;
  }
  std::puts("OK");
  return 0;
}
