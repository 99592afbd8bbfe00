// authstore/migrate.h: the migration engine. It opens both stores, fences the source, copies each
// table of the logical model (backends/migration.h) page by page, sealing every record again for
// the target, records its progress in the resume file, and verifies by comparing the two stores'
// rows (records by their opened contents).
#include "authstore/migrate.h"

#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "backends/backend.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/record.h"
#include "stores/keys.h"
#include "stores/store_state.h"

namespace authstore {
namespace {

using internal::KeyRing;
using internal::RecordType;
namespace mg = internal::migration;

constexpr std::size_t kMaxPageRows = 100'000;

struct Opened {
  std::shared_ptr<internal::StoreState> state;
  mg::MigrationBackend* m = nullptr;
  const KeyRing& ring() const { return *state->context->ring; }
  internal::Millis now() const { return state->context->now(); }
};

Result<Opened> open_side(std::string_view url, const Options& options, const char* side) {
  auto state = internal::open_state(url, options);
  if (!state.ok()) {
    const Status& s = state.status();
    return Status(s.code(), std::string(side) + ": " + s.message(), s.field());
  }
  Opened o;
  o.state = std::move(state.value());
  o.m = o.state->backend->migration();
  if (o.m == nullptr) {
    return Status(StatusCode::kFailedPrecondition,
                  std::string(side) + ": the " + o.state->backend->name() +
                      " backend cannot be migrated (memory:// is one process's store: nothing outlives it)",
                  "migration");
  }
  return o;
}

// Records sealed for the source, opened with its ring and sealed again with the target's.
class Resealer {
 public:
  Resealer(const KeyRing& from, const KeyRing& to) : from_(from), to_(to) {}

  bool signed_record(RecordType type, const std::string& key, std::string& blob) {
    auto body = internal::open_signed(from_, type, key, blob);
    if (!body) return false;
    blob = internal::seal_signed(to_, type, key, *body);
    return true;
  }
  bool encrypted_record(RecordType type, const std::string& key, std::string& blob) {
    auto body = internal::open_encrypted(from_, type, key, blob);
    if (!body) return false;
    blob = internal::seal_encrypted(to_, type, key, *body);
    internal::cleanse(*body);
    return true;
  }
  // The stored form of a session: session_key ":" sealed (docs/format.md, Session).
  bool session(mg::SessionRow& r) {
    if (r.deleted && r.record.empty()) return true;  // a tombstone without a record
    const std::string head = r.session_key + ":";
    if (r.record.compare(0, head.size(), head) != 0) return false;
    std::string sealed = r.record.substr(head.size());
    if (!encrypted_record(RecordType::kSession,
                          internal::session_binding(r.route, r.bucket_key, r.session_key), sealed)) {
      return false;
    }
    r.record = head + sealed;
    return true;
  }

  // Seals the row's records for the target; false: a record does not open (the row reads as
  // not found on the source and is not copied). *resealed counts the records.
  bool row(mg::Row& row, std::int64_t* resealed) {
    return std::visit(
        [&](auto& r) -> bool {
          using T = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<T, mg::CodeRow>) {
            if (!r.record.empty()) {
              if (!signed_record(RecordType::kCode, r.key, r.record)) return false;
              ++*resealed;
            }
            if (!signed_record(RecordType::kCodeTombstone, r.key, r.tombstone)) return false;
            ++*resealed;
            return true;
          } else if constexpr (std::is_same_v<T, mg::FamilyRow>) {
            ++*resealed;
            return signed_record(RecordType::kFamily, r.family_key, r.record);
          } else if constexpr (std::is_same_v<T, mg::JtiRow>) {
            ++*resealed;
            return signed_record(RecordType::kJti, r.jti_key, r.record);
          } else if constexpr (std::is_same_v<T, mg::SessionRow>) {
            ++*resealed;
            return session(r);
          } else if constexpr (std::is_same_v<T, mg::ClientTokenRow>) {
            ++*resealed;
            return encrypted_record(RecordType::kClientToken, r.key, r.blob);
          } else if constexpr (std::is_same_v<T, mg::PayloadRow>) {
            ++*resealed;
            return encrypted_record(RecordType::kPayload, r.key, r.record);
          } else {
            return true;  // no record in this row
          }
        },
        row);
  }

