// Reply: one Redis (RESP2) reply as a small owned value.
//
// A reply is nil, an integer, a simple string (+OK), a bulk string, an error (-ERR ...) or an
// array of replies (possibly nested). Strings of up to 15 bytes live inside the object (std::string's
// small buffer), so the common short replies (OK, PONG, counters, short values) cost no allocation.
// A Reply is a plain value: copyable, movable, not tied to any connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authstore/status.h"

namespace authstore::redis {

class Reply {
 public:
  enum class Type : std::uint8_t { kNil, kInteger, kSimpleString, kBulkString, kError, kArray };

  Reply() = default;  // nil

  static Reply nil() { return Reply(); }
  static Reply integer(std::int64_t v) {
    Reply r(Type::kInteger);
    r.integer_ = v;
    return r;
  }
  static Reply simple_string(std::string_view s) { return Reply(Type::kSimpleString, s); }
  static Reply bulk_string(std::string_view s) { return Reply(Type::kBulkString, s); }
  static Reply error(std::string_view s) { return Reply(Type::kError, s); }
  static Reply array(std::vector<Reply> elements) {
    Reply r(Type::kArray);
    r.elements_ = std::move(elements);
    return r;
  }

  Type type() const noexcept { return type_; }
  bool is_nil() const noexcept { return type_ == Type::kNil; }
  bool is_integer() const noexcept { return type_ == Type::kInteger; }
  bool is_simple_string() const noexcept { return type_ == Type::kSimpleString; }
  bool is_bulk_string() const noexcept { return type_ == Type::kBulkString; }
  // Simple or bulk string.
  bool is_string() const noexcept { return is_simple_string() || is_bulk_string(); }
  bool is_error() const noexcept { return type_ == Type::kError; }
  bool is_array() const noexcept { return type_ == Type::kArray; }

  // The integer (0 unless is_integer()).
  std::int64_t integer() const noexcept { return integer_; }
  // The text of a simple string, bulk string or error (empty otherwise).
  const std::string& str() const& noexcept { return str_; }
  std::string&& str() && noexcept { return std::move(str_); }
  // The elements of an array (empty otherwise).
  const std::vector<Reply>& elements() const noexcept { return elements_; }
  std::vector<Reply>& elements() noexcept { return elements_; }

  // For errors: the first word, e.g. "NOSCRIPT", "WRONGPASS", "ERR" (empty otherwise).
  std::string_view error_code() const noexcept;

  // "nil", "integer", "simple_string", "bulk_string", "error", "array".
  static std::string_view type_name(Type t) noexcept;

  friend bool operator==(const Reply&, const Reply&) = default;

  // Used by the parser to fill a reply in place without temporaries.
  void assign_string(Type t, const char* data, std::size_t len) {
    type_ = t;
    str_.assign(data, len);
  }
  void assign_integer(std::int64_t v) noexcept {
    type_ = Type::kInteger;
    integer_ = v;
  }
  void assign_array(std::size_t n) {
    type_ = Type::kArray;
    elements_.resize(n);
  }
  void clear() noexcept {
    type_ = Type::kNil;
    integer_ = 0;
    str_.clear();
    elements_.clear();
  }

 private:
  explicit Reply(Type t) : type_(t) {}
  Reply(Type t, std::string_view s) : type_(t), str_(s) {}

  Type type_ = Type::kNil;
  std::int64_t integer_ = 0;
  std::string str_;
  std::vector<Reply> elements_;
};

// The status a caller sees for a top-level error reply: WRONGPASS/NOAUTH/NOPERM -> kPermissionDenied,
// OOM -> kResourceExhausted, LOADING/BUSY/MASTERDOWN/TRYAGAIN/CLUSTERDOWN -> kUnavailable,
// NOSCRIPT -> kFailedPrecondition, anything else (ERR, WRONGTYPE, ...) -> kInvalidArgument.
// The message is "redis: " + the server's error text (servers never echo credentials in errors).
Status status_of_error(const Reply& error);

// A top-level reply as the caller receives it: ok with the reply, or, for an error reply,
// status_of_error() with the error reply attached (has_value() is true either way).
Result<Reply> reply_result(Reply reply);

// The typed "never sent" signal. The client fails a request with kUnavailable both when it may
// have reached the server (the connection dropped after it was written: never resend a write) and
// when it provably was not written (refused at submit while not connected or backing off, queued
// while connecting and the attempt failed, the client closed before writing it). never_sent()
// marks the second kind; was_never_sent() tells it, for a result without a reply. Executors resend
// only what was_never_sent() (docs/redis.md, "Resending"); the message text is never parsed.
inline Status never_sent(Status s) {
  if (!s.ok()) s.set_never_sent();
  return s;
}
inline bool was_never_sent(const Result<Reply>& r) noexcept {
  return !r.has_value() && r.status().never_sent();
}

}  // namespace authstore::redis
