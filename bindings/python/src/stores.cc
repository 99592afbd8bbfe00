// The six stores: every operation of the public C++ API, each as a blocking call (GIL released)
// returning a Result or raising, and as an awaitable `<name>_async` completed from the C++
// asynchronous call. Docstrings give the outcomes; docs/api.md has the full contracts.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "authstore/authstore.h"
#include "convert.h"

namespace authstore::python {
namespace {

template <class T>
using Handle = py::class_<T, std::unique_ptr<T, py::nodelete>>;

void bind_codes(py::module_& m) {
  Handle<CodeStore> cls(m, "CodeStore", "Authorization codes: issue, peek, consume exactly once.");
  bind_op(cls, "issue", &CodeStore::issue, &CodeStore::issue_async,
          "Issues a code for a CodeGrant. Result value: IssuedCode. Bad fields raise "
          "InvalidArgument naming the field.",
          py::arg("grant"));
  bind_op(cls, "peek", &CodeStore::peek, &CodeStore::peek_async,
          "Read-only look: OK with the CodeRecord; ALREADY_CONSUMED (value: grant_id, subject, "
          "client_id); NOT_FOUND. A malformed code raises InvalidArgument (field 'code').",
          py::arg("code"));
  bind_op(cls, "consume", &CodeStore::consume, &CodeStore::consume_async,
          "Atomic single use: exactly one concurrent caller gets OK with the record; later calls "
          "get ALREADY_CONSUMED carrying grant_id, subject and client_id.",
          py::arg("code"));
}

void bind_refresh(py::module_& m) {
  Handle<RefreshTokenStore> cls(m, "RefreshTokenStore",
                                "Refresh families: rotation, reuse detection, revocation, listing.");
  using S = RefreshTokenStore;
  bind_op(cls, "issue", &S::issue, &S::issue_async,
          "Starts a family for a RefreshGrant: value IssuedRefreshToken; REVOKED (field "
          "'grant_id') under a revoked grant.",
          py::arg("grant"));
  bind_op(cls, "rotate", &S::rotate, &S::rotate_async,
          "Consumes the token and returns its successor: OK (IssuedRefreshToken); REUSED (family "
          "revoked, value the family); REVOKED; NOT_FOUND. Another client's token raises "
          "PermissionDenied (field 'client_id').",
          py::arg("token"), py::arg("client_id"));
  bind_op(cls, "consume", &S::consume, &S::consume_async,
          "Single use without successor (the family ends); outcomes as rotate(). client_id '' = "
          "not checked.",
          py::arg("token"), py::arg("client_id") = "");
  bind_op(cls, "peek", &S::peek, &S::peek_async,
          "Read-only: RefreshTokenInfo (state ACTIVE, ROTATED or REVOKED, and the family); NOT_FOUND.",
          py::arg("token"));
  bind_op(cls, "store_jti", &S::store_jti, &S::store_jti_async,
          "Stores a server-minted refresh token id for ttl_ms.", py::arg("subject"), py::arg("jti"),
          py::arg("client_id"), py::arg("ttl_ms"));
  bind_op(cls, "consume_jti", &S::consume_jti, &S::consume_jti_async,
          "Consumes a stored jti once: OK (JtiRecord), ALREADY_CONSUMED, REVOKED, NOT_FOUND.",
          py::arg("subject"), py::arg("jti"));
  bind_op(cls, "revoke", &S::revoke, &S::revoke_async, "Revokes the family of a token: OK or NOT_FOUND.",
          py::arg("token"));
  bind_op(cls, "revoke_family", &S::revoke_family, &S::revoke_family_async,
          "Revokes one family by id: OK or NOT_FOUND.", py::arg("family_id"));
  bind_op(cls, "revoke_subject", &S::revoke_subject, &S::revoke_subject_async,
          "Logout everywhere: every family and jti of the subject, rotations in flight included.",
          py::arg("subject"));
  bind_op(cls, "revoke_client", &S::revoke_client, &S::revoke_client_async,
          "Every family and jti of the subject held by one client.", py::arg("subject"),
          py::arg("client_id"));
  bind_op(cls, "revoke_grant", &S::revoke_grant, &S::revoke_grant_async,
          "Every family issued under a grant (the answer to a replayed code); sticks.", py::arg("subject"),
          py::arg("grant_id"));
  bind_op(cls, "grant_live", &S::grant_live, &S::grant_live_async,
          "A resource server's check of an access token issued at issued_at (Unix ms): OK when live; "
          "REVOKED (message and field say why) when its grant was revoked, the subject was logged out "
          "(everywhere, or from client_id) at or after issued_at, or issued_at is older than "
          "refresh.access_token_max_ttl_ms. grant_id '' skips the grant check.",
          py::arg("subject"), py::arg("client_id"), py::arg("grant_id"), py::arg("issued_at"));
  bind_op(cls, "list", &S::list, &S::list_async,
          "The subject's active families (list of RefreshFamily), soonest expiry first.", py::arg("subject"));
}

void bind_sessions(py::module_& m) {
  Handle<SessionStore> cls(m, "SessionStore",
                           "Sessions per (user, type) with optimistic locking and tombstones.");
  using S = SessionStore;
  bind_op(cls, "get", &S::get, &S::get_async, "OK with the Session, or NOT_FOUND.", py::arg("session_id"),
          py::arg("user_id"), py::arg("type"));
  bind_op(cls, "upsert", &S::upsert, &S::upsert_async,
          "Insert (lock_version 0) or compare-and-set update: OK with the stored Session "
          "(lock_version + 1), or CONFLICT.",
          py::arg("session"));
  bind_op(cls, "delete_session", &S::delete_session, &S::delete_session_async,
          "Deletes one session, leaving a tombstone: OK or NOT_FOUND.", py::arg("session_id"),
          py::arg("user_id"), py::arg("type"));
  bind_op(cls, "get_all", &S::get_all, &S::get_all_async, "Every live session of (user, type) as a list.",
          py::arg("user_id"), py::arg("type"));
  bind_op(cls, "delete_all", &S::delete_all, &S::delete_all_async,
          "Deletes every session of (user, type): OK with how many.", py::arg("user_id"), py::arg("type"));
}

void bind_replay(py::module_& m) {
  Handle<ReplayCache> cls(m, "ReplayCache", "JWT ID replay cache, scoped per issuer, fail closed.");
  bind_op(cls, "reserve", &ReplayCache::reserve, &ReplayCache::reserve_async,
          "OK with a Reservation when (issuer, jti) is new; REPLAYED when held. expires_at is the "
          "JWT's exp in Unix milliseconds.",
          py::arg("issuer"), py::arg("jti"), py::arg("expires_at"));
  bind_op(cls, "release", &ReplayCache::release, &ReplayCache::release_async,
          "Frees a reservation still held by its holder: OK or NOT_FOUND.", py::arg("reservation"));
}

void bind_client_tokens(py::module_& m) {
  Handle<ClientTokenStore> cls(m, "ClientTokenStore", "Tokens an OAuth client holds, encrypted at rest.");
  using S = ClientTokenStore;
  bind_op(cls, "save", &S::save, &S::save_async,
          "Saves a TokenRecord under key. ttl_ms: 0 = from the record's expiries or the default; "
          "NO_EXPIRY = forever.",
          py::arg("key"), py::arg("record"), py::arg("ttl_ms") = 0);
  bind_op(cls, "get", &S::get, &S::get_async, "OK with the TokenRecord, or NOT_FOUND.", py::arg("key"));
  bind_op(cls, "has", &S::has, &S::has_async, "OK with a bool.", py::arg("key"));
  bind_op(cls, "remove", &S::remove, &S::remove_async, "OK or NOT_FOUND.", py::arg("key"));
  bind_op(cls, "list", &S::list, &S::list_async,
          "Keys starting with prefix, a KeyPage of at most limit (1..1000); pass next_cursor on.",
          py::arg("prefix"), py::arg("cursor") = "", py::arg("limit") = 100);
  bind_op(cls, "save_client_credentials", &S::save_client_credentials, &S::save_client_credentials_async,
          "Client credentials per server URL.", py::arg("server_url"), py::arg("credentials"),
          py::arg("ttl_ms") = 0);
  bind_op(cls, "get_client_credentials", &S::get_client_credentials, &S::get_client_credentials_async,
          "OK with ClientCredentials, or NOT_FOUND.", py::arg("server_url"));
  bind_op(cls, "remove_client_credentials", &S::remove_client_credentials,
          &S::remove_client_credentials_async, "OK or NOT_FOUND.", py::arg("server_url"));
  bind_op(cls, "save_pkce", &S::save_pkce, &S::save_pkce_async,
          "PKCE values per (user, OAuth state); ttl_ms 0 = the PKCE default.", py::arg("user_id"),
          py::arg("state"), py::arg("pkce"), py::arg("ttl_ms") = 0);
  bind_op(cls, "take_pkce", &S::take_pkce, &S::take_pkce_async,
          "Reads and deletes the PKCE values atomically: OK with PkceValues, or NOT_FOUND.",
          py::arg("user_id"), py::arg("state"));
  bind_op(cls, "save_access_token", &S::save_access_token, &S::save_access_token_async,
          "Access (and refresh) tokens per (user, resource URL).", py::arg("user_id"), py::arg("url"),
          py::arg("record"), py::arg("ttl_ms") = 0);
  bind_op(cls, "get_access_token", &S::get_access_token, &S::get_access_token_async,
          "OK with the TokenRecord, or NOT_FOUND.", py::arg("user_id"), py::arg("url"));
  bind_op(cls, "remove_access_token", &S::remove_access_token, &S::remove_access_token_async,
          "OK or NOT_FOUND.", py::arg("user_id"), py::arg("url"));
  cls.def(
      "close",
      [](S& self) {
        py::gil_scoped_release nogil;
        self.close();
      },
      "Releases this store's resources; later calls raise FailedPrecondition.");
}

void bind_payloads(py::module_& m) {
  Handle<PayloadStore> cls(m, "PayloadStore",
                           "Opaque payloads by (model, id) with a TTL: consume exactly once, lookups "
                           "by uid and user code, revocation of a whole grant (docs/api.md "
                           "\"Payloads\").");
  using S = PayloadStore;
  bind_op(cls, "upsert", &S::upsert, &S::upsert_async,
          "Stores a PayloadWrite under (model, id), replacing any stored one (a consumed one too): "
          "OK. Bad fields raise InvalidArgument naming the field.",
          py::arg("write"));
  bind_op(cls, "find", &S::find, &S::find_async,
          "OK with the StoredPayload (consumed ones too: consumed_at set); NOT_FOUND when absent, "
          "expired, destroyed, failing verification, or its grant was revoked.",
          py::arg("model"), py::arg("id"));
  bind_op(cls, "find_by_uid", &S::find_by_uid, &S::find_by_uid_async,
          "The payload last upserted with this uid under model, as find() answers it.", py::arg("model"),
          py::arg("uid"));
  bind_op(cls, "find_by_user_code", &S::find_by_user_code, &S::find_by_user_code_async,
          "The payload last upserted with this user code under model, as find() answers it.",
          py::arg("model"), py::arg("user_code"));
  bind_op(cls, "consume", &S::consume, &S::consume_async,
          "Atomic single use: OK with the payload (consumed_at = now) for exactly one caller; "
          "ALREADY_CONSUMED for every later or concurrent one; NOT_FOUND as for find().",
          py::arg("model"), py::arg("id"));
  bind_op(cls, "destroy", &S::destroy, &S::destroy_async,
          "Deletes the payload: OK whether or not it was there.", py::arg("model"), py::arg("id"));
  bind_op(cls, "revoke_by_grant_id", &S::revoke_by_grant_id, &S::revoke_by_grant_id_async,
          "Every payload carrying grant_id (any model) reads as NOT_FOUND from now on, payloads "
          "written under it later too, for payloads.max_ttl_ms. One operation.",
          py::arg("grant_id"));
}

}  // namespace

void bind_stores(py::module_& m) {
  bind_codes(m);
  bind_refresh(m);
  bind_sessions(m);
  bind_replay(m);
  bind_client_tokens(m);
  bind_payloads(m);
}

}  // namespace authstore::python
