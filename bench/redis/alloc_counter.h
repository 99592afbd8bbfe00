// Counts calls to the global operator new in a benchmark executable (it replaces the global
// operator new/delete; the authstore shared library's allocations resolve to it too).
// hiredis' malloc calls (its reader buffer, amortised) are not counted.
#pragma once

#include <atomic>
#include <cstdint>

namespace authstore::bench {
inline std::atomic<std::uint64_t> g_allocations{0};
inline std::uint64_t allocations() { return g_allocations.load(std::memory_order_relaxed); }
}  // namespace authstore::bench
