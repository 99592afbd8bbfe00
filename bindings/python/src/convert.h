// How the Python module turns authstore's Result<T> into Python: outcomes become a Result object
// (status enum, value, message, field), errors raise the typed exceptions of authstore._errors,
// and the _async forms complete an asyncio future from the C++ callback through the loop's
// LoopDispatcher (no thread per request in flight; loop.call_soon_threadsafe where a loop takes no
// dispatcher).
//
// GIL: every store call runs with the GIL released (blocking and _async alike); a callback that
// completes on a backend thread queues its result without the GIL, and the loop builds the Python
// value when it drains (the fallback path takes the GIL on the backend thread to do so). Nothing touches
// Python once the interpreter is finalizing (the value is dropped then).
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "authstore/authstore.h"

namespace authstore::python {

namespace py = pybind11;

// The Python value of an outcome: the status, the value when the call carried one, and the
// message / field of a non-OK outcome. Truthy when OK.
struct PyResult {
  StatusCode status = StatusCode::kOk;
  py::object value = py::none();
  std::string message;
  std::string field;
};

// True once Python is shutting down: a backend thread must not take the GIL then.
bool python_finalizing() noexcept;

// The exception instance for an error status (a subclass of authstore.AuthstoreError chosen by
// the code, carrying code, message and field).
py::object make_error(const Status& status);
// Raises make_error(status) as a C++ exception pybind11 passes on to Python.
[[noreturn]] void raise_error(const Status& status);

// The value of a Result as a Python object: registered types by value, Done as None.
template <class T>
py::object value_to_py(T&& value) {
  if constexpr (std::is_same_v<std::decay_t<T>, Done>) {
    return py::none();
  } else {
    return py::cast(std::forward<T>(value));
  }
}

// Outcome -> PyResult (as a Python object); error -> nullopt-like: `failed` set and the
// exception instance returned.
template <class T>
py::object result_to_py(Result<T>&& result, bool& failed) {
  failed = result.status().is_error();
  if (failed) return make_error(result.status());
  PyResult out;
  out.status = result.code();
  out.message = result.status().message();
  out.field = result.status().field();
  if (result.has_value()) out.value = value_to_py(std::move(result).value());
  return py::cast(std::move(out));
}

// Blocking form: run `call` without the GIL, then return the PyResult or raise.
template <class T, class Call>
py::object run_blocking(Call&& call) {
  std::optional<Result<T>> result;
  {
    py::gil_scoped_release nogil;
    result.emplace(call());
  }
  bool failed = false;
  py::object out = result_to_py(std::move(*result), failed);
  if (failed) {
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(out.ptr())), out.ptr());
    throw py::error_already_set();
  }
  return out;
}

// Completions of _async calls for one asyncio loop. A backend thread posts a closure without
// taking the GIL; the first post after a drain writes the loop's eventfd, and the loop (which
// watches it with add_reader) drains every queued closure under the GIL it already holds: one
// wake-up and no GIL hand-off per batch of completions, instead of one GIL acquisition and one
// call_soon_threadsafe per call. Owned by the loop (an attribute holding a capsule) and by the
// closures in flight; the eventfd is closed when the last owner goes.
class LoopDispatcher {
 public:
  explicit LoopDispatcher(int fd) : fd_(fd), pid_(::getpid()) {}
  LoopDispatcher(const LoopDispatcher&) = delete;
  LoopDispatcher& operator=(const LoopDispatcher&) = delete;
  ~LoopDispatcher();
  int fd() const { return fd_; }
  pid_t pid() const { return pid_; }
  void post(std::function<void()> settle);  // any thread, GIL not needed
  void drain();                             // the loop's thread, GIL held

 private:
  const int fd_;
  const pid_t pid_;
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;
  bool signalled_ = false;
};

// The loop and future an _async call completes. Its Python references are dropped under the GIL
// (the last owner may be a backend thread), or leaked once Python is finalizing.
class Pending {
 public:
  Pending(py::object loop, py::object future, std::weak_ptr<LoopDispatcher> dispatcher)
      : loop_(std::move(loop)), future_(std::move(future)), dispatcher_(std::move(dispatcher)) {}
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;
  ~Pending();

  // Hands (failed, payload) to the loop: the future gets the value or the exception.
  // (GIL held; the fallback path, for loops that take no dispatcher.)
  void complete(bool failed, py::object payload);
  // Settles the future now (the loop's thread, GIL held).
  void settle_now(bool failed, py::object payload);
  // The loop's dispatcher while the loop lives (weak: the queued closures own Pendings, so a
  // strong reference here would be a cycle keeping a dropped loop's queue alive).
  std::shared_ptr<LoopDispatcher> dispatcher() const { return dispatcher_.lock(); }

 private:
  py::object loop_;
  py::object future_;
  std::weak_ptr<LoopDispatcher> dispatcher_;
};

// The running loop and a new future on it (RuntimeError outside a running loop).
std::shared_ptr<Pending> new_pending(py::object& future_out);

// Awaitable form: starts `start(callback)` without the GIL and returns the asyncio future that
// the callback completes.
template <class T, class Start>
py::object run_async(Start&& start) {
  py::object future;
  std::shared_ptr<Pending> pending = new_pending(future);
  {
    py::gil_scoped_release nogil;
    start(Callback<T>([pending](Result<T> result) {
      if (python_finalizing()) return;
      if (const auto dispatcher = pending->dispatcher()) {
        // No GIL here: the loop converts the result and settles the future when it drains.
        auto held = std::make_shared<Result<T>>(std::move(result));
        dispatcher->post([pending, held] {
          bool failed = false;
          py::object payload = result_to_py(std::move(*held), failed);
          pending->settle_now(failed, std::move(payload));
        });
        return;
      }
      py::gil_scoped_acquire gil;
      bool failed = false;
      py::object payload = result_to_py(std::move(result), failed);
      pending->complete(failed, std::move(payload));
    }));
  }
  return future;
}

// Binds `name` (blocking) and `name_async` (awaitable) for a store method pair with the same
// arguments: Result<T> (Self::*)(Args...) and void (Self::*)(Args..., Callback<T>).
// (`async` is any member pointer callable so; the compiler checks the call.)
template <class Class, class Self, class T, class... Args, class Async, class... Extra>
void bind_op(Class& cls, const char* name, Result<T> (Self::*sync)(Args...), Async async, const char* doc,
             const Extra&... extra) {
  cls.def(
      name,
      [sync](Self& self, Args... args) -> py::object {
        return run_blocking<T>([&] { return (self.*sync)(args...); });
      },
      doc, extra...);
  std::string async_name = std::string(name) + "_async";
  std::string async_doc = std::string("Awaitable form of ") + name +
                          "(): returns an asyncio future "
                          "completed from the C++ callback (no thread per call).";
  cls.def(
      async_name.c_str(),
      [async](Self& self, Args... args) -> py::object {
        return run_async<T>([&](Callback<T> done) { (self.*async)(args..., std::move(done)); });
      },
      async_doc.c_str(), extra...);
}

// The five stores' methods (stores.cc).
void bind_stores(py::module_& m);

}  // namespace authstore::python
