// Tokens an OAuth client holds (the TypeScript token database's job): a generic record store by
// key, and typed helpers for client credentials, PKCE values and access/refresh tokens.
//
// Every record is encrypted at rest with AES-256-GCM (key id and the record's storage key bound as
// associated data): access and refresh tokens, client secrets and PKCE verifiers never reach the
// backend in the clear. Keys (not secrets) are stored in the clear so they can be listed.
// Composite keys escape every component, so ':' in a user id or URL can never collide.
// Every record has an expiry unless the caller passes kNoExpiry.
//
// Thread-safety: every member is safe to call concurrently from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authstore/clock.h"
#include "authstore/export.h"
#include "authstore/status.h"

namespace authstore {

// Pass as ttl_ms to keep a record until removed.
inline constexpr std::int64_t kNoExpiry = -1;

struct TokenRecord {
  std::string access_token;
  std::string refresh_token;
  std::string token_type;  // e.g. "Bearer" or "DPoP".
  std::string scope;
  std::string resource;               // the resource server URL the token is for.
  UnixMillis expires_at = 0;          // access token expiry; 0 = unknown.
  UnixMillis refresh_expires_at = 0;  // refresh token expiry; 0 = unknown.
  std::string extra_json = "{}";      // a JSON object.
};

struct ClientCredentials {
  std::string client_id;
  std::string client_secret;
  std::string registration_access_token;
  std::string extra_json = "{}";
};

struct PkceValues {
  std::string code_verifier;
  std::string code_challenge;
  std::string code_challenge_method = "S256";
};

struct KeyPage {
  std::vector<std::string> keys;
  std::string next_cursor;  // empty when the listing is complete.
};

class AUTHSTORE_EXPORT ClientTokenStore {
 public:
  // ---- generic API (keys are caller strings, 1..1024 bytes) ----
  // ttl_ms: 0 = until max(expires_at, refresh_expires_at) of the record when set, else
  // ClientTokenOptions::default_ttl_ms; kNoExpiry = forever; > 0 = that long.
  Result<Done> save(std::string_view key, const TokenRecord& record, std::int64_t ttl_ms = 0);
  void save_async(std::string_view key, const TokenRecord& record, std::int64_t ttl_ms, Callback<Done> done);
  Result<TokenRecord> get(std::string_view key);  // kNotFound when absent or expired.
  void get_async(std::string_view key, Callback<TokenRecord> done);
  Result<bool> has(std::string_view key);
  void has_async(std::string_view key, Callback<bool> done);
  Result<Done> remove(std::string_view key);  // OK, or kNotFound.
  void remove_async(std::string_view key, Callback<Done> done);
  // Keys of the generic API starting with `prefix`, in pages of at most `limit` (1..1000).
  // Pass the previous page's next_cursor to continue. Cost follows the keys listed (memory,
  // SQLite) or the index entries read (Redis); see docs/api.md.
  Result<KeyPage> list(std::string_view prefix, std::string_view cursor = {}, std::size_t limit = 100);
  void list_async(std::string_view prefix, std::string_view cursor, std::size_t limit,
                  Callback<KeyPage> done);

  // ---- typed API (each call also has an _async twin taking a Callback) ----
  // Client credentials per authorization server URL. ttl_ms as for save(); 0 = default TTL.
  Result<Done> save_client_credentials(std::string_view server_url, const ClientCredentials& creds,
                                       std::int64_t ttl_ms = 0);
  void save_client_credentials_async(std::string_view server_url, const ClientCredentials& creds,
                                     std::int64_t ttl_ms, Callback<Done> done);
  Result<ClientCredentials> get_client_credentials(std::string_view server_url);
  void get_client_credentials_async(std::string_view server_url, Callback<ClientCredentials> done);
  Result<Done> remove_client_credentials(std::string_view server_url);
  void remove_client_credentials_async(std::string_view server_url, Callback<Done> done);

  // PKCE values per (user, OAuth state), taken once: take_pkce reads and deletes atomically.
  Result<Done> save_pkce(std::string_view user_id, std::string_view state, const PkceValues& pkce,
                         std::int64_t ttl_ms = 0);  // 0 = ClientTokenOptions::pkce_ttl_ms
  void save_pkce_async(std::string_view user_id, std::string_view state, const PkceValues& pkce,
                       std::int64_t ttl_ms, Callback<Done> done);
  Result<PkceValues> take_pkce(std::string_view user_id, std::string_view state);
  void take_pkce_async(std::string_view user_id, std::string_view state, Callback<PkceValues> done);

  // Access (and refresh) tokens per (user, resource URL). The record is kept until the later of
  // its access and refresh expiry, so a refresh token outlives its access token.
  Result<Done> save_access_token(std::string_view user_id, std::string_view url, const TokenRecord& record,
                                 std::int64_t ttl_ms = 0);
  void save_access_token_async(std::string_view user_id, std::string_view url, const TokenRecord& record,
                               std::int64_t ttl_ms, Callback<Done> done);
  Result<TokenRecord> get_access_token(std::string_view user_id, std::string_view url);
  void get_access_token_async(std::string_view user_id, std::string_view url, Callback<TokenRecord> done);
  Result<Done> remove_access_token(std::string_view user_id, std::string_view url);
  void remove_access_token_async(std::string_view user_id, std::string_view url, Callback<Done> done);

  // Refuses every later call of this store (kFailedPrecondition); the Store's resources are
  // released with its last handle (Store::close()).
  void close();

  // A ClientTokenStore is reached through Store (its only source); it is a handle sharing the Store's
  // state, so a copy stays usable (answering kFailedPrecondition once the store is closed).
  ~ClientTokenStore();

  class Impl;  // the implementation (src/); opaque to users and bindings.

 private:
  explicit ClientTokenStore(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace authstore
