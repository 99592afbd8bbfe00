#include "stores/keys.h"

#include <cstring>

#include "core/encoding.h"

namespace authstore::internal {

std::string route_tag(std::string_view route) {
  std::string tag = base64url_encode(route);
  tag.insert(tag.begin(), '{');
  tag.push_back('}');
  return tag;
}

namespace {
// The u32 big-endian length prefix of lp(x), on the stack (no allocation on hot paths).
struct LengthPrefix {
  explicit LengthPrefix(std::size_t n) {
    const auto v = static_cast<std::uint32_t>(n);
    bytes[0] = static_cast<char>(v >> 24);
    bytes[1] = static_cast<char>(v >> 16);
    bytes[2] = static_cast<char>(v >> 8);
    bytes[3] = static_cast<char>(v);
  }
  std::string_view view() const { return {bytes, 4}; }
  char bytes[4];
};
}  // namespace

std::string index_hash(const KeyRing& ring, std::string_view label, std::string_view part1,
                       std::string_view part2) {
  const LengthPrefix n1(part1.size());
  const LengthPrefix n2(part2.size());
  return base64url_encode(ring.index().mac({label, n1.view(), part1, n2.view(), part2}));
}

UserIds user_ids(const KeyRing& ring, std::string_view subject) {
  const LengthPrefix n(subject.size());
  const std::string h = ring.index().mac({"subject", n.view(), subject});
  UserIds ids;
  ids.route = h.substr(0, 8);
  ids.tag = route_tag(ids.route);
  ids.subject_key = base64url_encode(h);
  return ids;
}

namespace {
// kind ":" tag ":" rest. Written with one resize and copies: GCC 12 at -O3 reports a false
// -Wrestrict on the equivalent chain of std::string::append calls.
std::string join(std::string_view kind, std::string_view tag, std::string_view rest) {
  std::string k(kind.size() + tag.size() + rest.size() + 2, ':');
  char* p = k.data();
  std::memcpy(p, kind.data(), kind.size());
  p += kind.size() + 1;
  std::memcpy(p, tag.data(), tag.size());
  p += tag.size() + 1;
  std::memcpy(p, rest.data(), rest.size());
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
  return join("ss", tag, join(bucket, session, {}).substr(0, bucket.size() + 1 + session.size()));
}
std::string replay_key(std::string_view hash) {
  std::string k(3 + hash.size(), ':');
  k[0] = 'j';
  k[1] = 'r';
  std::memcpy(k.data() + 3, hash.data(), hash.size());
  return k;
}

}  // namespace authstore::internal
