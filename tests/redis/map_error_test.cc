// redis_reply::map_error (src/backends/redis/redis_backend.h): the one mapping of Redis errors to
// the backend's statuses. No server: replies as the client delivers them (reply_result()).
#include <gtest/gtest.h>

#include <string>

#include "backends/redis/redis_backend.h"

namespace authstore::internal {
namespace {

using redis::Reply;
using redis_reply::map_error;

Status mapped(const std::string& error_text) {
  return map_error("refresh_rotate", redis::reply_result(Reply::error(error_text)));
}

TEST(RedisMapError, StoredDataErrorsAreDataLoss) {
  for (const char* e : {
           "WRONGTYPE Operation against a key holding the wrong kind of value",
           "WRONGTYPE Operation against a key holding the wrong kind of value script: 1f0e, on "
           "@user_script:12.",
           "CORRUPT family state",
           "ERR user_script:7: attempt to compare nil with number script: 1f0e, on @user_script:7.",
           "ERR Error running script (call to f_1f0e): @user_script:7: attempt to compare nil with number",
           "ERR value is not an integer or out of range",
           "ERR hash value is not an integer",
           "ERR increment or decrement would overflow",
       }) {
    const Status s = mapped(e);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << e;
    EXPECT_NE(s.message().find("refresh_rotate"), std::string::npos) << s.message();  // which operation
    EXPECT_NE(s.message().find("corrupt"), std::string::npos) << s.message();
    EXPECT_TRUE(s.field().empty()) << e;  // no caller's field is to blame
  }
}

TEST(RedisMapError, AnyOtherRefusalIsInternalNeverTheCallersInvalidArgument) {
  // The client alone reads these as kInvalidArgument (a generic caller sent a bad command); the
  // backend built every command itself.
  for (const char* e : {"ERR unknown command 'GETDEL'", "ERR syntax error", "ERR wrong number of arguments",
                        "NOSCRIPT No matching script", "SOMETHINGNEW what"}) {
    ASSERT_NE(redis::reply_result(Reply::error(e)).code(), StatusCode::kOk);
    const Status s = mapped(e);
    EXPECT_EQ(s.code(), StatusCode::kInternal) << e;
    EXPECT_NE(s.message().find(e), std::string::npos) << s.message();
  }
}

TEST(RedisMapError, TransientAndAccessErrorsKeepTheirMeaning) {
  EXPECT_EQ(mapped("LOADING Redis is loading the dataset in memory").code(), StatusCode::kUnavailable);
  EXPECT_EQ(mapped("BUSY Redis is busy running a script").code(), StatusCode::kUnavailable);
  EXPECT_EQ(mapped("MASTERDOWN Link with MASTER is down").code(), StatusCode::kUnavailable);
  EXPECT_EQ(mapped("TRYAGAIN Multiple keys request during rehashing").code(), StatusCode::kUnavailable);
  EXPECT_EQ(mapped("CLUSTERDOWN The cluster is down").code(), StatusCode::kUnavailable);
  EXPECT_EQ(mapped("READONLY You can't write against a read only replica.").code(), StatusCode::kUnavailable);
  // min-replicas-to-write refused the write before it ran: retry later, like a master that is down.
  EXPECT_EQ(mapped("NOREPLICAS Not enough good replicas to write.").code(), StatusCode::kUnavailable);
  EXPECT_EQ(mapped("MOVED 3999 127.0.0.1:6381").code(), StatusCode::kUnavailable);
  EXPECT_EQ(mapped("ASK 3999 127.0.0.1:6381").code(), StatusCode::kUnavailable);
  EXPECT_EQ(mapped("OOM command not allowed when used memory > 'maxmemory'.").code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(mapped("NOPERM this user has no permissions").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(mapped("WRONGPASS invalid username-password pair").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(mapped("NOAUTH Authentication required.").code(), StatusCode::kPermissionDenied);
}

TEST(RedisMapError, FailuresWithoutAReplyPassThrough) {
  for (StatusCode c : {StatusCode::kUnavailable, StatusCode::kDeadlineExceeded,
                       StatusCode::kFailedPrecondition, StatusCode::kResourceExhausted}) {
    const Status s = map_error("code_peek", Result<Reply>(Status(c, "redis: something")));
    EXPECT_EQ(s.code(), c);
    EXPECT_EQ(s.message(), "redis: something");
  }
  EXPECT_TRUE(map_error("code_peek", Result<Reply>(Reply::integer(1))).ok());
  // Only the error reply is an error: a reply holding an error inside an array is data.
  EXPECT_TRUE(map_error("code_peek", redis::reply_result(Reply::array({Reply::error("WRONGTYPE x")}))).ok());
}

}  // namespace
}  // namespace authstore::internal
