// Model-based checking: the text both the model and the runner render an outcome as. Two
// outcomes agree when their texts are equal. Only what the contracts fix appears (no secrets, no
// random strings: tokens, codes and family ids are shown by handle).
#pragma once

#include <string>

#include "model/ops.h"

namespace model {

inline std::string at(Millis t) { return "T0+" + std::to_string(t - kStart); }

// "ok", "not_found", ... with the field at fault for errors ("invalid_argument[token]").
inline std::string status_text(const std::string& code, const std::string& field = {}) {
  return field.empty() ? code : code + "[" + field + "]";
}

struct FamilyView {
  int handle = -1;
  std::string subject, client, grant;
  Millis created = 0, last_used = 0, idle_expires = 0, expires = 0;
  std::int64_t rotations = 0;
};

inline std::string family_text(const FamilyView& f) {
  return "F" + (f.handle < 0 ? std::string("?") : std::to_string(f.handle)) + "(" + f.subject + "," +
         f.client + "," + (f.grant.empty() ? "-" : f.grant) + " created=" + at(f.created) +
         " used=" + at(f.last_used) + " idle_exp=" + at(f.idle_expires) + " exp=" + at(f.expires) +
         " rot=" + std::to_string(f.rotations) + ")";
}

}  // namespace model

namespace model {

// The text of a client-token record as stored by kTSave / kTSaveAccess (the runner builds the
// TokenRecord from the same op, the model keeps this text).
inline std::string ct_access_token(const Op& op) {
  return "at" + std::to_string(op.v) + "_" + std::to_string(op.w) + "_" + std::to_string(op.x);
}
inline std::string ct_record_text(const std::string& access, Millis exp, Millis rexp, bool refresh) {
  auto t = [](Millis v) { return v == 0 ? std::string("0") : at(v); };
  return "at=" + access + " exp=" + t(exp) + " rexp=" + t(rexp) + " refresh=" + (refresh ? "yes" : "no");
}
inline std::string ct_client_id(const Op& op) { return "cid" + std::to_string(op.v); }

// The payload kYPut stores, and how a found or consumed payload is shown.
inline std::string payload_body(const Op& op) { return "body-" + std::to_string(op.id); }
inline std::string payload_text(const std::string& body, const std::string& grant, Millis expires,
                                Millis consumed) {
  return "ok " + body + " grant=" + (grant.empty() ? "-" : grant) + " exp=" + at(expires) +
         " consumed=" + (consumed == 0 ? std::string("0") : at(consumed));
}

}  // namespace model
