// A log-linear latency histogram in the manner of HdrHistogram: values (nanoseconds) below 128 are
// counted exactly; above, each power of two is split into 128 equal buckets, so a reported value is
// within 1/128 (0.8 %) of every value counted in its bucket. Fixed size (4.5 k counters, ~36 KB),
// no allocation after construction; values above kMaxValue (~18 minutes) are counted as kMaxValue.
// Not thread-safe: one per thread, merged afterwards.
#pragma once

#include <cstdint>
#include <vector>

namespace authstore::cli {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBits;  // 128
  static constexpr int kMaxBits = 40;
  static constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << kMaxBits) - 1;

  LatencyHistogram();

  void record(std::uint64_t value_ns);
  void merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }

  // The smallest bucket bound v such that at least `percentile` % of the values are <= v (the
  // bucket's highest value, never above max()). 0 on an empty histogram; percentile in [0, 100].
  std::uint64_t value_at_percentile(double percentile) const;

  // Bucket arithmetic (exposed for the tests).
  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t lowest_in(std::size_t bucket);
  static std::uint64_t highest_in(std::size_t bucket);
  static std::size_t bucket_count();

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;  // wraps only after ~584 years of summed latency
};

}  // namespace authstore::cli
