// RESP2 encoding (by hand) and decoding (hiredis's redisReader building Reply values in place).
//
// The encoder appends "*N\r\n$len\r\narg\r\n..." to a caller-owned buffer, so a connection can
// coalesce many commands into one write without an allocation per command. hiredis's own formatter
// goes through sprintf and is several times slower.
//
// The reader wraps hiredis's redisReader (0.14, Debian's, the one tested; 1.x's is compiled for too)
// with reply-building functions that fill a Reply tree
// directly (no redisReply objects, no allocation for short scalar replies). hiredis moves its
// buffer every 1 KB consumed, so feed it in pieces of a few KB (ConnectionCore does).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "authstore/status.h"
#include "redis/reply.h"

namespace authstore::redis {

// Exact number of bytes append_command() will append for these arguments.
std::size_t encoded_size(std::span<const std::string_view> args) noexcept;

// Appends the RESP2 encoding of one command (an array of bulk strings) to `out`.
void append_command(std::string& out, std::span<const std::string_view> args);
inline void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  append_command(out, std::span<const std::string_view>(args.begin(), args.size()));
}

// Piecewise encoding, for commands assembled from several argument lists (EVALSHA sha n keys args):
// an array header for `count` arguments, then each argument as a bulk string.
void append_array_header(std::string& out, std::size_t count);
void append_bulk(std::string& out, std::string_view arg);

// Incremental RESP2 reply parser. Not thread-safe; one per connection.
class ReplyReader {
 public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // Appends bytes to the parser's buffer. Fails (kInternal) only on out of memory.
  Status feed(const char* data, std::size_t len);

  enum class Next { kReply, kNeedMore, kProtocolError };
  // Extracts the next complete reply into `out`. On kProtocolError, error() says why and the
  // reader must be reset() before reuse (the stream is out of sync: drop the connection).
  Next next(Reply& out);
  const std::string& error() const noexcept { return error_; }

  // Forgets any buffered bytes and partial reply (new connection).
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

}  // namespace authstore::redis
