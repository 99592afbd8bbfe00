// The stores' public parsing paths, through a memory:// store (no backend to connect): codes.peek,
// refresh.peek and revoke_family on arbitrary text, sessions.get and client_tokens.get on
// arbitrary ids, and the payload store (the oidc-provider adapter's: ids the framework minted,
// any text) with the text as id, uid, user code, model and payload. One live code, refresh
// token, family and payload exist; the fuzzer also edits them.
// Invariants: arbitrary input reads as not found or as an invalid argument naming the field, and
// no status repeats the input;
// an edited token, family id, payload id, uid, user code or model is never accepted; the exact
// live ones always are. A payload stored under the text as id (when the id is accepted) goes
// through its whole life: found, consumed exactly once, destroyed; any text as payload reads
// back byte for byte.
//
// Input: mode (1 byte): 0 = the rest is the text; 1/2/3/4 = edit the live code / refresh token /
// family id / payload id with (position, byte) pairs from the rest; then the text.
#include <string>

#include "authstore/store.h"
#include "fuzz_common.h"

namespace {

using namespace authstore;

// The live payload: an id, uid and user code as oidc-provider mints them (any text).
constexpr std::string_view kModel = "DeviceCode";
constexpr std::string_view kPayloadId = "Xq1nS0_fuzz-payload-id~with.all-id-chars";
constexpr std::string_view kUid = "uid-of-the-live-payload";
constexpr std::string_view kUserCode = "BCDFGHJK";
constexpr std::string_view kGrant = "grant-of-the-live-payload";

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
    PayloadWrite w;
    w.model = kModel;
    w.id = kPayloadId;
    w.payload = R"({"userCode":"BCDFGHJK"})";
    w.grant_id = kGrant;
    w.uid = kUid;
    w.user_code = kUserCode;
    w.ttl_ms = 86'400'000;
    if (!out.store.payloads().upsert(w).ok()) fuzz::fail(__FILE__, __LINE__, "upsert", "payload");
    return out;
  }();
  return l;
}

// What the calls below answer for a malformed and for a well-formed unknown input, joined.
const std::string& own_messages() {
  static const std::string text = [] {
    Store& st = live().store;
    std::string all;
    // The malformed shapes every validator words (payload models and ids: empty, too long,
    // control characters, invalid UTF-8, a C1 control, a character no model name may hold).
    const std::string long_id(1025, 'i'), long_model(65, 'm');
    for (std::string_view in :
         {std::string_view(""), std::string_view(long_id), std::string_view(long_model),
          std::string_view("a\x01"), std::string_view("\xff"), std::string_view("\xc2\x85"),
          std::string_view("bad model!"), std::string_view("x"),
          std::string_view("ac1_AAcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
          std::string_view("rt1_AAcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
          std::string_view("rf1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")}) {
      all += st.codes().peek(in).status().message() + "\n";
      all += st.refresh().peek(in).status().message() + "\n";
      all += st.refresh().revoke_family(in).status().message() + "\n";
      all += st.sessions().get(in, "alice", "full").status().message() + "\n";
      all += st.client_tokens().get(in).status().message() + "\n";
      all += st.payloads().find(kModel, in).status().message() + "\n";
      all += st.payloads().find(in, kPayloadId).status().message() + "\n";
      all += st.payloads().find_by_uid(kModel, in).status().message() + "\n";
      all += st.payloads().find_by_user_code(kModel, in).status().message() + "\n";
    }
    return all;
  }();
  return text;
}

template <class R>
void check_read(const R& r, std::string_view text, bool expect_ok, std::string_view field, const char* what) {
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

// The payload store with `text` in every place a caller fills.
void check_payloads(PayloadStore& p, const std::string& text) {
  auto by_id = p.find(kModel, text);
  check_read(by_id, text, text == kPayloadId, "id", "payloads.find: only the live id is found");
  if (by_id.ok()) {
    FUZZ_CHECK(by_id.value().uid == kUid && by_id.value().grant_id == kGrant, "the live payload changed");
  }
  check_read(p.find(text, kPayloadId), text, text == kModel, "model",
             "payloads.find: the live id is found under its model only");
  check_read(p.find_by_uid(kModel, text), text, text == kUid, "uid",
             "payloads.find_by_uid: only the live uid");
  check_read(p.find_by_user_code(kModel, text), text, text == kUserCode, "user_code",
             "payloads.find_by_user_code: only the live user code");
  if (text != kPayloadId) {
    check_read(p.consume(kModel, text), text, false, "id", "payloads.consume: an arbitrary id was consumed");
  }

  // Any text as a payload reads back byte for byte.
  PayloadWrite content;
  content.model = "Content";
  content.id = "content";
  content.payload = text;
  content.ttl_ms = 60'000;
  FUZZ_CHECK(p.upsert(content).ok(), "payloads.upsert: a payload of any bytes is stored");
  auto read = p.find("Content", "content");
  FUZZ_CHECK(read.ok() && read.value().payload == text, "payloads: the payload did not read back");

  // The text as a fresh id (when accepted): found, consumed exactly once, destroyed.
  PayloadWrite once;
  once.model = "Once";
  once.id = text;
  once.payload = "{}";
  once.ttl_ms = 60'000;
  auto stored = p.upsert(once);
  if (!stored.ok()) {
    FUZZ_CHECK(stored.status().code() == StatusCode::kInvalidArgument && stored.status().field() == "id",
               "payloads.upsert: a refused id is an invalid argument naming the id");
    return;
  }
  auto found = p.find("Once", text);
  FUZZ_CHECK(found.ok() && found.value().id == text && found.value().consumed_at == 0,
             "payloads: a stored id is found, not consumed");
  FUZZ_CHECK(p.consume("Once", text).ok(), "payloads.consume: the first consume wins");
  FUZZ_CHECK(p.consume("Once", text).code() == StatusCode::kAlreadyConsumed,
             "payloads.consume: the second consume is refused");
  FUZZ_CHECK(p.destroy("Once", text).ok(), "payloads.destroy");
  FUZZ_CHECK(p.find("Once", text).code() == StatusCode::kNotFound, "payloads: a destroyed payload is gone");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Live& l = live();
  fuzz::Bytes in(fuzz::as_view(data, size));
  const std::uint8_t mode = in.u8() % 5;
  std::string text;
  if (mode == 0) {
    text = std::string(in.rest());
  } else {
    text = mode == 1 ? l.code : mode == 2 ? l.refresh : mode == 3 ? l.family : std::string(kPayloadId);
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
  check_read(l.store.client_tokens().get(text), text, false, "",
             "client_tokens.get: an arbitrary key was found");
  check_payloads(l.store.payloads(), text);
  return 0;
}
