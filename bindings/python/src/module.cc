// The `authstore._authstore` extension: statuses, results, errors, clocks, options, open() and
// Store. The five stores' methods are in stores.cc; the record types in types.cc.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>

#include "authstore/authstore.h"
#include "convert.h"

namespace authstore::python {

void bind_types(py::module_& m);  // types.cc

namespace {

// authstore._errors' classes by status code, looked up once at import.
py::dict& error_classes() {
  static auto* classes = new py::dict();  // leaked on purpose: outlives interpreter shutdown order
  return *classes;
}
py::object& base_error_class() {
  static auto* base = new py::object();
  return *base;
}
py::object& settle_function() {
  static auto* settle = new py::object();
  return *settle;
}
py::object& get_running_loop() {
  static auto* fn = new py::object();
  return *fn;
}

// A Python store handle. Dropping it releases the GIL first: closing a Redis store completes its
// requests in flight on the I/O thread, which needs the GIL to hand them to their loops.
struct PyStore {
  Store store;
  explicit PyStore(Store s) : store(std::move(s)) {}
  PyStore(const PyStore&) = delete;
  PyStore& operator=(const PyStore&) = delete;
  ~PyStore() {
    if (python_finalizing() || PyGILState_Check() == 0) {
      store = Store();
      return;
    }
    py::gil_scoped_release nogil;
    store = Store();
  }
  void close() {
    py::gil_scoped_release nogil;
    store.close();
  }
};

// A Python callable as a LogHook: called from any thread, takes the GIL; its reference is dropped
// under the GIL (or leaked at shutdown).
LogHook make_log_hook(py::function fn) {
  auto holder = std::shared_ptr<py::function>(new py::function(std::move(fn)), [](py::function* f) {
    if (python_finalizing()) return;  // leak: Python is gone
    py::gil_scoped_acquire gil;
    delete f;
  });
  return [holder](LogLevel level, std::string_view message) {
    if (python_finalizing()) return;
    py::gil_scoped_acquire gil;
    try {
      (*holder)(std::string(to_string(level)), std::string(message));
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("authstore log hook");
    }
  };
}

}  // namespace

bool python_finalizing() noexcept { return _Py_IsFinalizing() != 0; }

py::object make_error(const Status& status) {
  py::object cls = base_error_class();
  py::int_ key(static_cast<int>(status.code()));
  if (error_classes().contains(key)) cls = error_classes()[key];
  return cls(status.message(), py::arg("code") = std::string(to_string(status.code())),
             py::arg("field") = status.field());
}

void raise_error(const Status& status) {
  py::object error = make_error(status);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
  throw py::error_already_set();
}

Pending::~Pending() {
  if (python_finalizing()) {
    loop_.release();
    future_.release();
    return;
  }
  py::gil_scoped_acquire gil;
  loop_ = py::object();
  future_ = py::object();
}

void Pending::complete(bool failed, py::object payload) {
  try {
    loop_.attr("call_soon_threadsafe")(settle_function(), future_, failed, std::move(payload));
  } catch (py::error_already_set&) {
    // The loop was closed: nobody can await this future any more; the outcome is dropped (the
    // store call itself completed).
  }
}

void Pending::settle_now(bool failed, py::object payload) {
  try {
    settle_function()(future_, failed, std::move(payload));
  } catch (py::error_already_set& e) {
    e.discard_as_unraisable("authstore: settling a future");
  }
}

LoopDispatcher::~LoopDispatcher() { ::close(fd_); }

void LoopDispatcher::post(std::function<void()> settle) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(settle));
    wake = !signalled_;
    signalled_ = true;
  }
  if (wake) {
    const std::uint64_t one = 1;
    // EAGAIN only when the counter is near overflow: it is then non-zero, so the loop wakes anyway.
    [[maybe_unused]] const ssize_t n = ::write(fd_, &one, sizeof one);
  }
}

void LoopDispatcher::drain() {
  std::uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(fd_, &count, sizeof count);  // non-blocking: resets it
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    ready.swap(queue_);
    signalled_ = false;  // a post from now on wakes the loop again
  }
  for (auto& settle : ready) {
    try {
      settle();
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("authstore: completing an awaitable");
    }
  }
}

