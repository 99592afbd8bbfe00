// Script: a Lua script as authstore's Redis backends call it (EVALSHA by its SHA-1). Running one,
// loading it on NOSCRIPT, is the executor's job (src/backends/redis/executor.h): with several
// nodes (Cluster) each node loads it on its own.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace authstore::redis {

// A Lua script called by EVALSHA. The source actually loaded starts with a comment naming the
// script and its version ("-- authstore:<name>:v<version>"), so two authstore versions sharing one
// Redis during a rolling upgrade never run each other's script, and SCRIPT/SLOWLOG output says
// which one it is. A body starting with a shebang line ("#!lua flags=no-writes", Redis >= 7.0)
// keeps it first, before that comment, as Redis requires. Cheap to copy (shared, immutable).
class Script {
 public:
  // `writes`: the script may change state (so a durability WAIT must follow it, see
  // CallOptions::writes); false only for scripts that never write anything a failover could lose.
  Script(std::string_view name, int version, std::string_view body, bool writes = true);
  const std::string& name() const noexcept;
  int version() const noexcept;
  const std::string& source() const noexcept;  // what SCRIPT LOAD sends
  const std::string& sha1() const noexcept;    // lowercase hex, what EVALSHA sends
  bool writes() const noexcept;

 private:
  struct Data;
  std::shared_ptr<const Data> data_;
};

}  // namespace authstore::redis
