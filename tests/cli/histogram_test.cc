// The bench's latency histogram (src/cli/histogram.h): exact below 128, within 1/128 above,
// percentiles by rank, merge.
#include "cli/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace authstore::cli {
namespace {

TEST(LatencyHistogram, EmptyAnswersZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.value_at_percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
}

TEST(LatencyHistogram, BucketsCoverEveryValueOnceAndStayWithinPrecision) {
  for (std::uint64_t v : std::vector<std::uint64_t>{0, 1, 127, 128, 255, 256, 257, 1000, 123456789,
                                                    LatencyHistogram::kMaxValue}) {
    const std::size_t b = LatencyHistogram::bucket_of(v);
    EXPECT_LE(LatencyHistogram::lowest_in(b), v) << v;
    EXPECT_GE(LatencyHistogram::highest_in(b), v) << v;
    const double width =
        static_cast<double>(LatencyHistogram::highest_in(b) - LatencyHistogram::lowest_in(b));
    EXPECT_LE(width, static_cast<double>(v) / 128.0 + 1e-9) << v;
  }
  // Consecutive buckets tile the range.
  for (std::size_t b = 0; b + 1 < LatencyHistogram::bucket_count(); ++b) {
    ASSERT_EQ(LatencyHistogram::highest_in(b) + 1, LatencyHistogram::lowest_in(b + 1)) << b;
    ASSERT_EQ(LatencyHistogram::bucket_of(LatencyHistogram::lowest_in(b)), b);
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(LatencyHistogram::kMaxValue + 12345),
            LatencyHistogram::bucket_count() - 1);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.value_at_percentile(50), 50u);
  EXPECT_EQ(h.value_at_percentile(90), 90u);
  EXPECT_EQ(h.value_at_percentile(99), 99u);
  EXPECT_EQ(h.value_at_percentile(100), 100u);
  EXPECT_EQ(h.value_at_percentile(0), 1u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LatencyHistogram, PercentilesMatchSortedSamplesWithinPrecision) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(10.0, 1.5);  // ~22 us median, long tail
  std::vector<std::uint64_t> samples;
  LatencyHistogram a, b;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<std::uint64_t>(dist(rng));
    samples.push_back(v);
    (i % 2 == 0 ? a : b).record(v);
  }
  a.merge(b);
  ASSERT_EQ(a.count(), samples.size());
  std::sort(samples.begin(), samples.end());
  for (double p : {50.0, 90.0, 99.0, 99.9, 99.99}) {
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
    const double exact = static_cast<double>(samples[rank - 1]);
    const double got = static_cast<double>(a.value_at_percentile(p));
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(got, exact * (1 + 1.0 / 128) + 1) << p;
  }
  EXPECT_EQ(a.max(), samples.back());
  EXPECT_EQ(a.min(), samples.front());
  EXPECT_EQ(a.value_at_percentile(100), samples.back());
}

TEST(LatencyHistogram, OneSlowOperationShowsAtTheTopOnly) {
  LatencyHistogram h;
  for (int i = 0; i < 999; ++i) h.record(20'000);
  h.record(50'000'000);
  EXPECT_LE(h.value_at_percentile(99.9), 20'200u);
  EXPECT_EQ(h.value_at_percentile(99.99), 50'000'000u);
  EXPECT_EQ(h.max(), 50'000'000u);
}

}  // namespace
}  // namespace authstore::cli
