// RingQueue: a FIFO over one growable power-of-two array. Unlike std::deque, which frees and
// allocates a block every few elements as the queue slides forward, it allocates only when it
// grows past its largest size so far: a connection's request queue costs no allocation per
// request in steady state.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace authstore::redis {

template <class T>
class RingQueue {
 public:
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  T& operator[](std::size_t i) noexcept { return slots_[(head_ + i) & mask()]; }
  T& front() noexcept { return slots_[head_]; }

  void push_back(T&& v) {
    grow_if_full();
    slots_[(head_ + size_) & mask()] = std::move(v);
    ++size_;
  }
  void push_front(T&& v) {
    grow_if_full();
    head_ = (head_ + slots_.size() - 1) & mask();
    slots_[head_] = std::move(v);
    ++size_;
  }
  void pop_front() {
    slots_[head_] = T();  // release what the element holds now, not when the slot is reused
    head_ = (head_ + 1) & mask();
    --size_;
  }
  // Removes element i, shifting the later ones forward. O(size - i); for rare paths.
  void erase(std::size_t i) {
    for (; i + 1 < size_; ++i) (*this)[i] = std::move((*this)[i + 1]);
    (*this)[size_ - 1] = T();
    --size_;
  }
  void clear() {
    while (!empty()) pop_front();
    head_ = 0;
  }

 private:
  std::size_t mask() const noexcept { return slots_.size() - 1; }
  void grow_if_full() {
    if (size_ < slots_.size()) return;
    std::vector<T> bigger(slots_.empty() ? 16 : slots_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
    slots_.swap(bigger);
    head_ = 0;
  }

  std::vector<T> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace authstore::redis
