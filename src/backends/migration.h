// The migration seam: moving every live record of a store to another store (`authstore migrate`,
// authstore/migrate.h). Internal; used by src/stores/migrate.cc only.
//
// The logical model is the SQLite schema (backends/sqlite/schema.cc, version 2): one row type per
// table, the same columns, the same meaning. SQLite exports and imports its rows as they are; the
// Redis backend maps its keys to these rows and back (docs/redis.md "Keys"). Every backend that
// supports migration must keep, across an export from one backend and an import into another,
// what every store operation answers for every record: a code's consumed state, a token's place
// in its family (current, the grace candidates, spent), generations, revoked grants, logouts,
// session lock versions and tombstones, reservations, client tokens, payloads and their indexes.
//
// Records (the `record` / `tombstone` / `blob` columns) are exported as stored; the migration
// engine opens each one with the source's key ring and seals it again for the target (records of
// version 2 bind the store id: docs/format.md section 4) before importing. Backends never parse
// them.
//
// Expiry: an export returns only rows that are unexpired at `now` (the store clock); expiry
// columns are absolute Unix ms as in the schema ("never" is INT64_MAX). An import gives each row
// its native expiry from those columns (Redis: PEXPIREAT / PXAT), so a record keeps its remaining
// lifetime.
//
// Thread-safety: the calls block the calling thread until done; they may be called from one
// thread at a time (the migration engine's).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "authstore/status.h"