namespace {

// The dispatcher of `loop` (GIL held, on the loop's thread): made on first use and kept as an
// attribute of the loop; none (the call_soon_threadsafe path) for a loop that takes no attribute
// or has no add_reader (uvloop, Windows' proactor), or one inherited across a fork.
std::shared_ptr<LoopDispatcher> dispatcher_for(py::object& loop) {
  static constexpr const char* kAttr = "_authstore_dispatcher";
  try {
    if (py::hasattr(loop, kAttr)) {
      py::capsule held = loop.attr(kAttr);
      auto* d = static_cast<std::shared_ptr<LoopDispatcher>*>(held.get_pointer());
      if (d != nullptr && (*d)->pid() == ::getpid()) return *d;
      return nullptr;
    }
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return nullptr;
    auto dispatcher = std::make_shared<LoopDispatcher>(fd);
    py::capsule held(new std::shared_ptr<LoopDispatcher>(dispatcher),
                     [](void* p) { delete static_cast<std::shared_ptr<LoopDispatcher>*>(p); });
    std::weak_ptr<LoopDispatcher> weak = dispatcher;
    loop.attr("add_reader")(fd, py::cpp_function([weak] {
                              if (auto d = weak.lock()) d->drain();
                            }));
    loop.attr(kAttr) = held;
    return dispatcher;
  } catch (py::error_already_set&) {
    return nullptr;  // no attribute, no add_reader: the fallback path
  }
}

}  // namespace

std::shared_ptr<Pending> new_pending(py::object& future_out) {
  py::object loop = get_running_loop()();
  future_out = loop.attr("create_future")();
  std::shared_ptr<LoopDispatcher> dispatcher = dispatcher_for(loop);
  return std::make_shared<Pending>(std::move(loop), future_out, dispatcher);
}

