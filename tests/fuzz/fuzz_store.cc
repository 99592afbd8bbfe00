// The stores' public parsing paths, through a memory:// store (no backend to connect): codes.peek,
// refresh.peek and revoke_family on arbitrary text, sessions.get and client_tokens.get on
// arbitrary ids. One live code, refresh token and family exist; the fuzzer also edits them.
// Invariants: arbitrary input reads as not found or as an invalid argument naming the field, and
// no status repeats the input;
// an edited token or family id is never accepted; the exact live ones always are.
//
// Input: mode (1 byte): 0 = the rest is the text; 1/2/3 = edit the live code / refresh token /
// family id with (position, byte) pairs from the rest; then the text.
#include <string>

#include "authstore/store.h"
#include "fuzz_common.h"

namespace {

using namespace authstore;

struct Live {
  Store store;
  std::string code;
  std::string refresh;
  std::string family;
};

// Destroyed at exit like any static, which stops the store's sweeper thread.
Live& live() {
  static Live l = [] {
    Options o;
    o.keys = fuzz::ring_options();
    auto store = open("memory://", o);
    if (!store.ok()) fuzz::fail(__FILE__, __LINE__, "open", store.status().message());
    Live out{store.value(), {}, {}, {}};
    CodeGrant g;
    g.client_id = "client";
    g.subject = "alice";
    g.redirect_uri = "https://client.example/cb";
    g.ttl_ms = 600'000;
    auto code = out.store.codes().issue(g);
    RefreshGrant r;
    r.subject = "alice";
    r.client_id = "client";
    r.lifetime_ms = 86'400'000;
    r.idle_ttl_ms = 86'400'000;
    auto refresh = out.store.refresh().issue(r);
    if (!code.ok() || !refresh.ok()) fuzz::fail(__FILE__, __LINE__, "issue", "code or refresh");
    out.code = code.value().code;
    out.refresh = refresh.value().token;
    out.family = refresh.value().family.family_id;
    return out;
  }();
  return l;
}

// What the calls below answer for a malformed and for a well-formed unknown input, joined.
const std::string& own_messages() {
  static const std::string text = [] {
    Store& st = live().store;
    std::string all;
    for (std::string_view in : {std::string_view("x"),
                                std::string_view("ac1_AAcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                                std::string_view("rt1_AAcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                                std::string_view("rf1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")}) {
      all += st.codes().peek(in).status().message() + "\n";
      all += st.refresh().peek(in).status().message() + "\n";
      all += st.refresh().revoke_family(in).status().message() + "\n";
      all += st.sessions().get(in, "alice", "full").status().message() + "\n";
      all += st.client_tokens().get(in).status().message() + "\n";
    }
    return all;
  }();
  return text;
}

template <class R>
void check_read(const R& r, std::string_view text, bool expect_ok, std::string_view field,
                const char* what) {
  if (expect_ok) {
    FUZZ_CHECK(r.ok(), what);
    return;
  }
  FUZZ_CHECK(!r.ok(), what);
  const Status& s = r.status();
  // No status ever carries a token or id the caller passed (it may be a secret), unless the
  // text is a piece of the store's own messages (what they say for inputs the fuzzer did not make).
  if (text.size() >= 12 && s.message().find(text) != std::string::npos) {
    FUZZ_CHECK(own_messages().find(text) != std::string::npos, "a status repeats the caller's token");
  }
  FUZZ_CHECK(s.code() == StatusCode::kNotFound ||
                 (s.code() == StatusCode::kInvalidArgument && (field.empty() || s.field() == field)),
             what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Live& l = live();
  fuzz::Bytes in(fuzz::as_view(data, size));
  const std::uint8_t mode = in.u8() % 4;
  std::string text;
  if (mode == 0) {
    text = std::string(in.rest());
  } else {
    text = mode == 1 ? l.code : mode == 2 ? l.refresh : l.family;
    while (!in.empty()) {
      const std::uint8_t pos = in.u8();
      const std::uint8_t byte = in.u8();
      if (pos >= 200) {
        text.resize(text.size() - std::min<std::size_t>(text.size(), pos - 199));  // truncate
      } else if (pos >= 100) {
        text.insert(std::min<std::size_t>(pos - 100, text.size()), 1, static_cast<char>(byte));
      } else if (!text.empty()) {
        text[pos % text.size()] = static_cast<char>(byte);
      }
    }
  }

  auto code = l.store.codes().peek(text);
  check_read(code, text, text == l.code, "code", "codes.peek: only the live code is found");
  if (code.ok()) FUZZ_CHECK(code.value().grant.subject == "alice", "the live code lost its subject");

  auto refresh = l.store.refresh().peek(text);
  check_read(refresh, text, text == l.refresh, "token", "refresh.peek: only the live token is found");
  if (refresh.ok()) {
    FUZZ_CHECK(refresh.value().family.family_id == l.family, "the live token names another family");
  }

  if (text != l.family) {  // revoking the live family would end the fuzzing session's state
    check_read(l.store.refresh().revoke_family(text), text, false, "family_id",
               "revoke_family: an edited family id was accepted");
  }
  check_read(l.store.sessions().get(text, "alice", "full"), text, false, "",
             "sessions.get: an arbitrary id was found");
  check_read(l.store.client_tokens().get(text), text, false, "", "client_tokens.get: an arbitrary key was found");
  return 0;
}
