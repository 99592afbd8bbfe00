// How the Python module turns authstore's Result<T> into Python: outcomes become a Result object
// (status enum, value, message, field), errors raise the typed exceptions of authstore._errors,
// and the _async forms complete an asyncio future from the C++ callback through
// loop.call_soon_threadsafe (no thread per request in flight).
//
// GIL: every store call runs with the GIL released (blocking and _async alike); a callback that
// completes on a backend thread takes the GIL only to build its Python value and hand it to the
// loop. Nothing touches Python once the interpreter is finalizing (the value is dropped then).
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
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

// The loop and future an _async call completes. Its Python references are dropped under the GIL
// (the last owner may be a backend thread), or leaked once Python is finalizing.
class Pending {
 public:
  Pending(py::object loop, py::object future) : loop_(std::move(loop)), future_(std::move(future)) {}
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;
  ~Pending();

  // Hands (failed, payload) to the loop: the future gets the value or the exception.
  void complete(bool failed, py::object payload);

 private:
  py::object loop_;
  py::object future_;
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
void bind_op(Class& cls, const char* name, Result<T> (Self::*sync)(Args...), Async async,
             const char* doc, const Extra&... extra) {
  cls.def(
      name,
      [sync](Self& self, Args... args) -> py::object {
        return run_blocking<T>([&] { return (self.*sync)(args...); });
      },
      doc, extra...);
  std::string async_name = std::string(name) + "_async";
  std::string async_doc = std::string("Awaitable form of ") + name + "(): returns an asyncio future "
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
