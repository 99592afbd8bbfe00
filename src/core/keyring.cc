#include "core/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/encoding.h"

namespace authstore::internal {
namespace {

constexpr std::size_t kMinSecret = 32;
constexpr std::size_t kMaxKeyFile = 64 * 1024;

Status invalid(std::string msg, std::string field = "keys") {
  return Status(StatusCode::kInvalidArgument, std::move(msg), std::move(field));
}

Status unsafe_file(const std::string& path, const std::string& why) {
  return Status(StatusCode::kFailedPrecondition,
                "refusing key file '" + path + "': " + why +
                    " (set KeyOptions::allow_insecure_key_file or AUTHSTORE_ALLOW_INSECURE_KEY_FILE=1 "
                    "to accept it anyway)",
                "key_file");
}

// Clears the secrets of a KeyOptions copy (the ring keeps only derived keys).
void cleanse_keys(KeyOptions& k) noexcept {
  for (auto& e : k.keys) cleanse(e.secret);
  cleanse(k.route_secret);
}

bool env_set(const char* name, std::string& out) {
  const char* v = std::getenv(name);
  if (v == nullptr) return false;
  out = v;
  return true;
}

}  // namespace

bool weak_secret(std::string_view secret) {
  bool seen[256] = {};
  std::size_t distinct = 0;
  bool printable = true;
  bool zero = true;
  for (char ch : secret) {
    const auto c = static_cast<unsigned char>(ch);
    if (!seen[c]) {
      seen[c] = true;
      ++distinct;
    }
    if (c < 0x20 || c > 0x7e) printable = false;
    if (c != 0) zero = false;
  }
  return zero || distinct < 8 || printable;
}

Result<std::string> read_key_file(const std::string& path, bool allow_insecure) {
  const int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (allow_insecure ? 0 : O_NOFOLLOW);
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    const int e = errno;
    if (e == ELOOP && !allow_insecure) return unsafe_file(path, "it is a symbolic link");
    return Status(StatusCode::kFailedPrecondition, "cannot read key file '" + path + "': " + std::strerror(e),
                  "key_file");
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Status(StatusCode::kFailedPrecondition,
                  "cannot stat key file '" + path + "': " + std::strerror(errno), "key_file");
  }
  if (!S_ISREG(st.st_mode)) {
    return Status(StatusCode::kFailedPrecondition, "key file '" + path + "' is not a regular file",
                  "key_file");
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFile)) {
    return Status(StatusCode::kFailedPrecondition, "key file '" + path + "' is larger than 64 KiB",
                  "key_file");
  }
  if (!allow_insecure) {
    if (st.st_uid != ::geteuid() && st.st_uid != 0) {
      return unsafe_file(path, "it is owned by uid " + std::to_string(st.st_uid) +
                                   ", not by this user (uid " + std::to_string(::geteuid()) + ")");
    }
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return unsafe_file(
          path, std::string("its mode is ") + mode + ": group and others must have no access (chmod 600)");
    }
  }
  std::string text;
  text.resize(kMaxKeyFile + 1);
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      cleanse(text);
      return Status(StatusCode::kFailedPrecondition,
                    "cannot read key file '" + path + "': " + std::strerror(e), "key_file");
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > kMaxKeyFile) {  // grew after fstat
    cleanse(text);
    return Status(StatusCode::kFailedPrecondition, "key file '" + path + "' is larger than 64 KiB",
                  "key_file");
  }
  text.resize(got);
  return text;
}

