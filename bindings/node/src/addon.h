// The authstore N-API addon: shared declarations.
//
// Threads. Every store call is started from the JavaScript thread and answered there through a
// Promise; the JavaScript thread never waits for a backend:
//  * Redis: the _async call is made on the JavaScript thread (it only queues the request); its
//    callback runs on the Redis client's I/O thread and hands the result back through one
//    thread-safe function per environment (`AddonData::completions`).
//  * memory: its _async calls do their work on the calling thread, in short mutex sections with no
//    I/O, so they are made on the JavaScript thread itself; the callback runs there, inline, and
//    the promise is settled before the call returns (its reactions still run later, as
//    microtasks). No thread hop: a pool thread would cost tens of microseconds per call.
//  * SQLite: its _async calls also do their work on the calling thread, but may wait (for the
//    group-commit transaction, or for another process's lock), so they are made on a libuv pool
//    thread (napi async work); the callback runs there, inline, and the result is settled in the
//    work's completion on the JavaScript thread.
//  A memory or SQLite callback that would ever come from elsewhere still goes through
//  `completions`, so no result can be lost.
// Every pending call keeps a copy of its Store handle, released on the JavaScript thread: the last
// handle is never dropped inside a store callback (which on Redis would join the I/O thread from
// itself).
#pragma once

#include <napi.h>

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authstore/authstore.h"

namespace authstore::node {

class Pending;

// Results on their way back to the JavaScript thread. Other threads (the Redis I/O thread, a pool
// thread whose callback did not run inline) push finished calls here; the first push after a
// drain makes one thread-safe-function call, and that call settles every result queued by then.
// One wake-up of the event loop and one lock per batch, not per call: with 256 calls in flight on
// Redis the I/O thread hands over whole batches (as the Python binding's LoopDispatcher does).
class CompletionQueue;
// Drains the queue on the JavaScript thread (env is null while the environment shuts down).
void drain_completions(Napi::Env env, Napi::Function, std::nullptr_t*, CompletionQueue* queue);
using Completions = Napi::TypedThreadSafeFunction<std::nullptr_t, CompletionQueue, drain_completions>;

class CompletionQueue {
 public:
  // Thread-safe. Hands `p` to the JavaScript thread.
  void push(Pending* p);
  // JavaScript thread: takes every queued call (the next push schedules a new drain).
  std::vector<Pending*> take();
  Completions tsfn;  // set once at module init, on the JavaScript thread

 private:
  std::mutex mu_;
  std::vector<Pending*> items_;
  bool scheduled_ = false;
};

// Result objects are built by JavaScript functions that index.js registers (setFactories), one per
// shape, from positional values: an object literal made in JavaScript costs a fraction of setting
// its properties one by one through N-API (each by a C string: a UTF-8 decode, a string-table
// lookup and a map transition; measured: 2x the throughput of a Redis peek with 256 in flight).
enum class Shape : std::uint8_t {
  kResult,             // (status, message | undefined, value | undefined)
  kIssuedCode,         // IssuedCode's fields in order
  kCodeRecord,         // the grant's 12 fields, then issuedAt, expiresAt, consumed
  kFamily,             // RefreshFamily
  kIssuedRefresh,      // (token, family)
  kRefreshInfo,        // (state, family)
  kJti,                // JtiRecord
  kSession,            // Session
  kReservation,        // Reservation
  kTokenRecord,        // TokenRecord
  kClientCredentials,  // ClientCredentials
  kPkce,               // PkceValues
  kPayload,            // StoredPayload
  kKeyPage,            // (keys, nextCursor)
  kCount
};
// The names setFactories expects, indexed by Shape.
extern const char* const kShapeNames[static_cast<std::size_t>(Shape::kCount)];
// Calls the factory for `shape` (a JavaScript exception if index.js did not register it).
Napi::Value make(Napi::Env env, Shape shape, std::initializer_list<napi_value> values);

// Per-environment state (main thread and each worker thread have their own).
struct AddonData {
  Napi::FunctionReference error_class;  // AuthstoreError, registered by index.js.
  Napi::FunctionReference store_class;
  Napi::FunctionReference clock_class;
  // Result builders registered by index.js (see Shape).
  std::array<Napi::FunctionReference, static_cast<std::size_t>(Shape::kCount)> factories;
  // Shared with every pending call (which may outlive a drain on another thread's side).
  std::shared_ptr<CompletionQueue> completions = std::make_shared<CompletionQueue>();

