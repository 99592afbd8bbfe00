// The native Store object: one method per store operation, each returning a Promise (index.js
// groups them as store.codes, store.refresh, store.sessions, store.replay, store.clientTokens).
#include "addon.h"

namespace authstore::node {
namespace {

template <class T>
using Start = std::function<void(Store&, Callback<T>)>;

class StoreWrap final : public Napi::ObjectWrap<StoreWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(
        env, "NativeStore",
        {
            InstanceAccessor<&StoreWrap::backend>("backend"),
            InstanceMethod<&StoreWrap::close>("close"),
            InstanceMethod<&StoreWrap::metrics_prometheus>("metricsPrometheus"),
            InstanceMethod<&StoreWrap::metrics_operations>("metricsOperations"),
            InstanceMethod<&StoreWrap::metrics_security_events>("metricsSecurityEvents"),
            // codes
            InstanceMethod<&StoreWrap::codes_issue>("codesIssue"),
            InstanceMethod<&StoreWrap::codes_peek>("codesPeek"),
            InstanceMethod<&StoreWrap::codes_consume>("codesConsume"),
            // refresh
            InstanceMethod<&StoreWrap::refresh_issue>("refreshIssue"),
            InstanceMethod<&StoreWrap::refresh_rotate>("refreshRotate"),
            InstanceMethod<&StoreWrap::refresh_consume>("refreshConsume"),
            InstanceMethod<&StoreWrap::refresh_peek>("refreshPeek"),
            InstanceMethod<&StoreWrap::refresh_store_jti>("refreshStoreJti"),
            InstanceMethod<&StoreWrap::refresh_consume_jti>("refreshConsumeJti"),
            InstanceMethod<&StoreWrap::refresh_revoke>("refreshRevoke"),
            InstanceMethod<&StoreWrap::refresh_revoke_family>("refreshRevokeFamily"),
            InstanceMethod<&StoreWrap::refresh_revoke_subject>("refreshRevokeSubject"),
            InstanceMethod<&StoreWrap::refresh_revoke_client>("refreshRevokeClient"),
            InstanceMethod<&StoreWrap::refresh_revoke_grant>("refreshRevokeGrant"),
            InstanceMethod<&StoreWrap::refresh_grant_live>("refreshGrantLive"),
            InstanceMethod<&StoreWrap::refresh_list>("refreshList"),
            // sessions
            InstanceMethod<&StoreWrap::sessions_get>("sessionsGet"),
            InstanceMethod<&StoreWrap::sessions_upsert>("sessionsUpsert"),
            InstanceMethod<&StoreWrap::sessions_delete>("sessionsDelete"),
            InstanceMethod<&StoreWrap::sessions_get_all>("sessionsGetAll"),
            InstanceMethod<&StoreWrap::sessions_delete_all>("sessionsDeleteAll"),
            // replay
            InstanceMethod<&StoreWrap::replay_reserve>("replayReserve"),
            InstanceMethod<&StoreWrap::replay_release>("replayRelease"),
            // client tokens
            InstanceMethod<&StoreWrap::tokens_save>("tokensSave"),
            InstanceMethod<&StoreWrap::tokens_get>("tokensGet"),
            InstanceMethod<&StoreWrap::tokens_has>("tokensHas"),
            InstanceMethod<&StoreWrap::tokens_remove>("tokensRemove"),
            InstanceMethod<&StoreWrap::tokens_list>("tokensList"),
            InstanceMethod<&StoreWrap::tokens_save_credentials>("tokensSaveClientCredentials"),
            InstanceMethod<&StoreWrap::tokens_get_credentials>("tokensGetClientCredentials"),
            InstanceMethod<&StoreWrap::tokens_remove_credentials>("tokensRemoveClientCredentials"),
            InstanceMethod<&StoreWrap::tokens_save_pkce>("tokensSavePkce"),
            InstanceMethod<&StoreWrap::tokens_take_pkce>("tokensTakePkce"),
            InstanceMethod<&StoreWrap::tokens_save_access>("tokensSaveAccessToken"),
            InstanceMethod<&StoreWrap::tokens_get_access>("tokensGetAccessToken"),
            InstanceMethod<&StoreWrap::tokens_remove_access>("tokensRemoveAccessToken"),
            InstanceMethod<&StoreWrap::tokens_close>("tokensClose"),
            // payloads
            InstanceMethod<&StoreWrap::payloads_upsert>("payloadsUpsert"),
            InstanceMethod<&StoreWrap::payloads_find>("payloadsFind"),
            InstanceMethod<&StoreWrap::payloads_find_by_uid>("payloadsFindByUid"),
            InstanceMethod<&StoreWrap::payloads_find_by_user_code>("payloadsFindByUserCode"),
            InstanceMethod<&StoreWrap::payloads_consume>("payloadsConsume"),
            InstanceMethod<&StoreWrap::payloads_destroy>("payloadsDestroy"),
            InstanceMethod<&StoreWrap::payloads_revoke_by_grant_id>("payloadsRevokeByGrantId"),
        });
  }

