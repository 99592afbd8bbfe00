// Values between JavaScript and authstore: argument checks with precise errors, records to plain
// objects (camelCase properties; times are numbers of Unix milliseconds), statuses to errors.
#include <cmath>

#include "addon.h"

namespace authstore::node {
namespace {

// Largest integer a JavaScript number holds exactly (Number.MAX_SAFE_INTEGER).
constexpr double kMaxSafeInteger = 9007199254740991.0;

const char* type_name(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return "a boolean";
    case napi_number:
      return "a number";
    case napi_string:
      return "a string";
    case napi_symbol:
      return "a symbol";
    case napi_object:
      return v.IsArray() ? "an array" : "an object";
    case napi_function:
      return "a function";
    case napi_external:
      return "an external";
    case napi_bigint:
      return "a bigint";
  }
  return "an unknown type";
}

Napi::Value num(Napi::Env env, std::int64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

}  // namespace

std::string js_field_name(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  bool upper = false;
  for (char c : field) {
    if (c == '_' && !out.empty() && out.back() != '.') {
      upper = true;
      continue;
    }
    out.push_back(upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    upper = false;
  }
  return out;
}

namespace {
Napi::Error error_object(Napi::Env env, const std::string& code, const std::string& field,
                         const std::string& message) {
  AddonData& data = addon_data(env);
  Napi::Object e;
  if (!data.error_class.IsEmpty()) {
    e = data.error_class.New(
        {Napi::String::New(env, message), Napi::String::New(env, code), Napi::String::New(env, field)});
  } else {
    e = Napi::Error::New(env, message).Value();
    e.Set("code", code);
    e.Set("field", field);
  }
  return Napi::Error(env, e);
}
}  // namespace

Napi::Error make_error(Napi::Env env, const Status& status) {
  const std::string field = js_field_name(status.field());
  std::string message = "authstore: " + std::string(to_string(status.code()));
  if (!field.empty()) message += ": " + field;
  if (!status.message().empty()) message += ": " + status.message();
  return error_object(env, std::string(to_string(status.code())), field, message);
}

Napi::Error make_error(Napi::Env env, const InputError& error) {
  return error_object(env, "invalid_argument", error.field,
                      "authstore: invalid_argument: " + error.field + ": " + error.message);
}

std::string to_string_arg(const Napi::Value& v, const std::string& field) {
  if (!v.IsString()) throw InputError{field, std::string("expected a string, got ") + type_name(v)};
  return v.As<Napi::String>().Utf8Value();
}

std::int64_t to_int_arg(const Napi::Value& v, const std::string& field) {
  if (!v.IsNumber()) throw InputError{field, std::string("expected an integer number, got ") + type_name(v)};
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > kMaxSafeInteger) {
    throw InputError{field, "expected an integer within Number.MAX_SAFE_INTEGER"};
  }
  return static_cast<std::int64_t>(d);
}

bool to_bool_arg(const Napi::Value& v, const std::string& field) {
  if (!v.IsBoolean()) throw InputError{field, std::string("expected a boolean, got ") + type_name(v)};
  return v.As<Napi::Boolean>().Value();
}

// ---- ObjectReader ----

ObjectReader::ObjectReader(const Napi::Value& v, std::string path) : path_(std::move(path)) {
  if (!v.IsObject() || v.IsArray() || v.IsFunction()) {
    throw InputError{path_.empty() ? "argument" : path_,
                     std::string("expected a plain object, got ") + type_name(v)};
  }
  obj_ = v.As<Napi::Object>();
}

std::optional<Napi::Value> ObjectReader::get(const char* name) {
  seen_.emplace_back(name);
  Napi::Value v = obj_.Get(name);
  if (v.IsUndefined()) return std::nullopt;
  return v;
}

void ObjectReader::str(const char* name, std::string& out) {
  if (auto v = get(name)) out = to_string_arg(*v, field(name));
}
void ObjectReader::i64(const char* name, std::int64_t& out) {
  if (auto v = get(name)) out = to_int_arg(*v, field(name));
}
void ObjectReader::size(const char* name, std::size_t& out) {
  if (auto v = get(name)) {
    const std::int64_t n = to_int_arg(*v, field(name));
    if (n < 0) throw InputError{field(name), "expected a non-negative integer"};
    out = static_cast<std::size_t>(n);
  }
}
void ObjectReader::u16(const char* name, std::uint16_t& out) {
  if (auto v = get(name)) {
    const std::int64_t n = to_int_arg(*v, field(name));
    if (n < 0 || n > 65535) throw InputError{field(name), "expected an integer in 0..65535"};
    out = static_cast<std::uint16_t>(n);
  }
}
void ObjectReader::boolean(const char* name, bool& out) {
  if (auto v = get(name)) out = to_bool_arg(*v, field(name));
}
void ObjectReader::optional_i64(const char* name, std::optional<std::int64_t>& out) {
  auto v = get(name);
  if (!v || v->IsNull()) {
    out.reset();
    return;
  }
  out = to_int_arg(*v, field(name));
}
void ObjectReader::bytes(const char* name, std::string& out) {
  auto v = get(name);
  if (!v) return;
  if (v->IsString()) {
    out = v->As<Napi::String>().Utf8Value();
  } else if (v->IsTypedArray() && v->As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    auto a = v->As<Napi::Uint8Array>();
    out.assign(reinterpret_cast<const char*>(a.Data()), a.ByteLength());
  } else {
    throw InputError{field(name), std::string("expected a string or a Buffer, got ") + type_name(*v)};
  }
}

void ObjectReader::finish() {
  Napi::Array names = obj_.GetPropertyNames();
  for (std::uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    bool known = false;
    for (const auto& s : seen_) known = known || s == name;
    if (!known) throw InputError{field(name.c_str()), "unknown property"};
  }
}

// ---- Args ----

std::string Args::str(std::size_t i, const char* field) const {
  return to_string_arg(i < info_.Length() ? info_[i] : env().Undefined(), field);
}
std::string Args::str_or(std::size_t i, const char* field, std::string fallback) const {
  return present(i) ? str(i, field) : std::move(fallback);
}
std::int64_t Args::i64(std::size_t i, const char* field) const {
  return to_int_arg(i < info_.Length() ? info_[i] : env().Undefined(), field);
}
std::int64_t Args::i64_or(std::size_t i, const char* field, std::int64_t fallback) const {
  return present(i) ? i64(i, field) : fallback;
}
ObjectReader Args::obj(std::size_t i, const char* field) const {
  if (!present(i)) throw InputError{field, "expected a plain object, got undefined"};
  // Properties of an argument object are named without a prefix, as the C++ errors name them.
  ObjectReader r(info_[i], "");
  return r;
}

// ---- C++ -> JavaScript ----

Napi::Value to_js(Napi::Env env, const Done&) { return env.Undefined(); }
Napi::Value to_js(Napi::Env env, const bool& v) { return Napi::Boolean::New(env, v); }
Napi::Value to_js(Napi::Env env, const std::int64_t& v) { return num(env, v); }

namespace {
Napi::Value str(Napi::Env env, const std::string& s) { return Napi::String::New(env, s); }
}  // namespace

Napi::Value to_js(Napi::Env env, const IssuedCode& v) {
  return make(env, Shape::kIssuedCode, {str(env, v.code), str(env, v.grant_id), num(env, v.expires_at)});
}

Napi::Value to_js(Napi::Env env, const CodeRecord& v) {
  const CodeGrant& g = v.grant;
  return make(env, Shape::kCodeRecord,
              {str(env, g.client_id), str(env, g.subject), str(env, g.claims_json), str(env, g.scope),
               str(env, g.redirect_uri), str(env, g.nonce), str(env, g.code_challenge),
               str(env, g.code_challenge_method), num(env, g.auth_time), str(env, g.grant_id),
               str(env, g.extra_json), num(env, g.ttl_ms), num(env, v.issued_at), num(env, v.expires_at),
               Napi::Boolean::New(env, v.consumed)});
}

Napi::Value to_js(Napi::Env env, const RefreshFamily& v) {
  return make(
      env, Shape::kFamily,
      {str(env, v.family_id), str(env, v.subject), str(env, v.client_id), str(env, v.scope),
       str(env, v.grant_id), str(env, v.metadata_json), num(env, v.created_at), num(env, v.last_used_at),
       num(env, v.idle_expires_at), num(env, v.expires_at), num(env, v.rotations)});
}

Napi::Value to_js(Napi::Env env, const IssuedRefreshToken& v) {
  return make(env, Shape::kIssuedRefresh, {str(env, v.token), to_js(env, v.family)});
}

Napi::Value to_js(Napi::Env env, const RefreshTokenInfo& v) {
  const char* state = v.state == RefreshTokenState::kActive    ? "active"
                      : v.state == RefreshTokenState::kRotated ? "rotated"
                                                               : "revoked";
  return make(env, Shape::kRefreshInfo, {Napi::String::New(env, state), to_js(env, v.family)});
}

Napi::Value to_js(Napi::Env env, const JtiRecord& v) {
  return make(env, Shape::kJti,
              {str(env, v.jti), str(env, v.subject), str(env, v.client_id), num(env, v.expires_at)});
}

Napi::Value to_js(Napi::Env env, const Session& v) {
  return make(env, Shape::kSession,
              {str(env, v.id), str(env, v.user_id), str(env, v.type), num(env, v.created_at),
               v.expires_at ? num(env, *v.expires_at) : env.Null(), num(env, v.refresh_expires_at),
               str(env, v.refresh_token_id), num(env, v.refreshed_at), num(env, v.tokens_fresh_from),
               num(env, v.prev_tokens_fresh_from), num(env, v.lock_version), str(env, v.extra_json)});
}

Napi::Value to_js(Napi::Env env, const Reservation& v) {
  return make(env, Shape::kReservation,
              {str(env, v.issuer), str(env, v.jti), str(env, v.owner), num(env, v.kept_until)});
}

Napi::Value to_js(Napi::Env env, const TokenRecord& v) {
  return make(
      env, Shape::kTokenRecord,
      {str(env, v.access_token), str(env, v.refresh_token), str(env, v.token_type), str(env, v.scope),
       str(env, v.resource), num(env, v.expires_at), num(env, v.refresh_expires_at), str(env, v.extra_json)});
}

Napi::Value to_js(Napi::Env env, const ClientCredentials& v) {
  return make(env, Shape::kClientCredentials,
              {str(env, v.client_id), str(env, v.client_secret), str(env, v.registration_access_token),
               str(env, v.extra_json)});
}

Napi::Value to_js(Napi::Env env, const PkceValues& v) {
  return make(env, Shape::kPkce,
              {str(env, v.code_verifier), str(env, v.code_challenge), str(env, v.code_challenge_method)});
}

Napi::Value to_js(Napi::Env env, const StoredPayload& v) {
  return make(env, Shape::kPayload,
              {str(env, v.model), str(env, v.id), str(env, v.payload), str(env, v.grant_id), str(env, v.uid),
               str(env, v.user_code), num(env, v.expires_at), num(env, v.consumed_at)});
}

Napi::Value to_js(Napi::Env env, const KeyPage& v) {
  return make(env, Shape::kKeyPage, {to_js(env, v.keys), str(env, v.next_cursor)});
}

Napi::Value to_js(Napi::Env env, const std::string& v) { return Napi::String::New(env, v); }

// ---- JavaScript -> C++ ----

CodeGrant code_grant_from(ObjectReader r) {
  CodeGrant g;
  r.str("clientId", g.client_id);
  r.str("subject", g.subject);
  r.str("claimsJson", g.claims_json);
  r.str("scope", g.scope);
  r.str("redirectUri", g.redirect_uri);
  r.str("nonce", g.nonce);
  r.str("codeChallenge", g.code_challenge);
  r.str("codeChallengeMethod", g.code_challenge_method);
  r.i64("authTime", g.auth_time);
  r.str("grantId", g.grant_id);
  r.str("extraJson", g.extra_json);
  r.i64("ttlMs", g.ttl_ms);
  r.finish();
  return g;
}

RefreshGrant refresh_grant_from(ObjectReader r) {
  RefreshGrant g;
  r.str("subject", g.subject);
  r.str("clientId", g.client_id);
  r.str("scope", g.scope);
  r.str("grantId", g.grant_id);
  r.i64("idleTtlMs", g.idle_ttl_ms);
  r.i64("lifetimeMs", g.lifetime_ms);
  r.str("metadataJson", g.metadata_json);
  r.finish();
  return g;
}

Session session_from(ObjectReader r) {
  Session s;
  r.str("id", s.id);
  r.str("userId", s.user_id);
  r.str("type", s.type);
  r.i64("createdAt", s.created_at);
  r.optional_i64("expiresAt", s.expires_at);
  r.i64("refreshExpiresAt", s.refresh_expires_at);
  r.str("refreshTokenId", s.refresh_token_id);
  r.i64("refreshedAt", s.refreshed_at);
  r.i64("tokensFreshFrom", s.tokens_fresh_from);
  r.i64("prevTokensFreshFrom", s.prev_tokens_fresh_from);
  r.i64("lockVersion", s.lock_version);
  r.str("extraJson", s.extra_json);
  r.finish();
  return s;
}

Reservation reservation_from(ObjectReader r) {
  Reservation v;
  r.str("issuer", v.issuer);
  r.str("jti", v.jti);
  r.str("owner", v.owner);
  r.i64("keptUntil", v.kept_until);
  r.finish();
  return v;
}

TokenRecord token_record_from(ObjectReader r) {
  TokenRecord v;
  r.str("accessToken", v.access_token);
  r.str("refreshToken", v.refresh_token);
  r.str("tokenType", v.token_type);
  r.str("scope", v.scope);
  r.str("resource", v.resource);
  r.i64("expiresAt", v.expires_at);
  r.i64("refreshExpiresAt", v.refresh_expires_at);
  r.str("extraJson", v.extra_json);
  r.finish();
  return v;
}

PayloadWrite payload_write_from(ObjectReader r) {
  PayloadWrite v;
  r.str("model", v.model);
  r.str("id", v.id);
  r.bytes("payload", v.payload);
  r.str("grantId", v.grant_id);
  r.str("uid", v.uid);
  r.str("userCode", v.user_code);
  r.i64("ttlMs", v.ttl_ms);
  r.finish();
  return v;
}

ClientCredentials client_credentials_from(ObjectReader r) {
  ClientCredentials v;
  r.str("clientId", v.client_id);
  r.str("clientSecret", v.client_secret);
  r.str("registrationAccessToken", v.registration_access_token);
  r.str("extraJson", v.extra_json);
  r.finish();
  return v;
}

PkceValues pkce_values_from(ObjectReader r) {
  PkceValues v;
  r.str("codeVerifier", v.code_verifier);
  r.str("codeChallenge", v.code_challenge);
  r.str("codeChallengeMethod", v.code_challenge_method);
  r.finish();
  return v;
}

Options options_from(Napi::Env env, const Napi::Value& v) {
  Options o;
  if (v.IsUndefined()) return o;
  ObjectReader r(v, "options");
  if (auto keys = r.get("keys")) {
    ObjectReader k(*keys, "options.keys");
    if (auto ring = k.get("keys")) {
      if (!ring->IsArray()) throw InputError{"options.keys.keys", "expected an array of {id, secret}"};
      auto a = ring->As<Napi::Array>();
      for (std::uint32_t i = 0; i < a.Length(); ++i) {
        ObjectReader e(a.Get(i), "options.keys.keys[" + std::to_string(i) + "]");
        KeyEntry entry;
        e.u16("id", entry.id);
        e.bytes("secret", entry.secret);
        e.finish();
        o.keys.keys.push_back(std::move(entry));
      }
    }
    k.u16("currentKeyId", o.keys.current_key_id);
    k.bytes("routeSecret", o.keys.route_secret);
    k.str("keyFile", o.keys.key_file);
    k.boolean("developmentMode", o.keys.development_mode);
    k.boolean("allowInsecureKeyFile", o.keys.allow_insecure_key_file);
    k.finish();
  }
  if (auto clock = r.get("clock")) {
    o.clock = clock_of(*clock);
    if (!o.clock) throw InputError{"options.clock", "expected a ManualClock of this module"};
  }
  if (auto codes = r.get("codes")) {
    ObjectReader c(*codes, "options.codes");
    c.i64("defaultTtlMs", o.codes.default_ttl_ms);
    c.i64("maxTtlMs", o.codes.max_ttl_ms);
    c.boolean("allowPlainPkce", o.codes.allow_plain_pkce);
    c.boolean("requirePkce", o.codes.require_pkce);
    c.finish();
  }
  if (auto refresh = r.get("refresh")) {
    ObjectReader c(*refresh, "options.refresh");
    c.i64("defaultIdleTtlMs", o.refresh.default_idle_ttl_ms);
    c.i64("defaultLifetimeMs", o.refresh.default_lifetime_ms);
    c.i64("maxLifetimeMs", o.refresh.max_lifetime_ms);
    c.i64("graceWindowMs", o.refresh.grace_window_ms);
    c.i64("maxGraceWindowMs", o.refresh.max_grace_window_ms);
    c.size("maxMetadataBytes", o.refresh.max_metadata_bytes);
    c.i64("accessTokenMaxTtlMs", o.refresh.access_token_max_ttl_ms);
    c.finish();
  }
  if (auto sessions = r.get("sessions")) {
    ObjectReader c(*sessions, "options.sessions");
    c.size("maxSessionsPerUser", o.sessions.max_sessions_per_user);
    c.size("maxExtraBytes", o.sessions.max_extra_bytes);
    c.finish();
  }
  if (auto replay = r.get("replay")) {
    ObjectReader c(*replay, "options.replay");
    c.i64("leewayMs", o.replay.leeway_ms);
    c.i64("minTtlMs", o.replay.min_ttl_ms);
    c.i64("maxTtlMs", o.replay.max_ttl_ms);
    c.size("memoryCapacity", o.replay.memory_capacity);
    c.size("memoryShards", o.replay.memory_shards);
    c.finish();
  }
  if (auto tokens = r.get("clientTokens")) {
    ObjectReader c(*tokens, "options.clientTokens");
    c.i64("pkceTtlMs", o.client_tokens.pkce_ttl_ms);
    c.i64("defaultTtlMs", o.client_tokens.default_ttl_ms);
    c.size("maxRecordBytes", o.client_tokens.max_record_bytes);
    c.finish();
  }
  if (auto payloads = r.get("payloads")) {
    ObjectReader c(*payloads, "options.payloads");
    c.i64("maxTtlMs", o.payloads.max_ttl_ms);
    c.size("maxPayloadBytes", o.payloads.max_payload_bytes);
    c.finish();
  }
  if (auto log = r.get("log")) {
    if (!log->IsFunction()) throw InputError{"options.log", "expected a function (level, message)"};
    o.log = log_hook(env, log->As<Napi::Function>());
  }
  r.i64("memorySweepIntervalMs", o.memory_sweep_interval_ms);
  r.boolean("startNewStore", o.start_new_store);
  r.finish();
  return o;
}

}  // namespace authstore::node