  std::int64_t in_flight = 0;  // pending calls; read and written on the JavaScript thread only.

  // A call starts / ends: keeps the event loop alive while any call is pending.
  void begin(Napi::Env env);
  void end(Napi::Env env);
};
AddonData& addon_data(Napi::Env env);

// Bad input found by the binding itself (wrong type, unknown property, out-of-range number):
// becomes an AuthstoreError with code "invalid_argument" and the JavaScript name of the field.
struct InputError {
  std::string field;
  std::string message;
};

// An AuthstoreError for a status (its field translated to the JavaScript property name).
Napi::Error make_error(Napi::Env env, const Status& status);
Napi::Error make_error(Napi::Env env, const InputError& error);
// "redirect_uri" -> "redirectUri" (the binding's property names); other text unchanged.
std::string js_field_name(std::string_view field);

// Reading arguments. Each throws InputError naming the field.
std::string to_string_arg(const Napi::Value& v, const std::string& field);
std::int64_t to_int_arg(const Napi::Value& v, const std::string& field);
bool to_bool_arg(const Napi::Value& v, const std::string& field);

// Reads the properties of a plain object; finish() refuses any property it was not asked about
// (a misspelt option or field is an error, never silently ignored).
class ObjectReader {
 public:
  ObjectReader(const Napi::Value& v, std::string path);
  void str(const char* name, std::string& out);
  void i64(const char* name, std::int64_t& out);
  void size(const char* name, std::size_t& out);
  void u16(const char* name, std::uint16_t& out);
  void boolean(const char* name, bool& out);
  // null or absent -> nullopt.
  void optional_i64(const char* name, std::optional<std::int64_t>& out);
  // String (UTF-8 bytes) or Buffer / Uint8Array (raw bytes).
  void bytes(const char* name, std::string& out);
  // The property's value when present and not undefined.
  std::optional<Napi::Value> get(const char* name);
  std::string field(const char* name) const { return path_.empty() ? name : path_ + "." + name; }
  void finish();

 private:
  Napi::Object obj_;
  std::string path_;
  std::vector<std::string> seen_;
};

// Positional arguments of a call.
class Args {
 public:
  explicit Args(const Napi::CallbackInfo& info) : info_(info) {}
  Napi::Env env() const { return info_.Env(); }
  std::string str(std::size_t i, const char* field) const;
  std::string str_or(std::size_t i, const char* field, std::string fallback) const;
  std::int64_t i64(std::size_t i, const char* field) const;
  std::int64_t i64_or(std::size_t i, const char* field, std::int64_t fallback) const;
  ObjectReader obj(std::size_t i, const char* field) const;
  bool present(std::size_t i) const { return i < info_.Length() && !info_[i].IsUndefined(); }
  const Napi::CallbackInfo& info() const { return info_; }

 private:
  const Napi::CallbackInfo& info_;
};

// ---- C++ -> JavaScript values ----
Napi::Value to_js(Napi::Env env, const Done&);
Napi::Value to_js(Napi::Env env, const bool& v);
Napi::Value to_js(Napi::Env env, const std::int64_t& v);
Napi::Value to_js(Napi::Env env, const IssuedCode& v);
Napi::Value to_js(Napi::Env env, const CodeRecord& v);
Napi::Value to_js(Napi::Env env, const RefreshFamily& v);
Napi::Value to_js(Napi::Env env, const IssuedRefreshToken& v);
Napi::Value to_js(Napi::Env env, const RefreshTokenInfo& v);
Napi::Value to_js(Napi::Env env, const JtiRecord& v);
Napi::Value to_js(Napi::Env env, const Session& v);
Napi::Value to_js(Napi::Env env, const Reservation& v);
Napi::Value to_js(Napi::Env env, const TokenRecord& v);
Napi::Value to_js(Napi::Env env, const ClientCredentials& v);
Napi::Value to_js(Napi::Env env, const PkceValues& v);
Napi::Value to_js(Napi::Env env, const KeyPage& v);
Napi::Value to_js(Napi::Env env, const StoredPayload& v);
Napi::Value to_js(Napi::Env env, const std::string& v);
template <class T>
Napi::Value to_js(Napi::Env env, const std::vector<T>& items) {
  Napi::Array a = Napi::Array::New(env, items.size());
  for (std::size_t i = 0; i < items.size(); ++i) a.Set(static_cast<std::uint32_t>(i), to_js(env, items[i]));
  return a;
}

// ---- JavaScript -> C++ values ----
CodeGrant code_grant_from(ObjectReader r);
RefreshGrant refresh_grant_from(ObjectReader r);
Session session_from(ObjectReader r);
Reservation reservation_from(ObjectReader r);
TokenRecord token_record_from(ObjectReader r);
ClientCredentials client_credentials_from(ObjectReader r);
PkceValues pkce_values_from(ObjectReader r);
PayloadWrite payload_write_from(ObjectReader r);
// A LogHook that calls `fn(level, message)` on the JavaScript thread, from any thread, without
// waiting (a thread-safe function that does not keep the event loop alive).
LogHook log_hook(Napi::Env env, Napi::Function fn);
// Options (the clock option takes a ManualClock made by this addon).
Options options_from(Napi::Env env, const Napi::Value& v);

// ---- pending calls ----

// One call in flight. Created and destroyed on the JavaScript thread.
class Pending {
 public:
  Pending(Napi::Env env, Store store)
      : deferred_(Napi::Promise::Deferred::New(env)),
        store_(std::move(store)),
        completions_(addon_data(env).completions) {}
  virtual ~Pending() = default;
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;