namespace authstore::internal::migration {

using Millis = std::int64_t;

// codes(key, consumed, record, tombstone, expires_at). `record` may be empty once consumed
// (Redis drops it); `key` is the storage key ("ac:{R}:<h>", docs/format.md section 3).
struct CodeRow {
  std::string key;
  bool consumed = false;
  std::string record;
  std::string tombstone;
  Millis expires_at = 0;
};

// refresh_families: state 0 active, 1 ended (consumed), 2 revoked. current_token empty once
// ended. prev_token / grace_token: the grace candidates (tokens whose successor is the current
// token; prev: spent by the last ordinary rotation, grace: a token re-rotated inside its grace
// window), with the time each was spent; empty when none. Token keys are storage keys
// ("rt:{R}:<h>"), family keys "rf:{R}:<id>"; route is the user's tag "{R}" as the stores pass it (backend.h);
// subject/client/grant keys as
// backend.h (FamilyIssue).
struct FamilyRow {
  std::string family_key, route, subject_key, client_key, grant_key, record;
  std::int64_t user_gen = 0, client_gen = 0;
  int state = 0;
  std::string current_token, prev_token;
  Millis prev_spent_at = 0;
  std::string grace_token;
  Millis grace_spent_at = 0;
  Millis created_at = 0, last_used_at = 0, idle_ttl = 0, idle_expires_at = 0, expires_at = 0;
  std::int64_t rotations = 0;
};

// refresh_tokens: every token of a family (current, spent, superseded) links to its family and
// lives until the family's expires_at. A token that is neither the family's current token nor
// one of its grace candidates is spent: presenting it is reuse.
struct TokenRow {
  std::string token_key, family_key;
  Millis expires_at = 0;
};

// refresh_users: the user's generation (missing = 0), kept until expires_at.
struct UserRow {
  std::string route, subject_key;
  std::int64_t gen = 0;
  Millis expires_at = 0;
};

// refresh_client_gens: the generation per (user, client).
struct ClientGenRow {
  std::string route, subject_key, client_key;
  std::int64_t gen = 0;
  Millis expires_at = 0;
};

// refresh_grants: revoked grants (grant_key, revoked until `until`) and logouts, as SQLite keeps
// them: grant_key = 0x00 || T for a logout of the user at T, 0x01 || client_key || T for a logout
// from one client, T the logout time as 8 big-endian bytes with the sign bit flipped
// (sqlite_refresh.cc logout_key); `until`: how long it is remembered. A backend that keeps only
// the latest logout per user / client (Redis: rs: fields a:) exports that one and, importing
// several, keeps the latest (grant_live answers the same: it asks for a logout at or after T).
struct GrantRow {
  std::string route, subject_key, grant_key;
  Millis until = 0;
};

// refresh_jtis: a server-minted JWT refresh id with the generations it captured.
struct JtiRow {
  std::string route, subject_key, jti_key, client_key, record;
  std::int64_t user_gen = 0, client_gen = 0;
  bool consumed = false;
  Millis expires_at = 0;
};

// sessions: record = session_key ":" encrypted record (docs/format.md, Session); deleted: a
// tombstone kept until refresh_expires_at.
struct SessionRow {
  std::string route, bucket_key, session_key, record;
  std::int64_t lock_version = 0;
  bool deleted = false;
  Millis refresh_expires_at = 0;
};

// replay: a reservation (key "jr:<h>", owner token) kept until kept_until.
struct ReplayRow {
  std::string key, owner;
  Millis kept_until = 0;
};

// client_tokens: key "ct:..." (docs/format.md section 3), the encrypted blob; expires_at
// INT64_MAX when saved without expiry.
struct ClientTokenRow {
  std::string key, blob;
  Millis expires_at = 0;
};

// payloads, payload_index (uid / user-code pointers to a payload key), payload_grants.
struct PayloadRow {
  std::string key, record, grant_key;
  Millis consumed_at = 0, expires_at = 0;
};
struct PayloadIndexRow {
  std::string key, target;
  Millis expires_at = 0;
};
struct PayloadGrantRow {
  std::string grant_key;
  Millis until = 0;
};

// The tables, in the order a migration copies them (generations and revocations before the
// families and jtis they govern).
enum class Table : std::uint8_t {
  kRefreshUsers,
  kRefreshClientGens,
  kRefreshGrants,
  kRefreshFamilies,
  kRefreshTokens,
  kRefreshJtis,
  kCodes,
  kSessions,
  kReplay,
  kClientTokens,
  kPayloadGrants,
  kPayloads,
  kPayloadIndex,
};
inline constexpr int kTableCount = 13;
// The SQLite table's name (docs, progress lines, the resume file).
inline const char* table_name(Table t) {
  constexpr const char* kNames[kTableCount] = {
      "refresh_users",  "refresh_client_gens", "refresh_grants", "refresh_families",
      "refresh_tokens", "refresh_jtis",        "codes",          "sessions",
      "replay",         "client_tokens",       "payload_grants", "payloads",
      "payload_index"};
  return kNames[static_cast<int>(t)];
}

using Row = std::variant<UserRow, ClientGenRow, GrantRow, FamilyRow, TokenRow, JtiRow, CodeRow, SessionRow,
                         ReplayRow, ClientTokenRow, PayloadGrantRow, PayloadRow,
                         PayloadIndexRow>;  // index == static_cast<int>(Table)

// Whether a row is unexpired at `now` (the store clock), as every read decides it.
struct LiveAt {
  Millis now;
  bool operator()(const UserRow& r) const { return r.expires_at > now; }
  bool operator()(const ClientGenRow& r) const { return r.expires_at > now; }
  bool operator()(const GrantRow& r) const { return r.until > now; }
  bool operator()(const FamilyRow& r) const { return r.expires_at > now && r.idle_expires_at > now; }
  bool operator()(const TokenRow& r) const { return r.expires_at > now; }
  bool operator()(const JtiRow& r) const { return r.expires_at > now; }
  bool operator()(const CodeRow& r) const { return r.expires_at > now; }
  bool operator()(const SessionRow& r) const { return r.refresh_expires_at > now; }
  bool operator()(const ReplayRow& r) const { return r.kept_until > now; }
  bool operator()(const ClientTokenRow& r) const { return r.expires_at > now; }
  bool operator()(const PayloadGrantRow& r) const { return r.until > now; }
  bool operator()(const PayloadRow& r) const { return r.expires_at > now; }
  bool operator()(const PayloadIndexRow& r) const { return r.expires_at > now; }
};
inline bool live_at(const Row& row, Millis now) { return std::visit(LiveAt{now}, row); }

struct Page {
  std::vector<Row> rows;    // every row of the page's table
  std::string next_cursor;  // empty: the table is done
};

// The columns of each row type, in the SQLite table's column order: f is called with each field
// (std::string&, std::int64_t&, bool& or int&). One description serves export, import and the
// comparisons of a verify.
template <class F>
void columns(UserRow& r, F&& f) {
  f(r.route);
  f(r.subject_key);
  f(r.gen);
  f(r.expires_at);
}
template <class F>
void columns(ClientGenRow& r, F&& f) {
  f(r.route);
  f(r.subject_key);
  f(r.client_key);
  f(r.gen);
  f(r.expires_at);
}
template <class F>
void columns(GrantRow& r, F&& f) {
  f(r.route);
  f(r.subject_key);
  f(r.grant_key);
  f(r.until);
}
template <class F>
void columns(FamilyRow& r, F&& f) {
  f(r.family_key);
  f(r.route);
  f(r.subject_key);
  f(r.client_key);
  f(r.grant_key);
  f(r.record);
  f(r.user_gen);
  f(r.client_gen);
  f(r.state);
  f(r.current_token);
  f(r.prev_token);
  f(r.prev_spent_at);
  f(r.grace_token);
  f(r.grace_spent_at);
  f(r.created_at);
  f(r.last_used_at);
  f(r.idle_ttl);
  f(r.idle_expires_at);
  f(r.expires_at);
  f(r.rotations);
}
template <class F>
void columns(TokenRow& r, F&& f) {
  f(r.token_key);
  f(r.family_key);
  f(r.expires_at);
}
template <class F>
void columns(JtiRow& r, F&& f) {
  f(r.route);
  f(r.subject_key);
  f(r.jti_key);
  f(r.client_key);
  f(r.record);
  f(r.user_gen);
  f(r.client_gen);
  f(r.consumed);
  f(r.expires_at);
}
template <class F>
void columns(CodeRow& r, F&& f) {
  f(r.key);
  f(r.consumed);
  f(r.record);
  f(r.tombstone);
  f(r.expires_at);
}
template <class F>
void columns(SessionRow& r, F&& f) {
  f(r.route);
  f(r.bucket_key);
  f(r.session_key);
  f(r.record);
  f(r.lock_version);
  f(r.deleted);
  f(r.refresh_expires_at);
}
template <class F>
void columns(ReplayRow& r, F&& f) {
  f(r.key);
  f(r.owner);
  f(r.kept_until);
}
template <class F>
void columns(ClientTokenRow& r, F&& f) {
  f(r.key);
  f(r.blob);
  f(r.expires_at);
}
template <class F>
void columns(PayloadGrantRow& r, F&& f) {
  f(r.grant_key);
  f(r.until);
}
template <class F>
void columns(PayloadRow& r, F&& f) {
  f(r.key);
  f(r.record);
  f(r.grant_key);
  f(r.consumed_at);
  f(r.expires_at);
}
template <class F>
void columns(PayloadIndexRow& r, F&& f) {
  f(r.key);
  f(r.target);
  f(r.expires_at);
}

class MigrationBackend {
 public:
  virtual ~MigrationBackend() = default;

