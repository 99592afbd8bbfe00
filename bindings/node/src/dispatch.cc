// Pending calls: where a store call runs and how its result reaches the JavaScript thread
// (see addon.h for the threading rules).
#include "addon.h"

namespace authstore::node {
namespace {

// The pending call whose _async call this thread is making right now (the JavaScript thread for
// memory, a pool thread for SQLite): its callback, when it runs inline, leaves the result for the
// caller to settle.
thread_local Pending* t_inline_call = nullptr;

// Makes `call` with `p` as this thread's inline call (restored after, also on an exception).
void call_marked(Pending* p, const std::function<void()>& call) {
  struct Restore {
    Pending* previous;
    ~Restore() { t_inline_call = previous; }
  } restore{t_inline_call};
  t_inline_call = p;
  call();
}

void finish(Napi::Env env, Pending* p) {
  try {
    p->settle(env);
  } catch (const Napi::Error& e) {
    // Building the result failed (out of memory in the JavaScript heap, say): the caller gets
    // that error, and the calls settled after this one in the same batch are not held up.
    p->reject(e);
  }
  delete p;  // releases the call's Store handle, on the JavaScript thread.
  addon_data(env).end(env);
}

// Makes a SQLite call on a libuv pool thread.
class PoolCall final : public Napi::AsyncWorker {
 public:
  PoolCall(Napi::Env env, Pending* p, std::function<void()> call)
      : Napi::AsyncWorker(env, "authstore.call"), pending_(p), call_(std::move(call)) {}
  void Execute() override { call_marked(pending_, call_); }
  void OnOK() override {
    // Not answered inline: the callback posts to the completions function instead.
    if (pending_->answered_inline) finish(Env(), pending_);
  }

