#include <charconv>
#include <functional>
#include <string>
#include <string_view>

#include "core/url_query.h"
#include "redis/options.h"

namespace authstore::redis {
namespace {

Status url_error(std::string message) {
  return Status(StatusCode::kInvalidArgument, "redis url: " + std::move(message), "url");
}

// Percent-decodes `in` into `out`; false on a malformed escape.
bool percent_decode(std::string_view in, std::string& out) {
  auto decoded = internal::percent_decode(in);
  if (!decoded) return false;
  out = std::move(*decoded);
  return true;
}

template <class Int>
bool parse_int(std::string_view s, Int& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// A duration option: 250ms, 2s, 500us or bare milliseconds. `positive`: zero is refused too (a
// deadline of 0 would fail every call; only ping_interval has a meaning for 0, off).
Status parse_duration(std::string_view name, std::string_view value, std::chrono::milliseconds& out,
                      bool positive) {
  std::string_view digits = value;
  double scale_ms = 1;
  if (value.ends_with("ms")) {
    digits = value.substr(0, value.size() - 2);
  } else if (value.ends_with("us")) {
    digits = value.substr(0, value.size() - 2);
    scale_ms = 0.001;
  } else if (value.ends_with("s")) {
    digits = value.substr(0, value.size() - 1);
    scale_ms = 1000;
  }
  std::int64_t n = 0;
  if (!parse_int(digits, n) || n < (positive ? 1 : 0) || n > 86'400'000) {
    return url_error("option '" + std::string(name) + "' must be a " +
                     (positive ? "positive" : "non-negative") + " duration such as 250ms, 2s or 500us");
  }
  out = std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(n) * scale_ms));
  if (scale_ms < 1 && n > 0 && out.count() == 0) out = std::chrono::milliseconds(1);
  return Status::Ok();
}

Status parse_db(std::string_view s, int& db) {
  if (!parse_int(s, db) || db < 0) {
    return url_error("database must be a non-negative integer (the path /N or option db=N)");
  }
  return Status::Ok();
}

Status apply_option(std::string_view name, std::string_view raw, ClientOptions& o) {
  std::string value;
  if (!percent_decode(raw, value)) {
    return url_error(internal::describe_option(name) + " has a malformed %-escape");
  }
  if (value.find('\0') != std::string::npos) {  // a path would be cut at it: refuse, never truncate
    return url_error(internal::describe_option(name) + " must not contain a NUL byte (%00)");
  }
  if (name == "timeout") return parse_duration(name, value, o.command_timeout, true);
  if (name == "connect_timeout") return parse_duration(name, value, o.connect_timeout, true);
  if (name == "ping_interval") return parse_duration(name, value, o.idle_ping_interval, false);
  if (name == "db") return parse_db(value, o.db);
  if (name == "client_name") {
    if (value.find_first_of(" \n\r") != std::string::npos) {
      return url_error("option 'client_name' must not contain spaces or newlines");
    }
    o.client_name = value;
    return Status::Ok();
  }
  if (name == "connections") {
    if (!parse_int(std::string_view(value), o.connections) || o.connections == 0 || o.connections > 64) {
      return url_error("option 'connections' must be an integer from 1 to 64");
    }
    return Status::Ok();
  }
  if (name == "wait_replicas") {
    if (!parse_int(std::string_view(value), o.wait_replicas) || o.wait_replicas < 0 || o.wait_replicas > 64) {
      return url_error("option 'wait_replicas' must be an integer from 0 to 64");
    }
    return Status::Ok();
  }
  if (name == "wait_timeout_ms") {
    std::int64_t ms = 0;
    if (!parse_int(std::string_view(value), ms) || ms <= 0 || ms > 86'400'000) {
      return url_error("option 'wait_timeout_ms' must be a positive number of milliseconds");
    }
    o.wait_timeout = std::chrono::milliseconds(ms);
    return Status::Ok();
  }
  if (name == "spin_us") {  // the low-latency mode (ClientOptions::spin_before_block)
    std::int64_t us = 0;
    if (!parse_int(std::string_view(value), us) || us < 0 || us > kMaxSpinMicros) {
      return url_error("option 'spin_us' must be an integer from 0 (off) to 1000 (microseconds)");
    }
    o.spin_before_block = std::chrono::microseconds(us);
    return Status::Ok();
  }
  if (name == "ca_file") return o.tls.ca_file = value, Status::Ok();
  if (name == "ca_dir") return o.tls.ca_dir = value, Status::Ok();
  if (name == "cert_file") return o.tls.cert_file = value, Status::Ok();
  if (name == "key_file") return o.tls.key_file = value, Status::Ok();
  if (name == "sni") return o.tls.server_name = value, Status::Ok();
  if (name == "insecure_skip_tls_verify") {
    if (value != "true" && value != "false") {
      return url_error("option 'insecure_skip_tls_verify' must be true or false");
    }
    o.tls.insecure_skip_verify_dangerous = value == "true";
    return Status::Ok();
  }
  return url_error("unknown " + internal::describe_option(name) +
                   " (expected timeout, connect_timeout, ping_interval, db, client_name, "
                   "connections, wait_replicas, wait_timeout_ms, spin_us, ca_file, ca_dir, cert_file, "
                   "key_file, sni or insecure_skip_tls_verify)");
}

// Applies the options in order: a repeated option's last value wins.
Status parse_query(std::string_view query, ClientOptions& o) {
  for (const internal::QueryParam& p : internal::split_query(query)) {
    if (!p.has_value) {
      return url_error(internal::describe_option(p.name) + " has no value (expected name=value)");
    }
    if (Status s = apply_option(p.name, p.value, o); !s.ok()) return s;
  }
  return Status::Ok();
}

Status parse_authority(std::string_view authority, ClientOptions& o) {
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    std::string user;
    std::string password;
    if (colon == std::string_view::npos) {
      // redis://secret@host is how several clients spell a password-only URL.
      if (!percent_decode(userinfo, password)) {
        return url_error("the password has a malformed %-escape");
      }
    } else {
      if (!percent_decode(userinfo.substr(0, colon), user)) {
        return url_error("the user name has a malformed %-escape");
      }
      if (!percent_decode(userinfo.substr(colon + 1), password)) {
        return url_error("the password has a malformed %-escape");
      }
    }
    if (password.empty() && !user.empty()) {
      return url_error("a user name needs a password (user:password@host)");
    }
    o.username = std::move(user);
    o.password = std::move(password);
  }
  std::string_view host;
  std::string_view port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return url_error("unterminated '[' in an IPv6 host");
    host = authority.substr(1, close - 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return url_error("expected ':port' after ']'");
      port = rest.substr(1);
      if (port.empty()) return url_error("empty port after ':'");
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return url_error("empty port after ':'");
    }
  }
  if (host.empty()) return url_error("missing host");
  if (host.find_first_of("/?#% ") != std::string_view::npos) {
    return url_error("the host contains a character that is not allowed");
  }
  o.host = std::string(host);
  if (!port.empty()) {
    unsigned p = 0;
    if (!parse_int(port, p) || p == 0 || p > 65535) {
      return url_error("port must be an integer from 1 to 65535");
    }
    o.port = static_cast<std::uint16_t>(p);
  }
  return Status::Ok();
}

}  // namespace