Result<KeyOptions> parse_key_file(const std::string& text) {
  KeyOptions out;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  bool have_route = false;
  bool have_current = false;
  auto fail = [&out](Status s) -> Result<KeyOptions> {
    cleanse_keys(out);
    return s;
  };
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // A '#' after whitespace starts a comment (base64url never contains '#').
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
        line.resize(i);
        break;
      }
    }
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    const std::string where = "key file line " + std::to_string(lineno);
    if (kind == "route") {
      if (have_route)
        return fail(invalid(where + ": a second 'route' line (only one is allowed)", "key_file"));
      have_route = true;
      std::string b64;
      words >> b64;
      auto secret = base64url_decode(b64);
      cleanse(b64);
      if (!secret || secret->size() < kMinSecret) {
        if (secret) cleanse(*secret);
        return fail(invalid(where + ": route secret must be >= 32 bytes of base64url", "key_file"));
      }
      out.route_secret = std::move(*secret);
    } else if (kind == "key") {
      long id = 0;
      std::string b64;
      words >> id >> b64;
      auto secret = base64url_decode(b64);
      cleanse(b64);
      if (id < 1 || id > 65535) {
        if (secret) cleanse(*secret);
        return fail(invalid(where + ": key id must be 1..65535", "key_file"));
      }
      if (!secret || secret->size() < kMinSecret) {
        if (secret) cleanse(*secret);
        return fail(invalid(where + ": key secret must be >= 32 bytes of base64url", "key_file"));
      }
      for (const auto& k : out.keys) {
        if (k.id == id) {
          cleanse(*secret);
          return fail(invalid(where + ": key id " + std::to_string(id) + " appears twice", "key_file"));
        }
      }
      out.keys.push_back(KeyEntry{static_cast<std::uint16_t>(id), std::move(*secret)});
    } else if (kind == "current") {
      if (have_current) {
        return fail(invalid(where + ": a second 'current' line (only one is allowed)", "key_file"));
      }
      have_current = true;
      long id = 0;
      words >> id;
      if (id < 1 || id > 65535) return fail(invalid(where + ": current key id must be 1..65535", "key_file"));
      out.current_key_id = static_cast<std::uint16_t>(id);
    } else {
      return fail(invalid(where + ": expected 'route', 'key' or 'current'", "key_file"));
    }
    std::string rest;
    if (words >> rest) {
      cleanse(rest);
      return fail(invalid(where + ": unexpected trailing text (a comment starts with ' #')", "key_file"));
    }
  }
  cleanse(line);
  if (out.keys.empty()) return fail(invalid("key file has no 'key' line", "key_file"));
  return out;
}

Result<std::shared_ptr<const KeyRing>> KeyRing::from_keys(const std::vector<KeyEntry>& keys,
                                                          std::uint16_t current_id,
                                                          const std::string& route_secret) {
  auto built = build(keys, current_id, route_secret);
  if (!built.ok()) return built.status();
  return std::shared_ptr<const KeyRing>(std::move(built.value()));
}

Result<std::shared_ptr<KeyRing>> KeyRing::build(const std::vector<KeyEntry>& keys, std::uint16_t current_id,
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
    rk.fingerprint = hkdf_sha256(k.secret, "authstore v1 key-fingerprint", 16);
    rk.marker_mac = std::make_unique<HmacKey>(hkdf_sha256(k.secret, "authstore v1 marker-mac", 32));
    ring->keys_.emplace(k.id, std::move(rk));
  }
  const std::uint16_t cur = current_id != 0 ? current_id : ring->keys_.rbegin()->first;
  auto it = ring->keys_.find(cur);
  if (it == ring->keys_.end()) {
    return invalid("current key id " + std::to_string(cur) + " is not in the ring");
  }
  ring->current_ = &it->second;
  const std::string* route = &route_secret;
  if (route_secret.empty()) {
    // Derived from the lowest-id key: keep that key (or set route_secret) for the data's life.
    // The store marker records this, so open() refuses a ring that lost that key.
    const auto& lowest =
        *std::min_element(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    route = &lowest.secret;
    ring->index_source_ = lowest.id;
  } else if (route_secret.size() < kMinSecret) {
    return invalid("route secret is shorter than 32 bytes");
  }
  std::string index_key = hkdf_sha256(*route, "authstore v1 index", 32);
  ring->index_ = std::make_unique<HmacKey>(index_key);
  cleanse(index_key);
  ring->index_fingerprint_ = hkdf_sha256(*route, "authstore v1 index-fingerprint", 16);
  return ring;
}