 private:
  const KeyRing& from_;
  const KeyRing& to_;
};

// ---- the resume file: "authstore migrate v1", the source's and the target's store ids (raw bytes:
// hex), the table index and the cursor (hex) of the next page.
struct ResumePoint {
  std::string source, target;
  int table = 0;
  std::string cursor;
};

std::string hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}
bool unhex(std::string_view s, std::string* out) {
  if (s.size() % 2 != 0) return false;
  auto v = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); i += 2) {
    const int a = v(s[i]), b = v(s[i + 1]);
    if (a < 0 || b < 0) return false;
    out->push_back(static_cast<char>(a * 16 + b));
  }
  return true;
}

Result<std::optional<ResumePoint>> read_resume(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::optional<ResumePoint>();  // no file: a new run
  std::string magic, line;
  ResumePoint p;
  std::string cursor_hex;
  std::getline(in, magic);
  bool ok = magic == "authstore migrate v1";
  for (int i = 0; ok && i < 4; ++i) {
    if (!std::getline(in, line)) {
      ok = false;
      break;
    }
    const auto sp = line.find(' ');
    const std::string name = line.substr(0, sp), value = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (name == "source")
      ok = unhex(value, &p.source);
    else if (name == "target")
      ok = unhex(value, &p.target);
    else if (name == "table") {
      try {
        p.table = std::stoi(value);
      } catch (...) {
        ok = false;
      }
    } else if (name == "cursor")
      cursor_hex = value;
    else
      ok = false;
  }
  if (!ok || p.table < 0 || p.table > mg::kTableCount || !unhex(cursor_hex, &p.cursor)) {
    return Status(StatusCode::kInvalidArgument,
                  "the resume file " + path + " is not one authstore migrate wrote", "resume");
  }
  return std::optional<ResumePoint>(std::move(p));
}

Status write_resume(const std::string& path, const ResumePoint& p) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "authstore migrate v1\nsource " << hex(p.source) << "\ntarget " << hex(p.target) << "\ntable "
        << p.table << "\ncursor " << hex(p.cursor) << "\n";
    out.flush();
    if (!out) return Status(StatusCode::kUnavailable, "cannot write the resume file " + tmp, "resume");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status(StatusCode::kUnavailable, "cannot rename the resume file to " + path, "resume");
  }
  return Status();
}

// ---- verify: each row reduced to its primary key and a digest of what the stores answer from it.
std::string sha256(std::string_view s) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), n);
}

void put_lp(std::string& out, std::string_view v) {
  const auto n = static_cast<std::uint32_t>(v.size());
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.append(v);
}
void put_i64(std::string& out, std::int64_t v) {
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
}

// How a row compares. `key`: its primary key. `digest`: everything the stores answer from it,
// records by their opened bodies. `keep_until`: for rows whose expiry only says how long a
// revocation is remembered (generations, revoked grants, logouts), the target must keep it at
// least as long: compared apart (>=), not in the digest.
struct Normal {
  std::string key;
  std::string digest;
  std::int64_t keep_until = 0;
  bool keep = false;
  bool readable = true;
};

class Normalizer {
 public:
  explicit Normalizer(const KeyRing& ring) : ring_(ring) {}

  std::string signed_body(RecordType t, const std::string& key, const std::string& blob) {
    auto body = internal::open_signed(ring_, t, key, blob);
    if (!body) {
      readable_ = false;
      return {};
    }
    return sha256(*body);
  }
  std::string encrypted_body(RecordType t, const std::string& key, const std::string& blob) {
    auto body = internal::open_encrypted(ring_, t, key, blob);
    if (!body) {
      readable_ = false;
      return {};
    }
    std::string d = sha256(*body);
    internal::cleanse(*body);
    return d;
  }

