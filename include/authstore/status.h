// Status codes, Status and Result<T>: how every authstore call reports what happened.
//
// Two kinds of non-OK codes exist:
//  * outcomes a caller expects and inspects (kNotFound, kAlreadyConsumed, kReplayed, kReused,
//    kConflict, kRevoked, kAlreadyExists): the operation ran correctly and this is its answer;
//  * errors (kInvalidArgument, kPermissionDenied, kUnavailable, kDeadlineExceeded,
//    kResourceExhausted, kDataLoss, kFailedPrecondition, kInternal): the operation did not run
//    or could not decide. Errors fail closed: never read an error as "yes".
//
// Messages name the field or backend at fault and never contain a secret (no code, token,
// session id, key or password ever appears in a message).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "authstore/export.h"

namespace authstore {

enum class StatusCode : std::uint8_t {
  kOk = 0,
  // --- outcomes ---
  kNotFound = 1,         // no such item, or it expired, or its record failed verification.
  kAlreadyConsumed = 2,  // a single-use item (code, JWT refresh id) was used before.
  kReplayed = 3,         // a JWT ID reservation already exists for this issuer and jti.
  kReused = 4,           // an already-rotated refresh token was presented again: family revoked.
  kConflict = 5,         // optimistic lock lost (stale lock_version) or the item was deleted.
  kRevoked = 6,          // the item exists but was revoked (family, subject logout, grant).
  kAlreadyExists = 7,    // an insert found the key present.
  // --- errors ---
  kInvalidArgument = 16,     // bad input; the message names the field and what was expected.
  kPermissionDenied = 17,    // wrong credentials, forbidden command, or token bound to another client.
  kUnavailable = 18,         // backend unreachable or failed mid-flight; retry with backoff.
  kDeadlineExceeded = 19,    // the operation's deadline passed before an answer arrived.
  kResourceExhausted = 20,   // a bounded resource is full (replay cache capacity, disk, memory).
  kDataLoss = 21,            // stored data is corrupt or unreadable beyond a single record.
  kFailedPrecondition = 22,  // the store is not in a state to run this (closed, wrong schema).
  kInternal = 23,            // a bug or an unexpected library failure.
};

// "ok", "not_found", "already_consumed", ... (stable, used in metrics labels).
AUTHSTORE_EXPORT std::string_view to_string(StatusCode code) noexcept;

// True for the expected outcomes listed above (and kOk).
constexpr bool is_outcome(StatusCode c) noexcept { return static_cast<int>(c) < 16; }

// A status: code, message and the name of the input field at fault (empty when none).
// Cheap to copy when OK (empty strings).
class [[nodiscard]] AUTHSTORE_EXPORT Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  static Status Ok() { return Status(); }

  bool ok() const noexcept { return code_ == StatusCode::kOk; }
  StatusCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& field() const noexcept { return field_; }
  bool is_error() const noexcept { return !is_outcome(code_); }

  // True when the failed request provably never left this process (not connected, connection
  // refused, refused or failed before its bytes were written): it cannot have run, so sending it
  // again is safe. Set by the Redis client on its own failures (src/redis/reply.h, never_sent());
  // false means "may have run" or "not known": the safe reading. Copies keep it.
  bool never_sent() const noexcept { return never_sent_; }
  Status& set_never_sent() & noexcept {
    never_sent_ = true;
    return *this;
  }

  // "invalid_argument: redirect_uri: must be an absolute URI" (field omitted when empty).
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string field_;
  bool never_sent_ = false;
};

// Result<T>: a Status plus a value. The value is present when ok(), and for some outcomes a call
// documents that it also carries details (kAlreadyConsumed carries the consumed code's grant id
// and subject, kReused the revoked family). has_value() tells.
//
// Invariant: ok() implies has_value(). A Result built from an OK Status and no value (e.g.
// `Result<T>(Status())`, which cannot be refused at compile time since the code is a run-time
// value) is not OK: it becomes kInternal ("Result<T> built from an OK status without a value")
// so that a bug can never read as a success. Build an OK result from its value.
//
// value(), operator* and operator-> on a Result without a value throw BadResultAccess (a
// std::logic_error naming the status); they never return a made-up value. Check has_value()
// (or ok()) first, or use value_or().
class AUTHSTORE_EXPORT BadResultAccess : public std::logic_error {
 public:
  explicit BadResultAccess(const Status& status)
      : std::logic_error("authstore: value() of a Result without a value (status " + status.to_string() +
                         ")"),
        status_(status) {}
  const Status& status() const noexcept { return status_; }

 private:
  Status status_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit on purpose
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) {
      status_ = Status(StatusCode::kInternal,
                       "Result<T> built from an OK status without a value (a bug in authstore "
                       "or in the code that built it)");
    }
  }
  Result(Status status, T value) : status_(std::move(status)), value_(std::move(value)) {}

  bool ok() const noexcept { return status_.ok(); }
  StatusCode code() const noexcept { return status_.code(); }
  const Status& status() const noexcept { return status_; }
  bool has_value() const noexcept { return value_.has_value(); }

  // Throws BadResultAccess when !has_value().
  const T& value() const& {
    checked();
    return *value_;
  }
  T& value() & {
    checked();
    return *value_;
  }
  T&& value() && {
    checked();
    return std::move(*value_);
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  // The value, or `fallback` when there is none.
  T value_or(T fallback) const& { return value_ ? *value_ : std::move(fallback); }
  T value_or(T fallback) && { return value_ ? std::move(*value_) : std::move(fallback); }

 private:
  void checked() const {
    if (!value_) throw BadResultAccess(status_);
  }

  Status status_;
  std::optional<T> value_;
};

// A value-less result payload for operations that only report a status.
struct Done {};

// Completion callback of the asynchronous calls. It is invoked exactly once: on the calling
// thread before the call returns (memory and SQLite backends: their work is local, and a SQLite
// call waits for the group-commit transaction that carries it), or later on the backend's I/O
// thread (Redis; bad input is answered inline by every backend). It must not block for long:
// it may run on a thread that serves other operations. A blocking store call made inside it
// answers kFailedPrecondition at once, on every backend ("use the _async form"): on Redis it
// would wait for the very thread running the callback.
//
// Lifetimes, for every _async call of every store: each std::string_view and const& argument is
// read or copied before the call returns (the caller may free it right after). The store takes
// the callback (moved) and runs it exactly once, also when the store is closed with the call in
// flight: memory and SQLite have nothing in flight once the call returned; Redis completes a
// request still unanswered with kUnavailable (it MAY have run) on its I/O thread, before
// Store::close() (or the destruction of the last Store handle) returns. Never drop the last Store
// handle inside a callback (on Redis that would join the I/O thread from itself).
template <class T>
using Callback = std::function<void(Result<T>)>;

}  // namespace authstore
