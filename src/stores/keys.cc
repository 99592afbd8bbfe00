#include "stores/keys.h"

#include "core/encoding.h"

namespace authstore::internal {

std::string route_tag(std::string_view route) { return "{" + base64url_encode(route) + "}"; }

std::string index_hash(const KeyRing& ring, std::string_view label, std::string_view part1,
                       std::string_view part2) {
  std::string a;
  std::string b;
  put_lp(a, part1);
  put_lp(b, part2);
  return base64url_encode(ring.index().mac({label, a, b}));
}

UserIds user_ids(const KeyRing& ring, std::string_view subject) {
  std::string lp;
  put_lp(lp, subject);
  const std::string h = ring.index().mac({"subject", lp});
  UserIds ids;
  ids.route = h.substr(0, 8);
  ids.tag = route_tag(ids.route);
  ids.subject_key = base64url_encode(h);
  return ids;
}

namespace {
std::string join(std::string_view kind, std::string_view tag, std::string_view rest) {
  std::string k;
  k.reserve(kind.size() + tag.size() + rest.size() + 2);
  k.append(kind).append(":").append(tag).append(":").append(rest);
  return k;
}
}  // namespace

std::string code_key(std::string_view tag, std::string_view lookup_hash) {
  return join("ac", tag, base64url_encode(lookup_hash));
}
std::string refresh_token_key(std::string_view tag, std::string_view lookup_hash) {
  return join("rt", tag, base64url_encode(lookup_hash));
}
std::string family_key(std::string_view tag, std::string_view family_random) {
  return join("rf", tag, base64url_encode(family_random));
}
std::string jti_key(std::string_view tag, std::string_view hash) { return join("rj", tag, hash); }
std::string session_binding(std::string_view tag, std::string_view bucket,
                            std::string_view session) {
  std::string rest(bucket);
  rest.append(":").append(session);
  return join("ss", tag, rest);
}
std::string replay_key(std::string_view hash) { return "jr:" + std::string(hash); }

}  // namespace authstore::internal
