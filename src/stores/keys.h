// The key layout: how the stores name what they keep. Specified in docs/format.md.
// Every key of one user carries the user's route tag "{R}" (R = base64url of 8 bytes), so all of
// a user's keys share one Redis Cluster hash slot. No key contains a secret or a raw identifier
// except client-token keys, which are the caller's own (escaped) names.
#pragma once

#include <string>
#include <string_view>

#include "core/keyring.h"

namespace authstore::internal {

struct UserIds {
  std::string route;        // 8 raw bytes.
  std::string tag;          // "{" + base64url(route) + "}".
  std::string subject_key;  // base64url(HMAC(index, "subject" || lp(subject))).
};

UserIds user_ids(const KeyRing& ring, std::string_view subject);
// user_ids(ring, subject).tag alone (one MAC, no subject key).
std::string user_tag(const KeyRing& ring, std::string_view subject);
// The tag of a raw 8-byte route.
std::string route_tag(std::string_view route);

// HMAC(index key, label || lp(part1) || lp(part2)), base64url.
std::string index_hash(const KeyRing& ring, std::string_view label, std::string_view part1,
                       std::string_view part2 = {});
// The same MAC, raw, into a caller's buffer (no allocation).
void index_hash_raw(const KeyRing& ring, std::string_view label, std::string_view part1,
                    std::string_view part2, unsigned char (&out)[32]);

std::string code_key(std::string_view tag, std::string_view lookup_hash);           // "ac:{R}:<h>"
std::string refresh_token_key(std::string_view tag, std::string_view lookup_hash);  // "rt:{R}:<h>"
std::string family_key(std::string_view tag, std::string_view family_random);       // "rf:{R}:<id>"
std::string jti_key(std::string_view tag, std::string_view hash);                   // "rj:{R}:<h>"
std::string session_binding(std::string_view tag, std::string_view bucket,
                            std::string_view session);  // "ss:{R}:<b>:<s>"
std::string replay_key(std::string_view hash);          // "jr:<h>"

}  // namespace authstore::internal
