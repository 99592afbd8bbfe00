// The fixed table of (store, operation) pairs that metrics count, indexed without lookups.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "authstore/metrics.h"

namespace authstore::internal {

// clang-format off
#define AUTHSTORE_OPS(X)                                                               \
  X(kCodeIssue, "codes", "issue") X(kCodePeek, "codes", "peek")                        \
  X(kCodeConsume, "codes", "consume")                                                  \
  X(kRefreshIssue, "refresh", "issue") X(kRefreshRotate, "refresh", "rotate")          \
  X(kRefreshConsume, "refresh", "consume") X(kRefreshPeek, "refresh", "peek")          \
  X(kRefreshStoreJti, "refresh", "store_jti") X(kRefreshConsumeJti, "refresh", "consume_jti") \
  X(kRefreshRevoke, "refresh", "revoke") X(kRefreshRevokeFamily, "refresh", "revoke_family") \
  X(kRefreshRevokeSubject, "refresh", "revoke_subject")                                \
  X(kRefreshRevokeClient, "refresh", "revoke_client")                                  \
  X(kRefreshRevokeGrant, "refresh", "revoke_grant") X(kRefreshList, "refresh", "list") \
  X(kRefreshGrantLive, "refresh", "grant_live")                                         \
  X(kSessionGet, "sessions", "get") X(kSessionUpsert, "sessions", "upsert")            \
  X(kSessionDelete, "sessions", "delete") X(kSessionGetAll, "sessions", "get_all")     \
  X(kSessionDeleteAll, "sessions", "delete_all")                                       \
  X(kReplayReserve, "replay", "reserve") X(kReplayRelease, "replay", "release")        \
  X(kTokenSave, "client_tokens", "save") X(kTokenGet, "client_tokens", "get")          \
  X(kTokenHas, "client_tokens", "has") X(kTokenRemove, "client_tokens", "remove")      \
  X(kTokenList, "client_tokens", "list") X(kTokenTake, "client_tokens", "take")    \
  X(kPayloadUpsert, "payloads", "upsert") X(kPayloadFind, "payloads", "find")          \
  X(kPayloadConsume, "payloads", "consume") X(kPayloadDestroy, "payloads", "destroy")  \
  X(kPayloadRevokeGrant, "payloads", "revoke_by_grant_id")
// clang-format on

enum class OpId : std::size_t {
#define AUTHSTORE_OP_ENUM(id, store, op) id,
  AUTHSTORE_OPS(AUTHSTORE_OP_ENUM)
#undef AUTHSTORE_OP_ENUM
      kCount_
};

struct OpName {
  std::string_view store;
  std::string_view op;
};

inline constexpr OpName kOpNames[] = {
#define AUTHSTORE_OP_NAME(id, store, op) {store, op},
    AUTHSTORE_OPS(AUTHSTORE_OP_NAME)
#undef AUTHSTORE_OP_NAME
};

// Fast path for the stores: records by table index (src/core/metrics.cc).
void record_op(Metrics& metrics, OpId op, StatusCode outcome, std::int64_t nanoseconds) noexcept;

}  // namespace authstore::internal