namespace {

Options build_options(const std::optional<Options>& base, const std::optional<std::string>& key_file,
                      const std::optional<py::bytes>& secret, bool development_mode,
                      std::shared_ptr<Clock> clock, bool start_new_store,
                      const std::optional<py::function>& log) {
  Options options = base.value_or(Options{});
  if (key_file) options.keys.key_file = *key_file;
  if (secret) options.keys.keys = {KeyEntry{1, std::string(*secret)}};
  if (development_mode) options.keys.development_mode = true;
  if (clock) options.clock = std::move(clock);
  if (start_new_store) options.start_new_store = true;
  if (log) options.log = make_log_hook(*log);
  return options;
}

void bind_results(py::module_& m) {
  py::enum_<StatusCode>(m, "Status",
                        "Status codes: outcomes (a Result's status) and errors (an "
                        "exception's code).")
      .value("OK", StatusCode::kOk)
      .value("NOT_FOUND", StatusCode::kNotFound)
      .value("ALREADY_CONSUMED", StatusCode::kAlreadyConsumed)
      .value("REPLAYED", StatusCode::kReplayed)
      .value("REUSED", StatusCode::kReused)
      .value("CONFLICT", StatusCode::kConflict)
      .value("REVOKED", StatusCode::kRevoked)
      .value("ALREADY_EXISTS", StatusCode::kAlreadyExists)
      .value("INVALID_ARGUMENT", StatusCode::kInvalidArgument)
      .value("PERMISSION_DENIED", StatusCode::kPermissionDenied)
      .value("UNAVAILABLE", StatusCode::kUnavailable)
      .value("DEADLINE_EXCEEDED", StatusCode::kDeadlineExceeded)
      .value("RESOURCE_EXHAUSTED", StatusCode::kResourceExhausted)
      .value("DATA_LOSS", StatusCode::kDataLoss)
      .value("FAILED_PRECONDITION", StatusCode::kFailedPrecondition)
      .value("INTERNAL", StatusCode::kInternal);

  py::class_<PyResult>(m, "Result",
                       "What a store call answered: status (OK or an expected outcome such as "
                       "NOT_FOUND, ALREADY_CONSUMED, REUSED), the value when there is one (also for "
                       "outcomes that carry details, e.g. the consumed code's grant), and the "
                       "message and field of a non-OK outcome. Truthy when OK. Errors are raised, "
                       "never returned.")
      .def_readonly("status", &PyResult::status)
      .def_readonly("value", &PyResult::value)
      .def_readonly("message", &PyResult::message)
      .def_readonly("field", &PyResult::field)
      .def_property_readonly("ok", [](const PyResult& r) { return r.status == StatusCode::kOk; })
      .def("__bool__", [](const PyResult& r) { return r.status == StatusCode::kOk; })
      .def("__repr__", [](const PyResult& r) {
        std::string out = "<authstore.Result " + std::string(to_string(r.status));
        if (!r.field.empty()) out += " field=" + r.field;
        return out + ">";  // never the value: it may hold a secret
      });
}

void bind_clocks(py::module_& m) {
  py::class_<Clock, std::shared_ptr<Clock>>(m, "Clock",
                                            "A time source (milliseconds since the "
                                            "Unix epoch).")
      .def("now", &Clock::now);
  py::class_<SystemClock, Clock, std::shared_ptr<SystemClock>>(m, "SystemClock").def(py::init<>());
  py::class_<ManualClock, Clock, std::shared_ptr<ManualClock>>(
      m, "ManualClock", "A clock that moves only when told to (tests). Thread-safe.")
      .def(py::init<UnixMillis>(), py::arg("start"))
      .def("set", &ManualClock::set, py::arg("now_ms"))
      .def("advance", &ManualClock::advance, py::arg("millis"));
}

void bind_metrics(py::module_& m) {
  py::enum_<SecurityEvent>(m, "SecurityEvent")
      .value("CODE_REPLAY", SecurityEvent::kCodeReplay)
      .value("REFRESH_REUSE", SecurityEvent::kRefreshReuse)
      .value("JTI_REPLAY", SecurityEvent::kJtiReplay)
      .value("SESSION_CONFLICT", SecurityEvent::kSessionConflict)
      .value("SIGNATURE_FAILURE", SecurityEvent::kSignatureFailure)
      .value("CLIENT_MISMATCH", SecurityEvent::kClientMismatch)
      .value("REVOKED_USE", SecurityEvent::kRevokedUse)
      .value("CAPACITY_REJECTED", SecurityEvent::kCapacityRejected)
      .value("BACKEND_ERROR", SecurityEvent::kBackendError)
      .value("INSECURE_TLS", SecurityEvent::kInsecureTls);
  py::class_<Metrics, std::unique_ptr<Metrics, py::nodelete>>(m, "Metrics", "A store's counters (read-only).")
      .def("operations", &Metrics::operations, py::arg("store"), py::arg("op"), py::arg("outcome"),
           "Completed calls of store.op that ended with outcome.")
      .def("security_events", &Metrics::security_events, py::arg("event"))
      .def("prometheus", &Metrics::prometheus, "The Prometheus text exposition.");
}

void bind_store(py::module_& m) {
  py::class_<PyStore>(m, "Store",
                      "An open store: codes, refresh, sessions, replay, client_tokens and payloads. Safe to "
                      "share between threads; usable in a child after fork() (SQLite and Redis "
                      "reconnect lazily; memory is per process). A context manager that closes it.")
      .def_property_readonly(
          "codes", [](PyStore& s) -> CodeStore& { return s.store.codes(); },
          py::return_value_policy::reference_internal)
      .def_property_readonly(
          "refresh", [](PyStore& s) -> RefreshTokenStore& { return s.store.refresh(); },
          py::return_value_policy::reference_internal)
      .def_property_readonly(
          "sessions", [](PyStore& s) -> SessionStore& { return s.store.sessions(); },
          py::return_value_policy::reference_internal)
      .def_property_readonly(
          "replay", [](PyStore& s) -> ReplayCache& { return s.store.replay(); },
          py::return_value_policy::reference_internal)
      .def_property_readonly(
          "client_tokens", [](PyStore& s) -> ClientTokenStore& { return s.store.client_tokens(); },
          py::return_value_policy::reference_internal)
      .def_property_readonly(
          "payloads", [](PyStore& s) -> PayloadStore& { return s.store.payloads(); },
          py::return_value_policy::reference_internal)
      .def_property_readonly(
          "metrics", [](PyStore& s) -> Metrics& { return s.store.metrics(); },
          py::return_value_policy::reference_internal)
      .def_property_readonly("backend", [](PyStore& s) { return s.store.backend(); })
      .def("close", &PyStore::close,
           "Closes the store: later calls raise FailedPrecondition (field 'store'). Idempotent.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyStore& s, py::args) {
        s.close();
        return false;
      });

