// Module entry: open(), ManualClock, the PKCE and session-id helpers, createKeyFile().
#include "addon.h"

namespace authstore::node {
namespace {

class ClockWrap final : public Napi::ObjectWrap<ClockWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "ManualClock",
                       {InstanceMethod<&ClockWrap::now>("now"), InstanceMethod<&ClockWrap::set>("set"),
                        InstanceMethod<&ClockWrap::advance>("advance")});
  }
  explicit ClockWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ClockWrap>(info) {
    clock_ = std::make_shared<ManualClock>(int_arg(info, 0, "start"));
  }
  std::shared_ptr<ManualClock> clock() const { return clock_; }

 private:
  static std::int64_t int_arg(const Napi::CallbackInfo& info, std::size_t i, const char* field) {
    try {
      return Args(info).i64(i, field);
    } catch (const InputError& e) {
      throw make_error(info.Env(), e);
    }
  }
  Napi::Value now(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(clock_->now()));
  }
  void set(const Napi::CallbackInfo& info) { clock_->set(int_arg(info, 0, "t")); }
  void advance(const Napi::CallbackInfo& info) { clock_->advance(int_arg(info, 0, "ms")); }

  std::shared_ptr<ManualClock> clock_;
};

// Rejected promise for bad input found before anything ran.
Napi::Value rejected(Napi::Env env, const InputError& e) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(make_error(env, e).Value());
  return d.Promise();
}

// open(url, options?) -> Promise<NativeStore>. open() reads the store (the key marker), so it runs
// on a pool thread.
Napi::Value open_store(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string url;
  Options options;
  try {
    Args a(info);
    url = a.str(0, "url");
    options = options_from(env, a.present(1) ? info[1] : env.Undefined());
  } catch (const InputError& e) {
    return rejected(env, e);
  }
  auto result = std::make_shared<std::optional<Result<Store>>>();
  return run_blocking(
      env,
      [result, url = std::move(url), options = std::move(options)] { result->emplace(open(url, options)); },
      [result](Napi::Env e, Napi::Promise::Deferred& d) {
        Result<Store>& r = **result;
        if (r.ok()) {
          d.Resolve(new_store_object(e, r.value()));
        } else {
          d.Reject(make_error(e, r.status()).Value());
        }
        result->reset();  // the Store handle goes here, on the JavaScript thread.
      });
}

Napi::Value create_key_file_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  try {
    path = Args(info).str(0, "path");
  } catch (const InputError& e) {
    return rejected(env, e);
  }
  auto status = std::make_shared<Status>();
  return run_blocking(
      env, [status, path = std::move(path)] { *status = create_key_file(path); },
      [status](Napi::Env e, Napi::Promise::Deferred& d) {
        if (status->ok()) {
          d.Resolve(e.Undefined());
        } else {
          d.Reject(make_error(e, *status).Value());
        }
      });
}

// verifyPkce(challenge, method, verifier, allowPlain?): returns undefined when the verifier
// matches; throws an AuthstoreError (code invalid_argument, field codeVerifier) otherwise.
Napi::Value verify_pkce_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    Args a(info);
    const std::string challenge = a.str(0, "codeChallenge");
    const std::string method = a.str(1, "codeChallengeMethod");
    const std::string verifier = a.str(2, "codeVerifier");
    const bool allow_plain = a.present(3) && to_bool_arg(info[3], "allowPlain");
    Status s = verify_pkce(challenge, method, verifier, allow_plain);
    if (!s.ok()) throw make_error(env, s);
    return env.Undefined();
  } catch (const InputError& e) {
    throw make_error(env, e);
  }
}

Napi::Value pkce_s256_challenge_js(const Napi::CallbackInfo& info) {
  try {
    return Napi::String::New(info.Env(), pkce_s256_challenge(Args(info).str(0, "codeVerifier")));
  } catch (const InputError& e) {
    throw make_error(info.Env(), e);
  }
}

Napi::Value pkce_new_verifier_js(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), pkce_new_verifier());
}

Napi::Value new_session_id_js(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), SessionStore::new_session_id());
}

// index.js hands over its AuthstoreError class: every failure is an instance of it.
void set_error_class(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsFunction()) {
    throw Napi::TypeError::New(info.Env(), "setErrorClass(cls): expected a class");
  }
  addon_data(info.Env()).error_class = Napi::Persistent(info[0].As<Napi::Function>());
}

void set_factories(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(info.Env(), "setFactories(f): expected an object of functions");
  }
  Napi::Object f = info[0].As<Napi::Object>();
  AddonData& data = addon_data(info.Env());
  for (std::size_t i = 0; i < data.factories.size(); ++i) {
    Napi::Value v = f.Get(kShapeNames[i]);
    if (!v.IsFunction()) {
      throw Napi::TypeError::New(info.Env(),
                                 std::string("setFactories: ") + kShapeNames[i] + " is not a function");
    }
    data.factories[i] = Napi::Persistent(v.As<Napi::Function>());
  }
}

}  // namespace

std::shared_ptr<Clock> clock_of(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  AddonData& data = addon_data(v.Env());
  if (!v.As<Napi::Object>().InstanceOf(data.clock_class.Value())) return nullptr;
  return ClockWrap::Unwrap(v.As<Napi::Object>())->clock();
}

void init_clock_class(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = ClockWrap::define(env);
  addon_data(env).clock_class = Napi::Persistent(cls);
  exports.Set("ManualClock", cls);
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);  // deleted with the environment.
  data->completions->tsfn = Completions::New(env, "authstore.completions", 0, 1);
  data->completions->tsfn.Unref(env);  // referenced only while calls are pending (AddonData::begin).
  init_store_class(env, exports);
  init_clock_class(env, exports);
  exports.Set("open", Napi::Function::New(env, open_store, "open"));
  exports.Set("createKeyFile", Napi::Function::New(env, create_key_file_js, "createKeyFile"));
  exports.Set("verifyPkce", Napi::Function::New(env, verify_pkce_js, "verifyPkce"));
  exports.Set("pkceS256Challenge", Napi::Function::New(env, pkce_s256_challenge_js, "pkceS256Challenge"));
  exports.Set("pkceNewVerifier", Napi::Function::New(env, pkce_new_verifier_js, "pkceNewVerifier"));
  exports.Set("newSessionId", Napi::Function::New(env, new_session_id_js, "newSessionId"));
  exports.Set("setErrorClass", Napi::Function::New(env, set_error_class, "setErrorClass"));
  exports.Set("setFactories", Napi::Function::New(env, set_factories, "setFactories"));
  return exports;
}

}  // namespace authstore::node

namespace {
// NODE_API_MODULE pastes the function's name into an identifier: it needs an unqualified one.
Napi::Object init_authstore_addon(Napi::Env env, Napi::Object exports) {
  return authstore::node::init(env, exports);
}
}  // namespace
NODE_API_MODULE(authstore, init_authstore_addon)
