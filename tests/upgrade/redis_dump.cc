#include "upgrade/redis_dump.h"

#include <algorithm>
#include <sstream>

namespace authstore::upgrade {
namespace {

std::string hex(const std::string& s) {
  static const char* const digits = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out.empty() ? "-" : out;  // "-" keeps an empty value a word of its own
}

bool unhex(const std::string& h, std::string& out) {
  out.clear();
  if (h == "-") return true;
  if (h.size() % 2 != 0) return false;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < h.size(); i += 2) {
    const int a = nib(h[i]), b = nib(h[i + 1]);
    if (a < 0 || b < 0) return false;
    out += static_cast<char>(a * 16 + b);
  }
  return true;
}

Result<redis::Reply> call(redis::Client& c, const std::vector<std::string>& args) {
  std::vector<std::string_view> v(args.begin(), args.end());
  return c.call(std::span<const std::string_view>(v.data(), v.size()));
}

Status bad(const std::string& what) { return Status(StatusCode::kDataLoss, "redis dump: " + what); }

}  // namespace

Result<std::vector<DumpedKey>> dump_keys(redis::Client& client, const std::string& prefix) {
  std::vector<std::string> names;
  std::string cursor = "0";
  do {
    auto r = call(client, {"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"});
    if (!r.ok()) return r.status();
    const auto& e = r->elements();
    if (e.size() != 2) return bad("unexpected SCAN reply");
    cursor = e[0].str();
    for (const auto& k : e[1].elements()) names.push_back(k.str());
  } while (cursor != "0");
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  std::vector<DumpedKey> out;
  for (const auto& name : names) {
    if (name.find_first_of(" \t\r\n") != std::string::npos) return bad("key with whitespace");
    DumpedKey k;
    k.key = name;
    auto type = call(client, {"TYPE", name});
    if (!type.ok()) return type.status();
    k.type = type->str();
    Result<redis::Reply> content = Status(StatusCode::kInternal, "unset");
    if (k.type == "string") {
      content = call(client, {"GET", name});
      if (content.ok()) k.items.push_back(content->str());
    } else if (k.type == "hash") {
      content = call(client, {"HGETALL", name});
    } else if (k.type == "zset") {
      content = call(client, {"ZRANGE", name, "0", "-1", "WITHSCORES"});
    } else if (k.type == "set") {
      content = call(client, {"SMEMBERS", name});
    } else if (k.type == "list") {
      content = call(client, {"LRANGE", name, "0", "-1"});
    } else if (k.type == "none") {
      continue;  // expired since SCAN
    } else {
      return bad("unsupported type " + k.type);
    }
    if (!content.ok()) return content.status();
    if (k.type != "string") {
      for (const auto& e : content->elements()) k.items.push_back(e.str());
    }
    if (k.type == "zset") {  // Redis answers member, score: store score first
      for (std::size_t i = 0; i + 1 < k.items.size(); i += 2) std::swap(k.items[i], k.items[i + 1]);
    }
    if (k.type == "set") std::sort(k.items.begin(), k.items.end());
    auto pttl = call(client, {"PTTL", name});
    if (!pttl.ok()) return pttl.status();
    k.pttl = pttl->integer();
    if (k.pttl == -2) continue;  // expired meanwhile
    out.push_back(std::move(k));
  }
  return out;
}

std::string format_dump(const std::vector<DumpedKey>& keys) {
  std::string out;
  for (const auto& k : keys) {
    out += k.type + " " + std::to_string(k.pttl) + " " + k.key;
    for (std::size_t i = 0; i < k.items.size(); ++i) {
      out += " ";
      out += (k.type == "zset" && i % 2 == 0) ? k.items[i] : hex(k.items[i]);
    }
    out += "\n";
  }
  return out;
}

Result<std::vector<DumpedKey>> parse_dump(const std::string& text) {
  std::vector<DumpedKey> out;
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    DumpedKey k;
    if (!(words >> k.type >> k.pttl >> k.key)) return bad("line " + std::to_string(n) + ": malformed");
    for (std::string w; words >> w;) {
      if (k.type == "zset" && k.items.size() % 2 == 0) {
        k.items.push_back(w);
      } else {
        std::string v;
        if (!unhex(w, v)) return bad("line " + std::to_string(n) + ": bad hex");
        k.items.push_back(std::move(v));
      }
    }
    const bool pairs = k.type == "hash" || k.type == "zset";
    if (k.items.empty() || (pairs && k.items.size() % 2 != 0) ||
        (k.type == "string" && k.items.size() != 1)) {
      return bad("line " + std::to_string(n) + ": wrong item count");
    }
    out.push_back(std::move(k));
  }
  return out;
}

Status restore_keys(redis::Client& client, const std::vector<DumpedKey>& keys) {
  for (const auto& k : keys) {
    std::vector<std::string> args;
    if (k.type == "string") {
      args = {"SET", k.key, k.items[0]};
    } else {
      const char* cmd = k.type == "hash"   ? "HSET"
                        : k.type == "zset" ? "ZADD"
                        : k.type == "set"  ? "SADD"
                        : k.type == "list" ? "RPUSH"
                                           : nullptr;
      if (cmd == nullptr) return bad("unsupported type " + k.type);
      if (auto d = call(client, {"DEL", k.key}); !d.ok()) return d.status();
      args = {cmd, k.key};
      args.insert(args.end(), k.items.begin(), k.items.end());
    }
    if (auto r = call(client, args); !r.ok()) return r.status();
    if (k.pttl > 0) {
      if (auto r = call(client, {"PEXPIRE", k.key, std::to_string(k.pttl)}); !r.ok()) return r.status();
    }
  }
  return Status::Ok();
}

}  // namespace authstore::upgrade