  m.def(
      "open",
      [](const std::string& url, const std::optional<std::string>& key_file,
         const std::optional<Options>& options, const std::optional<py::bytes>& secret, bool development_mode,
         std::shared_ptr<Clock> clock, bool start_new_store, const std::optional<py::function>& log) {
        Options opts = build_options(options, key_file, secret, development_mode, std::move(clock),
                                     start_new_store, log);
        std::optional<Result<Store>> result;
        {
          py::gil_scoped_release nogil;
          result.emplace(authstore::open(url, opts));
        }
        if (!result->ok()) raise_error(result->status());
        return std::make_unique<PyStore>(std::move(*result).value());
      },
      py::arg("url"), py::arg("key_file") = py::none(), py::kw_only(), py::arg("options") = py::none(),
      py::arg("secret") = py::none(), py::arg("development_mode") = false, py::arg("clock") = nullptr,
      py::arg("start_new_store") = false, py::arg("log") = py::none(),
      "Opens the store a URL names (memory://, sqlite:///path, redis://host:port/db, rediss://). "
      "Keys: key_file, or secret (>= 32 raw bytes, key id 1), or options.keys, or the environment "
      "(AUTHSTORE_SECRET / AUTHSTORE_KEY_FILE); development_mode allows a throwaway key for "
      "memory:// only. A key ring that did not write the store raises FailedPrecondition (field "
      "'keys'). log(level, message) is called from any thread.");

  m.def(
      "create_key_file",
      [](const std::string& path) {
        Status status = authstore::create_key_file(path);
        if (!status.ok()) raise_error(status);
      },
      py::arg("path"),
      "Creates a new key file (mode 0600, one random key and a route secret). Raises "
      "AuthstoreError (code 'already_exists') if the path exists.");
}

void bind_pkce(py::module_& m) {
  m.def(
      "verify_pkce",
      [](const std::string& challenge, const std::string& method, const std::string& verifier,
         bool allow_plain) {
        Status status = authstore::verify_pkce(challenge, method, verifier, allow_plain);
        if (!status.ok()) raise_error(status);
      },
      py::arg("challenge"), py::arg("method"), py::arg("verifier"), py::arg("allow_plain") = false,
      "Checks a PKCE verifier against a challenge in constant time (S256; 'plain' only with "
      "allow_plain). Raises InvalidArgument (field 'code_verifier') when it does not match or is "
      "malformed.");
  m.def(
      "verify_pkce",
      [](const CodeRecord& record, const std::string& verifier, bool allow_plain) {
        Status status = authstore::verify_pkce(record, verifier, allow_plain);
        if (!status.ok()) raise_error(status);
      },
      py::arg("record"), py::arg("verifier"), py::arg("allow_plain") = false,
      "Checks a PKCE verifier against a code record's challenge.");
  m.def("pkce_s256_challenge", &authstore::pkce_s256_challenge, py::arg("verifier"),
        "BASE64URL(SHA256(verifier)) without padding.");
  m.def("pkce_new_verifier", &authstore::pkce_new_verifier, "A fresh 43-character verifier.");
  m.def("new_session_id", &SessionStore::new_session_id, "A fresh session id (256 random bits).");
}

}  // namespace

PYBIND11_MODULE(_authstore, m) {
  m.doc() = "authstore: the security state of OAuth 2 / OpenID Connect servers and clients.";
  py::module_ errors = py::module_::import("authstore._errors");
  base_error_class() = errors.attr("AuthstoreError");
  error_classes() = errors.attr("_BY_CODE");
  get_running_loop() = py::module_::import("asyncio").attr("get_running_loop");
  settle_function() = py::cpp_function([](py::object future, bool failed, py::object payload) {
    if (future.attr("cancelled")().cast<bool>()) return;
    future.attr(failed ? "set_exception" : "set_result")(payload);
  });
  m.attr("NO_EXPIRY") = kNoExpiry;

  bind_results(m);
  bind_clocks(m);
  bind_metrics(m);
  bind_types(m);
  bind_stores(m);
  bind_store(m);
  bind_pkce(m);
}

}  // namespace authstore::python
