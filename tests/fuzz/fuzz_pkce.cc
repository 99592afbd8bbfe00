// PKCE checks of the public API (verify_pkce, include/authstore/codes.h; RFC 7636): OK only for a
// well-formed verifier that matches (S256: the challenge is BASE64URL(SHA256(verifier)); plain:
// equal, and only when allowed); every refusal is kInvalidArgument naming code_verifier or
// code_challenge_method; a well-formed verifier always verifies against its own challenge.
//
// Input: method selector (1 byte), allow_plain (1 byte), challenge (length byte + <= 140 bytes),
// then the verifier.
#include <string>

#include "authstore/codes.h"
#include "fuzz_common.h"

namespace {

using namespace authstore;

bool well_formed(std::string_view v) {
  if (v.size() < 43 || v.size() > 128) return false;
  for (char c : v) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~';
    if (!ok) return false;
  }
  return true;
}

void check_refusal(const Status& s) {
  FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument &&
                 (s.field() == "code_verifier" || s.field() == "code_challenge_method"),
             "a PKCE refusal is not kInvalidArgument on code_verifier / code_challenge_method");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Bytes in(fuzz::as_view(data, size));
  static const std::string_view kMethods[] = {"S256", "plain", "", "s256", "PLAIN", "S256 "};
  const std::uint8_t m = in.u8();
  const std::string method = m < 6 * 40 ? std::string(kMethods[m % 6]) : std::string(in.field(8));
  const bool allow_plain = (in.u8() & 1) != 0;
  const std::string challenge(in.field(140));
  const std::string verifier(in.rest());

  const Status s = verify_pkce(challenge, method, verifier, allow_plain);
  CodeRecord record;
  record.grant.code_challenge = challenge;
  record.grant.code_challenge_method = method;
  const Status via_record = verify_pkce(record, verifier, allow_plain);
  FUZZ_CHECK(s.code() == via_record.code() && s.field() == via_record.field(),
             "the two verify_pkce overloads disagree");
  if (s.ok()) {
    if (challenge.empty()) {
      FUZZ_CHECK(verifier.empty(), "a verifier passed for a code without a challenge");
    } else if (method == "S256") {
      FUZZ_CHECK(well_formed(verifier) && challenge == pkce_s256_challenge(verifier),
                 "S256 accepted a mismatch");
    } else {
      FUZZ_CHECK((method == "plain" || method.empty()) && allow_plain, "accepted a method it must refuse");
      FUZZ_CHECK(well_formed(verifier) && challenge == verifier, "plain accepted a mismatch");
    }
  } else {
    check_refusal(s);
  }

  if (well_formed(verifier)) {
    const std::string c = pkce_s256_challenge(verifier);
    FUZZ_CHECK(c.size() == 43 && well_formed(c + "aaaa"), "an S256 challenge is not 43 base64url characters");
    FUZZ_CHECK(verify_pkce(c, "S256", verifier).ok(), "a verifier does not verify against its own challenge");
    FUZZ_CHECK(verify_pkce(verifier, "plain", verifier, true).ok(), "plain refused an equal verifier");
    check_refusal(verify_pkce(verifier, "plain", verifier, false));
    std::string other = c;
    other[static_cast<std::size_t>(m) % other.size()] ^= 0x01;
    const Status wrong = verify_pkce(other, "S256", verifier);
    FUZZ_CHECK(!wrong.ok(), "S256 accepted a challenge that differs in one character");
    check_refusal(wrong);
  }
  return 0;
}
