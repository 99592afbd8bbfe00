// RingQueue: FIFO order across wrap-around and growth, push_front, erase.
#include "redis/ring_queue.h"

#include <gtest/gtest.h>

#include <string>

namespace authstore::redis {
namespace {

TEST(RingQueue, FifoOrderAcrossWrapAroundAndGrowth) {
  RingQueue<std::string> q;
  int next_in = 0;
  int next_out = 0;
  // Slide forward many times the capacity, with the size varying, so the head wraps and grows.
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < round % 37 + 1; ++i) q.push_back(std::to_string(next_in++));
    for (int i = 0; i < round % 29 + 1 && !q.empty(); ++i) {
      ASSERT_EQ(q.front(), std::to_string(next_out++));
      q.pop_front();
    }
  }
  ASSERT_EQ(q.size(), static_cast<std::size_t>(next_in - next_out));
  for (std::size_t i = 0; i < q.size(); ++i) EXPECT_EQ(q[i], std::to_string(next_out + static_cast<int>(i)));
}

TEST(RingQueue, PushFrontThenEraseKeepsOrder) {
  RingQueue<int> q;
  for (int i = 0; i < 20; ++i) q.push_back(int{i});
  q.push_front(-1);
  q.push_front(-2);
  ASSERT_EQ(q.size(), 22U);
  EXPECT_EQ(q[0], -2);
  EXPECT_EQ(q[1], -1);
  q.erase(1);
  EXPECT_EQ(q[0], -2);
  EXPECT_EQ(q[1], 0);
  EXPECT_EQ(q.size(), 21U);
  q.clear();
  EXPECT_TRUE(q.empty());
  q.push_back(7);
  EXPECT_EQ(q.front(), 7);
}

}  // namespace
}  // namespace authstore::redis
