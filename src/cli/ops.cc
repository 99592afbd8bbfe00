// The operator commands: sessions, families, stats, keys check. Public API only (store calls and
// authstore/admin.h). Output: a table for people, --json for scripts. Every failure is one line on
// stderr ("error: ...") and exit code 1; no URL is printed with its password, in errors neither.
#include <openssl/sha.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "authstore/admin.h"
#include "cli/cli.h"
#include "core/url_query.h"

namespace authstore::cli {
namespace {

using nlohmann::json;

// ---- URLs without passwords ----------------------------------------------------------------------

// The secrets a URL carries: the password of user:password@ (or secret@), and the value of every
// query option whose name contains "password"; raw and %-decoded.
std::vector<std::string> url_secrets(std::string_view url) {
  std::vector<std::string> out;
  auto add = [&](std::string_view v) {
    if (v.empty()) return;
    out.emplace_back(v);
    // A malformed escape has no decoded form: the library refuses it without decoding it.
    const std::optional<std::string> d = internal::percent_decode(v);
    if (d && *d != v && !d->empty()) out.push_back(*d);
  };
  const std::size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) {
    const std::size_t start = scheme + 3;
    const std::size_t end = std::min(url.find_first_of("/?", start), url.size());
    const std::size_t at = url.rfind('@', end);
    if (at != std::string_view::npos && at >= start) {
      const std::string_view userinfo = url.substr(start, at - start);
      const std::size_t colon = userinfo.find(':');
      add(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1));
    }
  }
  for (const internal::QueryParam& p : internal::split_query(internal::split_at_query(url).query)) {
    if (p.has_value && p.name.find("password") != std::string_view::npos) add(p.value);
  }
  // Longest first: a secret that contains another is replaced whole.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

}  // namespace