  // Made only by open() (index.js hides the class): the argument is an External of the Store.
  explicit StoreWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StoreWrap>(info) {
    if (info.Length() != 1 || !info[0].IsExternal()) {
      throw Napi::TypeError::New(info.Env(), "authstore: a Store is made by authstore.open()");
    }
    store_ = *info[0].As<Napi::External<Store>>().Data();
  }

 private:
  template <class T, class Parse>
  Napi::Value call(const Napi::CallbackInfo& info, Parse&& parse) {
    return run_call<T>(info, store_, [&](Args& a) -> Start<T> { return parse(a); });
  }

  Napi::Value backend(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), store_.backend());
  }

  Napi::Value close(const Napi::CallbackInfo& info) {
    auto copy = std::make_shared<Store>(store_);
    return run_blocking(
        info.Env(), [copy] { copy->close(); },
        [copy](Napi::Env env, Napi::Promise::Deferred& d) { d.Resolve(env.Undefined()); });
  }

  Napi::Value metrics_prometheus(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), store_.metrics().prometheus());
  }

  Napi::Value metrics_operations(const Napi::CallbackInfo& info) {
    Args a(info);
    try {
      const std::string store = a.str(0, "store");
      const std::string op = a.str(1, "op");
      const std::string outcome = a.str(2, "outcome");
      for (int c = 0; c <= static_cast<int>(StatusCode::kInternal); ++c) {
        const auto code = static_cast<StatusCode>(c);
        if (to_string(code) == outcome && (c < 8 || c >= 16)) {
          return Napi::Number::New(info.Env(),
                                   static_cast<double>(store_.metrics().operations(store, op, code)));
        }
      }
      throw InputError{"outcome", "expected a status name such as \"ok\" or \"not_found\""};
    } catch (const InputError& e) {
      throw make_error(info.Env(), e);
    }
  }

  Napi::Value metrics_security_events(const Napi::CallbackInfo& info) {
    Args a(info);
    try {
      const std::string event = a.str(0, "event");
      for (int e = 0; e < static_cast<int>(SecurityEvent::kCount_); ++e) {
        const auto ev = static_cast<SecurityEvent>(e);
        if (to_string(ev) == event) {
          return Napi::Number::New(info.Env(), static_cast<double>(store_.metrics().security_events(ev)));
        }
      }
      throw InputError{"event", "expected a security event name such as \"code_replay\""};
    } catch (const InputError& e) {
      throw make_error(info.Env(), e);
    }
  }

  // ---- codes ----
  Napi::Value codes_issue(const Napi::CallbackInfo& info) {
    return call<IssuedCode>(info, [](Args& a) -> Start<IssuedCode> {
      return [g = code_grant_from(a.obj(0, "grant"))](Store& s, Callback<IssuedCode> cb) {
        s.codes().issue_async(g, std::move(cb));
      };
    });
  }
  Napi::Value codes_peek(const Napi::CallbackInfo& info) {
    return call<CodeRecord>(info, [](Args& a) -> Start<CodeRecord> {
      return [c = a.str(0, "code")](Store& s, Callback<CodeRecord> cb) {
        s.codes().peek_async(c, std::move(cb));
      };
    });
  }
  Napi::Value codes_consume(const Napi::CallbackInfo& info) {
    return call<CodeRecord>(info, [](Args& a) -> Start<CodeRecord> {
      return [c = a.str(0, "code")](Store& s, Callback<CodeRecord> cb) {
        s.codes().consume_async(c, std::move(cb));
      };
    });
  }

  // ---- refresh ----
  Napi::Value refresh_issue(const Napi::CallbackInfo& info) {
    return call<IssuedRefreshToken>(info, [](Args& a) -> Start<IssuedRefreshToken> {
      return [g = refresh_grant_from(a.obj(0, "grant"))](Store& s, Callback<IssuedRefreshToken> cb) {
        s.refresh().issue_async(g, std::move(cb));
      };
    });
  }
  Napi::Value refresh_rotate(const Napi::CallbackInfo& info) {
    return call<IssuedRefreshToken>(info, [](Args& a) -> Start<IssuedRefreshToken> {
      return [t = a.str(0, "token"), c = a.str(1, "clientId")](Store& s, Callback<IssuedRefreshToken> cb) {
        s.refresh().rotate_async(t, c, std::move(cb));
      };
    });
  }
  Napi::Value refresh_consume(const Napi::CallbackInfo& info) {
    return call<RefreshFamily>(info, [](Args& a) -> Start<RefreshFamily> {
      return [t = a.str(0, "token"), c = a.str_or(1, "clientId", "")](Store& s, Callback<RefreshFamily> cb) {
        s.refresh().consume_async(t, c, std::move(cb));
      };
    });
  }
  Napi::Value refresh_peek(const Napi::CallbackInfo& info) {
    return call<RefreshTokenInfo>(info, [](Args& a) -> Start<RefreshTokenInfo> {
      return [t = a.str(0, "token")](Store& s, Callback<RefreshTokenInfo> cb) {
        s.refresh().peek_async(t, std::move(cb));
      };
    });
  }
  Napi::Value refresh_store_jti(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [sub = a.str(0, "subject"), jti = a.str(1, "jti"), c = a.str(2, "clientId"),
              ttl = a.i64(3, "ttlMs")](Store& s, Callback<Done> cb) {
        s.refresh().store_jti_async(sub, jti, c, ttl, std::move(cb));
      };
    });
  }
  Napi::Value refresh_consume_jti(const Napi::CallbackInfo& info) {
    return call<JtiRecord>(info, [](Args& a) -> Start<JtiRecord> {
      return [sub = a.str(0, "subject"), jti = a.str(1, "jti")](Store& s, Callback<JtiRecord> cb) {
        s.refresh().consume_jti_async(sub, jti, std::move(cb));
      };
    });
  }
  Napi::Value refresh_revoke(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [t = a.str(0, "token")](Store& s, Callback<Done> cb) {
        s.refresh().revoke_async(t, std::move(cb));
      };
    });
  }
  Napi::Value refresh_revoke_family(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [f = a.str(0, "familyId")](Store& s, Callback<Done> cb) {
        s.refresh().revoke_family_async(f, std::move(cb));
      };
    });
  }
  Napi::Value refresh_revoke_subject(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [sub = a.str(0, "subject")](Store& s, Callback<Done> cb) {
        s.refresh().revoke_subject_async(sub, std::move(cb));
      };
    });
  }
  Napi::Value refresh_revoke_client(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [sub = a.str(0, "subject"), c = a.str(1, "clientId")](Store& s, Callback<Done> cb) {
        s.refresh().revoke_client_async(sub, c, std::move(cb));
      };
    });
  }
  Napi::Value refresh_revoke_grant(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [sub = a.str(0, "subject"), g = a.str(1, "grantId")](Store& s, Callback<Done> cb) {
        s.refresh().revoke_grant_async(sub, g, std::move(cb));
      };
    });
  }
  Napi::Value refresh_grant_live(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [sub = a.str(0, "subject"), c = a.str(1, "clientId"), g = a.str(2, "grantId"),
              iat = a.i64(3, "issuedAt")](Store& s, Callback<Done> cb) {
        s.refresh().grant_live_async(sub, c, g, iat, std::move(cb));
      };
    });
  }
  Napi::Value refresh_list(const Napi::CallbackInfo& info) {
    using Families = std::vector<RefreshFamily>;
    return call<Families>(info, [](Args& a) -> Start<Families> {
      return [sub = a.str(0, "subject")](Store& s, Callback<Families> cb) {
        s.refresh().list_async(sub, std::move(cb));
      };
    });
  }

  // ---- sessions ----
  Napi::Value sessions_get(const Napi::CallbackInfo& info) {
    return call<Session>(info, [](Args& a) -> Start<Session> {
      return [id = a.str(0, "id"), u = a.str(1, "userId"), t = a.str(2, "type")](
                 Store& s, Callback<Session> cb) { s.sessions().get_async(id, u, t, std::move(cb)); };
    });
  }
  Napi::Value sessions_upsert(const Napi::CallbackInfo& info) {
    return call<Session>(info, [](Args& a) -> Start<Session> {
      return [v = session_from(a.obj(0, "session"))](Store& s, Callback<Session> cb) {
        s.sessions().upsert_async(v, std::move(cb));
      };
    });
  }
  Napi::Value sessions_delete(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [id = a.str(0, "id"), u = a.str(1, "userId"), t = a.str(2, "type")](
                 Store& s, Callback<Done> cb) { s.sessions().delete_session_async(id, u, t, std::move(cb)); };
    });
  }
  Napi::Value sessions_get_all(const Napi::CallbackInfo& info) {
    using Sessions = std::vector<Session>;
    return call<Sessions>(info, [](Args& a) -> Start<Sessions> {
      return [u = a.str(0, "userId"), t = a.str(1, "type")](Store& s, Callback<Sessions> cb) {
        s.sessions().get_all_async(u, t, std::move(cb));
      };
    });
  }
  Napi::Value sessions_delete_all(const Napi::CallbackInfo& info) {
    return call<std::int64_t>(info, [](Args& a) -> Start<std::int64_t> {
      return [u = a.str(0, "userId"), t = a.str(1, "type")](Store& s, Callback<std::int64_t> cb) {
        s.sessions().delete_all_async(u, t, std::move(cb));
      };
    });
  }

  // ---- replay ----
  Napi::Value replay_reserve(const Napi::CallbackInfo& info) {
    return call<Reservation>(info, [](Args& a) -> Start<Reservation> {
      return
          [iss = a.str(0, "issuer"), jti = a.str(1, "jti"), exp = a.i64(2, "expiresAt")](
              Store& s, Callback<Reservation> cb) { s.replay().reserve_async(iss, jti, exp, std::move(cb)); };
    });
  }
  Napi::Value replay_release(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [r = reservation_from(a.obj(0, "reservation"))](Store& s, Callback<Done> cb) {
        s.replay().release_async(r, std::move(cb));
      };
    });
  }

  // ---- payloads ----
  Napi::Value payloads_upsert(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [w = payload_write_from(a.obj(0, "write"))](Store& s, Callback<Done> cb) {
        s.payloads().upsert_async(w, std::move(cb));
      };
    });
  }
  Napi::Value payloads_find(const Napi::CallbackInfo& info) {
    return call<StoredPayload>(info, [](Args& a) -> Start<StoredPayload> {
      return [m = a.str(0, "model"), id = a.str(1, "id")](Store& s, Callback<StoredPayload> cb) {
        s.payloads().find_async(m, id, std::move(cb));
      };
    });
  }
  Napi::Value payloads_find_by_uid(const Napi::CallbackInfo& info) {
    return call<StoredPayload>(info, [](Args& a) -> Start<StoredPayload> {
      return [m = a.str(0, "model"), uid = a.str(1, "uid")](Store& s, Callback<StoredPayload> cb) {
        s.payloads().find_by_uid_async(m, uid, std::move(cb));
      };
    });
  }
  Napi::Value payloads_find_by_user_code(const Napi::CallbackInfo& info) {
    return call<StoredPayload>(info, [](Args& a) -> Start<StoredPayload> {
      return [m = a.str(0, "model"), c = a.str(1, "userCode")](Store& s, Callback<StoredPayload> cb) {
        s.payloads().find_by_user_code_async(m, c, std::move(cb));
      };
    });
  }
  Napi::Value payloads_consume(const Napi::CallbackInfo& info) {
    return call<StoredPayload>(info, [](Args& a) -> Start<StoredPayload> {
      return [m = a.str(0, "model"), id = a.str(1, "id")](Store& s, Callback<StoredPayload> cb) {
        s.payloads().consume_async(m, id, std::move(cb));
      };
    });
  }
  Napi::Value payloads_destroy(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [m = a.str(0, "model"), id = a.str(1, "id")](Store& s, Callback<Done> cb) {
        s.payloads().destroy_async(m, id, std::move(cb));
      };
    });
  }
  Napi::Value payloads_revoke_by_grant_id(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [g = a.str(0, "grantId")](Store& s, Callback<Done> cb) {
        s.payloads().revoke_by_grant_id_async(g, std::move(cb));
      };
    });
  }

  // ---- client tokens ----
  Napi::Value tokens_save(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [k = a.str(0, "key"), r = token_record_from(a.obj(1, "record")), ttl = a.i64_or(2, "ttlMs", 0)](
                 Store& s, Callback<Done> cb) { s.client_tokens().save_async(k, r, ttl, std::move(cb)); };
    });
  }
  Napi::Value tokens_get(const Napi::CallbackInfo& info) {
    return call<TokenRecord>(info, [](Args& a) -> Start<TokenRecord> {
      return [k = a.str(0, "key")](Store& s, Callback<TokenRecord> cb) {
        s.client_tokens().get_async(k, std::move(cb));
      };
    });
  }
  Napi::Value tokens_has(const Napi::CallbackInfo& info) {
    return call<bool>(info, [](Args& a) -> Start<bool> {
      return [k = a.str(0, "key")](Store& s, Callback<bool> cb) {
        s.client_tokens().has_async(k, std::move(cb));
      };
    });
  }
  Napi::Value tokens_remove(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [k = a.str(0, "key")](Store& s, Callback<Done> cb) {
        s.client_tokens().remove_async(k, std::move(cb));
      };
    });
  }
  Napi::Value tokens_list(const Napi::CallbackInfo& info) {
    return call<KeyPage>(info, [](Args& a) -> Start<KeyPage> {
      const std::int64_t limit = a.i64_or(2, "limit", 100);
      if (limit < 0) throw InputError{"limit", "expected 1..1000"};
      return [p = a.str(0, "prefix"), c = a.str_or(1, "cursor", ""), n = static_cast<std::size_t>(limit)](
                 Store& s, Callback<KeyPage> cb) { s.client_tokens().list_async(p, c, n, std::move(cb)); };
    });
  }
  Napi::Value tokens_save_credentials(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [u = a.str(0, "serverUrl"), c = client_credentials_from(a.obj(1, "credentials")),
              ttl = a.i64_or(2, "ttlMs", 0)](Store& s, Callback<Done> cb) {
        s.client_tokens().save_client_credentials_async(u, c, ttl, std::move(cb));
      };
    });
  }
  Napi::Value tokens_get_credentials(const Napi::CallbackInfo& info) {
    return call<ClientCredentials>(info, [](Args& a) -> Start<ClientCredentials> {
      return [u = a.str(0, "serverUrl")](Store& s, Callback<ClientCredentials> cb) {
        s.client_tokens().get_client_credentials_async(u, std::move(cb));
      };
    });
  }
  Napi::Value tokens_remove_credentials(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [u = a.str(0, "serverUrl")](Store& s, Callback<Done> cb) {
        s.client_tokens().remove_client_credentials_async(u, std::move(cb));
      };
    });
  }
  Napi::Value tokens_save_pkce(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [u = a.str(0, "userId"), st = a.str(1, "state"), p = pkce_values_from(a.obj(2, "pkce")),
              ttl = a.i64_or(3, "ttlMs", 0)](Store& s, Callback<Done> cb) {
        s.client_tokens().save_pkce_async(u, st, p, ttl, std::move(cb));
      };
    });
  }
  Napi::Value tokens_take_pkce(const Napi::CallbackInfo& info) {
    return call<PkceValues>(info, [](Args& a) -> Start<PkceValues> {
      return [u = a.str(0, "userId"), st = a.str(1, "state")](Store& s, Callback<PkceValues> cb) {
        s.client_tokens().take_pkce_async(u, st, std::move(cb));
      };
    });
  }
  Napi::Value tokens_save_access(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [u = a.str(0, "userId"), url = a.str(1, "url"), r = token_record_from(a.obj(2, "record")),
              ttl = a.i64_or(3, "ttlMs", 0)](Store& s, Callback<Done> cb) {
        s.client_tokens().save_access_token_async(u, url, r, ttl, std::move(cb));
      };
    });
  }
  Napi::Value tokens_get_access(const Napi::CallbackInfo& info) {
    return call<TokenRecord>(info, [](Args& a) -> Start<TokenRecord> {
      return [u = a.str(0, "userId"), url = a.str(1, "url")](Store& s, Callback<TokenRecord> cb) {
        s.client_tokens().get_access_token_async(u, url, std::move(cb));
      };
    });
  }
  Napi::Value tokens_remove_access(const Napi::CallbackInfo& info) {
    return call<Done>(info, [](Args& a) -> Start<Done> {
      return [u = a.str(0, "userId"), url = a.str(1, "url")](Store& s, Callback<Done> cb) {
        s.client_tokens().remove_access_token_async(u, url, std::move(cb));
      };
    });
  }
  Napi::Value tokens_close(const Napi::CallbackInfo& info) {
    auto copy = std::make_shared<Store>(store_);
    return run_blocking(
        info.Env(), [copy] { copy->client_tokens().close(); },
        [copy](Napi::Env env, Napi::Promise::Deferred& d) { d.Resolve(env.Undefined()); });
  }

  Store store_;
};

}  // namespace

void init_store_class(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = StoreWrap::define(env);
  addon_data(env).store_class = Napi::Persistent(cls);
  exports.Set("NativeStore", cls);
}

Napi::Object new_store_object(Napi::Env env, Store& store) {
  return addon_data(env).store_class.New({Napi::External<Store>::New(env, &store)});
}

}  // namespace authstore::node
