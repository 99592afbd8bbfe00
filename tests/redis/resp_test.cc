// RESP encoding and the hiredis-backed reply reader, on scripted byte streams.
#include "redis/resp.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace authstore::redis {
namespace {

std::vector<Reply> parse_all(std::string_view bytes, std::size_t piece) {
  ReplyReader reader;
  std::vector<Reply> out;
  for (std::size_t i = 0; i < bytes.size(); i += piece) {
    const std::size_t n = std::min(piece, bytes.size() - i);
    EXPECT_TRUE(reader.feed(bytes.data() + i, n).ok());
    Reply r;
    while (reader.next(r) == ReplyReader::Next::kReply) out.push_back(std::move(r));
  }
  return out;
}

TEST(RespEncode, CommandIsArrayOfBulkStrings) {
  std::string out;
  append_command(out, {"SET", "key", "value"});
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
}

TEST(RespEncode, EmptyAndBinaryArgumentsAreLengthPrefixed) {
  std::string out;
  const std::string binary("a\r\n\0b", 5);
  append_command(out, {"SET", "", binary});
  static constexpr char kExpected[] = "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$5\r\na\r\n\0b\r\n";
  EXPECT_EQ(out, std::string(kExpected, sizeof(kExpected) - 1));
}

TEST(RespEncode, EncodedSizeMatchesAppendedBytes) {
  std::string out = "prefix";
  const std::string big(12345, 'x');
  std::vector<std::string_view> args = {"RPUSH", "k", big, "1234567890"};
  append_command(out, args);
  EXPECT_EQ(out.size(), 6 + encoded_size(args));
}

TEST(RespReader, EveryReplyTypeParsed) {
  const std::string_view stream =
      "+OK\r\n-ERR bad thing\r\n:-42\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n"
      "*3\r\n:1\r\n*2\r\n+a\r\n$-1\r\n-NOPE inner\r\n";
  std::vector<Reply> r = parse_all(stream, stream.size());
  ASSERT_EQ(r.size(), 9U);
  EXPECT_EQ(r[0], Reply::simple_string("OK"));
  EXPECT_EQ(r[1], Reply::error("ERR bad thing"));
  EXPECT_EQ(r[1].error_code(), "ERR");
  EXPECT_EQ(r[2], Reply::integer(-42));
  EXPECT_EQ(r[3], Reply::bulk_string("hello"));
  EXPECT_TRUE(r[4].is_nil());
  EXPECT_TRUE(r[5].is_nil());
  EXPECT_EQ(r[6], Reply::array({}));
  EXPECT_EQ(r[7], Reply::bulk_string(""));
  EXPECT_EQ(r[8], Reply::array({Reply::integer(1), Reply::array({Reply::simple_string("a"), Reply::nil()}),
                                Reply::error("NOPE inner")}));
}

TEST(RespReader, ByteByByteGivesSameReplies) {
  const std::string_view stream = "*2\r\n$3\r\nfoo\r\n*1\r\n:7\r\n+PONG\r\n";
  EXPECT_EQ(parse_all(stream, 1), parse_all(stream, stream.size()));
  EXPECT_EQ(parse_all(stream, 1).size(), 2U);
}

TEST(RespReader, LargeBulkAcrossManyPieces) {
  const std::string value(100000, 'v');
  const std::string stream = "$100000\r\n" + value + "\r\n";
  std::vector<Reply> r = parse_all(stream, 4096);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_EQ(r[0].str(), value);
}

TEST(RespReader, ProtocolErrorReported) {
  ReplyReader reader;
  ASSERT_TRUE(reader.feed("?what\r\n", 7).ok());
  Reply r;
  EXPECT_EQ(reader.next(r), ReplyReader::Next::kProtocolError);
  EXPECT_FALSE(reader.error().empty());
  reader.reset();
  ASSERT_TRUE(reader.feed(":1\r\n", 4).ok());
  EXPECT_EQ(reader.next(r), ReplyReader::Next::kReply);
  EXPECT_EQ(r, Reply::integer(1));
}

// Found by fuzzing (tests/fuzz/fuzz_resp.cc): the reader sized an array from its header alone, so
// 13 bytes from a hostile or broken server ("*2000000000\r\n") made the client allocate 2e9
// replies (~144 GB): out of memory, or worse, an allocation that succeeds and is zero-filled.
// Elements are now stored as they arrive: the reply is simply incomplete.
TEST(RespReader, ArrayHeaderAloneAllocatesNoElements) {
  ReplyReader reader;
  const std::string_view head = "*2000000000\r\n:1\r\n$2\r\nab\r\n*1\r\n*-1\r\n";
  ASSERT_TRUE(reader.feed(head.data(), head.size()).ok());
  Reply r;
  EXPECT_EQ(reader.next(r), ReplyReader::Next::kNeedMore) << reader.error();
  // Arrays longer than the room reserved up front still read back whole and in order.
  std::string stream = "*1000\r\n";
  std::vector<Reply> expect;
  for (int i = 0; i < 1000; ++i) {
    stream += i % 2 ? ":" + std::to_string(i) + "\r\n" : "*1\r\n$1\r\nx\r\n";
    expect.push_back(i % 2 ? Reply::integer(i) : Reply::array({Reply::bulk_string("x")}));
  }
  const std::vector<Reply> got = parse_all(stream, 7);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0], Reply::array(expect));
}

TEST(RespReply, ErrorRepliesMapToStatusCodes) {
  EXPECT_EQ(reply_result(Reply::error("WRONGPASS invalid")).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(reply_result(Reply::error("NOPERM no")).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(reply_result(Reply::error("OOM full")).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(reply_result(Reply::error("LOADING wait")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(reply_result(Reply::error("NOSCRIPT x")).code(), StatusCode::kFailedPrecondition);
  Result<Reply> generic = reply_result(Reply::error("ERR syntax"));
  EXPECT_EQ(generic.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(generic.has_value());
  EXPECT_EQ(generic.value().str(), "ERR syntax");
  EXPECT_TRUE(reply_result(Reply::integer(3)).ok());
}

}  // namespace
}  // namespace authstore::redis
