// The SQLite schema (versioned with PRAGMA user_version) and every SQL statement the backend
// runs, named, so that they are prepared once per connection and so that the bare benchmark
// program (bench/sqlite) runs exactly the same text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace authstore::internal::sqlite {

// The schema version this build writes. A file with a higher user_version was written by a
// newer authstore and is refused (kFailedPrecondition); a lower one is migrated forward.
inline constexpr int kSchemaVersion = 2;

// The store marker's table (src/stores/marker.h). Not part of the versioned schema: created
// on first use by open() (IF NOT EXISTS), so a file keeps opening in builds that predate it.
// Statements on it run once per open() and are prepared then, not with the others.
inline constexpr std::string_view kMetaTable =
    "CREATE TABLE IF NOT EXISTS authstore_meta(name TEXT PRIMARY KEY, value BLOB NOT NULL)"
    " WITHOUT ROWID";
inline constexpr std::string_view kMetaExists =
    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'authstore_meta'";
inline constexpr std::string_view kMarkerGet = "SELECT value FROM authstore_meta WHERE name = 'marker'";
// Create-if-absent (?1 = desired) and compare-and-set (?1 = desired, ?2 = expected). A marker
// row whose value a writer emptied reads as no marker (marker_of) and is filled like an absent
// one; a value a writer stored as TEXT compares by its bytes, as it reads.
inline constexpr std::string_view kMarkerInsert =
    "INSERT INTO authstore_meta(name, value) VALUES('marker', ?1) ON CONFLICT(name) DO UPDATE"
    " SET value = excluded.value WHERE length(authstore_meta.value) = 0";
inline constexpr std::string_view kMarkerUpdate =
    "UPDATE authstore_meta SET value = ?1 WHERE name = 'marker' AND CAST(value AS BLOB) = ?2";
// Up to ?1 stored records (storage key, blob) of each kind, for checking a file without a marker.
inline constexpr std::string_view kSampleRecords =
    "SELECT * FROM (SELECT key, CASE consumed WHEN 0 THEN record ELSE tombstone END FROM codes"
    " LIMIT ?1) UNION ALL SELECT * FROM (SELECT family_key, record FROM refresh_families LIMIT ?1)"
    " UNION ALL SELECT * FROM (SELECT jti_key, record FROM refresh_jtis LIMIT ?1)"
    " UNION ALL SELECT * FROM (SELECT key, blob FROM client_tokens LIMIT ?1)";
// The first table, view, index or trigger of a file that is not SQLite's own: a file without
// a user_version (0) must have none, or it is someone else's database.
inline constexpr std::string_view kForeignObject =
    "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    " ORDER BY name LIMIT 1";

// migrations()[v] moves a file from user_version v to v + 1 (v = 0 is an empty file).
// Each step runs inside the transaction that also sets user_version.
std::span<const std::string_view> migrations();

// Expiry-swept tables, one bit each in an operation's "touched" mask.
enum Table : std::uint32_t {
  kCodes = 1u << 0,
  kFamilies = 1u << 1,
  kTokens = 1u << 2,
  kUsers = 1u << 3,
  kClientGens = 1u << 4,
  kGrants = 1u << 5,
  kJtis = 1u << 6,
  kSessions = 1u << 7,
  kReplay = 1u << 8,
  kClientTokens = 1u << 9,
  kPayloads = 1u << 10,
  kPayloadIndex = 1u << 11,
  kPayloadGrants = 1u << 12,
};
inline constexpr int kTableCount = 13;