  // Up to about `max_rows` unexpired rows of table `t` following `cursor` ("" = from the start).
  // Pages of one table, followed to the end with nothing written in between, hold every row
  // unexpired at `now` at least once (a row may appear twice: imports are idempotent).
  virtual Result<Page> export_page(Table t, const std::string& cursor, std::size_t max_rows, Millis now) = 0;

  // Writes the rows (all of table `t`), replacing any entry with the same key, each with its
  // native expiry. Idempotent: importing a row twice leaves what importing it once leaves.
  // Atomic per row at least. A row whose expiry has passed at `now` is skipped.
  virtual Status import_rows(Table t, const std::vector<Row>& rows, Millis now) = 0;

  // The fence: while on, every store operation that would change this store answers
  // kFailedPrecondition (field "fence"), in every process using the store, until it is lifted;
  // reads keep working. kFailedPrecondition (field "fence") where a backend cannot fence its
  // writers (the operator then stops them; docs/operations.md, "Moving a store").
  virtual Status set_fence(bool on) = 0;
  virtual Result<bool> fenced() = 0;

  // Entries the exports so far skipped because they did not parse (a garbled field, a key of the
  // wrong type), for the engine to report. A backend that reads such an entry as a revocation
  // (Redis: a garbled generation or logout time) exports the revocation and counts it here too.
  virtual std::int64_t skipped() const { return 0; }
};

}  // namespace authstore::internal::migration