  // Logouts (refresh_grants rows whose grant key starts 0x00 / 0x01) are reduced to the latest per
  // user or (user, client) by the caller; this handles one row.
  Normal row(mg::Row row) {
    readable_ = true;
    Normal n;
    std::string d;
    std::visit(
        [&](auto& r) {
          using T = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<T, mg::UserRow>) {
            put_lp(n.key, r.route), put_lp(n.key, r.subject_key);
            put_i64(d, r.gen);
            n.keep = true, n.keep_until = r.expires_at;
          } else if constexpr (std::is_same_v<T, mg::ClientGenRow>) {
            put_lp(n.key, r.route), put_lp(n.key, r.subject_key), put_lp(n.key, r.client_key);
            put_i64(d, r.gen);
            n.keep = true, n.keep_until = r.expires_at;
          } else if constexpr (std::is_same_v<T, mg::GrantRow>) {
            put_lp(n.key, r.route), put_lp(n.key, r.subject_key), put_lp(n.key, r.grant_key);
            n.keep = true, n.keep_until = r.until;
          } else if constexpr (std::is_same_v<T, mg::FamilyRow>) {
            put_lp(n.key, r.family_key);
            for (const std::string* s : {&r.route, &r.subject_key, &r.client_key, &r.grant_key,
                                         &r.current_token, &r.prev_token, &r.grace_token}) {
              put_lp(d, *s);
            }
            put_lp(d, signed_body(RecordType::kFamily, r.family_key, r.record));
            for (std::int64_t v : {r.user_gen, r.client_gen, static_cast<std::int64_t>(r.state),
                                   r.prev_spent_at, r.grace_spent_at, r.created_at, r.last_used_at,
                                   r.idle_ttl, r.idle_expires_at, r.expires_at, r.rotations}) {
              put_i64(d, v);
            }
          } else if constexpr (std::is_same_v<T, mg::TokenRow>) {
            put_lp(n.key, r.token_key);
            put_lp(d, r.family_key), put_i64(d, r.expires_at);
          } else if constexpr (std::is_same_v<T, mg::JtiRow>) {
            put_lp(n.key, r.route), put_lp(n.key, r.subject_key), put_lp(n.key, r.jti_key);
            put_lp(d, r.client_key), put_lp(d, signed_body(RecordType::kJti, r.jti_key, r.record));
            put_i64(d, r.user_gen), put_i64(d, r.client_gen), put_i64(d, r.consumed),
                put_i64(d, r.expires_at);
          } else if constexpr (std::is_same_v<T, mg::CodeRow>) {
            put_lp(n.key, r.key);
            put_i64(d, r.consumed), put_i64(d, r.expires_at);
            // A consumed code answers with its tombstone only (Redis drops the record).
            if (!r.consumed) put_lp(d, signed_body(RecordType::kCode, r.key, r.record));
            put_lp(d, signed_body(RecordType::kCodeTombstone, r.key, r.tombstone));
          } else if constexpr (std::is_same_v<T, mg::SessionRow>) {
            put_lp(n.key, r.route), put_lp(n.key, r.bucket_key), put_lp(n.key, r.session_key);
            put_i64(d, r.deleted), put_i64(d, r.refresh_expires_at);
            if (!r.deleted) {  // a tombstone answers "deleted" whatever it keeps beside
              put_i64(d, r.lock_version);
              const std::string head = r.session_key + ":";
              if (r.record.compare(0, head.size(), head) != 0) {
                readable_ = false;
              } else {
                put_lp(d, encrypted_body(RecordType::kSession,
                                         internal::session_binding(r.route, r.bucket_key, r.session_key),
                                         r.record.substr(head.size())));
              }
            }
          } else if constexpr (std::is_same_v<T, mg::ReplayRow>) {
            put_lp(n.key, r.key);
            put_lp(d, r.owner), put_i64(d, r.kept_until);
          } else if constexpr (std::is_same_v<T, mg::ClientTokenRow>) {
            put_lp(n.key, r.key);
            put_lp(d, encrypted_body(RecordType::kClientToken, r.key, r.blob)), put_i64(d, r.expires_at);
          } else if constexpr (std::is_same_v<T, mg::PayloadGrantRow>) {
            put_lp(n.key, r.grant_key);
            n.keep = true, n.keep_until = r.until;
          } else if constexpr (std::is_same_v<T, mg::PayloadRow>) {
            put_lp(n.key, r.key);
            put_lp(d, encrypted_body(RecordType::kPayload, r.key, r.record));
            put_lp(d, r.grant_key), put_i64(d, r.consumed_at), put_i64(d, r.expires_at);
          } else if constexpr (std::is_same_v<T, mg::PayloadIndexRow>) {
            put_lp(n.key, r.key);
            put_lp(d, r.target), put_i64(d, r.expires_at);
          }
        },
        row);
    n.digest = sha256(d);
    n.readable = readable_;
    return n;
  }

 private:
  const KeyRing& ring_;
  bool readable_ = true;
};

