#include "redis/resp.h"

#include <hiredis/hiredis.h>  // HIREDIS_MAJOR
#include <hiredis/read.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <new>

namespace authstore::redis {
namespace {

std::size_t decimal_digits(std::size_t v) noexcept {
  std::size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

// Writes "<prefix><n>\r\n" at p; returns the end.
char* put_header(char* p, char prefix, std::size_t n) noexcept {
  *p++ = prefix;
  auto [end, ec] = std::to_chars(p, p + 20, n);
  (void)ec;  // cannot fail: 20 digits hold any size_t
  end[0] = '\r';
  end[1] = '\n';
  return end + 2;
}

}  // namespace

std::size_t encoded_size(std::span<const std::string_view> args) noexcept {
  std::size_t total = 1 + decimal_digits(args.size()) + 2;
  for (std::string_view a : args) total += 1 + decimal_digits(a.size()) + 2 + a.size() + 2;
  return total;
}

void append_command(std::string& out, std::span<const std::string_view> args) {
  const std::size_t old_size = out.size();
  const std::size_t add = encoded_size(args);
  // resize_and_overwrite would avoid zero-filling; resize is portable and the cost is a memset
  // over bytes we are about to write anyway.
  out.resize(old_size + add);
  char* p = out.data() + old_size;
  p = put_header(p, '*', args.size());
  for (std::string_view a : args) {
    p = put_header(p, '$', a.size());
    if (!a.empty()) std::memcpy(p, a.data(), a.size());
    p += a.size();
    p[0] = '\r';
    p[1] = '\n';
    p += 2;
  }
}

void append_array_header(std::string& out, std::size_t count) {
  char buf[24];
  char* end = put_header(buf, '*', count);
  out.append(buf, static_cast<std::size_t>(end - buf));
}

void append_bulk(std::string& out, std::string_view arg) {
  char buf[24];
  char* end = put_header(buf, '$', arg.size());
  out.append(buf, static_cast<std::size_t>(end - buf));
  out.append(arg);
  out.append("\r\n", 2);
}

// ---- reader ----

struct ReplyReader::Impl {
  redisReader* reader = nullptr;
  Reply root;

  // Where the value of `task` goes: the root, or its slot in the parent array. Elements arrive in
  // order (idx 0, 1, ...), so the array grows as they do: its length header alone, which a
  // hostile or broken server can set to 2^31 - 1 in 13 bytes, never allocates (found by
  // fuzzing). An element's slot moves only when a later sibling is added, after it is complete.
  static Reply* slot(const redisReadTask* task) {
    auto* self = static_cast<Impl*>(task->privdata);
    if (task->parent == nullptr) return &self->root;
    auto& elements = static_cast<Reply*>(task->parent->obj)->elements();
    const auto idx = static_cast<std::size_t>(task->idx);
    if (idx >= elements.size()) elements.resize(idx + 1);  // may throw: callers catch bad_alloc
    return &elements[idx];
  }

  static void* create_string(const redisReadTask* task, char* str, std::size_t len) {
    Reply::Type t = Reply::Type::kBulkString;
    if (task->type == REDIS_REPLY_STATUS) t = Reply::Type::kSimpleString;
    if (task->type == REDIS_REPLY_ERROR) t = Reply::Type::kError;
    try {
      Reply* r = slot(task);
      r->assign_string(t, str, len);
      return r;
    } catch (const std::bad_alloc&) {
      return nullptr;  // hiredis reports out of memory
    }
  }
  static void* array_of(const redisReadTask* task, std::size_t elements) {
    try {
      Reply* r = slot(task);
      r->assign_array(0);
      // Room for a typical reply up front; beyond that the array grows as elements arrive.
      r->elements().reserve(std::min<std::size_t>(elements, 64));
      return r;
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
  }
#if HIREDIS_MAJOR >= 1
  // hiredis 1.x (vcpkg, Conan): array sizes are size_t, and RESP3 adds doubles and booleans. This
  // client speaks RESP2 only (it never sends HELLO 3), so those two never arrive; they are mapped
  // anyway: a double as its text (as RESP2 sends it), a boolean as 0 or 1. Compiled once against
  // 1.x's declarations when written; no build here compiles or tests it: only Debian's 0.14 is
  // built and tested (README, docs/packaging.md).
  static void* create_array(const redisReadTask* task, std::size_t elements) {
    return array_of(task, elements);
  }
  static void* create_double(const redisReadTask* task, double, char* str, std::size_t len) {
    return create_string(task, str, len);
  }
  static void* create_bool(const redisReadTask* task, int value) {
    return create_integer(task, value != 0 ? 1 : 0);
  }
#else
  static void* create_array(const redisReadTask* task, int elements) {
    return array_of(task, elements < 0 ? 0 : static_cast<std::size_t>(elements));
  }
#endif
  static void* create_integer(const redisReadTask* task, long long value) {
    try {
      Reply* r = slot(task);
      r->assign_integer(value);
      return r;
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
  }
  static void* create_nil(const redisReadTask* task) {
    try {
      Reply* r = slot(task);
      r->clear();
      return r;
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
  }
  // Replies live inside Impl::root; nothing to free.
  static void free_object(void*) {}

  static redisReplyObjectFunctions* functions() {
#if HIREDIS_MAJOR >= 1
    static redisReplyObjectFunctions fns = {create_string, create_array, create_integer, create_double,
                                            create_nil,    create_bool,  free_object};
#else
    static redisReplyObjectFunctions fns = {create_string, create_array, create_integer, create_nil,
                                            free_object};
#endif
    return &fns;
  }

  void create() {
    reader = redisReaderCreateWithFunctions(functions());
    if (reader == nullptr) throw std::bad_alloc();
    reader->privdata = this;
  }
  void destroy() {
    if (reader != nullptr) redisReaderFree(reader);
    reader = nullptr;
    root.clear();
  }
};

ReplyReader::ReplyReader() : impl_(std::make_unique<Impl>()) { impl_->create(); }

ReplyReader::~ReplyReader() { impl_->destroy(); }

void ReplyReader::reset() {
  impl_->destroy();
  impl_->create();
  error_.clear();
}

Status ReplyReader::feed(const char* data, std::size_t len) {
  if (redisReaderFeed(impl_->reader, data, len) != REDIS_OK) {
    return Status(StatusCode::kInternal, "redis: reply parser out of memory");
  }
  return Status::Ok();
}

ReplyReader::Next ReplyReader::next(Reply& out) {
  void* obj = nullptr;
  if (redisReaderGetReply(impl_->reader, &obj) != REDIS_OK) {
    error_ = impl_->reader->errstr;
    return Next::kProtocolError;
  }
  if (obj == nullptr) return Next::kNeedMore;
  out = std::move(impl_->root);
  impl_->root.clear();
  return Next::kReply;
}

}  // namespace authstore::redis
