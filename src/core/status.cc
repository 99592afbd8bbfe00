#include "authstore/status.h"

#include "authstore/options.h"

namespace authstore {

std::string_view to_string(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kAlreadyConsumed:
      return "already_consumed";
    case StatusCode::kReplayed:
      return "replayed";
    case StatusCode::kReused:
      return "reused";
    case StatusCode::kConflict:
      return "conflict";
    case StatusCode::kRevoked:
      return "revoked";
    case StatusCode::kAlreadyExists:
      return "already_exists";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kPermissionDenied:
      return "permission_denied";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case StatusCode::kDataLoss:
      return "data_loss";
    case StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case StatusCode::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string Status::to_string() const {
  std::string out(authstore::to_string(code_));
  if (!field_.empty()) {
    out += ": ";
    out += field_;
  }
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

}  // namespace authstore