// A logout row of refresh_grants (sqlite_refresh.cc logout_key): the latest per (user, client)
// is what grant_live answers from.
bool logout_row(const mg::GrantRow& r, std::string* who, std::string* time) {
  if (r.grant_key.empty() || (r.grant_key[0] != '\x00' && r.grant_key[0] != '\x01') ||
      r.grant_key.size() < 9) {
    return false;
  }
  *who = r.route + '\xff' + r.subject_key + '\xff' + r.grant_key.substr(0, r.grant_key.size() - 8);
  *time = r.grant_key.substr(r.grant_key.size() - 8);
  return true;
}

// Every live row of one table, normalized, by primary key. Logouts: the latest per user / client.
Result<std::map<std::string, Normal>> collect(Opened& side, mg::Table t, std::size_t page_rows,
                                              std::int64_t* unreadable) {
  std::map<std::string, Normal> out;
  std::map<std::string, mg::GrantRow> latest_logout;
  Normalizer norm(side.ring());
  std::string cursor;
  const internal::Millis now = side.now();
  for (std::size_t guard = 0; guard < 100'000'000; ++guard) {
    auto page = side.m->export_page(t, cursor, page_rows, now);
    if (!page.ok()) return page.status();
    for (auto& row : page->rows) {
      if (auto* g = std::get_if<mg::GrantRow>(&row)) {
        std::string who, time;
        if (logout_row(*g, &who, &time)) {
          auto [it, fresh] = latest_logout.emplace(who, *g);
          if (!fresh && it->second.grant_key < g->grant_key) it->second = *g;
          continue;
        }
      }
      Normal n = norm.row(std::move(row));
      if (!n.readable) {
        ++*unreadable;
        continue;
      }
      auto key = n.key;
      out.insert_or_assign(std::move(key), std::move(n));
    }
    cursor = std::move(page->next_cursor);
    if (cursor.empty()) break;
  }
  for (auto& [who, g] : latest_logout) {
    Normal n = norm.row(mg::Row(g));
    n.key = "logout:" + who;  // one entry per user / client, whatever the time
    n.digest = g.grant_key;   // the time is in the key's last 8 bytes
    out.insert_or_assign(n.key, std::move(n));
  }
  return out;
}

Status check_page_rows(const MigrateOptions& how) {
  if (how.page_rows == 0 || how.page_rows > kMaxPageRows) {
    return Status(StatusCode::kInvalidArgument, "page_rows must be 1..100000", "page_rows");
  }
  return Status();
}

