// The RESP2 reply reader (src/redis/resp.h, hiredis's parser building Reply trees): the same bytes
// fed whole or in pieces give the same replies and the same final state; every reply re-encodes to
// bytes that read back as an equal reply; after a protocol error, reset() gives a working reader.
// Also the encoder: encoded_size() is exact and append_command() output reads back as the array.
//
// Input: chunk-size seed (1 byte), then the byte stream a server would send.
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "redis/reply.h"
#include "redis/resp.h"

namespace {

using authstore::redis::Reply;
using authstore::redis::ReplyReader;

void encode(const Reply& r, std::string& out) {
  switch (r.type()) {
    case Reply::Type::kNil:
      out += "$-1\r\n";
      break;
    case Reply::Type::kInteger:
      out += ":" + std::to_string(r.integer()) + "\r\n";
      break;
    case Reply::Type::kSimpleString:
      out += "+" + r.str() + "\r\n";
      break;
    case Reply::Type::kError:
      out += "-" + r.str() + "\r\n";
      break;
    case Reply::Type::kBulkString:
      out += "$" + std::to_string(r.str().size()) + "\r\n" + r.str() + "\r\n";
      break;
    case Reply::Type::kArray:
      out += "*" + std::to_string(r.elements().size()) + "\r\n";
      for (const Reply& e : r.elements()) encode(e, out);
      break;
  }
}

struct Outcome {
  std::vector<Reply> replies;
  bool error = false;
};

// Feeds `in` in pieces of `chunk` bytes (0 = all at once), draining replies after each piece.
Outcome read_all(std::string_view in, std::size_t chunk) {
  ReplyReader reader;
  Outcome out;
  std::size_t pos = 0;
  do {
    const std::size_t n = chunk == 0 ? in.size() : std::min(chunk, in.size() - pos);
    FUZZ_CHECK(reader.feed(in.data() + pos, n).ok(), "feed failed");
    pos += n;
    for (;;) {
      Reply r;
      const auto next = reader.next(r);
      if (next == ReplyReader::Next::kNeedMore) break;
      if (next == ReplyReader::Next::kProtocolError) {
        FUZZ_CHECK(!reader.error().empty(), "a protocol error without a message");
        out.error = true;
        return out;
      }
      out.replies.push_back(std::move(r));
    }
  } while (pos < in.size());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  authstore::fuzz::Bytes in(authstore::fuzz::as_view(data, size));
  const std::size_t chunk = 1 + in.u8() % 17;
  const std::string_view stream = in.rest();

  const Outcome whole = read_all(stream, 0);
  const Outcome pieces = read_all(stream, chunk);
  FUZZ_CHECK(whole.error == pieces.error && whole.replies == pieces.replies,
             "replies depend on how the bytes were split");
  FUZZ_CHECK(whole.replies.size() <= stream.size() / 3, "more replies than bytes allow");

  for (const Reply& r : whole.replies) {
    std::string again;
    encode(r, again);
    const Outcome back = read_all(again, 0);
    FUZZ_CHECK(!back.error && back.replies.size() == 1 && back.replies[0] == r,
               "a reply does not survive re-encoding");
  }

  // After a protocol error the stream is out of sync; reset() must give a clean reader.
  if (whole.error) {
    ReplyReader reader;
    (void)reader.feed(stream.data(), stream.size());
    Reply r;
    while (reader.next(r) == ReplyReader::Next::kReply) {
    }
    reader.reset();
    FUZZ_CHECK(reader.error().empty(), "reset() kept the error");
    FUZZ_CHECK(reader.feed("+OK\r\n", 5).ok() && reader.next(r) == ReplyReader::Next::kReply &&
                   r == Reply::simple_string("OK"),
               "a reset reader does not read");
  }

  // The encoder: the fuzz stream's pieces as arguments of one command.
  std::vector<std::string_view> args;
  for (std::string_view s = stream; !s.empty();) {
    const std::size_t n = std::min<std::size_t>(s.size(), 1 + static_cast<unsigned char>(s[0]) % 40);
    args.push_back(s.substr(0, n));
    s.remove_prefix(n);
  }
  std::string cmd = "junk";
  authstore::redis::append_command(cmd, args);
  FUZZ_CHECK(cmd.size() == 4 + authstore::redis::encoded_size(args), "encoded_size is not exact");
  const Outcome cmd_back = read_all(std::string_view(cmd).substr(4), chunk);
  FUZZ_CHECK(!cmd_back.error && cmd_back.replies.size() == 1, "an encoded command does not read back");
  const Reply& arr = cmd_back.replies[0];
  FUZZ_CHECK(arr.is_array() && arr.elements().size() == args.size(), "wrong argument count");
  for (std::size_t i = 0; i < args.size(); ++i) {
    FUZZ_CHECK(arr.elements()[i].is_bulk_string() && arr.elements()[i].str() == args[i], "argument changed");
  }
  return 0;
}
