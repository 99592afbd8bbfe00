#include "model/ops.h"

#include <sstream>

namespace model {

std::string user_name(int i) { return "user" + std::to_string(i); }
std::string client_name(int i) { return "client" + std::to_string(i); }
std::string grant_name(int i) { return "grant-" + std::to_string(i); }
std::string jti_name(int i) { return "jti-" + std::to_string(i); }
std::string type_name(int i) { return i == 0 ? "full" : "oauth2"; }
std::string session_id(int i) { return "session-id-000000" + std::to_string(i); }
std::string issuer_name(int i) { return "https://issuer" + std::to_string(i) + ".example"; }
std::string verifier(int i) { return std::string(42, static_cast<char>('a' + i)) + "Z"; }
std::string ct_key(int i) {
  static const char* const keys[kCtKeys] = {"user:a:1", "user:a:2", "user:b:1", "user:ab", "svc:x", "svc:y"};
  return keys[i];
}
std::string ct_prefix(int i) {
  static const char* const prefixes[kCtPrefixes] = {"", "user:", "user:a", "user:a:", "svc:"};
  return prefixes[i];
}
std::string server_url(int i) { return "https://as" + std::to_string(i) + ".example"; }
std::string resource_url(int i) { return "https://rs" + std::to_string(i) + ".example/api"; }
std::string oauth_state(int i) { return "state-" + std::to_string(i); }
std::string payload_model(int i) { return i == 0 ? "AccessToken" : "DeviceCode"; }
std::string payload_id(int i) {
  static const char* const ids[kPayloadIds] = {"Xq1nS0_payload-id~0", "Xq1nS0_payload-id~1", "a",
                                               "ids.may-be~any_TEXT 9"};
  return ids[i];
}

namespace {
const char* kind_name(Kind k) {
  static const char* const names[] = {"advance",
                                      "refresh.issue",
                                      "refresh.rotate",
                                      "refresh.consume",
                                      "refresh.peek",
                                      "refresh.revoke",
                                      "refresh.revoke_family",
                                      "refresh.revoke_subject",
                                      "refresh.revoke_client",
                                      "refresh.revoke_grant",
                                      "refresh.list",
                                      "refresh.store_jti",
                                      "refresh.consume_jti",
                                      "codes.issue",
                                      "codes.peek",
                                      "codes.consume",
                                      "sessions.upsert",
                                      "sessions.get",
                                      "sessions.delete",
                                      "sessions.get_all",
                                      "sessions.delete_all",
                                      "replay.reserve",
                                      "replay.release",
                                      "ct.save",
                                      "ct.get",
                                      "ct.has",
                                      "ct.remove",
                                      "ct.list",
                                      "ct.save_client_credentials",
                                      "ct.get_client_credentials",
                                      "ct.remove_client_credentials",
                                      "ct.save_pkce",
                                      "ct.take_pkce",
                                      "ct.save_access_token",
                                      "ct.get_access_token",
                                      "ct.remove_access_token",
                                      "payloads.upsert",
                                      "payloads.find",
                                      "payloads.consume",
                                      "payloads.revoke_by_grant_id"};
  static_assert(sizeof names / sizeof names[0] == static_cast<std::size_t>(Kind::kCount_));
  return names[static_cast<int>(k)];
}
const char* variant_name(int d) { return d == kMalformed ? " malformed" : d == kEdited ? " edited" : ""; }
std::string t(Millis v) { return "T0+" + std::to_string(v - kStart); }
}  // namespace

std::string describe(const Op& op) {
  std::ostringstream o;
  o << "#" << op.id << " " << kind_name(op.kind);
  switch (op.kind) {
    case Kind::kAdvance:
      o << " +" << op.v << " ms";
      break;
    case Kind::kRIssue:
      o << " " << user_name(op.a) << " " << client_name(op.b)
        << " grant=" << (op.c < 0 ? std::string("-") : grant_name(op.c)) << " idle_ttl=" << op.v
        << " lifetime=" << op.w;
      break;
    case Kind::kRRotate:
    case Kind::kRConsume:
      o << " T" << op.a << variant_name(op.d)
        << " client=" << (op.b < 0 ? std::string("-") : client_name(op.b));
      break;
    case Kind::kRPeek:
    case Kind::kRRevoke:
      o << " T" << op.a << variant_name(op.d);
      break;
    case Kind::kRRevokeFamily:
      o << " F" << op.a << variant_name(op.d);
      break;
    case Kind::kRRevokeSubject:
    case Kind::kRList:
      o << " " << user_name(op.a);
      break;
    case Kind::kRRevokeClient:
      o << " " << user_name(op.a) << " " << client_name(op.b);
      break;
    case Kind::kRRevokeGrant:
      o << " " << user_name(op.a) << " " << grant_name(op.c);
      break;
    case Kind::kJStore:
      o << " " << jti_name(op.a) << " " << user_name(op.b) << " " << client_name(op.c) << " ttl=" << op.v;
      break;
    case Kind::kJConsume:
      o << " " << user_name(op.b) << " " << jti_name(op.a);
      break;
    case Kind::kCIssue:
      o << " " << user_name(op.a) << " " << client_name(op.b)
        << " grant=" << (op.c < 0 ? std::string("generated") : grant_name(op.c))
        << " pkce=" << (op.d < 0 ? std::string("-") : "verifier" + std::to_string(op.d)) << " ttl=" << op.v;
      break;
    case Kind::kCPeek:
    case Kind::kCConsume:
      o << " C" << op.a << variant_name(op.d);
      if (op.b >= 0) o << " then verify_pkce(verifier" << op.b << ")";
      break;
    case Kind::kSUpsert:
      o << " " << user_name(op.a) << "/" << type_name(op.b) << "/s" << op.c << " lock=" << op.d
        << " refresh_expires_at=" << t(op.v) << " expires_at=" << (op.w == 0 ? std::string("-") : t(op.w));
      break;
    case Kind::kSGet:
    case Kind::kSDelete:
      o << " " << user_name(op.a) << "/" << type_name(op.b) << "/s" << op.c;
      break;
    case Kind::kSGetAll:
    case Kind::kSDeleteAll:
      o << " " << user_name(op.a) << "/" << type_name(op.b);
      break;
    case Kind::kPReserve:
      o << " issuer" << op.a << " jti" << op.b << " exp=" << t(op.v);
      break;
    case Kind::kPRelease:
      o << " R" << op.a << (op.d == kMalformed ? " other-owner" : "");
      break;
    case Kind::kTSave:
    case Kind::kTSaveAccess:
      o << " " << (op.kind == Kind::kTSave ? ct_key(op.a) : user_name(op.a) + " " + resource_url(op.b))
        << " ttl=" << op.v << " expires_at=" << (op.w == 0 ? std::string("0") : t(op.w))
        << " refresh=" << (op.c != 0 ? "yes" : "no")
        << " refresh_expires_at=" << (op.x == 0 ? std::string("0") : t(op.x));
      break;
    case Kind::kTGet:
    case Kind::kTHas:
    case Kind::kTRemove:
      o << " " << ct_key(op.a);
      break;
    case Kind::kTList:
      o << " prefix='" << ct_prefix(op.a) << "' limit=" << op.b;
      break;
    case Kind::kTSaveCreds:
      o << " " << server_url(op.a) << " ttl=" << op.v;
      break;
    case Kind::kTGetCreds:
    case Kind::kTRemoveCreds:
      o << " " << server_url(op.a);
      break;
    case Kind::kTSavePkce:
      o << " " << user_name(op.a) << " " << oauth_state(op.b) << " ttl=" << op.v;
      break;
    case Kind::kTTakePkce:
      o << " " << user_name(op.a) << " " << oauth_state(op.b);
      break;
    case Kind::kTGetAccess:
    case Kind::kTRemoveAccess:
      o << " " << user_name(op.a) << " " << resource_url(op.b);
      break;
    case Kind::kYPut:
      o << " " << payload_model(op.b) << "/" << payload_id(op.a)
        << " grant=" << (op.c < 0 ? std::string("-") : grant_name(op.c)) << " ttl=" << op.v;
      break;
    case Kind::kYFind:
    case Kind::kYConsume:
      o << " " << payload_model(op.b) << "/" << payload_id(op.a);
      break;
    case Kind::kYRevokeGrant:
      o << " " << grant_name(op.c);
      break;
    case Kind::kCount_:
      break;
  }
  return o.str();
}

std::string describe(const Config& c) {
  return "grace_window_ms=" + std::to_string(c.grace_ms) +
         " max_sessions_per_user=" + std::to_string(c.session_cap);
}

}  // namespace model