Result<MigrateReport> verify_opened(Opened& from, Opened& to, const MigrateOptions& how,
                                    MigrateReport report) {
  report.mismatched = 0;
  const bool fresh_tables = report.tables.empty();
  for (int ti = 0; ti < mg::kTableCount; ++ti) {
    const auto t = static_cast<mg::Table>(ti);
    if (fresh_tables) report.tables.push_back(MigrateTableReport{mg::table_name(t)});
    MigrateTableReport& tr = report.tables[static_cast<std::size_t>(ti)];
    tr.mismatched = 0;
    std::int64_t unreadable_src = 0, unreadable_dst = 0;
    auto src = collect(from, t, how.page_rows, &unreadable_src);
    if (!src.ok()) return src.status();
    auto dst = collect(to, t, how.page_rows, &unreadable_dst);
    if (!dst.ok()) return dst.status();
    if (fresh_tables) {
      tr.unreadable = unreadable_src;
      tr.rows = static_cast<std::int64_t>(src->size()) + unreadable_src;
      report.rows += tr.rows;
      report.unreadable += unreadable_src;
    }
    auto mismatch = [&](const std::string& key, const char* why) {
      ++tr.mismatched;
      if (report.first_mismatch.empty()) {
        report.first_mismatch =
            std::string(mg::table_name(t)) + ": row " + internal::base64url_encode(key) + " " + why;
      }
    };
    for (const auto& [key, n] : src.value()) {
      auto it = dst->find(key);
      if (it == dst->end()) {
        mismatch(key, "is missing on the target");
        continue;
      }
      if (it->second.digest != n.digest)
        mismatch(key, "differs on the target");
      else if (n.keep && it->second.keep_until < n.keep_until)
        mismatch(key, "is remembered for less time on the target");
    }
    for (const auto& [key, n] : dst.value()) {
      if (src->find(key) == src->end()) mismatch(key, "is on the target only");
    }
    report.mismatched += tr.mismatched;
    if (how.progress) {
      how.progress(MigrateProgress{mg::table_name(t), ti, mg::kTableCount, 0});
    }
  }
  report.verified = report.mismatched == 0;
  return report;
}

// The target holds no row (a migration never merges into a store in use).
Result<bool> target_empty(Opened& to) {
  for (int ti = 0; ti < mg::kTableCount; ++ti) {
    auto page = to.m->export_page(static_cast<mg::Table>(ti), "", 1, to.now());
    if (!page.ok()) return page.status();
    if (!page->rows.empty()) return false;
  }
  return true;
}

}  // namespace