std::string redact(std::string text, std::string_view url) {
  for (const std::string& secret : url_secrets(url)) {
    for (std::size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
      text.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return text;
}

namespace {

// ---- output helpers ----------------------------------------------------------------------------

std::string iso_time(UnixMillis ms) {
  if (ms <= 0) return "-";
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A table: a header row and rows, columns padded to their widest cell.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

// A session's reference for operators: the session id is a secret (a bearer credential), so the
// listing shows, and `revoke --session` accepts, a one-way digest of it instead ("s-" + 12 hex).
std::string session_ref(const std::string& id) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "s-";
  for (int i = 0; i < 6; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

// One failure: one line on stderr, exit code 1.
int fail(const OpsContext& ctx, const std::string& what) {
  std::cerr << "error: " << redact(what, ctx.url) << "\n";
  return 1;
}

int fail(const OpsContext& ctx, const std::string& what, const Status& status) {
  std::string msg = what + ": " + status.to_string();
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  return fail(ctx, msg);
}

}  // namespace

// ---- opening ---------------------------------------------------------------------------------------

Status prepare_operator_open(const std::string& url, const std::string& key_file, Options& options) {
  // Keys: --key-file, else AUTHSTORE_SECRET / AUTHSTORE_KEY_FILE (the library reads them, and
  // refuses one set but empty). Never a new key: that would read every record as not found.
  if (!key_file.empty()) {
    options.keys.key_file = key_file;
  } else if (std::getenv("AUTHSTORE_SECRET") == nullptr && std::getenv("AUTHSTORE_KEY_FILE") == nullptr) {
    return Status(StatusCode::kFailedPrecondition,
                  "no key: pass --key-file FILE, or set AUTHSTORE_SECRET or AUTHSTORE_KEY_FILE "
                  "(operator commands never create a key: a new one would read every record as not found)",
                  "keys");
  }
  if (!check_store_files(url)) {
    return Status(StatusCode::kFailedPrecondition, "the store's files are unsafe (see above)", "store_files");
  }
  // An operator command never creates a store: a sqlite:// path that does not exist is a typo.
  // (The file the library opens: sqlite://my%20db is "my db". A path that exists but cannot be
  // read, or whose directory cannot be searched, is the library's to report.)
  if (const std::string path = sqlite_file(url); !path.empty()) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
      return Status(StatusCode::kNotFound,
                    "no database file at " + path + " (operator commands never create one)", "url");
    }
  }
  return Status::Ok();
}

Result<StoreAdmin> open_for_operator(const OpsContext& ctx) {
  Options options;
  // An empty URL passes the checks of the store's files: without a key and a store, "no key" is
  // said first.
  if (Status ready = prepare_operator_open(ctx.url, ctx.key_file, options); !ready.ok()) return ready;
  if (ctx.url.empty()) {
    return Status(StatusCode::kInvalidArgument, "no store: pass --store URL or set AUTHSTORE_STORE", "url");
  }
  return StoreAdmin::open(ctx.url, options);
}

namespace {

// Opens, or prints the one error line. `admin` is set on success.
bool open_or_fail(const OpsContext& ctx, StoreAdmin& admin, int& rc) {
  auto opened = open_for_operator(ctx);
  if (!opened.ok()) {
    if (opened.code() == StatusCode::kFailedPrecondition && opened.status().field() == "store_files") {
      rc = 1;  // check_store_files printed why
      return false;
    }
    rc = fail(ctx, "cannot open the store " + ctx.url, opened.status());
    return false;
  }
  admin = std::move(opened.value());
  return true;
}

json session_json(const Session& s) {
  json j = {{"ref", session_ref(s.id)},       {"type", s.type},
            {"created_at", s.created_at},     {"refresh_expires_at", s.refresh_expires_at},
            {"refreshed_at", s.refreshed_at}, {"lock_version", s.lock_version}};
  j["expires_at"] = s.expires_at ? json(*s.expires_at) : json(nullptr);
  return j;
}

json metadata_json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(text) : j;
}

json family_json(const RefreshFamily& f) {
  return {{"family_id", f.family_id},
          {"client_id", f.client_id},
          {"grant_id", f.grant_id},
          {"scope", f.scope},
          {"created_at", f.created_at},
          {"last_used_at", f.last_used_at},
          {"idle_expires_at", f.idle_expires_at},
          {"expires_at", f.expires_at},
          {"rotations", f.rotations},
          {"metadata", metadata_json(f.metadata_json)}};
}

}  // namespace

// ---- sessions ------------------------------------------------------------------------------------

int run_sessions_list(const OpsContext& ctx, const std::string& user, const std::vector<std::string>& types) {
  StoreAdmin admin;
  int rc = 0;
  if (!open_or_fail(ctx, admin, rc)) return rc;
  Store store = admin.store();
  std::vector<Session> all;
  for (const std::string& type : types) {
    auto got = store.sessions().get_all(user, type);
    if (!got.ok()) return fail(ctx, "cannot list the sessions of type " + type, got.status());
    all.insert(all.end(), got->begin(), got->end());
  }
  if (ctx.json) {
    json out = {{"user", user}, {"sessions", json::array()}};
    for (const auto& s : all) out["sessions"].push_back(session_json(s));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  rows.reserve(all.size());
  for (const auto& s : all) {
    rows.push_back({session_ref(s.id), s.type, iso_time(s.created_at),
                    s.expires_at ? iso_time(*s.expires_at) : "never", iso_time(s.refresh_expires_at),
                    std::to_string(s.lock_version)});
  }
  print_table({"REF", "TYPE", "CREATED", "EXPIRES", "REFRESH_EXPIRES", "LOCK"}, rows);
  std::cout << all.size() << " session(s) of " << user << "\n";
  return 0;
}

int run_sessions_revoke(const OpsContext& ctx, const std::string& user, const std::vector<std::string>& types,
                        const std::string& session, bool all) {
  StoreAdmin admin;
  int rc = 0;
  if (!open_or_fail(ctx, admin, rc)) return rc;
  Store store = admin.store();
  std::int64_t revoked = 0;
  if (all) {
    for (const std::string& type : types) {
      auto n = store.sessions().delete_all(user, type);
      if (!n.ok()) return fail(ctx, "cannot revoke the sessions of type " + type, n.status());
      revoked += n.value();
    }
  } else {
    // --session takes the reference a listing shows (or the session id itself).
    bool found = false;
    for (const std::string& type : types) {
      auto got = store.sessions().get_all(user, type);
      if (!got.ok()) return fail(ctx, "cannot list the sessions of type " + type, got.status());
      for (const Session& s : got.value()) {
        if (session_ref(s.id) != session && s.id != session) continue;
        found = true;
        auto del = store.sessions().delete_session(s.id, user, type);
        if (del.ok()) {
          ++revoked;
        } else if (del.code() != StatusCode::kNotFound) {  // gone meanwhile: nothing to revoke
          return fail(ctx, "cannot revoke session " + session, del.status());
        }
      }
    }
    if (!found) return fail(ctx, "no live session " + session + " of user " + user);
  }
  if (ctx.json) {
    std::cout << json({{"user", user}, {"revoked_sessions", revoked}}).dump(2) << "\n";
  } else {
    std::cout << "revoked " << revoked << " session(s) of " << user << "\n";
  }
  return 0;
}

// ---- families ------------------------------------------------------------------------------------

int run_families_list(const OpsContext& ctx, const std::string& user) {
  StoreAdmin admin;
  int rc = 0;
  if (!open_or_fail(ctx, admin, rc)) return rc;
  auto got = admin.store().refresh().list(user);
  if (!got.ok()) return fail(ctx, "cannot list the refresh families", got.status());
  if (ctx.json) {
    json out = {{"user", user}, {"families", json::array()}};
    for (const auto& f : got.value()) out["families"].push_back(family_json(f));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : got.value()) {
    rows.push_back({f.family_id, f.client_id, f.grant_id.empty() ? "-" : f.grant_id, iso_time(f.created_at),
                    iso_time(f.last_used_at), iso_time(std::min(f.idle_expires_at, f.expires_at)),
                    std::to_string(f.rotations)});
  }
  print_table({"FAMILY", "CLIENT", "GRANT", "CREATED", "LAST_USED", "EXPIRES", "ROTATIONS"}, rows);
  std::cout << got->size() << " active refresh famil" << (got->size() == 1 ? "y" : "ies") << " of " << user
            << "\n";
  return 0;
}

int run_families_revoke(const OpsContext& ctx, const std::string& user, const FamilyRevoke& what) {
  StoreAdmin admin;
  int rc = 0;
  if (!open_or_fail(ctx, admin, rc)) return rc;
  RefreshTokenStore& refresh = admin.store().refresh();
  std::string done;
  if (!what.family.empty()) {
    // Only a family of this user: a family id typed for the wrong user is refused, not revoked.
    auto listed = refresh.list(user);
    if (!listed.ok()) return fail(ctx, "cannot list the refresh families", listed.status());
    const bool mine = std::any_of(listed->begin(), listed->end(),
                                  [&](const RefreshFamily& f) { return f.family_id == what.family; });
    if (!mine) return fail(ctx, "no active refresh family " + what.family + " of user " + user);
    Status st = refresh.revoke_family(what.family).status();
    if (!st.ok()) return fail(ctx, "cannot revoke family " + what.family, st);
    done = "family " + what.family;
  } else if (!what.client.empty()) {
    Status st = refresh.revoke_client(user, what.client).status();
    if (!st.ok()) return fail(ctx, "cannot revoke the families of client " + what.client, st);
    done = "every family and JWT id of client " + what.client;
  } else if (!what.grant.empty()) {
    Status st = refresh.revoke_grant(user, what.grant).status();
    if (!st.ok()) return fail(ctx, "cannot revoke grant " + what.grant, st);
    done = "every family of grant " + what.grant + " (later issues under it are refused too)";
  } else {
    Status st = refresh.revoke_subject(user).status();
    if (!st.ok()) return fail(ctx, "cannot revoke the families", st);
    done = "every family and JWT id";
  }
  if (ctx.json) {
    std::cout << json({{"user", user}, {"revoked", done}}).dump(2) << "\n";
  } else {
    std::cout << "revoked " << done << " of " << user << "\n";
  }
  return 0;
}

// ---- stats ---------------------------------------------------------------------------------------

int run_stats(const OpsContext& ctx) {
  StoreAdmin admin;
  int rc = 0;
  if (!open_or_fail(ctx, admin, rc)) return rc;
  const KeyRingInfo ring = admin.key_ring();
  auto counts = admin.counts();
  auto health = admin.health();
  // memory:// is one process's store (empty in this one); it has no health view: shown as such,
  // not as a failure.
  const bool memory = admin.store().backend() == "memory";
  const std::string memory_note =
      "memory:// is one process's store: this command's process holds a new, empty "
      "one (an embedding program's StoreAdmin counts its own)";
  if (!counts.ok() && !memory) return fail(ctx, "cannot count the records", counts.status());
  if (!health.ok() && !memory) return fail(ctx, "cannot read the backend's health", health.status());
  json j;
  j["store"] = redact(ctx.url, ctx.url);
  j["backend"] = admin.store().backend();
  if (counts.ok()) {
    const StoreCounts& c = counts.value();
    j["counts"] = {{"codes", c.codes},
                   {"refresh_families", c.refresh_families},
                   {"sessions", c.sessions},
                   {"replay_reservations", c.replay_reservations},
                   {"client_tokens", c.client_tokens},
                   {"cost", c.cost}};
  } else {
    j["counts"] = {{"error", counts.status().message()}};
  }
  if (health.ok()) {
    json h = json::object();
    for (const auto& [k, v] : health->items) h[k] = v;
    j["health"] = h;
  } else {
    j["health"] = {{"error", memory_note}};
  }
  j["key_ring"] = {
      {"key_ids", ring.key_ids},
      {"signing_key_id", ring.signing_key_id},
      {"index_key_source", ring.index_key_source == 0 ? std::string("route secret")
                                                      : "key " + std::to_string(ring.index_key_source)},
      {"bound_to_store", ring.bound_to_store}};
  if (ctx.json) {
    std::cout << redact(j.dump(2), ctx.url) << "\n";
    return 0;
  }
  std::cout << "store    " << redact(ctx.url, ctx.url) << " (backend " << admin.store().backend() << ")\n";
  std::cout << "\ncounts (records stored and not expired)\n";
  if (counts.ok()) {
    for (const char* k : {"codes", "refresh_families", "sessions", "replay_reservations", "client_tokens"}) {
      std::printf("  %-20s %lld\n", k, static_cast<long long>(j["counts"][k].get<std::int64_t>()));
    }
    std::cout << "  cost: " << counts->cost << "\n";
  } else {
    std::cout << "  not available: " << counts.status().message() << "\n";
  }
  if (memory) std::cout << "  (" << memory_note << ")\n";
  std::cout << "\nhealth\n";
  if (health.ok()) {
    for (const auto& [k, v] : health->items)
      std::printf("  %-24s %s\n", k.c_str(), redact(v, ctx.url).c_str());
  } else {
    std::cout << "  not available: " << memory_note << "\n";
  }
  std::cout << "\nkey ring\n  key ids:      ";
  for (std::size_t i = 0; i < ring.key_ids.size(); ++i) std::cout << (i ? ", " : "") << ring.key_ids[i];
  std::cout << "\n  signing key:  " << ring.signing_key_id
            << "\n  index key:    " << j["key_ring"]["index_key_source"].get<std::string>() << "\n";
  return 0;
}

// ---- keys check ----------------------------------------------------------------------------------

int run_keys_check(const OpsContext& ctx, std::size_t limit) {
  StoreAdmin admin;
  int rc = 0;
  if (!open_or_fail(ctx, admin, rc)) return rc;
  const KeyRingInfo ring = admin.key_ring();
  auto report = admin.check_keys(limit);
  if (!report.ok()) return fail(ctx, "cannot walk the records", report.status());
  const KeyCheckReport& r = report.value();
  // Exit code 3 when some stored records already fail to verify (they read as not found): the
  // ring is not the one that wrote them, or they were altered.
  const int code = r.failed > 0 ? 3 : 0;
  if (ctx.json) {
    json by_key = json::object();
    for (const auto& [id, n] : r.by_key) {
      by_key[std::to_string(id)] = {
          {"records", n}, {"signing", id == ring.signing_key_id}, {"by_kind", r.by_key_and_kind.at(id)}};
    }
    std::cout << json({{"records", r.records},
                       {"verified", r.verified},
                       {"failed", r.failed},
                       {"signing_key_id", ring.signing_key_id},
                       {"key_ids", ring.key_ids},
                       {"by_key", by_key},
                       {"need_retiring_keys", r.need_retiring_keys},
                       {"truncated", r.truncated},
                       {"scope", r.scope}})
                     .dump(2)
              << "\n";
    return code;
  }
  std::cout << "records read:   " << r.records << (r.truncated ? " (stopped at --limit)" : "") << "\n"
            << "verified:       " << r.verified << "\n"
            << "failed:         " << r.failed << (r.failed ? "  (they read as not found already)" : "")
            << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const std::uint16_t id : ring.key_ids) {
    const auto it = r.by_key.find(id);
    const std::int64_t n = it == r.by_key.end() ? 0 : it->second;
    std::string kinds;
    if (it != r.by_key.end()) {
      for (const auto& [kind, k] : r.by_key_and_kind.at(id)) {
        kinds += (kinds.empty() ? "" : ", ") + kind + " " + std::to_string(k);
      }
    }
    const bool signing = id == ring.signing_key_id;
    rows.push_back({std::to_string(id), signing ? "signing" : "retiring", std::to_string(n),
                    signing ? "-" : std::to_string(n), kinds.empty() ? "-" : kinds});
  }
  print_table({"KEY", "ROLE", "RECORDS", "NOT_FOUND_IF_REMOVED", "KINDS"}, rows);
  std::cout << r.need_retiring_keys << " record(s) need a key other than the signing key "
            << ring.signing_key_id << "\nwalked: " << r.scope << "\n";
  return code;
}

}  // namespace authstore::cli
