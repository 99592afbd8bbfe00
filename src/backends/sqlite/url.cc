// sqlite:// URL parsing: "sqlite:///abs/path.db" or "sqlite://rel/path.db", with options in an
// optional query string (documented in docs/sqlite.md).
#include <charconv>
#include <filesystem>
#include <system_error>

#include "backends/sqlite/sqlite_backend.h"
#include "core/url_query.h"

namespace authstore::internal::sqlite {
namespace {

Status bad_url(std::string message) {
  return Status(StatusCode::kInvalidArgument, "sqlite URL: " + std::move(message), "url");
}

Result<std::string> percent_decode(std::string_view in, std::string_view what) {
  auto decoded = internal::percent_decode(in);
  if (!decoded) return bad_url(std::string(what) + ": bad percent-escape");
  std::string out = std::move(*decoded);
  if (out.find('\0') != std::string::npos) return bad_url(std::string(what) + ": contains NUL");
  return out;
}

Result<std::int64_t> parse_int(std::string_view name, std::string_view value, std::int64_t lo,
                               std::int64_t hi) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < lo || v > hi) {
    return bad_url("option " + std::string(name) + ": expected an integer in [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
  }
  return v;
}

}  // namespace

Result<DbConfig> parse_url(std::string_view rest) {
  DbConfig cfg;
  const QuerySplit split = split_at_query(rest);
  const std::string_view raw_path = split.before;
  if (raw_path.empty()) {
    return bad_url("missing file path (expected sqlite:///absolute/path.db or sqlite://relative/path.db)");
  }
  Result<std::string> path = percent_decode(raw_path, "path");
  if (!path.ok()) return path.status();
  if (path.value() == ":memory:" || path.value().rfind("file:", 0) == 0) {
    return bad_url("in-memory and file: URI databases are not supported (use memory:// instead)");
  }
  if (path.value().back() == '/') return bad_url("path names a directory, expected a file");
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path.value(), ec);
  if (ec) return bad_url("cannot resolve path: " + ec.message());
  abs = abs.lexically_normal();  // "dir/." and "dir/.." normalize to "dir/": a directory too
  if (!abs.has_filename()) return bad_url("path names a directory, expected a file");
  cfg.path = abs.string();

  // Options apply in order: a repeated option's last value wins. Values are taken as written (no
  // option of this URL needs an escape).
  for (const QueryParam& p : split_query(split.query)) {
    if (!p.has_value) return bad_url(describe_option(p.name) + ": expected name=value");
    const std::string_view name = p.name;
    const std::string_view value = p.value;
    if (name == "busy_timeout_ms") {
      auto v = parse_int(name, value, 0, 3'600'000);
      if (!v.ok()) return v.status();
      cfg.busy_timeout_ms = v.value();
    } else if (name == "synchronous") {
      if (value == "normal" || value == "NORMAL") {
        cfg.synchronous = Synchronous::kNormal;
      } else if (value == "full" || value == "FULL") {
        cfg.synchronous = Synchronous::kFull;
      } else {
        return bad_url("option synchronous: expected normal or full");
      }
    } else if (name == "max_page_count") {
      auto v = parse_int(name, value, 1, 4'294'967'294LL);
      if (!v.ok()) return v.status();
      cfg.max_page_count = v.value();
    } else if (name == "journal_size_limit") {
      auto v = parse_int(name, value, -1, std::int64_t{1} << 40);
      if (!v.ok()) return v.status();
      cfg.journal_size_limit = v.value();
    } else if (name == "max_batch") {
      auto v = parse_int(name, value, 1, 4096);
      if (!v.ok()) return v.status();
      cfg.max_batch = static_cast<std::size_t>(v.value());
    } else if (name == "cache_size_kib") {
      auto v = parse_int(name, value, 1, kMaxCacheSizeKib);
      if (!v.ok()) return v.status();
      cfg.cache_size_kib = v.value();
    } else {
      return bad_url("unknown " + describe_option(name) +
                     " (known: busy_timeout_ms, synchronous, max_page_count, "
                     "journal_size_limit, max_batch, cache_size_kib)");
    }
  }
  return cfg;
}

}  // namespace authstore::internal::sqlite