Result<MigrateReport> migrate(std::string_view from_url, std::string_view to_url, const Options& options,
                              const MigrateOptions& how) {
  if (Status s = check_page_rows(how); !s.ok()) return s;
  auto from = open_side(from_url, options, "source");
  if (!from.ok()) return from.status();
  MigrateReport report;
  report.source_backend = from->state->backend->name();
  report.dry_run = how.dry_run;
  // A dry run never opens the target (opening a new store writes its marker): it opens and
  // seals every record with the source's ring, which checks all a real run checks but the
  // target's store id.
  std::optional<Opened> to;
  if (!how.dry_run) {
    auto t = open_side(to_url, options, "target");
    if (!t.ok()) return t.status();
    to = std::move(t.value());
    if (from->ring().store_id() == to->ring().store_id()) {
      return Status(StatusCode::kInvalidArgument, "the source and the target are the same store", "to");
    }
    report.target_backend = to->state->backend->name();
  }

  ResumePoint point;
  point.source = from->ring().store_id();
  point.target = to ? to->ring().store_id() : std::string();
  if (!how.resume_file.empty() && !how.dry_run) {
    auto r = read_resume(how.resume_file);
    if (!r.ok()) return r.status();
    if (r->has_value()) {
      if ((*r)->source != point.source || (*r)->target != point.target) {
        return Status(StatusCode::kFailedPrecondition,
                      "the resume file " + how.resume_file + " belongs to a migration between other stores",
                      "resume");
      }
      point = **r;
      report.resumed = true;
    }
  }
  if (!report.resumed && !how.dry_run) {
    auto empty = target_empty(*to);
    if (!empty.ok()) return empty.status();
    if (!empty.value()) {
      return Status(
          StatusCode::kFailedPrecondition,
          "the target holds records: a migration copies into an empty store only (or resumes its own "
          "run with the resume file)",
          "target");
    }
  }

  // The fence, before the first read.
  if (!how.dry_run) {
    Status f = from->m->set_fence(true);
    if (f.ok()) {
      report.source_fenced = true;
    } else if (f.code() == StatusCode::kFailedPrecondition && f.field() == "fence") {
      if (!how.source_stopped) {
        return Status(StatusCode::kFailedPrecondition,
                      f.message() +
                          "; stop every writer of the source and say so (source_stopped, "
                          "--source-stopped), or migrate from a store that can be fenced",
                      "fence");
      }
    } else {
      return f;
    }
  }

  Resealer reseal(from->ring(), to ? to->ring() : from->ring());
  for (int ti = 0; ti < mg::kTableCount; ++ti) {
    const auto t = static_cast<mg::Table>(ti);
    report.tables.push_back(MigrateTableReport{mg::table_name(t)});
    MigrateTableReport& tr = report.tables.back();
    if (ti < point.table) {
      tr.done = true;
      continue;
    }
    std::string cursor = ti == point.table ? point.cursor : std::string();
    const internal::Millis now = from->now();  // rows live at the table's start are copied
    for (std::size_t guard = 0; guard < 100'000'000; ++guard) {
      auto page = from->m->export_page(t, cursor, how.page_rows, now);
      if (!page.ok()) return page.status();
      std::vector<mg::Row> rows;
      rows.reserve(page->rows.size());
      for (auto& row : page->rows) {
        ++tr.rows;
        if (!reseal.row(row, &tr.resealed)) {
          ++tr.unreadable;
          continue;
        }
        rows.push_back(std::move(row));
      }
      if (!how.dry_run && !rows.empty()) {
        const internal::Millis target_now = to->now();
        for (const auto& r : rows) tr.copied += mg::live_at(r, target_now) ? 1 : 0;
        if (Status s = to->m->import_rows(t, rows, target_now); !s.ok()) return s;
      }
      for (auto& r : rows) {  // client tokens, sessions and payloads hold secrets
        std::visit(
            [](auto& x) {
              mg::columns(x, [](auto& v) {
                if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) internal::cleanse(v);
              });
            },
            r);
      }
      cursor = std::move(page->next_cursor);
      if (!how.dry_run && !how.resume_file.empty()) {
        point.table = cursor.empty() ? ti + 1 : ti;
        point.cursor = cursor;
        if (Status s = write_resume(how.resume_file, point); !s.ok()) return s;
      }
      report.rows += static_cast<std::int64_t>(page->rows.size());
      if (how.progress) how.progress(MigrateProgress{mg::table_name(t), ti, mg::kTableCount, report.rows});
      if (cursor.empty()) break;
    }
    tr.done = true;
    report.copied += tr.copied;
    report.unreadable += tr.unreadable;
  }
  report.skipped = from->m->skipped();
  if (how.verify && !how.dry_run) return verify_opened(from.value(), *to, how, std::move(report));
  return report;
}

Result<MigrateReport> verify_migration(std::string_view from_url, std::string_view to_url,
                                       const Options& options, const MigrateOptions& how) {
  if (Status s = check_page_rows(how); !s.ok()) return s;
  auto from = open_side(from_url, options, "source");
  if (!from.ok()) return from.status();
  auto to = open_side(to_url, options, "target");
  if (!to.ok()) return to.status();
  MigrateReport report;
  report.source_backend = from->state->backend->name();
  report.target_backend = to->state->backend->name();
  auto fenced = from->m->fenced();
  report.source_fenced = fenced.ok() && fenced.value();
  return verify_opened(from.value(), to.value(), how, std::move(report));
}

Status lift_fence(std::string_view url, const Options& options) {
  auto side = open_side(url, options, "store");
  if (!side.ok()) return side.status();
  return side->m->set_fence(false);
}

Result<bool> is_fenced(std::string_view url, const Options& options) {
  auto side = open_side(url, options, "store");
  if (!side.ok()) return side.status();
  return side->m->fenced();
}

}  // namespace authstore
