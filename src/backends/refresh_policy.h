// The refresh-family decisions that the memory and SQLite backends share (issue 12: "the policy
// decides once"). Each backend reads what it stores (memory: per-token spent / successor /
// superseded flags; SQLite: the family row's current, previous and grace tokens) into the facts
// below, under its lock or inside its write transaction, calls the decision, and applies what it
// says before the lock / transaction ends. The Redis scripts implement the same decisions in Lua;
// the model check (tests/model) holds all three to one reference model.
//
// The order of the checks is RefreshBackend::rotate's contract (src/backends/backend.h).
#pragma once

#include <optional>
#include <string_view>

#include "backends/backend.h"

namespace authstore::internal {

// grant_live's answers when a credential no longer stands (every backend gives the same ones).
inline Status grant_revoked_status() {
  return Status(StatusCode::kRevoked, "the grant was revoked", "grant_id");
}
inline Status subject_logged_out_status() {
  return Status(StatusCode::kRevoked, "the subject was logged out at or after issued_at", "subject");
}
inline Status client_logged_out_status() {
  return Status(StatusCode::kRevoked, "the subject was logged out of client_id at or after issued_at",
                "client_id");
}

// What a backend knows about a presented refresh token whose family exists, is linked to it (as
// RotateRequest::family_key demands) and is unexpired. (A missing or expired family, or a
// corrupt row, is kNotFound before any decision.)
struct RotationFacts {
  // The family is revoked: its state says so, or a subject / client generation or a grant
  // revocation applies.
  bool revoked = false;
  std::string_view client_key;  // the family's client key.
  bool current = false;         // the presented token is the family's current token.
  bool active = false;          // the family is neither ended (consumed) nor revoked.
  // Set when the presented token is spent and could rotate again within the grace window: it
  // was spent by being presented (never superseded), and its successor is the family's current
  // token, still unused. The time it was spent (the window runs from there).
  std::optional<Millis> grace_spent_at;
};

// The outcome of a rotation; the backend applies it (kRotated / kGraceRotated: advance the
// family; kReused: revoke it; the others change nothing).
inline TokenOutcome decide_rotation(const RotationFacts& f, const RotateRequest& req) {
  if (f.revoked) return TokenOutcome::kRevoked;
  if (!req.client_key.empty() && req.client_key != f.client_key) return TokenOutcome::kClientMismatch;
  if (f.current) return TokenOutcome::kRotated;
  if (req.grace > 0 && f.active && f.grace_spent_at && req.now - *f.grace_spent_at <= req.grace) {
    return TokenOutcome::kGraceRotated;
  }
  return TokenOutcome::kReused;
}

// RefreshBackend::peek's view of the same facts.
inline void fill_peek(FamilyState& st, const RotationFacts& f) {
  st.token_spent = !f.current;
  st.live = !f.revoked;
}

// consume_jti on a live entry of the subject: a stale user or client generation revokes it, a
// second consumption finds it consumed.
inline JtiOutcome decide_jti(bool generation_stale, bool consumed) {
  if (generation_stale) return JtiOutcome::kRevoked;
  return consumed ? JtiOutcome::kAlreadyConsumed : JtiOutcome::kConsumed;
}

}  // namespace authstore::internal
