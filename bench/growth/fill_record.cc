#include "growth/fill_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

namespace growth {
namespace {

constexpr const char* kMagic = "authstore growth_bench fill record 1";

bool parse_long(const std::string& s, long* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = static_cast<long>(v);
  return true;
}

bool parse_u64(const std::string& s, std::uint64_t* out) {
  if (s.empty() || s[0] == '-') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = static_cast<std::uint64_t>(v);
  return true;
}

}  // namespace

std::string sqlite_db_path(const std::string& url, std::string* error) {
  constexpr std::string_view kScheme = "sqlite://";
  if (url.rfind(kScheme, 0) != 0) return {};
  std::string path = url.substr(kScheme.size());
  path = path.substr(0, path.find('?'));
  if (path.find('%') != std::string::npos) {
    *error = "a sqlite:// path with a percent-escape is not supported by --reuse: " + url;
    return {};
  }
  if (path.empty()) *error = "a sqlite:// URL without a path: " + url;
  return path;
}

bool read_record(const std::string& path, FillRecord* out, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  FillRecord r;
  std::string line;
  if (!std::getline(in, line) || line != kMagic) {
    *error = path + ": not a growth_bench fill record (first line '" + line.substr(0, 60) + "')";
    return false;
  }
  long sample_size = -1;
  long lines = 1;
  while (std::getline(in, line)) {
    ++lines;
    const std::size_t sp = line.find(' ');
    const std::string key = line.substr(0, sp);
    const std::string value = sp == std::string::npos ? std::string() : line.substr(sp + 1);
    long v = 0;
    bool ok = true;
    if (key == "layout") {
      r.layout = value;
    } else if (key == "run_id") {
      r.run_id = value;
    } else if (key == "token") {
      ok = !value.empty();
      r.rotate_tokens.push_back(value);
    } else if (key == "sample") {
      ok = value == "ready" || value == "spent";
      r.sample_spent = value == "spent";
    } else if (key == "db_dev") {
      ok = parse_u64(value, &r.db_dev);
    } else if (key == "db_ino") {
      ok = parse_u64(value, &r.db_ino);
    } else if ((ok = parse_long(value, &v))) {
      if (key == "n") {
        r.n = v;
      } else if (key == "per_kind") {
        r.per_kind = v;
      } else if (key == "filled_at_ms") {
        r.filled_at_ms = v;
      } else if (key == "expires_at_ms") {
        r.expires_at_ms = v;
      } else if (key == "timed_runs") {
        r.timed_runs = v;
      } else if (key == "added_records") {
        r.added_records = v;
      } else if (key == "sample_size") {
        sample_size = v;
      } else {
        ok = false;
      }
    }
    if (!ok) {
      *error = path + ": line " + std::to_string(lines) + " is malformed: '" + line.substr(0, 60) + "'";
      return false;
    }
  }
  if (r.n <= 0 || r.per_kind <= 0 || r.layout.empty() || r.expires_at_ms <= 0 || sample_size < 0 ||
      static_cast<long>(r.rotate_tokens.size()) != sample_size) {
    *error = path + ": incomplete (a field is missing, or the sample has " +
             std::to_string(r.rotate_tokens.size()) + " tokens where it says " + std::to_string(sample_size) +
             ")";
    return false;
  }
  *out = std::move(r);
  return true;
}

bool write_record(const std::string& path, const FillRecord& r, std::string* error) {
  std::ostringstream o;
  o << kMagic << '\n'
    << "n " << r.n << '\n'
    << "per_kind " << r.per_kind << '\n'
    << "layout " << r.layout << '\n'
    << "run_id " << r.run_id << '\n'
    << "filled_at_ms " << r.filled_at_ms << '\n'
    << "expires_at_ms " << r.expires_at_ms << '\n'
    << "db_dev " << r.db_dev << '\n'
    << "db_ino " << r.db_ino << '\n'
    << "timed_runs " << r.timed_runs << '\n'
    << "added_records " << r.added_records << '\n'
    << "sample " << (r.sample_spent ? "spent" : "ready") << '\n'
    << "sample_size " << r.rotate_tokens.size() << '\n';
  for (const std::string& t : r.rotate_tokens) o << "token " << t << '\n';
  // 0600: the tokens are the bench store's own (a fixed bench key), but tokens all the same.
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = "cannot create " + tmp + ": " + std::strerror(errno);
    return false;
  }
  const std::string text = o.str();
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = "cannot write " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    *error = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace growth
