// The key-file parser (parse_key_file, src/core/keyring.h; format in docs/security.md): what it
// accepts is a valid ring description that survives a canonical rewrite, and no error message
// repeats a word of the file (it may be a secret).
//
// Input: the text of a key file.
#include <sstream>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/keyring.h"
#include "fuzz_common.h"

namespace {

using namespace authstore;
using namespace authstore::internal;

bool same(const KeyOptions& a, const KeyOptions& b) {
  if (a.keys.size() != b.keys.size() || a.current_key_id != b.current_key_id ||
      a.route_secret != b.route_secret) {
    return false;
  }
  for (std::size_t i = 0; i < a.keys.size(); ++i) {
    if (a.keys[i].id != b.keys[i].id || a.keys[i].secret != b.keys[i].secret) return false;
  }
  return true;
}

std::string write_key_file(const KeyOptions& k) {
  std::string out = "# authstore key file v1\n";
  if (!k.route_secret.empty()) out += "route " + base64url_encode(k.route_secret) + "\n";
  for (const KeyEntry& e : k.keys) {
    out += "key " + std::to_string(e.id) + " " + base64url_encode(e.secret) + "\n";
  }
  if (k.current_key_id != 0) out += "current " + std::to_string(k.current_key_id) + "\n";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(authstore::fuzz::as_view(data, size));
  const auto parsed = parse_key_file(text);
  if (!parsed.ok()) {
    const Status& s = parsed.status();
    FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument && s.field() == "key_file",
               "a bad key file is not kInvalidArgument on field key_file");
    // Messages name the line, never its content: no word of 12+ characters from the file
    // (a secret, or a piece of one) appears in the message unless the message's own text has it.
    static const std::string own =
        "key file line : route secret must be >= 32 bytes of base64url key id must be 1..65535 "
        "key secret must be >= 32 bytes of base64url current key id must be 1..65535 expected "
        "'route', 'key' or 'current' unexpected trailing text key file has no 'key' line";
    std::istringstream words(text);
    std::string w;
    while (words >> w) {
      if (w.size() >= 12 && own.find(w) == std::string::npos) {
        FUZZ_CHECK(s.message().find(w) == std::string::npos, "an error message repeats the key file");
      }
    }
    return 0;
  }
  const KeyOptions& k = parsed.value();
  FUZZ_CHECK(!k.keys.empty(), "accepted a key file without keys");
  for (const KeyEntry& e : k.keys) {
    FUZZ_CHECK(e.id >= 1 && e.secret.size() >= 32, "accepted a bad key line");
  }
  FUZZ_CHECK(k.route_secret.empty() || k.route_secret.size() >= 32, "accepted a short route secret");
  // A canonical rewrite reads back the same ring.
  const auto again = parse_key_file(write_key_file(k));
  FUZZ_CHECK(again.ok() && same(again.value(), k), "the canonical rewrite reads back differently");
  // Building the ring either works or fails with a clear error (duplicate ids, current missing).
  const auto ring = KeyRing::from_keys(k.keys, k.current_key_id, k.route_secret);
  if (ring.ok()) {
    const std::uint16_t cur = ring.value()->current().id;
    FUZZ_CHECK(k.current_key_id == 0 || cur == k.current_key_id, "the ring's current key is not the file's");
    for (const KeyEntry& e : k.keys) FUZZ_CHECK(ring.value()->find(e.id) != nullptr, "a key went missing");
  } else {
    FUZZ_CHECK(ring.status().code() == StatusCode::kInvalidArgument,
               "from_keys failed without kInvalidArgument");
  }
  return 0;
}
