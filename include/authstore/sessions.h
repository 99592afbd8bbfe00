// Sessions per user and type, with optimistic locking (the Elixir session store's model).
//
// A session lives until refresh_expires_at (a session whose refresh has expired reads as not
// found). upsert() is a compare-and-set on lock_version. A deleted session leaves a tombstone
// until its refresh expiry, so no stale upsert can bring it back.
//
// Thread-safety: every member is safe to call concurrently from any thread.
// Secrets: the session id is a secret. The backend keys sessions by HMAC(lookup key, id) and keeps
// the id itself only encrypted (AES-256-GCM) so that get_all() can return it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authstore/clock.h"
#include "authstore/export.h"
#include "authstore/status.h"

namespace authstore {

struct Session {
  std::string id;                        // required, 16..256 bytes (see new_session_id()).
  std::string user_id;                   // required, <= 256 bytes.
  std::string type = "full";             // required, <= 64 bytes (e.g. "full", "oauth2").
  UnixMillis created_at = 0;             // 0 on insert = now.
  std::optional<UnixMillis> expires_at;  // nullopt = infinite.
  UnixMillis refresh_expires_at = 0;     // required, in the future: the session's end of life.
  std::string refresh_token_id;          // <= 256 bytes.
  UnixMillis refreshed_at = 0;
  UnixMillis tokens_fresh_from = 0;
  UnixMillis prev_tokens_fresh_from = 0;
  // Optimistic lock. Insert with 0; update with the value last read. The stored session's
  // lock_version is one higher after every successful upsert.
  std::int64_t lock_version = 0;
  std::string extra_json = "{}";  // a JSON object, <= SessionOptions::max_extra_bytes.
};

class AUTHSTORE_EXPORT SessionStore {
 public:
  // OK with the session; kNotFound if absent, deleted, refresh-expired, or failing verification.
  Result<Session> get(std::string_view session_id, std::string_view user_id, std::string_view type);
  void get_async(std::string_view session_id, std::string_view user_id, std::string_view type,
                 Callback<Session> done);

  // Insert (lock_version 0, no session with this id) or update (lock_version equal to the
  // stored one). OK with the stored session (lock_version incremented). kConflict when the
  // lock_version is stale, the session was deleted, or an insert finds the id taken.
  // kInvalidArgument (field "refresh_expires_at") when refresh_expires_at is not in the future.
  // With a per-user cap, an insert beyond it evicts the session that expires first.
  Result<Session> upsert(const Session& session);
  void upsert_async(const Session& session, Callback<Session> done);

  // Deletes one session and leaves a tombstone. OK, or kNotFound.
  Result<Done> delete_session(std::string_view session_id, std::string_view user_id, std::string_view type);
  void delete_session_async(std::string_view session_id, std::string_view user_id, std::string_view type,
                            Callback<Done> done);

  // Every live session of (user, type), soonest refresh expiry first.
  Result<std::vector<Session>> get_all(std::string_view user_id, std::string_view type);
  void get_all_async(std::string_view user_id, std::string_view type, Callback<std::vector<Session>> done);

  // Deletes every session of (user, type), leaving tombstones. OK with how many were deleted.
  Result<std::int64_t> delete_all(std::string_view user_id, std::string_view type);
  void delete_all_async(std::string_view user_id, std::string_view type, Callback<std::int64_t> done);

  // A fresh session id: "ss1_" + 43 base64url characters (256 random bits).
  static std::string new_session_id();

  // A SessionStore is reached through Store (its only source); it is a handle sharing the Store's
  // state, so a copy stays usable (answering kFailedPrecondition once the store is closed).
  ~SessionStore();

  class Impl;  // the implementation (src/); opaque to users and bindings.

 private:
  explicit SessionStore(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace authstore
