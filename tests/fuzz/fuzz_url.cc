// URL parsing, the way open(url) dispatches it, without ever connecting or creating a file:
//   sqlite://...               sqlite::parse_url (src/backends/sqlite/url.cc)
//   redis:// rediss:// unix:// the Redis backend's own options (split_backend_options), then
//                              redis::parse_url (src/redis/url.cc); also parse_url on the raw URL
//   redis+cluster:// rediss+cluster://  redis::parse_cluster_url (seeds, db 0, no password echoed)
//   redis+sentinel:// rediss+sentinel:// redis-sentinel:// rediss-sentinel://
//                              redis::parse_sentinel_url (sentinels, master name, no password echoed)
//   anything else              open(url) itself (memory:// with a path, unknown schemes): an error
// Invariants: a parse either errors (kInvalidArgument, field "url") or yields values in range (a
// port 1..65535, a host, an absolute normalized file path, options within their documented bounds);
// an error message never repeats the URL's password.
//
// Input: the URL.
#include <algorithm>
#include <array>
#include <filesystem>
#include <string>
#include <utility>

#include "authstore/store.h"
#include "backends/redis/redis_backend.h"
#include "backends/sqlite/sqlite_backend.h"
#include "fuzz_common.h"
#include "redis/options.h"

namespace {

using namespace authstore;

bool url_error(const Status& s) { return s.code() == StatusCode::kInvalidArgument && s.field() == "url"; }
// The Cluster and Sentinel parsers also check the options they assembled together
// (validate_client_options); from a URL only one such check can fail: wait_timeout_ms must be
// below timeout (docs/redis.md, Durability: field wait_timeout_ms). Every other error is the URL's.
bool multi_url_error(const Status& s) {
  return url_error(s) || (s.code() == StatusCode::kInvalidArgument && s.field() == "wait_timeout_ms");
}

// The password as RFC 3986 reads it: the authority ends at the first '/', '?' or '#'; userinfo is
// what precedes its last '@'; the password follows the userinfo's first ':' (or is all of it).
// Returns [begin, end) offsets in `url` (begin == end: none).
std::pair<std::size_t, std::size_t> rfc_password(std::string_view url) {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return {0, 0};
  const std::size_t start = sep + 3;
  const std::size_t end = std::min(url.size(), url.find_first_of("/?#", start));
  const std::size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < start) return {0, 0};
  const std::size_t colon = url.substr(0, at).find(':', start);
  return {colon == std::string_view::npos ? start : colon + 1, at};
}

// The URL with every letter and digit of its password changed to another of its class (escapes
// %XX kept, so the URL parses the same way). A message that changes with it echoes the password.
std::string other_password(std::string_view url) {
  std::string out(url);
  const auto [b, e] = rfc_password(url);
  for (std::size_t i = b; i < e; ++i) {
    char& c = out[i];
    if (c == '%') {
      i += 2;
    } else if (c >= 'a' && c <= 'z') {
      c = c == 'z' ? 'a' : static_cast<char>(c + 1);
    } else if (c >= 'A' && c <= 'Z') {
      c = c == 'Z' ? 'A' : static_cast<char>(c + 1);
    } else if (c >= '0' && c <= '9') {
      c = c == '9' ? '0' : static_cast<char>(c + 1);
    }
  }
  return out;
}

// Parses `url` as the Redis backend does (pass 1) and as the client alone does (pass 0); returns
// the error messages (empty when the parse succeeded).
std::array<std::string, 2> check_redis(std::string_view url) {
  std::array<std::string, 2> messages;
  for (int pass = 0; pass < 2; ++pass) {
    std::string client_url(url);
    if (pass == 1) {
      internal::RedisBackendOptions backend;
      auto split = internal::split_backend_options(url, backend);
      if (!split.ok()) {
        FUZZ_CHECK(url_error(split.status()), "backend option error is not kInvalidArgument/url");
        messages[1] = split.status().message();
        break;
      }
      FUZZ_CHECK(backend.prefix.size() <= 64 && backend.prefix.find_first_of("{} \r\n") == std::string::npos,
                 "accepted a bad key prefix");
      client_url = split.value();
      FUZZ_CHECK(client_url.size() <= url.size(), "splitting options grew the URL");
    }
    const auto parsed = redis::parse_url(client_url);
    if (!parsed.ok()) {
      FUZZ_CHECK(url_error(parsed.status()), "redis url error is not kInvalidArgument/url");
      FUZZ_CHECK(parsed.status().message().rfind("redis url: ", 0) == 0,
                 "redis url error without its prefix");
      messages[static_cast<std::size_t>(pass)] = parsed.status().message();
      continue;
    }
    const redis::ClientOptions& o = parsed.value();
    FUZZ_CHECK(o.port >= 1, "port out of range");
    if (url.rfind("unix://", 0) == 0) {
      FUZZ_CHECK(!o.unix_path.empty() && o.unix_path[0] == '/', "unix:// without an absolute path");
      FUZZ_CHECK(!o.tls.enabled, "unix:// with TLS");
    } else {
      FUZZ_CHECK(!o.host.empty() && o.host.find_first_of("/?#% ") == std::string::npos, "bad host");
      FUZZ_CHECK(o.unix_path.empty(), "a TCP URL with a socket path");
      FUZZ_CHECK(o.tls.enabled == (url.rfind("rediss://", 0) == 0), "TLS does not follow the scheme");
    }
    FUZZ_CHECK(o.db >= 0, "negative db");
    FUZZ_CHECK(o.connections >= 1 && o.connections <= 64, "connections out of range");
    FUZZ_CHECK(o.password.empty() ? o.username.empty() : true, "a user name without a password");
    FUZZ_CHECK(o.tls.cert_file.empty() == o.tls.key_file.empty(), "cert_file without key_file");
    FUZZ_CHECK(o.client_name.find_first_of(" \r\n") == std::string::npos, "client_name with a space");
    for (auto ms : {o.command_timeout, o.connect_timeout, o.idle_ping_interval}) {
      FUZZ_CHECK(ms.count() >= 0 && ms.count() <= 86'400'000LL * 1000, "duration out of range");
    }
  }
  return messages;
}

