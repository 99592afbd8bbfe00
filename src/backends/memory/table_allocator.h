// An allocator for open-addressing tables: cache-line aligned, so a 64-byte slot never straddles
// two cache lines and a lookup misses the cache once. (Transparent huge pages were tried for the
// TLB misses of tables of millions of slots: on these VMs the faults of 2 MiB pages cost more
// than they saved; see docs/performance.md.)
#pragma once

#include <cstddef>
#include <new>

namespace authstore::internal {

template <class T>
class TableAllocator {
 public:
  using value_type = T;
  TableAllocator() noexcept = default;
  template <class U>
  TableAllocator(const TableAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{kLine}));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete (p, std::align_val_t{kLine}); }

  template <class U>
  bool operator==(const TableAllocator<U>&) const noexcept {
    return true;
  }

 private:
  static constexpr std::size_t kLine = 64;
};

}  // namespace authstore::internal
