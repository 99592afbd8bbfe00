// Writes valid inputs for the fuzz targets, made by the current code with the fuzzing ring
// (fuzz_common.h): sealed records and minted tokens, which no fuzzer can forge on its own.
// usage: fuzz_make_seeds DIR   (writes DIR/record/gen-*, DIR/token/gen-*)
#include <filesystem>
#include <fstream>
#include <string>

#include "core/encoding.h"
#include "core/record.h"
#include "core/token.h"
#include "fuzz_common.h"

namespace {

using namespace authstore::internal;

void write(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

// The record target's layout: selector, flip position (2), key length + key, then the blob.
std::string record_input(std::uint8_t sel, const std::string& key, const std::string& blob) {
  std::string in;
  in.push_back(static_cast<char>(sel));
  put_u16(in, 3);
  in.push_back(static_cast<char>(key.size()));
  return in + key + blob;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds DIR\n");
    return 2;
  }
  const std::filesystem::path out(argv[1]);
  const auto ring1 = authstore::fuzz::make_ring(1);
  const auto ring7 = authstore::fuzz::make_ring(7);

  const std::string body = RecordWriter()
                               .str(1, "rf1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                               .str(2, "alice")
                               .i64(7, 1'700'000'000'000)
                               .str(9, "{}")
                               .take();
  const std::string key = "rf:{AAAAAAAAAAA}:BBBBBBBBBBBBBBBBBBBBBB";
  for (std::uint8_t t = 1; t <= 6; ++t) {
    const auto type = static_cast<RecordType>(t);
    const std::uint8_t sel = static_cast<std::uint8_t>(t - 1);
    write(out / "record", "gen-signed-" + std::to_string(t),
          record_input(sel, key, seal_signed(t % 2 ? *ring1 : *ring7, type, key, body)));
    write(out / "record", "gen-encrypted-" + std::to_string(t),
          record_input(sel, key, seal_encrypted(*ring1, type, key, body)));
  }
  write(out / "record", "gen-body", record_input(0, key, body));

  const std::string route("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  write(out / "token", "gen-code-7", mint_token(*ring7, TokenKind::kCode, route).text);
  write(out / "token", "gen-refresh-7", mint_token(*ring7, TokenKind::kRefresh, route).text);
  write(out / "token", "gen-code-1", mint_token(*ring1, TokenKind::kCode, route).text);
  write(out / "token", "gen-refresh-1", mint_token(*ring1, TokenKind::kRefresh, route).text);
  return 0;
}