Result<ClientOptions> parse_url(std::string_view url, ClientOptions base) {
  ClientOptions o = std::move(base);
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return url_error("missing scheme (expected redis://, rediss:// or unix://)");
  }
  const std::string_view scheme = url.substr(0, sep);
  std::string_view rest = url.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) return url_error("fragments (#...) are not allowed");
  const internal::QuerySplit split = internal::split_at_query(rest);
  const std::string_view query = split.query;
  rest = split.before;
  if (scheme == "unix") {
    if (rest.empty() || rest[0] != '/') {
      return url_error("unix:// needs an absolute socket path (unix:///path/to/redis.sock)");
    }
    if (!percent_decode(rest, o.unix_path)) return url_error("the socket path has a malformed %-escape");
    if (o.unix_path.find('\0') != std::string::npos) {
      return url_error("the socket path must not contain a NUL byte (%00)");
    }
    o.tls.enabled = false;
  } else if (scheme == "redis" || scheme == "rediss") {
    o.tls.enabled = scheme == "rediss";
    o.unix_path.clear();
    const std::size_t slash = rest.find('/');
    if (Status s = parse_authority(rest.substr(0, slash), o); !s.ok()) return s;
    if (slash != std::string_view::npos) {
      const std::string_view db = rest.substr(slash + 1);
      if (!db.empty()) {
        if (Status s = parse_db(db, o.db); !s.ok()) return s;
      }
    }
  } else {
    return url_error("unsupported scheme '" + std::string(scheme) + "' (expected redis, rediss or unix)");
  }
  if (Status s = parse_query(query, o); !s.ok()) return s;
  const bool tls_files =
      !o.tls.ca_file.empty() || !o.tls.ca_dir.empty() || !o.tls.cert_file.empty() || !o.tls.key_file.empty();
  if (tls_files && !o.tls.enabled) {
    return url_error("TLS options (ca_file, ca_dir, cert_file, key_file) need the rediss:// scheme");
  }
  if (o.tls.cert_file.empty() != o.tls.key_file.empty()) {
    return url_error("cert_file and key_file go together (mutual TLS needs both)");
  }
  return o;
}