  Napi::Promise promise() const { return deferred_.Promise(); }
  Store& store() { return store_; }
  // Thread-safe: the way back to the JavaScript thread from any other.
  CompletionQueue& completions() { return *completions_; }
  // Resolves (outcome) or rejects (error) the promise with the stored result.
  virtual void settle(Napi::Env env) = 0;
  void reject(const Napi::Error& e) { deferred_.Reject(e.Value()); }
  // Set by the callback when it ran inline on the thread that made the call (see above).
  bool answered_inline = false;

 protected:
  // {status, message?, value?} for outcomes; an AuthstoreError for errors.
  void settle_status(Napi::Env env, const Status& status, std::optional<Napi::Value> value);

 private:
  Napi::Promise::Deferred deferred_;
  Store store_;  // keeps the store alive until the result is back on the JavaScript thread.
  std::shared_ptr<CompletionQueue> completions_;
};

template <class T>
class PendingResult final : public Pending {
 public:
  using Pending::Pending;
  void settle(Napi::Env env) override {
    const Result<T>& r = *result;
    std::optional<Napi::Value> value;
    if (r.has_value() && !std::is_same_v<T, Done>) value = to_js(env, r.value());
    settle_status(env, r.status(), value);
  }
  std::optional<Result<T>> result;
};

// The callback runs: store the result and hand it to the JavaScript thread.
void deliver(Pending* pending);
// Starts `call` (on this thread for Redis and memory, on a pool thread for SQLite); returns the promise.
Napi::Value dispatch(Napi::Env env, Pending* pending, std::function<void()> call);

// A whole store call: parse the arguments (InputError -> rejected promise), then run
// `start(store, callback)` where the callback is the pending call's.
template <class T, class Parse>
Napi::Value run_call(const Napi::CallbackInfo& info, const Store& store, Parse&& parse) {
  Napi::Env env = info.Env();
  Args args(info);
  std::function<void(Store&, Callback<T>)> start;
  try {
    start = parse(args);
  } catch (const InputError& e) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(make_error(env, e).Value());
    return deferred.Promise();
  }
  auto* p = new PendingResult<T>(env, store);
  Callback<T> done = [p](Result<T> r) {
    p->result.emplace(std::move(r));
    deliver(p);
  };
  return dispatch(env, p, [p, start = std::move(start), done = std::move(done)]() mutable {
    start(p->store(), std::move(done));
  });
}

// Runs `work` on a pool thread; then `finish` on the JavaScript thread (a promise settles there).
Napi::Promise run_blocking(Napi::Env env, std::function<void()> work,
                           std::function<void(Napi::Env, Napi::Promise::Deferred&)> finish);

// Module parts.
void init_store_class(Napi::Env env, Napi::Object exports);
Napi::Object new_store_object(Napi::Env env, Store& store);  // a NativeStore holding a copy.
void init_clock_class(Napi::Env env, Napi::Object exports);
std::shared_ptr<Clock> clock_of(const Napi::Value& v);  // nullptr unless a ManualClock.

}  // namespace authstore::node
