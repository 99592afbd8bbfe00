#include "cli/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace authstore::cli {

std::size_t LatencyHistogram::bucket_of(std::uint64_t v) {
  v = std::min(v, kMaxValue);
  if (v < kSubBuckets) return static_cast<std::size_t>(v);
  const int msb = static_cast<int>(std::bit_width(v)) - 1;  // >= kSubBits
  const int shift = msb - kSubBits;
  const std::uint64_t mantissa = v >> shift;  // in [kSubBuckets, 2 * kSubBuckets)
  return static_cast<std::size_t>(static_cast<std::uint64_t>(shift) * kSubBuckets + mantissa);
}

std::uint64_t LatencyHistogram::lowest_in(std::size_t bucket) {
  const std::uint64_t b = bucket;
  if (b < 2 * kSubBuckets) return b;  // shift 0: exact
  const std::uint64_t shift = b / kSubBuckets - 1;
  const std::uint64_t mantissa = b - shift * kSubBuckets;
  return mantissa << shift;
}

std::uint64_t LatencyHistogram::highest_in(std::size_t bucket) {
  if (bucket + 1 >= bucket_count()) return kMaxValue;
  return lowest_in(bucket + 1) - 1;
}

std::size_t LatencyHistogram::bucket_count() { return bucket_of(kMaxValue) + 1; }

LatencyHistogram::LatencyHistogram() : counts_(bucket_count(), 0) {}

void LatencyHistogram::record(std::uint64_t value_ns) {
  value_ns = std::min(value_ns, kMaxValue);
  ++counts_[bucket_of(value_ns)];
  if (count_ == 0 || value_ns < min_) min_ = value_ns;
  max_ = std::max(max_, value_ns);
  ++count_;
  sum_ += value_ns;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

std::uint64_t LatencyHistogram::value_at_percentile(double percentile) const {
  if (count_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  // The rank of the value, 1-based; the epsilon keeps 99.9 % of 1000 at rank 999, not 1000
  // (0.999 * 1000 is 999.0000000000001 in binary floating point).
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(percentile * static_cast<double>(count_) / 100.0 - 1e-6)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(highest_in(i), min_, max_);
  }
  return max_;
}

}  // namespace authstore::cli