namespace {

// True when `host` (a URL's host[:port], IPv6 in brackets) names a port.
bool has_port(std::string_view host) {
  if (host.starts_with('[')) return host.find("]:") != std::string_view::npos;
  return host.find(':') != std::string_view::npos;
}

// The hosts of a multi-host URL ("h1[:port],h2[:port]..."), each parsed by parse_url() as
// plain + userinfo + host[:default_port] + suffix over `base`. `what` names a host in errors
// ("seed 2: port must be ..."). Calls each(options) per host, in order.
Status parse_hosts(std::string_view hosts, std::string_view what, std::string_view plain,
                   std::string_view userinfo, std::string_view default_port, std::string_view suffix,
                   const ClientOptions& base, const std::function<Status(ClientOptions&&)>& each) {
  std::size_t n = 0;
  while (true) {
    const std::size_t comma = hosts.find(',');
    const std::string_view host = hosts.substr(0, comma);
    const std::string which = std::string(what) + " " + std::to_string(++n);
    if (host.empty()) return url_error(which + " of the URL is empty");
    std::string url = std::string(plain) + std::string(userinfo) + std::string(host);
    if (!has_port(host)) url.append(":").append(default_port);
    auto o = parse_url(url + std::string(suffix), base);
    if (!o.ok()) return Status(o.status().code(), which + ": " + o.status().message(), o.status().field());
    if (Status s = each(std::move(o).value()); !s.ok()) return s;
    if (comma == std::string_view::npos) return Status::Ok();
    hosts = hosts.substr(comma + 1);
  }
}

}  // namespace

bool is_cluster_url(std::string_view url) {
  return url.starts_with("redis+cluster://") || url.starts_with("rediss+cluster://");
}

Result<ClusterUrl> parse_cluster_url(std::string_view url, const ClientOptions& base) {
  const std::size_t sep = url.find("://");
  const std::string_view scheme = sep == std::string_view::npos ? std::string_view() : url.substr(0, sep);
  if (scheme != "redis+cluster" && scheme != "rediss+cluster") {
    return url_error("a cluster URL starts with redis+cluster:// or rediss+cluster://");
  }
  const std::string plain = scheme == "rediss+cluster" ? "rediss://" : "redis://";
  const internal::QuerySplit split = internal::split_at_query(url.substr(sep + 3));
  std::string_view rest = split.before;
  // Every seed gets the whole query (parse_url() reads it).
  const std::string query = split.has_query ? "?" + std::string(split.query) : std::string();
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && db != "0") return url_error("a Redis Cluster has only database 0");
    rest = rest.substr(0, slash);
  }
  std::string_view userinfo;
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    userinfo = rest.substr(0, at + 1);
    rest = rest.substr(at + 1);
  }
  if (rest.empty()) return url_error("a cluster URL needs at least one seed host:port");
  ClusterUrl out;
  Status hosts = parse_hosts(rest, "seed", plain, userinfo, "6379", query, base, [&out](ClientOptions&& o) {
    if (o.db != 0) return url_error("a Redis Cluster has only database 0");
    if (out.seeds.empty()) out.node = o;
    out.seeds.emplace_back(o.host, o.port);
    return Status::Ok();
  });
  if (!hosts.ok()) return hosts;
  if (Status s = validate_client_options(out.node); !s.ok()) return s;
  return out;
}

}  // namespace authstore::redis

