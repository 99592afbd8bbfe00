// The memory backend's ExpiringMap: a sweep removes exactly the expired entries, and skips the
// map only while nothing in it can have expired.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "backends/memory/memory_parts.h"

namespace authstore::internal {
namespace {

using Map = ExpiringMap<std::map<std::string, Millis>>;

void put(Map& m, const std::string& k, Millis until) {
  m.map[k] = until;
  m.noted(until);
}
auto until_of = [](Millis v) { return v; };

TEST(ExpiringMap, SweepRemovesExactlyTheExpired) {
  Map m;
  put(m, "a", 100);
  put(m, "b", 200);
  put(m, "c", 300);
  m.sweep(99, until_of);
  EXPECT_EQ(m.map.size(), 3u);
  m.sweep(200, until_of);  // an entry expires at its `until` (until <= now)
  EXPECT_EQ(m.map.size(), 1u);
  EXPECT_EQ(m.map.count("c"), 1u);
  EXPECT_EQ(m.next_expiry, 300);
  m.sweep(1000, until_of);
  EXPECT_TRUE(m.map.empty());
  EXPECT_EQ(m.next_expiry, Map::kNever);
}

TEST(ExpiringMap, AnEarlierEntryAddedAfterASweepIsStillSwept) {
  Map m;
  put(m, "late", 1000);
  m.sweep(10, until_of);  // nothing expired: skipped, next_expiry stays 1000
  put(m, "early", 50);    // lowers the bound
  m.sweep(60, until_of);
  EXPECT_EQ(m.map.count("early"), 0u);
  EXPECT_EQ(m.map.count("late"), 1u);
}

TEST(ExpiringMap, SkipsWhileNothingCanHaveExpired) {
  Map m;
  put(m, "a", 500);
  m.map["sneaked-in"] = 5;  // not noted: the skip must be what keeps it (proves the skip runs)
  m.sweep(100, until_of);
  EXPECT_EQ(m.map.count("sneaked-in"), 1u);
  m.sweep(500, until_of);  // a scan now: both go
  EXPECT_TRUE(m.map.empty());
}

}  // namespace
}  // namespace authstore::internal
