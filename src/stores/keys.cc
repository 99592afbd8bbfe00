#include "stores/keys.h"

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
  unsigned char h[32];
  index_hash_raw(ring, label, part1, part2, h);
  return base64url_encode({reinterpret_cast<const char*>(h), sizeof h});
}

void index_hash_raw(const KeyRing& ring, std::string_view label, std::string_view part1,
                    std::string_view part2, unsigned char (&out)[32]) {
  const LengthPrefix n1(part1.size());
  const LengthPrefix n2(part2.size());
  ring.index().mac_into({label, n1.view(), part1, n2.view(), part2}, out);
}

namespace {
// HMAC(index key, "subject" || lp(subject)).
void subject_mac(const KeyRing& ring, std::string_view subject, unsigned char (&h)[32]) {
  const LengthPrefix n(subject.size());
  ring.index().mac_into({"subject", n.view(), subject}, h);
}
std::string_view view(const unsigned char (&h)[32], std::size_t n = 32) {
  return {reinterpret_cast<const char*>(h), n};
}
}  // namespace

UserIds user_ids(const KeyRing& ring, std::string_view subject) {
  unsigned char h[32];
  subject_mac(ring, subject, h);
  UserIds ids;
  ids.route.assign(view(h, 8));
  ids.tag = route_tag(ids.route);
  ids.subject_key = base64url_encode(view(h));
  return ids;
}

std::string user_tag(const KeyRing& ring, std::string_view subject) {
  unsigned char h[32];
  subject_mac(ring, subject, h);
  return route_tag(view(h, 8));
}

namespace {
// a ":" b ":" c, or a ":" b when c is empty.
std::string join(std::string_view a, std::string_view b, std::string_view c) {
  std::string k;
  k.reserve(a.size() + b.size() + c.size() + 2);
  k.append(a).append(1, ':').append(b);
  if (!c.empty()) k.append(1, ':').append(c);
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
std::string session_binding(std::string_view tag, std::string_view bucket, std::string_view session) {
  std::string k;
  k.reserve(3 + tag.size() + 1 + bucket.size() + 1 + session.size());
  k.append("ss:").append(tag).append(1, ':').append(bucket).append(1, ':').append(session);
  return k;
}
std::string replay_key(std::string_view hash) {
  std::string k;
  k.reserve(3 + hash.size());
  k.append("jr:").append(hash);
  return k;
}

}  // namespace authstore::internal
