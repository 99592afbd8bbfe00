// A Redis keyspace (every key under one prefix) as text that rebuilds it exactly on any Redis
// version: one line per key, sorted by key,
//   string <pttl> <key> <hex value>
//   hash   <pttl> <key> <hex field> <hex value> ...
//   zset   <pttl> <key> <score> <hex member> ...      (score as Redis prints it: exact)
//   set    <pttl> <key> <hex member> ...
//   list   <pttl> <key> <hex element> ...
// pttl is the remaining time to live in ms when dumped, -1 for none; restore sets it again
// relative to the restore. Keys never hold whitespace (authstore escapes caller strings).
// '#' lines are comments. Uses authstore's internal Redis client (test code).
#pragma once

#include <string>
#include <vector>

#include "authstore/status.h"
#include "redis/client.h"

namespace authstore::upgrade {

struct DumpedKey {
  std::string type;
  long long pttl = -1;
  std::string key;
  std::vector<std::string> items;  // decoded: field, value, ... / score, member, ... / values
};

// Every key starting with `prefix` (SCAN MATCH), sorted by key.
Result<std::vector<DumpedKey>> dump_keys(redis::Client& client, const std::string& prefix);
std::string format_dump(const std::vector<DumpedKey>& keys);
Result<std::vector<DumpedKey>> parse_dump(const std::string& text);
// Writes each key (replacing what is there) and its TTL.
Status restore_keys(redis::Client& client, const std::vector<DumpedKey>& keys);

}  // namespace authstore::upgrade