#define AUTHSTORE_SQLITE_STMTS(X)                                                                            \
  X(kBegin, "BEGIN")                                                                                         \
  X(kBeginImmediate, "BEGIN IMMEDIATE")                                                                      \
  X(kCommit, "COMMIT")                                                                                       \
  X(kRollback, "ROLLBACK")                                                                                   \
  X(kSavepoint, "SAVEPOINT op")                                                                              \
  X(kRelease, "RELEASE op")                                                                                  \
  X(kRollbackTo, "ROLLBACK TO op")                                                                           \
  /* ---- codes ---- */                                                                                      \
  X(kCodeInsert,                                                                                             \
    "INSERT INTO codes(key, consumed, record, tombstone, expires_at) VALUES(?1, 0, ?2, ?3, ?4)"              \
    " ON CONFLICT(key) DO UPDATE SET consumed = 0, record = excluded.record,"                                \
    " tombstone = excluded.tombstone, expires_at = excluded.expires_at"                                      \
    " WHERE codes.expires_at <= ?5")                                                                         \
  X(kCodePeek,                                                                                               \
    "SELECT consumed, CASE consumed WHEN 0 THEN record ELSE tombstone END FROM codes"                        \
    " WHERE key = ?1 AND expires_at > ?2")                                                                   \
  X(kCodeConsume, "UPDATE codes SET consumed = 1 WHERE key = ?1 AND expires_at > ?2 AND consumed = 0")       \
  /* ---- refresh families ---- */                                                                           \
  X(kGens,                                                                                                   \
    "SELECT coalesce(u.gen, 0), coalesce(u.expires_at, 0), coalesce(c.gen, 0),"                              \
    " coalesce(c.expires_at, 0), length(?4) > 0 AND EXISTS(SELECT 1 FROM refresh_grants g"                   \
    " WHERE g.route = ?1 AND g.subject_key = ?2 AND g.grant_key = ?4 AND g.until > ?5)"                      \
    " FROM (SELECT 1) LEFT JOIN refresh_users u"                                                             \
    " ON u.route = ?1 AND u.subject_key = ?2 AND u.expires_at > ?5"                                          \
    " LEFT JOIN refresh_client_gens c"                                                                       \
    " ON c.route = ?1 AND c.subject_key = ?2 AND c.client_key = ?3 AND c.expires_at > ?5")                   \
  X(kFamilyInsert,                                                                                           \
    "INSERT INTO refresh_families(family_key, route, subject_key, client_key, grant_key,"                    \
    " record, user_gen, client_gen, state, current_token, prev_token, prev_spent_at,"                        \
    " grace_token, grace_spent_at, created_at, last_used_at, idle_ttl, idle_expires_at,"                     \
    " expires_at, rotations)"                                                                                \
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, x'', 0, x'', 0, ?10, ?10, ?11, ?12, ?13, 0)"             \
    " ON CONFLICT(family_key) DO UPDATE SET route = excluded.route,"                                         \
    " subject_key = excluded.subject_key, client_key = excluded.client_key,"                                 \
    " grant_key = excluded.grant_key, record = excluded.record,"                                             \
    " user_gen = excluded.user_gen, client_gen = excluded.client_gen, state = 0,"                            \
    " current_token = excluded.current_token, prev_token = x'', prev_spent_at = 0,"                          \
    " grace_token = x'', grace_spent_at = 0,"                                                                \
    " created_at = excluded.created_at, last_used_at = excluded.last_used_at,"                               \
    " idle_ttl = excluded.idle_ttl, idle_expires_at = excluded.idle_expires_at,"                             \
    " expires_at = excluded.expires_at, rotations = 0"                                                       \
    " WHERE refresh_families.expires_at <= ?10")                                                             \
  X(kTokenInsert,                                                                                            \
    "INSERT INTO refresh_tokens(token_key, family_key, expires_at) VALUES(?1, ?2, ?3)"                       \
    " ON CONFLICT(token_key) DO UPDATE SET family_key = excluded.family_key,"                                \
    " expires_at = excluded.expires_at WHERE refresh_tokens.expires_at <= ?4")                               \
  X(kUserExtend,                                                                                             \
    "UPDATE refresh_users SET expires_at = ?3 WHERE route = ?1 AND subject_key = ?2"                         \
    " AND expires_at < ?3")                                                                                  \
  X(kClientGenExtend,                                                                                        \
    "UPDATE refresh_client_gens SET expires_at = ?4 WHERE route = ?1 AND subject_key = ?2"                   \
    " AND client_key = ?3 AND expires_at < ?4")                                                              \
  X(kFamilyByToken,                                                                                          \
    "SELECT f.family_key, f.record, f.created_at, f.last_used_at, f.idle_expires_at,"                        \
    " f.expires_at, f.rotations, f.state, f.current_token, f.prev_token, f.prev_spent_at,"                   \
    " f.grace_token, f.grace_spent_at, f.client_key,"                                                        \
    " f.user_gen != coalesce((SELECT u.gen FROM refresh_users u WHERE u.route = f.route"                     \
    "   AND u.subject_key = f.subject_key AND u.expires_at > ?2), 0)"                                        \
    " OR f.client_gen != coalesce((SELECT c.gen FROM refresh_client_gens c"                                  \
    "   WHERE c.route = f.route AND c.subject_key = f.subject_key"                                           \
    "   AND c.client_key = f.client_key AND c.expires_at > ?2), 0)"                                          \
    " OR (length(f.grant_key) > 0 AND EXISTS(SELECT 1 FROM refresh_grants g"                                 \
    "   WHERE g.route = f.route AND g.subject_key = f.subject_key"                                           \
    "   AND g.grant_key = f.grant_key AND g.until > ?2)), f.idle_ttl," /* 16: the row is well-formed (a      \
                                                                          garbled row reads as absent,       \
                                                                          counted by the store) */           \
    " f.state IN (0, 1, 2) AND typeof(f.state) = 'integer' AND typeof(f.record) = 'blob'"                    \
    " AND typeof(f.created_at) = 'integer' AND typeof(f.last_used_at) = 'integer'"                           \
    " AND typeof(f.idle_expires_at) = 'integer' AND typeof(f.expires_at) = 'integer'"                        \
    " AND typeof(f.rotations) = 'integer' AND typeof(f.idle_ttl) = 'integer'"                                \
    " AND typeof(f.prev_spent_at) = 'integer' AND typeof(f.grace_spent_at) = 'integer'"                      \
    " AND typeof(f.user_gen) = 'integer' AND typeof(f.client_gen) = 'integer'"                               \
    " AND typeof(f.current_token) = 'blob' AND typeof(f.prev_token) = 'blob'"                                \
    " AND typeof(f.grace_token) = 'blob' AND typeof(f.client_key) = 'blob'"                                  \
    " FROM refresh_tokens t JOIN refresh_families f ON f.family_key = t.family_key"                          \
    " WHERE t.token_key = ?1 AND (length(?3) = 0 OR t.family_key = ?3)"                                      \
    " AND t.expires_at > ?2 AND f.expires_at > ?2 AND f.idle_expires_at > ?2")                               \
  X(kFamilyRevoke,                                                                                           \
    "UPDATE refresh_families SET state = 2 WHERE family_key = ?1 AND expires_at > ?2"                        \
    " AND idle_expires_at > ?2")                                                                             \
  X(kFamilyRevokeByToken,                                                                                    \
    "UPDATE refresh_families SET state = 2 WHERE family_key = (SELECT family_key"                            \
    " FROM refresh_tokens WHERE token_key = ?1 AND (length(?3) = 0 OR family_key = ?3))"                     \
    " AND expires_at > ?2 AND idle_expires_at > ?2")                                                         \
  X(kFamilyRotate, /* a grace rotation (?7 = 1) supersedes the current token: it never becomes prev_token */ \
    "UPDATE refresh_families SET grace_token = ?5, grace_spent_at = ?6,"                                     \
    " prev_token = CASE WHEN ?7 THEN x'' ELSE current_token END,"                                            \
    " prev_spent_at = CASE WHEN ?7 THEN 0 ELSE ?4 END, current_token = ?2,"                                  \
    " state = ?3, last_used_at = ?4, idle_expires_at = min(?4 + idle_ttl, expires_at),"                      \
    " rotations = rotations + 1 WHERE family_key = ?1")                                                      \
  X(kFamilySetState, "UPDATE refresh_families SET state = ?2 WHERE family_key = ?1")                         \
  X(kUserBump,                                                                                               \
    "INSERT INTO refresh_users(route, subject_key, gen, expires_at) VALUES(?1, ?2, 1, ?3)"                   \
    " ON CONFLICT(route, subject_key) DO UPDATE SET"                                                         \
    " gen = CASE WHEN expires_at > ?4 THEN gen + 1 ELSE 1 END,"                                              \
    " expires_at = max(CASE WHEN expires_at > ?4 THEN expires_at ELSE 0 END, ?3)")                           \
  X(kClientGenBump,                                                                                          \
    "INSERT INTO refresh_client_gens(route, subject_key, client_key, gen, expires_at)"                       \
    " VALUES(?1, ?2, ?3, 1, ?4) ON CONFLICT(route, subject_key, client_key) DO UPDATE SET"                   \
    " gen = CASE WHEN expires_at > ?5 THEN gen + 1 ELSE 1 END,"                                              \
    " expires_at = max(CASE WHEN expires_at > ?5 THEN expires_at ELSE 0 END, ?4)")                           \
  /* the latest expiry of the user's current generation (?3 = now): older ones are revoked and */            \
  /* the generation row outlives them (issues extend it, bumps keep its later expiry). Families: */          \
  /* one entry of refresh_families_user, whatever the user holds; jtis: the user's jti rows. */              \
  X(kUserHorizon,                                                                                            \
    "SELECT max(coalesce((SELECT max(expires_at) FROM refresh_families"                                      \
    " WHERE route = ?1 AND subject_key = ?2 AND user_gen = coalesce((SELECT gen FROM refresh_users"          \
    " WHERE route = ?1 AND subject_key = ?2 AND expires_at > ?3), 0)), 0), coalesce((SELECT max(expires_at)" \
    " FROM refresh_jtis WHERE route = ?1 AND subject_key = ?2 AND user_gen = coalesce((SELECT gen"           \
    " FROM refresh_users WHERE route = ?1 AND subject_key = ?2 AND expires_at > ?3), 0)), 0))")              \
  X(kClientHorizon,                                                                                          \
    "SELECT max(coalesce((SELECT max(expires_at) FROM refresh_families"                                      \
    " WHERE route = ?1 AND subject_key = ?2 AND client_key = ?3), 0),"                                       \
    " coalesce((SELECT max(expires_at) FROM refresh_jtis WHERE route = ?1"                                   \
    " AND subject_key = ?2 AND client_key = ?3), 0))")                                                       \
  X(kGrantRevoke,                                                                                            \
    "INSERT INTO refresh_grants(route, subject_key, grant_key, until) VALUES(?1, ?2, ?3, ?4)"                \
    " ON CONFLICT(route, subject_key, grant_key) DO UPDATE SET"                                              \
    " until = max(CASE WHEN until > ?5 THEN until ELSE 0 END, excluded.until)")                              \
  /* grant_live: 1 the grant is revoked, 2 a logout of the user, 3 of the client, at or after */             \
  /* issued_at (logout rows: see sqlite_refresh.cc, logout_key); no row: live */                             \
  X(kGrantLive,                                                                                              \
    "SELECT CASE WHEN grant_key = ?4 THEN 1 WHEN substr(grant_key, 1, 1) = x'00' THEN 2"                     \
    " ELSE 3 END FROM refresh_grants WHERE route = ?1 AND subject_key = ?2 AND until > ?3"                   \
    " AND (grant_key = ?4 OR (grant_key >= ?5 AND grant_key <= ?6)"                                          \
    " OR (grant_key >= ?7 AND grant_key <= ?8)) ORDER BY 1 LIMIT 1")                                         \
  X(kFamilyList,                                                                                             \
    "SELECT f.family_key, f.record, f.created_at, f.last_used_at, f.idle_expires_at,"                        \
    " f.expires_at, f.rotations FROM refresh_families f"                                                     \
    " WHERE f.route = ?1 AND f.subject_key = ?2 AND f.user_gen = coalesce((SELECT u.gen"                     \
    " FROM refresh_users u WHERE u.route = ?1 AND u.subject_key = ?2 AND u.expires_at > ?4), 0)"             \
    " AND f.expires_at > ?4"                                                                                 \
    " AND f.state = 0 AND f.idle_expires_at > ?4"                                                            \
    " AND f.client_gen = coalesce((SELECT c.gen FROM refresh_client_gens c"                                  \
    "   WHERE c.route = f.route AND c.subject_key = f.subject_key"                                           \
    "   AND c.client_key = f.client_key AND c.expires_at > ?4), 0)"                                          \
    " AND NOT (length(f.grant_key) > 0 AND EXISTS(SELECT 1 FROM refresh_grants g"                            \
    "   WHERE g.route = f.route AND g.subject_key = f.subject_key"                                           \
    "   AND g.grant_key = f.grant_key AND g.until > ?4))"                                                    \
    " ORDER BY min(f.idle_expires_at, f.expires_at), f.family_key")                                          \
  X(kJtiInsert,                                                                                              \
    "INSERT INTO refresh_jtis(route, subject_key, jti_key, client_key, record, user_gen,"                    \
    " client_gen, consumed, expires_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)"                           \
    " ON CONFLICT(route, subject_key, jti_key) DO UPDATE SET client_key = excluded.client_key,"              \
    " record = excluded.record, user_gen = excluded.user_gen,"                                               \
    " client_gen = excluded.client_gen, consumed = 0, expires_at = excluded.expires_at"                      \
    " WHERE refresh_jtis.expires_at <= ?9")                                                                  \
  X(kJtiGet,                                                                                                 \
    "SELECT j.record, j.consumed, j.user_gen != coalesce((SELECT u.gen FROM refresh_users u"                 \
    "   WHERE u.route = j.route AND u.subject_key = j.subject_key AND u.expires_at > ?4), 0)"                \
    " OR j.client_gen != coalesce((SELECT c.gen FROM refresh_client_gens c"                                  \
    "   WHERE c.route = j.route AND c.subject_key = j.subject_key"                                           \
    "   AND c.client_key = j.client_key AND c.expires_at > ?4), 0)"                                          \
    " FROM refresh_jtis j WHERE j.route = ?1 AND j.subject_key = ?2 AND j.jti_key = ?3"                      \
    " AND j.expires_at > ?4")                                                                                \
  X(kJtiConsume,                                                                                             \
    "UPDATE refresh_jtis SET consumed = 1 WHERE route = ?1 AND subject_key = ?2"                             \
    " AND jti_key = ?3")                                                                                     \
  /* ---- sessions ---- */                                                                                   \
  X(kSessionGet,                                                                                             \
    "SELECT record FROM sessions WHERE route = ?1 AND bucket_key = ?2 AND session_key = ?3"                  \
    " AND deleted = 0 AND refresh_expires_at > ?4")                                                          \
  X(kSessionInsert,                                                                                          \
    "INSERT INTO sessions(route, bucket_key, session_key, record, lock_version, deleted,"                    \
    " refresh_expires_at) VALUES(?1, ?2, ?3, ?4, 1, 0, ?5)"                                                  \
    " ON CONFLICT(route, bucket_key, session_key) DO UPDATE SET record = excluded.record,"                   \
    " lock_version = 1, deleted = 0, refresh_expires_at = excluded.refresh_expires_at"                       \
    " WHERE sessions.refresh_expires_at <= ?6")                                                              \
  X(kSessionUpdate,                                                                                          \
    "UPDATE sessions SET record = ?4, lock_version = lock_version + 1,"                                      \
    " refresh_expires_at = ?5 WHERE route = ?1 AND bucket_key = ?2 AND session_key = ?3"                     \
    " AND deleted = 0 AND lock_version = ?6 AND refresh_expires_at > ?7")                                    \
  X(kSessionDelete,                                                                                          \
    "UPDATE sessions SET deleted = 1, record = x'' WHERE route = ?1 AND bucket_key = ?2"                     \
    " AND session_key = ?3 AND deleted = 0 AND refresh_expires_at > ?4")                                     \
  X(kSessionGetAll,                                                                                          \
    "SELECT record, session_key FROM sessions WHERE route = ?1 AND bucket_key = ?2"                          \
    " AND deleted = 0 AND refresh_expires_at > ?3 ORDER BY refresh_expires_at, session_key")                 \
  X(kSessionDeleteAll,                                                                                       \
    "UPDATE sessions SET deleted = 1, record = x'' WHERE route = ?1 AND bucket_key = ?2"                     \
    " AND deleted = 0 AND refresh_expires_at > ?3")                                                          \
  X(kSessionCount,                                                                                           \
    "SELECT count(*) FROM sessions WHERE route = ?1 AND bucket_key = ?2 AND deleted = 0"                     \
    " AND refresh_expires_at > ?3")                                                                          \
  X(kSessionEvict,                                                                                           \
    "UPDATE sessions SET deleted = 1, record = x'' WHERE route = ?1 AND bucket_key = ?2"                     \
    " AND session_key IN (SELECT session_key FROM sessions WHERE route = ?1"                                 \
    " AND bucket_key = ?2 AND deleted = 0 AND refresh_expires_at > ?3 AND session_key != ?5"                 \
    " ORDER BY refresh_expires_at, session_key LIMIT ?4)")                                                   \
  /* ---- replay ---- */                                                                                     \
  X(kReplayReserve,                                                                                          \
    "INSERT INTO replay(key, owner, kept_until) VALUES(?1, ?2, ?3) ON CONFLICT(key) DO UPDATE"               \
    " SET owner = excluded.owner, kept_until = excluded.kept_until"                                          \
    " WHERE replay.kept_until <= ?4")                                                                        \
  X(kReplayRelease, "DELETE FROM replay WHERE key = ?1 AND owner = ?2 AND kept_until > ?3")                  \
  /* ---- client tokens ---- */                                                                              \
  X(kTokenPut,                                                                                               \
    "INSERT INTO client_tokens(key, blob, expires_at) VALUES(?1, ?2, ?3) ON CONFLICT(key)"                   \
    " DO UPDATE SET blob = excluded.blob, expires_at = excluded.expires_at")                                 \
  X(kTokenGet, "SELECT blob FROM client_tokens WHERE key = ?1 AND expires_at > ?2")                          \
  X(kTokenRemove, "DELETE FROM client_tokens WHERE key = ?1 AND expires_at > ?2")                            \
  X(kTokenListBounded,                                                                                       \
    "SELECT key FROM client_tokens WHERE key >= ?1 AND key < ?2 AND key > ?3"                                \
    " AND expires_at > ?4 ORDER BY key LIMIT ?5")                                                            \
  X(kTokenListOpen,                                                                                          \
    "SELECT key FROM client_tokens WHERE key >= ?1 AND key > ?3"                                             \
    " AND expires_at > ?4 ORDER BY key LIMIT ?5")                                                            \
  /* ---- payloads (schema version 2) ---- */                                                                \
  X(kPayloadPut,                                                                                             \
    "INSERT INTO payloads(key, record, grant_key, consumed_at, expires_at)"                                  \
    " VALUES(?1, ?2, ?3, 0, ?4) ON CONFLICT(key) DO UPDATE SET record = excluded.record,"                    \
    " grant_key = excluded.grant_key, consumed_at = 0, expires_at = excluded.expires_at")                    \
  X(kPayloadIndexPut,                                                                                        \
    "INSERT INTO payload_index(key, target, expires_at) VALUES(?1, ?2, ?3)"                                  \
    " ON CONFLICT(key) DO UPDATE SET target = excluded.target, expires_at = excluded.expires_at")            \
  /* record, grant_key, consumed_at, revoked (the grant is marked until > now) */                            \
  X(kPayloadGet,                                                                                             \
    "SELECT p.record, p.grant_key, p.consumed_at, length(p.grant_key) > 0 AND EXISTS(SELECT 1"               \
    " FROM payload_grants g WHERE g.grant_key = p.grant_key AND g.until > ?2)"                               \
    " FROM payloads p WHERE p.key = ?1 AND p.expires_at > ?2")                                               \
  X(kPayloadIndexGet, "SELECT target FROM payload_index WHERE key = ?1 AND expires_at > ?2")                 \
  X(kPayloadConsume, "UPDATE payloads SET consumed_at = ?2 WHERE key = ?1 AND consumed_at = 0")              \
  X(kPayloadDelete, "DELETE FROM payloads WHERE key = ?1")                                                   \
  X(kPayloadGrantRevoked, "SELECT 1 FROM payload_grants WHERE grant_key = ?1 AND until > ?2")                \
  X(kPayloadRevokeGrant,                                                                                     \
    "INSERT INTO payload_grants(grant_key, until) VALUES(?1, ?2) ON CONFLICT(grant_key)"                     \
    " DO UPDATE SET until = max(until, excluded.until)")                                                     \
  /* ---- expiry sweeps: ?1 = now, ?2 = most rows deleted ---- */                                            \
  X(kSweepCodes,                                                                                             \
    "DELETE FROM codes WHERE key IN (SELECT key FROM codes WHERE expires_at <= ?1"                           \
    " ORDER BY expires_at LIMIT ?2)")                                                                        \
  X(kSweepFamilies,                                                                                          \
    "DELETE FROM refresh_families WHERE family_key IN (SELECT family_key"                                    \
    " FROM refresh_families WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)")                           \
  X(kSweepTokens,                                                                                            \
    "DELETE FROM refresh_tokens WHERE token_key IN (SELECT token_key FROM refresh_tokens"                    \
    " WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)")                                                 \
  X(kSweepUsers,                                                                                             \
    "DELETE FROM refresh_users WHERE (route, subject_key) IN (SELECT route, subject_key"                     \
    " FROM refresh_users WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)")                              \
  X(kSweepClientGens,                                                                                        \
    "DELETE FROM refresh_client_gens WHERE (route, subject_key, client_key) IN (SELECT route,"               \
    " subject_key, client_key FROM refresh_client_gens WHERE expires_at <= ?1"                               \
    " ORDER BY expires_at LIMIT ?2)")                                                                        \
  X(kSweepGrants,                                                                                            \
    "DELETE FROM refresh_grants WHERE (route, subject_key, grant_key) IN (SELECT route,"                     \
    " subject_key, grant_key FROM refresh_grants WHERE until <= ?1 ORDER BY until LIMIT ?2)")                \
  X(kSweepJtis,                                                                                              \
    "DELETE FROM refresh_jtis WHERE (route, subject_key, jti_key) IN (SELECT route,"                         \
    " subject_key, jti_key FROM refresh_jtis WHERE expires_at <= ?1 ORDER BY expires_at"                     \
    " LIMIT ?2)")                                                                                            \
  X(kSweepSessions,                                                                                          \
    "DELETE FROM sessions WHERE (route, bucket_key, session_key) IN (SELECT route,"                          \
    " bucket_key, session_key FROM sessions WHERE refresh_expires_at <= ?1"                                  \
    " ORDER BY refresh_expires_at LIMIT ?2)")                                                                \
  X(kSweepReplay,                                                                                            \
    "DELETE FROM replay WHERE key IN (SELECT key FROM replay WHERE kept_until <= ?1"                         \
    " ORDER BY kept_until LIMIT ?2)")                                                                        \
  X(kSweepClientTokens,                                                                                      \
    "DELETE FROM client_tokens WHERE key IN (SELECT key FROM client_tokens"                                  \
    " WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)")                                                 \
  X(kSweepPayloads,                                                                                          \
    "DELETE FROM payloads WHERE key IN (SELECT key FROM payloads"                                            \
    " WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)")                                                 \
  X(kSweepPayloadIndex,                                                                                      \
    "DELETE FROM payload_index WHERE key IN (SELECT key FROM payload_index"                                  \
    " WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)")                                                 \
  X(kSweepPayloadGrants,                                                                                     \
    "DELETE FROM payload_grants WHERE grant_key IN (SELECT grant_key FROM payload_grants"                    \
    " WHERE until <= ?1 ORDER BY until LIMIT ?2)")

enum class StmtId : std::size_t {
#define AUTHSTORE_SQLITE_STMT_ENUM(id, text) id,
  AUTHSTORE_SQLITE_STMTS(AUTHSTORE_SQLITE_STMT_ENUM)
#undef AUTHSTORE_SQLITE_STMT_ENUM
      kCount_
};

// The SQL text of a statement.
std::string_view sql(StmtId id) noexcept;

// The sweep statement of a table bit (index = bit position).
StmtId sweep_stmt(int table_index) noexcept;

}  // namespace authstore::internal::sqlite
