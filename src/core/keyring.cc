#include "core/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/encoding.h"

namespace authstore::internal {
namespace {

constexpr std::size_t kMinSecret = 32;

Status invalid(std::string msg, std::string field = "keys") {
  return Status(StatusCode::kInvalidArgument, std::move(msg), std::move(field));
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(StatusCode::kFailedPrecondition,
                  "cannot read key file '" + path + "': " + std::strerror(errno), "key_file");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<KeyOptions> parse_key_file(const std::string& text) {
  KeyOptions out;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    const std::string where = "key file line " + std::to_string(lineno);
    if (kind == "route") {
      std::string b64;
      words >> b64;
      auto secret = base64url_decode(b64);
      if (!secret || secret->size() < kMinSecret) {
        return invalid(where + ": route secret must be >= 32 bytes of base64url", "key_file");
      }
      out.route_secret = *secret;
    } else if (kind == "key") {
      long id = 0;
      std::string b64;
      words >> id >> b64;
      auto secret = base64url_decode(b64);
      if (id < 1 || id > 65535) return invalid(where + ": key id must be 1..65535", "key_file");
      if (!secret || secret->size() < kMinSecret) {
        return invalid(where + ": key secret must be >= 32 bytes of base64url", "key_file");
      }
      out.keys.push_back(KeyEntry{static_cast<std::uint16_t>(id), *secret});
    } else if (kind == "current") {
      long id = 0;
      words >> id;
      if (id < 1 || id > 65535) return invalid(where + ": current key id must be 1..65535", "key_file");
      out.current_key_id = static_cast<std::uint16_t>(id);
    } else {
      return invalid(where + ": expected 'route', 'key' or 'current'", "key_file");
    }
    std::string rest;
    if (words >> rest) return invalid(where + ": unexpected trailing text", "key_file");
  }
  if (out.keys.empty()) return invalid("key file has no 'key' line", "key_file");
  return out;
}

Result<std::shared_ptr<const KeyRing>> KeyRing::from_keys(const std::vector<KeyEntry>& keys,
                                                          std::uint16_t current_id,
                                                          const std::string& route_secret) {
  if (keys.empty()) return invalid("key ring is empty");
  auto ring = std::make_shared<KeyRing>();
  for (const auto& k : keys) {
    if (k.id == 0) return invalid("key id 0 is reserved; use 1..65535");
    if (k.secret.size() < kMinSecret) {
      return invalid("key " + std::to_string(k.id) + " is shorter than 32 bytes");
    }
    if (ring->keys_.count(k.id) != 0) return invalid("key id " + std::to_string(k.id) + " appears twice");
    RingKey rk;
    rk.id = k.id;
    rk.record_mac = std::make_unique<HmacKey>(hkdf_sha256(k.secret, "authstore v1 record-mac", 32));
    rk.lookup = std::make_unique<HmacKey>(hkdf_sha256(k.secret, "authstore v1 lookup", 32));
    rk.encrypt = hkdf_sha256(k.secret, "authstore v1 encrypt", 32);
    ring->keys_.emplace(k.id, std::move(rk));
  }
  const std::uint16_t cur = current_id != 0 ? current_id : ring->keys_.rbegin()->first;
  auto it = ring->keys_.find(cur);
  if (it == ring->keys_.end()) {
    return invalid("current key id " + std::to_string(cur) + " is not in the ring");
  }
  ring->current_ = &it->second;
  std::string route = route_secret;
  if (route.empty()) {
    // Derived from the lowest-id key: keep that key (or set route_secret) for the data's life.
    const auto& lowest = *std::min_element(keys.begin(), keys.end(),
                                           [](const auto& a, const auto& b) { return a.id < b.id; });
    route = lowest.secret;
  } else if (route.size() < kMinSecret) {
    return invalid("route secret is shorter than 32 bytes");
  }
  ring->index_ = std::make_unique<HmacKey>(hkdf_sha256(route, "authstore v1 index", 32));
  return std::shared_ptr<const KeyRing>(std::move(ring));
}

const RingKey* KeyRing::find(std::uint16_t id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

Result<std::shared_ptr<const KeyRing>> KeyRing::load(const KeyOptions& options,
                                                     bool allow_throwaway, bool* throwaway) {
  if (throwaway != nullptr) *throwaway = false;
  if (!options.keys.empty()) {
    return from_keys(options.keys, options.current_key_id, options.route_secret);
  }
  std::string file = options.key_file;
  if (file.empty()) {
    if (const char* secret = std::getenv("AUTHSTORE_SECRET"); secret != nullptr && *secret != 0) {
      const std::string s(secret);
      if (s.size() < kMinSecret) {
        return invalid("AUTHSTORE_SECRET must be at least 32 characters", "AUTHSTORE_SECRET");
      }
      return from_keys({KeyEntry{1, s}}, 1, {});
    }
    if (const char* path = std::getenv("AUTHSTORE_KEY_FILE"); path != nullptr && *path != 0) {
      file = path;
    }
  }
  if (!file.empty()) {
    auto text = read_file(file);
    if (!text.ok()) return text.status();
    auto parsed = parse_key_file(text.value());
    if (!parsed.ok()) return parsed.status();
    return from_keys(parsed->keys, parsed->current_key_id, parsed->route_secret);
  }
  if (allow_throwaway && options.development_mode) {
    if (throwaway != nullptr) *throwaway = true;
    return from_keys({KeyEntry{1, random_bytes(32)}}, 1, random_bytes(32));
  }
  return Status(StatusCode::kFailedPrecondition,
                "no secret configured: set Options::keys or key_file, or AUTHSTORE_SECRET, or "
                "AUTHSTORE_KEY_FILE (memory:// also accepts keys.development_mode for a throwaway key)",
                "keys");
}

}  // namespace authstore::internal

namespace authstore {

Status create_key_file(const std::string& path) {
  using internal::base64url_encode;
  using internal::random_bytes;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status(StatusCode::kAlreadyExists, "key file exists: " + path, "key_file");
    return Status(StatusCode::kFailedPrecondition,
                  "cannot create key file '" + path + "': " + std::strerror(errno), "key_file");
  }
  ::fchmod(fd, 0600);  // regardless of umask
  const std::string text = "# authstore key file v1 (keep secret; mode 0600)\n"
                           "# 'route' must never change for the data's lifetime; add keys to rotate.\n"
                           "route " + base64url_encode(random_bytes(32)) + "\n"
                           "key 1 " + base64url_encode(random_bytes(32)) + "\n"
                           "current 1\n";
  const auto n = ::write(fd, text.data(), text.size());
  const bool ok = n == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status(StatusCode::kUnavailable, "cannot write key file '" + path + "'", "key_file");
  }
  return Status::Ok();
}

}  // namespace authstore