void check_sqlite(std::string_view rest) {
  const auto parsed = internal::sqlite::parse_url(rest);
  if (!parsed.ok()) {
    FUZZ_CHECK(url_error(parsed.status()), "sqlite url error is not kInvalidArgument/url");
    return;
  }
  const auto& c = parsed.value();
  const std::filesystem::path p(c.path);
  FUZZ_CHECK(p.is_absolute(), "a relative database path");
  FUZZ_CHECK(p.lexically_normal() == p, "a database path that is not normalized");
  FUZZ_CHECK(p.has_filename(), "a database path that names a directory");
  FUZZ_CHECK(c.path.find('\0') == std::string::npos, "a database path with NUL");
  FUZZ_CHECK(c.busy_timeout_ms >= 0 && c.busy_timeout_ms <= 3'600'000, "busy_timeout_ms out of range");
  FUZZ_CHECK(c.max_batch >= 1 && c.max_batch <= 4096, "max_batch out of range");
  FUZZ_CHECK(c.max_page_count >= 0 && c.journal_size_limit >= -1, "a size option out of range");
  FUZZ_CHECK(c.cache_size_kib >= 1 && c.cache_size_kib <= internal::sqlite::kMaxCacheSizeKib,
             "cache_size_kib out of range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view url = fuzz::as_view(data, size);
  const std::size_t sep = url.find("://");
  const std::string_view scheme = sep == std::string_view::npos ? url : url.substr(0, sep);
  if (sep != std::string_view::npos && scheme == "sqlite") {
    check_sqlite(url.substr(sep + 3));
  } else if (sep != std::string_view::npos && (scheme == "redis" || scheme == "rediss" || scheme == "unix")) {
    const auto messages = check_redis(url);
    const auto [pw_begin, pw_end] = rfc_password(url);
    if (pw_end > pw_begin) {
      FUZZ_CHECK(check_redis(other_password(url)) == messages, "an error message repeats the password");
    }
  } else if (sep != std::string_view::npos && (scheme == "redis+cluster" || scheme == "rediss+cluster")) {
    auto cluster_messages = [](std::string_view u) {
      const auto c = redis::parse_cluster_url(u);
      if (!c.ok()) {
        FUZZ_CHECK(multi_url_error(c.status()), "cluster url error is not kInvalidArgument/url");
        return c.status().message();
      }
      FUZZ_CHECK(!c->seeds.empty() && c->node.db == 0, "a cluster URL without seeds or with a db");
      for (const auto& [host, port] : c->seeds) FUZZ_CHECK(!host.empty() && port >= 1, "a bad seed");
      FUZZ_CHECK(c->node.tls.enabled == (u.rfind("rediss+", 0) == 0), "TLS does not follow the scheme");
      return std::string();
    };
    const std::string messages = cluster_messages(url);
    const auto [pw_begin, pw_end] = rfc_password(url);
    if (pw_end > pw_begin) {
      FUZZ_CHECK(cluster_messages(other_password(url)) == messages, "an error message repeats the password");
    }
  } else if (sep != std::string_view::npos && redis::is_sentinel_url(url)) {
    auto sentinel_messages = [](std::string_view u) {
      const auto c = redis::parse_sentinel_url(u);
      if (!c.ok()) {
        FUZZ_CHECK(multi_url_error(c.status()), "sentinel url error is not kInvalidArgument/url");
        return c.status().message();
      }
      FUZZ_CHECK(!c->sentinels.empty() && !c->master_name.empty(),
                 "a sentinel URL without sentinels or name");
      FUZZ_CHECK(c->master_name.find_first_of(" \r\n") == std::string::npos, "a master name with a space");
      for (const auto& [host, port] : c->sentinels) FUZZ_CHECK(!host.empty() && port >= 1, "a bad sentinel");
      FUZZ_CHECK(c->master.db >= 0 && c->sentinel.db == 0, "a bad db");
      FUZZ_CHECK(c->master.tls.enabled == (u.rfind("rediss", 0) == 0) &&
                     c->sentinel.tls.enabled == c->master.tls.enabled,
                 "TLS does not follow the scheme");
      return std::string();
    };
    const std::string messages = sentinel_messages(url);
    const auto [pw_begin, pw_end] = rfc_password(url);
    if (pw_end > pw_begin) {
      FUZZ_CHECK(sentinel_messages(other_password(url)) == messages, "an error message repeats the password");
    }
  } else if (url != "memory://") {
    // Everything else is refused by open() itself before any backend exists.
    static const Options options = [] {
      Options o;
      o.keys = fuzz::ring_options();
      return o;
    }();
    const auto store = open(url, options);
    FUZZ_CHECK(!store.ok() && url_error(store.status()), "open() accepted a URL it cannot serve");
    FUZZ_CHECK(store.status().message().size() <= 200, "open() echoes the URL at length");
  }
  // Whatever the scheme, the Redis URL parser alone must not crash or accept nonsense.
  if (auto raw = redis::parse_url(url); raw.ok()) {
    FUZZ_CHECK(sep != std::string_view::npos && (scheme == "redis" || scheme == "rediss" || scheme == "unix"),
               "redis::parse_url accepted another scheme");
  }
  return 0;
}