namespace authstore::redis {
namespace {

// A Sentinel master name: what SENTINEL GET-MASTER-ADDR-BY-NAME accepts as one argument and a
// sentinel.conf line can hold.
bool valid_master_name(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (unsigned char c : name) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

bool is_sentinel_url(std::string_view url) {
  return url.starts_with("redis+sentinel://") || url.starts_with("rediss+sentinel://") ||
         url.starts_with("redis-sentinel://") || url.starts_with("rediss-sentinel://");
}

Result<SentinelUrl> parse_sentinel_url(std::string_view url, const ClientOptions& base) {
  const std::size_t sep = url.find("://");
  const std::string_view scheme = sep == std::string_view::npos ? std::string_view() : url.substr(0, sep);
  if (scheme != "redis+sentinel" && scheme != "rediss+sentinel" && scheme != "redis-sentinel" &&
      scheme != "rediss-sentinel") {
    return url_error("a Sentinel URL starts with redis+sentinel://, rediss+sentinel:// or redis-sentinel://");
  }
  const bool lettuce = scheme.ends_with("-sentinel");
  const std::string plain = scheme.starts_with("rediss") ? "rediss://" : "redis://";
  std::string_view rest = url.substr(sep + 3);
  std::string_view fragment;
  if (const std::size_t h = rest.find('#'); h != std::string_view::npos) {
    if (!lettuce) {
      return url_error("fragments (#...) are not allowed; name the master in the path (/master_name)");
    }
    fragment = rest.substr(h + 1);
    rest = rest.substr(0, h);
  }
  const internal::QuerySplit split = internal::split_at_query(rest);
  rest = split.before;
  // The sentinel-only options leave the query; the rest is parse_url()'s.
  std::string kept;
  std::string sentinel_user;
  std::string sentinel_password;
  std::string master_id;
  bool has_sentinel_user = false;
  bool has_master_id = false;
  for (const internal::QueryParam& p : internal::split_query(split.query)) {
    std::string* target = p.name == "sentinel_username"   ? &sentinel_user
                          : p.name == "sentinel_password" ? &sentinel_password
                          : p.name == "sentinelMasterId"  ? &master_id
                                                          : nullptr;
    if (target == nullptr) {
      kept.append(kept.empty() ? "?" : "&").append(p.text);
      continue;
    }
    if (!p.has_value) {
      return url_error(internal::describe_option(p.name) + " has no value (expected name=value)");
    }
    if (!percent_decode(p.value, *target)) {
      return url_error("option '" + std::string(p.name) + "' has a malformed %-escape");
    }
    if (p.name == "sentinel_username") has_sentinel_user = true;
    if (p.name == "sentinelMasterId") has_master_id = true;
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  std::string master_name;
  std::string_view db;
  if (!lettuce) {
    if (has_master_id) {
      return url_error("option 'sentinelMasterId' belongs to redis-sentinel:// URLs; a " +
                       std::string(scheme) + ":// URL names the master in the path (/master_name)");
    }
    const std::size_t next = path.find('/');
    if (!percent_decode(path.substr(0, next), master_name)) {
      return url_error("the master name has a malformed %-escape");
    }
    if (master_name.empty()) {
      return url_error("a Sentinel URL names its master after the hosts: " + std::string(scheme) +
                       "://host[:port][,host[:port]...]/master_name[/db]");
    }
    if (next != std::string_view::npos) db = path.substr(next + 1);
  } else {
    if (!fragment.empty() && has_master_id) {
      std::string from_fragment;
      if (!percent_decode(fragment, from_fragment) || from_fragment != master_id) {
        return url_error("the master name is given twice and differs (sentinelMasterId and #fragment)");
      }
    }
    if (has_master_id) {
      master_name = master_id;
    } else if (!percent_decode(fragment, master_name)) {
      return url_error("the master name has a malformed %-escape");
    }
    if (master_name.empty()) {
      return url_error("a " + std::string(scheme) +
                       ":// URL names its master with ?sentinelMasterId=name (or #name)");
    }
    db = path;
  }
  if (!valid_master_name(master_name)) {
    return url_error("the master name must be 1 to 256 characters without spaces or control characters");
  }
  if (db.find('/') != std::string_view::npos) {
    return url_error(lettuce ? "expected [/db] after the hosts"
                             : "expected /master_name[/db] after the hosts");
  }
  if (!db.empty()) {
    int n = 0;
    if (Status s = parse_db(db, n); !s.ok()) return s;
  }
  if (has_sentinel_user && sentinel_password.empty()) {
    return url_error("option 'sentinel_username' needs sentinel_password");
  }
  std::string_view hosts = authority;
  std::string_view userinfo;
  if (const std::size_t at = hosts.rfind('@'); at != std::string_view::npos) {
    userinfo = hosts.substr(0, at + 1);
    hosts = hosts.substr(at + 1);
  }
  if (hosts.empty()) return url_error("a Sentinel URL needs at least one sentinel host[:port]");
  const std::string suffix = (db.empty() ? std::string() : "/" + std::string(db)) + kept;
  SentinelUrl out;
  const auto add = [&out](ClientOptions&& o) {
    if (out.sentinels.empty()) out.master = o;
    out.sentinels.emplace_back(o.host, o.port);
    return Status::Ok();
  };
  Status parsed = parse_hosts(hosts, "sentinel", plain, userinfo, "26379", suffix, base, add);
  if (!parsed.ok()) return parsed;
  out.sentinel = out.master;
  out.sentinel.username = std::move(sentinel_user);
  out.sentinel.password = std::move(sentinel_password);
  out.sentinel.db = 0;
  out.sentinel.server_check = nullptr;  // a sentinel has no keyspace to check
  out.sentinel.spin_before_block = {};  // spin_us is the master's: nobody waits on a sentinel
  out.sentinel.wait_replicas = 0;       // WAIT is the master's (a sentinel has no replicas)
  out.master_name = std::move(master_name);
  if (Status s = validate_client_options(out.master); !s.ok()) return s;
  if (Status s = validate_client_options(out.sentinel); !s.ok()) return s;
  return out;
}

}  // namespace authstore::redis
