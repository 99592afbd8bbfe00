#include "backends/sqlite/schema.h"

#include <array>

namespace authstore::internal::sqlite {
namespace {

// Version 1: every table is keyed by what the operations look up (WITHOUT ROWID: one B-tree per
// table instead of a rowid table plus a key index) and has one index on its expiry column, which
// the bounded sweeps walk. Expiry columns hold Unix ms; "never" is INT64_MAX.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE codes(
  key BLOB PRIMARY KEY, consumed INTEGER NOT NULL, record BLOB NOT NULL,
  tombstone BLOB NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX codes_expiry ON codes(expires_at);

CREATE TABLE refresh_families(
  family_key BLOB PRIMARY KEY, route BLOB NOT NULL, subject_key BLOB NOT NULL,
  client_key BLOB NOT NULL, grant_key BLOB NOT NULL, record BLOB NOT NULL,
  user_gen INTEGER NOT NULL, client_gen INTEGER NOT NULL,
  state INTEGER NOT NULL,  -- 0 active, 1 ended (consumed), 2 revoked
  current_token BLOB NOT NULL,  -- empty once ended
  prev_token BLOB NOT NULL, prev_spent_at INTEGER NOT NULL,    -- grace candidates: tokens
  grace_token BLOB NOT NULL, grace_spent_at INTEGER NOT NULL,  -- whose successor is current
  created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL, idle_ttl INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  rotations INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX refresh_families_user ON refresh_families(route, subject_key, user_gen, expires_at);
CREATE INDEX refresh_families_expiry ON refresh_families(expires_at);

CREATE TABLE refresh_tokens(
  token_key BLOB PRIMARY KEY, family_key BLOB NOT NULL,
  expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at);

CREATE TABLE refresh_users(
  route BLOB NOT NULL, subject_key BLOB NOT NULL, gen INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, PRIMARY KEY(route, subject_key)) WITHOUT ROWID;
CREATE INDEX refresh_users_expiry ON refresh_users(expires_at);

CREATE TABLE refresh_client_gens(
  route BLOB NOT NULL, subject_key BLOB NOT NULL, client_key BLOB NOT NULL,
  gen INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY(route, subject_key, client_key)) WITHOUT ROWID;
CREATE INDEX refresh_client_gens_expiry ON refresh_client_gens(expires_at);

CREATE TABLE refresh_grants(
  route BLOB NOT NULL, subject_key BLOB NOT NULL, grant_key BLOB NOT NULL,
  until INTEGER NOT NULL, PRIMARY KEY(route, subject_key, grant_key)) WITHOUT ROWID;
CREATE INDEX refresh_grants_expiry ON refresh_grants(until);

CREATE TABLE refresh_jtis(
  route BLOB NOT NULL, subject_key BLOB NOT NULL, jti_key BLOB NOT NULL,
  client_key BLOB NOT NULL, record BLOB NOT NULL, user_gen INTEGER NOT NULL,
  client_gen INTEGER NOT NULL, consumed INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY(route, subject_key, jti_key)) WITHOUT ROWID;
CREATE INDEX refresh_jtis_expiry ON refresh_jtis(expires_at);

CREATE TABLE sessions(
  route BLOB NOT NULL, bucket_key BLOB NOT NULL, session_key BLOB NOT NULL,
  record BLOB NOT NULL, lock_version INTEGER NOT NULL,
  deleted INTEGER NOT NULL,  -- 1: tombstone, kept until refresh_expires_at
  refresh_expires_at INTEGER NOT NULL,
  PRIMARY KEY(route, bucket_key, session_key)) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions(refresh_expires_at);

CREATE TABLE replay(
  key BLOB PRIMARY KEY, owner BLOB NOT NULL, kept_until INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX replay_expiry ON replay(kept_until);

CREATE TABLE client_tokens(
  key BLOB PRIMARY KEY, blob BLOB NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX client_tokens_expiry ON client_tokens(expires_at);
)sql";

// Version 2: the payload store (authstore/payloads.h): entries, index pointers (uid, user code)
// and revoked grants, each swept by its expiry.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE payloads(
  key BLOB PRIMARY KEY, record BLOB NOT NULL, grant_key BLOB NOT NULL,
  consumed_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX payloads_expiry ON payloads(expires_at);

CREATE TABLE payload_index(
  key BLOB PRIMARY KEY, target BLOB NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX payload_index_expiry ON payload_index(expires_at);

CREATE TABLE payload_grants(grant_key BLOB PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX payload_grants_expiry ON payload_grants(until);
)sql";

constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {kV1, kV2};

constexpr std::string_view kSql[] = {
#define AUTHSTORE_SQLITE_STMT_TEXT(id, text) text,
    AUTHSTORE_SQLITE_STMTS(AUTHSTORE_SQLITE_STMT_TEXT)
#undef AUTHSTORE_SQLITE_STMT_TEXT
};

constexpr StmtId kSweeps[kTableCount] = {
    StmtId::kSweepCodes,        StmtId::kSweepFamilies,   StmtId::kSweepTokens,
    StmtId::kSweepUsers,        StmtId::kSweepClientGens, StmtId::kSweepGrants,
    StmtId::kSweepJtis,         StmtId::kSweepSessions,   StmtId::kSweepReplay,
    StmtId::kSweepClientTokens, StmtId::kSweepPayloads,   StmtId::kSweepPayloadIndex,
    StmtId::kSweepPayloadGrants};

}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }

std::string_view sql(StmtId id) noexcept { return kSql[static_cast<std::size_t>(id)]; }

StmtId sweep_stmt(int table_index) noexcept { return kSweeps[table_index]; }

}  // namespace authstore::internal::sqlite
