#include "redis/reply.h"

#include <array>
#include <utility>

namespace authstore::redis {

std::string_view Reply::error_code() const noexcept {
  if (type_ != Type::kError) return {};
  std::string_view s = str_;
  return s.substr(0, s.find(' '));
}

std::string_view Reply::type_name(Type t) noexcept {
  switch (t) {
    case Type::kNil:
      return "nil";
    case Type::kInteger:
      return "integer";
    case Type::kSimpleString:
      return "simple_string";
    case Type::kBulkString:
      return "bulk_string";
    case Type::kError:
      return "error";
    case Type::kArray:
      return "array";
  }
  return "unknown";
}

Status status_of_error(const Reply& error) {
  struct Mapping {
    std::string_view prefix;
    StatusCode code;
  };
  static constexpr std::array<Mapping, 10> kMappings = {{
      {"WRONGPASS", StatusCode::kPermissionDenied},
      {"NOAUTH", StatusCode::kPermissionDenied},
      {"NOPERM", StatusCode::kPermissionDenied},
      {"OOM", StatusCode::kResourceExhausted},
      {"LOADING", StatusCode::kUnavailable},
      {"BUSY", StatusCode::kUnavailable},
      {"MASTERDOWN", StatusCode::kUnavailable},
      {"TRYAGAIN", StatusCode::kUnavailable},
      {"CLUSTERDOWN", StatusCode::kUnavailable},
      {"NOSCRIPT", StatusCode::kFailedPrecondition},
  }};
  const std::string_view code = error.error_code();
  StatusCode status = StatusCode::kInvalidArgument;
  for (const Mapping& m : kMappings) {
    if (code == m.prefix) {
      status = m.code;
      break;
    }
  }
  return Status(status, "redis: " + error.str());
}

Result<Reply> reply_result(Reply reply) {
  if (!reply.is_error()) return Result<Reply>(std::move(reply));
  Status s = status_of_error(reply);
  return Result<Reply>(std::move(s), std::move(reply));
}

}  // namespace authstore::redis
