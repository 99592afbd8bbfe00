// The record types of the public API as Python classes: keyword construction (an unknown field
// is a TypeError naming it; a value of the wrong type is a TypeError from the attribute), and
// attributes named as in the C++ structs.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "authstore/authstore.h"
#include "convert.h"

namespace authstore::python {
namespace {

// T(**fields): a default T, then each keyword set as an attribute.
template <class T, class... Opts>
py::class_<T, Opts...> record(py::module_& m, const char* name, const char* doc) {
  py::class_<T, Opts...> cls(m, name, doc);
  cls.def(py::init([name](const py::kwargs& fields) {
            auto value = std::make_unique<T>();
            {
              py::object self = py::cast(value.get(), py::return_value_policy::reference);
              for (auto item : fields) {
                std::string key = py::str(item.first);
                if (key.empty() || key[0] == '_' || !py::hasattr(self, key.c_str())) {
                  throw py::type_error(std::string(name) + "() got an unknown field '" + key + "'");
                }
                try {
                  self.attr(key.c_str()) = item.second;
                } catch (py::error_already_set& e) {
                  if (!e.matches(PyExc_TypeError)) throw;
                  py::object current = self.attr(key.c_str());
                  std::string expected = current.is_none()
                                             ? std::string("int or None")
                                             : std::string(py::str(py::type::of(current).attr("__name__")));
                  throw py::type_error(std::string(name) + "." + key + ": expected " + expected + ", got " +
                                       std::string(py::str(py::type::of(item.second).attr("__name__"))));
                }
              }
            }
            return value;
          }),
          "Keyword arguments set the fields of the same names.");
  return cls;
}

void bind_code_types(py::module_& m) {
  record<CodeGrant>(m, "CodeGrant", "What an authorization code stands for (codes.issue).")
      .def_readwrite("client_id", &CodeGrant::client_id)
      .def_readwrite("subject", &CodeGrant::subject)
      .def_readwrite("claims_json", &CodeGrant::claims_json)
      .def_readwrite("scope", &CodeGrant::scope)
      .def_readwrite("redirect_uri", &CodeGrant::redirect_uri)
      .def_readwrite("nonce", &CodeGrant::nonce)
      .def_readwrite("code_challenge", &CodeGrant::code_challenge)
      .def_readwrite("code_challenge_method", &CodeGrant::code_challenge_method)
      .def_readwrite("auth_time", &CodeGrant::auth_time)
      .def_readwrite("grant_id", &CodeGrant::grant_id)
      .def_readwrite("extra_json", &CodeGrant::extra_json)
      .def_readwrite("ttl_ms", &CodeGrant::ttl_ms);
  record<CodeRecord>(m, "CodeRecord", "A stored code: its grant, times, and whether it was consumed.")
      .def_readwrite("grant", &CodeRecord::grant)
      .def_readwrite("issued_at", &CodeRecord::issued_at)
      .def_readwrite("expires_at", &CodeRecord::expires_at)
      .def_readwrite("consumed", &CodeRecord::consumed);
  record<IssuedCode>(m, "IssuedCode", "A fresh code (the secret, shown once), its grant id and expiry.")
      .def_readwrite("code", &IssuedCode::code)
      .def_readwrite("grant_id", &IssuedCode::grant_id)
      .def_readwrite("expires_at", &IssuedCode::expires_at);
}

void bind_refresh_types(py::module_& m) {
  record<RefreshGrant>(m, "RefreshGrant", "What a refresh family is issued for (refresh.issue).")
      .def_readwrite("subject", &RefreshGrant::subject)
      .def_readwrite("client_id", &RefreshGrant::client_id)
      .def_readwrite("scope", &RefreshGrant::scope)
      .def_readwrite("grant_id", &RefreshGrant::grant_id)
      .def_readwrite("idle_ttl_ms", &RefreshGrant::idle_ttl_ms)
      .def_readwrite("lifetime_ms", &RefreshGrant::lifetime_ms)
      .def_readwrite("metadata_json", &RefreshGrant::metadata_json);
  record<RefreshFamily>(m, "RefreshFamily", "One refresh family (not a secret).")
      .def_readwrite("family_id", &RefreshFamily::family_id)
      .def_readwrite("subject", &RefreshFamily::subject)
      .def_readwrite("client_id", &RefreshFamily::client_id)
      .def_readwrite("scope", &RefreshFamily::scope)
      .def_readwrite("grant_id", &RefreshFamily::grant_id)
      .def_readwrite("metadata_json", &RefreshFamily::metadata_json)
      .def_readwrite("created_at", &RefreshFamily::created_at)
      .def_readwrite("last_used_at", &RefreshFamily::last_used_at)
      .def_readwrite("idle_expires_at", &RefreshFamily::idle_expires_at)
      .def_readwrite("expires_at", &RefreshFamily::expires_at)
      .def_readwrite("rotations", &RefreshFamily::rotations);
  record<IssuedRefreshToken>(m, "IssuedRefreshToken", "A refresh token (the secret) and its family.")
      .def_readwrite("token", &IssuedRefreshToken::token)
      .def_readwrite("family", &IssuedRefreshToken::family);
  py::enum_<RefreshTokenState>(m, "RefreshTokenState")
      .value("ACTIVE", RefreshTokenState::kActive)
      .value("ROTATED", RefreshTokenState::kRotated)
      .value("REVOKED", RefreshTokenState::kRevoked);
  record<RefreshTokenInfo>(m, "RefreshTokenInfo", "What refresh.peek saw: state and family.")
      .def_readwrite("state", &RefreshTokenInfo::state)
      .def_readwrite("family", &RefreshTokenInfo::family);
  record<JtiRecord>(m, "JtiRecord", "A server-minted refresh token id (refresh.consume_jti).")
      .def_readwrite("jti", &JtiRecord::jti)
      .def_readwrite("subject", &JtiRecord::subject)
      .def_readwrite("client_id", &JtiRecord::client_id)
      .def_readwrite("expires_at", &JtiRecord::expires_at);
}

void bind_other_types(py::module_& m) {
  record<Session>(m, "Session", "A session per (user, type), with an optimistic lock_version.")
      .def_readwrite("id", &Session::id)
      .def_readwrite("user_id", &Session::user_id)
      .def_readwrite("type", &Session::type)
      .def_readwrite("created_at", &Session::created_at)
      .def_readwrite("expires_at", &Session::expires_at)
      .def_readwrite("refresh_expires_at", &Session::refresh_expires_at)
      .def_readwrite("refresh_token_id", &Session::refresh_token_id)
      .def_readwrite("refreshed_at", &Session::refreshed_at)
      .def_readwrite("tokens_fresh_from", &Session::tokens_fresh_from)
      .def_readwrite("prev_tokens_fresh_from", &Session::prev_tokens_fresh_from)
      .def_readwrite("lock_version", &Session::lock_version)
      .def_readwrite("extra_json", &Session::extra_json);
  record<Reservation>(m, "Reservation", "Proof of a JWT ID reservation (only its holder releases it).")
      .def_readwrite("issuer", &Reservation::issuer)
      .def_readwrite("jti", &Reservation::jti)
      .def_readwrite("owner", &Reservation::owner)
      .def_readwrite("kept_until", &Reservation::kept_until);
  record<TokenRecord>(m, "TokenRecord", "Tokens an OAuth client holds (encrypted at rest).")
      .def_readwrite("access_token", &TokenRecord::access_token)
      .def_readwrite("refresh_token", &TokenRecord::refresh_token)
      .def_readwrite("token_type", &TokenRecord::token_type)
      .def_readwrite("scope", &TokenRecord::scope)
      .def_readwrite("resource", &TokenRecord::resource)
      .def_readwrite("expires_at", &TokenRecord::expires_at)
      .def_readwrite("refresh_expires_at", &TokenRecord::refresh_expires_at)
      .def_readwrite("extra_json", &TokenRecord::extra_json);
  record<ClientCredentials>(m, "ClientCredentials", "A client's credentials at one server.")
      .def_readwrite("client_id", &ClientCredentials::client_id)
      .def_readwrite("client_secret", &ClientCredentials::client_secret)
      .def_readwrite("registration_access_token", &ClientCredentials::registration_access_token)
      .def_readwrite("extra_json", &ClientCredentials::extra_json);
  record<PkceValues>(m, "PkceValues", "A client's PKCE values for one (user, state).")
      .def_readwrite("code_verifier", &PkceValues::code_verifier)
      .def_readwrite("code_challenge", &PkceValues::code_challenge)
      .def_readwrite("code_challenge_method", &PkceValues::code_challenge_method);
  record<KeyPage>(m, "KeyPage", "One page of client_tokens.list: keys and the next cursor.")
      .def_readwrite("keys", &KeyPage::keys)
      .def_readwrite("next_cursor", &KeyPage::next_cursor);
}

// A payload is opaque bytes: read as bytes; written from bytes (or a str, stored as UTF-8).
template <class T>
void payload_bytes(py::class_<T>& cls) {
  cls.def_property(
      "payload", [](const T& v) { return py::bytes(v.payload); },
      [](T& v, const py::object& value) {
        if (py::isinstance<py::bytes>(value)) {
          v.payload = value.cast<std::string>();
        } else if (py::isinstance<py::str>(value)) {
          v.payload = value.cast<std::string>();
        } else {
          throw py::type_error("expected bytes or str, got " +
                               std::string(py::str(py::type::of(value).attr("__name__"))));
        }
      });
}

void bind_payload_types(py::module_& m) {
  auto write =
      record<PayloadWrite>(m, "PayloadWrite", "A payload to store under (model, id) (payloads.upsert).");
  write.def_readwrite("model", &PayloadWrite::model)
      .def_readwrite("id", &PayloadWrite::id)
      .def_readwrite("grant_id", &PayloadWrite::grant_id)
      .def_readwrite("uid", &PayloadWrite::uid)
      .def_readwrite("user_code", &PayloadWrite::user_code)
      .def_readwrite("ttl_ms", &PayloadWrite::ttl_ms);
  payload_bytes(write);
  auto stored = record<StoredPayload>(m, "StoredPayload", "A stored payload as payloads.find answers it.");
  stored.def_readwrite("model", &StoredPayload::model)
      .def_readwrite("id", &StoredPayload::id)
      .def_readwrite("grant_id", &StoredPayload::grant_id)
      .def_readwrite("uid", &StoredPayload::uid)
      .def_readwrite("user_code", &StoredPayload::user_code)
      .def_readwrite("expires_at", &StoredPayload::expires_at)
      .def_readwrite("consumed_at", &StoredPayload::consumed_at);
  payload_bytes(stored);
}

void bind_options(py::module_& m) {
  record<KeyEntry>(m, "KeyEntry", "One secret of the key ring: id (1..65535), secret (>= 32 bytes).")
      .def_readwrite("id", &KeyEntry::id)
      .def_property(
          "secret", [](const KeyEntry& k) { return py::bytes(k.secret); },
          [](KeyEntry& k, const py::bytes& secret) { k.secret = std::string(secret); });
  record<KeyOptions>(m, "KeyOptions", "Where the keys come from (docs/security.md).")
      .def_readwrite("keys", &KeyOptions::keys)
      .def_readwrite("current_key_id", &KeyOptions::current_key_id)
      .def_property(
          "route_secret", [](const KeyOptions& k) { return py::bytes(k.route_secret); },
          [](KeyOptions& k, const py::bytes& secret) { k.route_secret = std::string(secret); })
      .def_readwrite("key_file", &KeyOptions::key_file)
      .def_readwrite("development_mode", &KeyOptions::development_mode)
      .def_readwrite("allow_insecure_key_file", &KeyOptions::allow_insecure_key_file);
  record<CodeOptions>(m, "CodeOptions", "Code lifetimes and PKCE policy.")
      .def_readwrite("default_ttl_ms", &CodeOptions::default_ttl_ms)
      .def_readwrite("max_ttl_ms", &CodeOptions::max_ttl_ms)
      .def_readwrite("allow_plain_pkce", &CodeOptions::allow_plain_pkce)
      .def_readwrite("require_pkce", &CodeOptions::require_pkce);
  record<RefreshOptions>(m, "RefreshOptions", "Refresh family lifetimes and grace window.")
      .def_readwrite("default_idle_ttl_ms", &RefreshOptions::default_idle_ttl_ms)
      .def_readwrite("default_lifetime_ms", &RefreshOptions::default_lifetime_ms)
      .def_readwrite("max_lifetime_ms", &RefreshOptions::max_lifetime_ms)
      .def_readwrite("grace_window_ms", &RefreshOptions::grace_window_ms)
      .def_readwrite("max_grace_window_ms", &RefreshOptions::max_grace_window_ms)
      .def_readwrite("max_metadata_bytes", &RefreshOptions::max_metadata_bytes)
      .def_readwrite("access_token_max_ttl_ms", &RefreshOptions::access_token_max_ttl_ms);
  record<SessionOptions>(m, "SessionOptions", "Session caps and sizes.")
      .def_readwrite("max_sessions_per_user", &SessionOptions::max_sessions_per_user)
      .def_readwrite("max_extra_bytes", &SessionOptions::max_extra_bytes);
  record<ReplayOptions>(m, "ReplayOptions", "Replay cache leeway, TTL bounds and memory capacity.")
      .def_readwrite("leeway_ms", &ReplayOptions::leeway_ms)
      .def_readwrite("min_ttl_ms", &ReplayOptions::min_ttl_ms)
      .def_readwrite("max_ttl_ms", &ReplayOptions::max_ttl_ms)
      .def_readwrite("memory_capacity", &ReplayOptions::memory_capacity)
      .def_readwrite("memory_shards", &ReplayOptions::memory_shards);
  record<ClientTokenOptions>(m, "ClientTokenOptions", "Client token store TTLs and sizes.")
      .def_readwrite("pkce_ttl_ms", &ClientTokenOptions::pkce_ttl_ms)
      .def_readwrite("default_ttl_ms", &ClientTokenOptions::default_ttl_ms)
      .def_readwrite("max_record_bytes", &ClientTokenOptions::max_record_bytes);
  record<PayloadOptions>(m, "PayloadOptions", "Payload store lifetime and size limits.")
      .def_readwrite("max_ttl_ms", &PayloadOptions::max_ttl_ms)
      .def_readwrite("max_payload_bytes", &PayloadOptions::max_payload_bytes);
  record<Options>(m, "Options", "Options of a store (authstore/options.h); open() takes one.")
      .def_readwrite("keys", &Options::keys)
      .def_readwrite("clock", &Options::clock)
      .def_readwrite("codes", &Options::codes)
      .def_readwrite("refresh", &Options::refresh)
      .def_readwrite("sessions", &Options::sessions)
      .def_readwrite("replay", &Options::replay)
      .def_readwrite("client_tokens", &Options::client_tokens)
      .def_readwrite("payloads", &Options::payloads)
      .def_readwrite("memory_sweep_interval_ms", &Options::memory_sweep_interval_ms)
      .def_readwrite("start_new_store", &Options::start_new_store);
}

}  // namespace

void bind_types(py::module_& m) {
  bind_code_types(m);
  bind_refresh_types(m);
  bind_other_types(m);
  bind_payload_types(m);
  bind_options(m);
}

}  // namespace authstore::python
