#include "redis/script.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace authstore::redis {

struct Script::Data {
  std::string name;
  int version = 0;
  std::string source;
  std::string sha1;
  bool writes = true;
};

Script::Script(std::string_view name, int version, std::string_view body, bool writes) {
  auto d = std::make_shared<Data>();
  d->writes = writes;
  d->name = std::string(name);
  d->version = version;
  // A shebang ("#!lua flags=..."), when the body has one, must stay the first line.
  if (body.starts_with("#!")) {
    const std::size_t eol = body.find('\n');
    const std::size_t cut = eol == std::string_view::npos ? body.size() : eol + 1;
    d->source.assign(body.substr(0, cut));
    if (eol == std::string_view::npos) d->source.push_back('\n');
    body.remove_prefix(cut);
  }
  d->source += "-- authstore:" + d->name + ":v" + std::to_string(version) + "\n";
  d->source.append(body);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(d->source.data(), d->source.size(), md, &len, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("redis: SHA-1 unavailable in OpenSSL");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) {
    d->sha1.push_back(kHex[md[i] >> 4]);
    d->sha1.push_back(kHex[md[i] & 0xf]);
  }
  data_ = std::move(d);
}

const std::string& Script::name() const noexcept { return data_->name; }
int Script::version() const noexcept { return data_->version; }
const std::string& Script::source() const noexcept { return data_->source; }
const std::string& Script::sha1() const noexcept { return data_->sha1; }
bool Script::writes() const noexcept { return data_->writes; }

}  // namespace authstore::redis