 private:
  Pending* pending_;
  std::function<void()> call_;
};

// Blocking work (open, close, key file creation) on a pool thread.
class PoolWork final : public Napi::AsyncWorker {
 public:
  PoolWork(Napi::Env env, std::function<void()> work,
           std::function<void(Napi::Env, Napi::Promise::Deferred&)> finish)
      : Napi::AsyncWorker(env, "authstore.work"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        finish_(std::move(finish)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }
  void Execute() override { work_(); }
  void OnOK() override { finish_(Env(), deferred_); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<void(Napi::Env, Napi::Promise::Deferred&)> finish_;
};

}  // namespace

AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

void AddonData::begin(Napi::Env env) {
  if (in_flight++ == 0) completions->tsfn.Ref(env);
}

void AddonData::end(Napi::Env env) {
  if (--in_flight == 0) completions->tsfn.Unref(env);
}

const char* const kShapeNames[static_cast<std::size_t>(Shape::kCount)] = {
    "result",  "issuedCode", "codeRecord",  "family",      "issuedRefresh",     "refreshInfo",
    "jti",     "session",    "reservation", "tokenRecord", "clientCredentials", "pkce",
    "payload", "keyPage"};

Napi::Value make(Napi::Env env, Shape shape, std::initializer_list<napi_value> values) {
  const Napi::FunctionReference& f = addon_data(env).factories[static_cast<std::size_t>(shape)];
  if (f.IsEmpty()) {
    throw Napi::Error::New(
        env, "authstore: load the addon through the package (index.js registers its result builders)");
  }
  return f.Call(values);
}

void CompletionQueue::push(Pending* p) {
  {
    std::lock_guard lock(mu_);
    items_.push_back(p);
    if (scheduled_) return;  // the drain already asked for takes this one too
    scheduled_ = true;
  }
  // The call queue is unbounded, so a non-blocking call is only refused while the environment
  // shuts down; the pending calls are then left to the process's end (deleting one here could
  // drop the last Store handle inside a store callback).
  (void)tsfn.NonBlockingCall(this);
}

std::vector<Pending*> CompletionQueue::take() {
  std::vector<Pending*> out;
  std::lock_guard lock(mu_);
  out.swap(items_);
  scheduled_ = false;
  return out;
}

void drain_completions(Napi::Env env, Napi::Function, std::nullptr_t*, CompletionQueue* queue) {
  // The batch is taken first: `queue` is not touched again (deleting the last call that holds it
  // may destroy it while the environment shuts down).
  std::vector<Pending*> batch = queue->take();
  for (Pending* p : batch) {
    if (env == nullptr) {
      // The environment is going away: nothing can be settled. The Store handle is released
      // here, on the JavaScript thread, like every other.
      delete p;
    } else {
      finish(env, p);
    }
  }
}

void deliver(Pending* pending) {
  if (t_inline_call == pending) {
    pending->answered_inline = true;
    return;
  }
  // From the Redis I/O thread (or any thread but the one making this call).
  pending->completions().push(pending);
}

Napi::Value dispatch(Napi::Env env, Pending* pending, std::function<void()> call) {
  Napi::Promise promise = pending->promise();
  addon_data(env).begin(env);
  const std::string& backend = pending->store().backend();
  if (backend.rfind("redis", 0) == 0) {
    call();  // only queues the request; the callback comes from the I/O thread.
  } else if (backend == "memory") {
    // A short mutex section, no I/O: made here. The promise settles now when the callback ran
    // inline (it still resolves in a later microtask); otherwise through `completions`.
    call_marked(pending, call);
    if (pending->answered_inline) finish(env, pending);
  } else {
    (new PoolCall(env, pending, std::move(call)))->Queue();
  }
  return promise;
}

Napi::Promise run_blocking(Napi::Env env, std::function<void()> work,
                           std::function<void(Napi::Env, Napi::Promise::Deferred&)> finish) {
  auto* w = new PoolWork(env, std::move(work), std::move(finish));
  Napi::Promise promise = w->promise();
  w->Queue();
  return promise;
}

void Pending::settle_status(Napi::Env env, const Status& status, std::optional<Napi::Value> value) {
  if (status.is_error()) {
    deferred_.Reject(make_error(env, status).Value());
    return;
  }
  const std::string_view code = to_string(status.code());
  Napi::Value undefined = env.Undefined();
  Napi::Value message = undefined;
  if (!status.ok() && !status.message().empty()) message = Napi::String::New(env, status.message());
  deferred_.Resolve(
      make(env, Shape::kResult,
           {Napi::String::New(env, code.data(), code.size()), message, value ? *value : undefined}));
}

}  // namespace authstore::node

namespace authstore::node {
namespace {

struct LogLine {
  LogLevel level;
  std::string message;
};

void call_log(Napi::Env env, Napi::Function fn, std::nullptr_t*, LogLine* line) {
  std::unique_ptr<LogLine> owned(line);
  if (env == nullptr) return;  // the environment is going away
  // A hook that throws is an uncaught exception of the process, as for any callback.
  fn.Call(
      {Napi::String::New(env, std::string(to_string(line->level))), Napi::String::New(env, line->message)});
}

using LogFunction = Napi::TypedThreadSafeFunction<std::nullptr_t, LogLine, call_log>;

// Owns the thread-safe function; released (from whichever thread drops the hook) with the store.
class LogSink {
 public:
  explicit LogSink(LogFunction fn) : fn_(fn) {}
  ~LogSink() { fn_.Release(); }
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;
  void log(LogLevel level, std::string_view message) {
    auto* line = new LogLine{level, std::string(message)};
    if (fn_.NonBlockingCall(line) != napi_ok) delete line;  // closing: the line is dropped
  }

 private:
  LogFunction fn_;
};

}  // namespace

LogHook log_hook(Napi::Env env, Napi::Function fn) {
  LogFunction tsfn = LogFunction::New(env, fn, "authstore.log", 0, 1);
  tsfn.Unref(env);  // logging never keeps the process alive
  auto sink = std::make_shared<LogSink>(tsfn);
  return [sink](LogLevel level, std::string_view message) { sink->log(level, message); };
}

}  // namespace authstore::node
