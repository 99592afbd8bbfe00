// The stores' input validation (src/stores/validate.h), which every caller string passes before it
// is stored: check_text, check_json_object, check_absolute_uri, check_identifier, each against an
// independent reference (nlohmann's strict UTF-8 check and JSON parser, the RFC 3986 scheme
// grammar). Every refusal is kInvalidArgument naming the field.
//
// Input: max selector (1 byte), required flag (1 byte), then the value.
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_common.h"
#include "stores/validate.h"

namespace {

using namespace authstore;
using namespace authstore::internal;

bool utf8(std::string_view v) {
  try {
    (void)nlohmann::json(std::string(v)).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// Valid UTF-8 with no C0 control, DEL or C1 control (U+0080..U+009F, encoded C2 80..C2 9F).
bool reference_text(std::string_view v) {
  if (!utf8(v)) return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c == 0xC2 && i + 1 < v.size() && static_cast<unsigned char>(v[i + 1]) <= 0x9F) return false;
  }
  return true;
}

bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

void check_status(const Status& s, bool expect_ok, const char* what) {
  if (expect_ok) {
    FUZZ_CHECK(s.ok(), what);
  } else {
    FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument && s.field() == "f", what);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Bytes in(fuzz::as_view(data, size));
  static constexpr std::size_t kMaxes[] = {0, 1, 8, 64, 256, 2048, 16384};
  const std::size_t max = kMaxes[in.u8() % 7];
  const bool required = (in.u8() & 1) != 0;
  const std::string_view v = in.rest();
  const bool fits = v.size() <= max;

  const bool text_ok = v.empty() ? !required : fits && reference_text(v);
  check_status(check_text("f", v, max, required), text_ok, "check_text disagrees with the reference");

  bool json_ok = fits && v.find('\0') == std::string_view::npos;
  if (json_ok) {
    try {
      json_ok = nlohmann::json::parse(v.begin(), v.end()).is_object();
    } catch (const nlohmann::json::exception&) {
      json_ok = false;
    }
  }
  check_status(check_json_object("f", v, max), json_ok, "check_json_object disagrees with parse()");

  // absolute URI: text, then scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" and more,
  // no fragment, no space.
  const std::size_t colon = v.find(':');
  bool uri_ok = !v.empty() && fits && reference_text(v) && colon != std::string_view::npos && colon > 0 &&
                colon + 1 < v.size() && v.find_first_of("# ") == std::string_view::npos;
  for (std::size_t i = 0; uri_ok && i < colon; ++i) {
    const char c = v[i];
    uri_ok = alpha(c) || (i > 0 && (digit(c) || c == '+' || c == '-' || c == '.'));
  }
  check_status(check_absolute_uri("f", v, max), uri_ok, "check_absolute_uri disagrees with RFC 3986");

  bool id_ok = !v.empty() && fits;
  for (char c : v) id_ok = id_ok && (alpha(c) || digit(c) || c == '.' || c == '_' || c == '~' || c == '-');
  check_status(check_identifier("f", v, max), id_ok, "check_identifier disagrees");
  return 0;
}
