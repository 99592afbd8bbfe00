// Model-based checking (issue 12): the operations a sequence is made of, shared by the reference
// model (model.h), the generator and the runner. Plain data; nothing here knows the library.
//
// Handles: a token, family, code or reservation is named by the id of the operation that minted
// it (Op::id, the operation's position in the generated sequence: "T12" is the token op 12
// returned). An operation naming a handle that was not minted in the run is a no-op on both
// sides ("skip"), so any subsequence of a sequence is a valid sequence, and removing an
// operation renames nothing: the shrinker relies on both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace model {

using Millis = std::int64_t;

// 1 Jan 2030: no run depends on the real date.
inline constexpr Millis kStart = 1'893'456'000'000;

enum class Kind : std::uint8_t {
  kAdvance,  // v = ms to move the clock forward
  // refresh families
  kRIssue,          // a user, b client, c grant (-1 none), v idle_ttl_ms, w lifetime_ms
  kRRotate,         // a token, b client, d variant
  kRConsume,        // a token, b client (-1 = not checked), d variant
  kRPeek,           // a token, d variant
  kRRevoke,         // a token, d variant
  kRRevokeFamily,   // a family, d variant (1 = malformed id)
  kRRevokeSubject,  // a user
  kRRevokeClient,   // a user, b client
  kRRevokeGrant,    // a user, c grant
  kRList,           // a user
  kJStore,          // a jti, b user, c client, v ttl_ms
  kJConsume,        // a jti, b user
  // codes
  kCIssue,    // a user, b client, c grant (-1 = generated), d verifier (-1 = no PKCE), v ttl_ms
  kCPeek,     // a code, b verifier checked against the record (-1 none), d variant
  kCConsume,  // as kCPeek
  // sessions (ids, users and types are fixed names: see names.h)
  kSUpsert,     // a user, b type, c session, d lock_version, v refresh_expires_at, w expires_at (0 none)
  kSGet,        // a user, b type, c session
  kSDelete,     // a user, b type, c session
  kSGetAll,     // a user, b type
  kSDeleteAll,  // a user, b type
  // replay cache
  kPReserve,  // a issuer, b jti, v expires_at
  kPRelease,  // a reservation, d variant (1 = another owner)
  // client tokens
  kTSave,          // a key, c has refresh token, v ttl_ms, w expires_at, x refresh_expires_at
  kTGet,           // a key
  kTHas,           // a key
  kTRemove,        // a key
  kTList,          // a prefix, b page limit
  kTSaveCreds,     // a server, v ttl_ms
  kTGetCreds,      // a server
  kTRemoveCreds,   // a server
  kTSavePkce,      // a user, b state, c verifier, v ttl_ms
  kTTakePkce,      // a user, b state
  kTSaveAccess,    // a user, b url, c has refresh token, v ttl_ms, w expires_at, x refresh_expires_at
  kTGetAccess,     // a user, b url
  kTRemoveAccess,  // a user, b url
  // payloads (the oidc-provider adapter's store; models and ids are fixed names: payload_model /
  // payload_id)
  kYPut,          // a id, b model, c grant (-1 none), v ttl_ms (0 = max_ttl_ms); payload "body-<op id>"
  kYFind,         // a id, b model
  kYConsume,      // a id, b model
  kYRevokeGrant,  // c grant
  kCount_
};

// How a presented token / code / family id / reservation is altered.
enum Variant : int {
  kAsMinted = 0,
  kMalformed = 1,  // not a token at all ("garbage"; for a reservation: another owner)
  kEdited = 2,     // well-formed, one character of the random part changed
};

struct Op {
  int id = 0;  // position in the generated sequence; names what this operation mints
  Kind kind = Kind::kAdvance;
  int a = 0, b = 0, c = 0, d = 0;
  Millis v = 0, w = 0, x = 0;
};

// What a run is configured with (the same for the model and the store).
struct Config {
  Millis grace_ms = 0;          // RefreshOptions::grace_window_ms
  std::size_t session_cap = 0;  // SessionOptions::max_sessions_per_user
};

// Fixed names the operations refer to by index.
std::string user_name(int i);
std::string client_name(int i);
std::string grant_name(int i);
std::string jti_name(int i);
std::string type_name(int i);
std::string session_id(int i);  // >= 16 bytes
std::string issuer_name(int i);
std::string verifier(int i);  // a PKCE verifier (43 characters)
std::string ct_key(int i);    // generic client-token keys
std::string ct_prefix(int i);
std::string server_url(int i);
std::string resource_url(int i);
std::string oauth_state(int i);
std::string payload_model(int i);
std::string payload_id(int i);  // any text, as a framework mints it

inline constexpr int kUsers = 4, kClients = 3, kGrants = 3, kJtis = 4, kTypes = 2, kSessions = 8,
                     kIssuers = 2, kReplayJtis = 4, kVerifiers = 3, kCtKeys = 6, kCtPrefixes = 5,
                     kServers = 2, kUrls = 2, kStates = 2, kPayloadModels = 2, kPayloadIds = 4;

// The store an operation belongs to (kClock for kAdvance).
enum class Area : std::uint8_t { kClock, kRefresh, kCodes, kSessionStore, kReplay, kClientTokens, kPayloads };
constexpr Area area_of(Kind k) {
  if (k == Kind::kAdvance) return Area::kClock;
  if (k <= Kind::kJConsume) return Area::kRefresh;
  if (k <= Kind::kCConsume) return Area::kCodes;
  if (k <= Kind::kSDeleteAll) return Area::kSessionStore;
  if (k <= Kind::kPRelease) return Area::kReplay;
  if (k <= Kind::kTRemoveAccess) return Area::kClientTokens;
  return Area::kPayloads;
}

std::string describe(const Op& op);
std::string describe(const Config& c);

}  // namespace model