const RingKey* KeyRing::find(std::uint16_t id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

Result<std::shared_ptr<KeyRing>> KeyRing::load(const KeyOptions& options, bool allow_throwaway,
                                               bool* throwaway,
                                               const std::function<void(std::string_view)>& warn) {
  if (throwaway != nullptr) *throwaway = false;
  auto checked = [&warn](const KeyOptions& k, const std::string& source) {
    auto ring = build(k.keys, k.current_key_id, k.route_secret);
    if (ring.ok() && warn) {
      for (const auto& e : k.keys) {
        if (weak_secret(e.secret)) {
          warn("key " + std::to_string(e.id) + " from " + source +
               " looks weak (all zero, or only printable characters like a password): replace it "
               "with 32 random bytes (authstore::create_key_file) by a key rotation");
        }
      }
      if (!k.route_secret.empty() && weak_secret(k.route_secret)) {
        warn("the route secret from " + source +
             " looks weak (all zero, or only printable characters like a password)");
      }
    }
    return ring;
  };
  if (!options.keys.empty()) return checked(options, "Options::keys");
  std::string file = options.key_file;
  std::string source = "key file '" + file + "'";
  if (file.empty()) {
    std::string secret;
    if (env_set("AUTHSTORE_SECRET", secret)) {
      if (secret.empty()) {
        return invalid("AUTHSTORE_SECRET is set but empty (unset it, or give >= 32 characters)",
                       "AUTHSTORE_SECRET");
      }
      if (secret.size() < kMinSecret) {
        cleanse(secret);
        return invalid("AUTHSTORE_SECRET must be at least 32 characters", "AUTHSTORE_SECRET");
      }
      KeyOptions k;
      k.keys = {KeyEntry{1, std::move(secret)}};
      k.current_key_id = 1;
      auto ring = checked(k, "AUTHSTORE_SECRET");
      cleanse_keys(k);
      return ring;
    }
    if (env_set("AUTHSTORE_KEY_FILE", file)) {
      if (file.empty()) {
        return invalid("AUTHSTORE_KEY_FILE is set but empty (unset it, or give a path)",
                       "AUTHSTORE_KEY_FILE");
      }
      source = "key file '" + file + "' (AUTHSTORE_KEY_FILE)";
    }
  }
  if (!file.empty()) {
    bool insecure = options.allow_insecure_key_file;
    if (const char* v = std::getenv("AUTHSTORE_ALLOW_INSECURE_KEY_FILE"); v != nullptr) {
      insecure = insecure || std::string_view(v) == "1";
    }
    auto text = read_key_file(file, insecure);
    if (!text.ok()) return text.status();
    auto parsed = parse_key_file(text.value());
    cleanse(text.value());
    if (!parsed.ok()) return parsed.status();
    auto ring = checked(parsed.value(), source);
    cleanse_keys(parsed.value());
    return ring;
  }
  if (allow_throwaway && options.development_mode) {
    if (throwaway != nullptr) *throwaway = true;
    KeyOptions k;
    k.keys = {KeyEntry{1, random_bytes(32)}};
    k.route_secret = random_bytes(32);
    auto ring = build(k.keys, 1, k.route_secret);
    cleanse_keys(k);
    return ring;
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
  std::string route = random_bytes(32);
  std::string key = random_bytes(32);
  if (internal::weak_secret(route) || internal::weak_secret(key)) {  // a broken CSPRNG
    internal::cleanse(route);
    internal::cleanse(key);
    return Status(StatusCode::kInternal, "refusing to create a key file: the random key looks weak",
                  "key_file");
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    internal::cleanse(route);
    internal::cleanse(key);
    if (errno == EEXIST) return Status(StatusCode::kAlreadyExists, "key file exists: " + path, "key_file");
    return Status(StatusCode::kFailedPrecondition,
                  "cannot create key file '" + path + "': " + std::strerror(errno), "key_file");
  }
  ::fchmod(fd, 0600);  // regardless of umask
  std::string text =
      "# authstore key file v1 (keep secret; mode 0600)\n"
      "# 'route' must never change for the data's lifetime; add keys to rotate.\n"
      "route " +
      base64url_encode(route) +
      "\n"
      "key 1 " +
      base64url_encode(key) +
      "\n"
      "current 1\n";
  internal::cleanse(route);
  internal::cleanse(key);
  const auto n = ::write(fd, text.data(), text.size());
  const bool ok = n == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  internal::cleanse(text);
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status(StatusCode::kUnavailable, "cannot write key file '" + path + "'", "key_file");
  }
  return Status::Ok();
}

}  // namespace authstore
