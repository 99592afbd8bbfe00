#include "backends/redis/executor_support.h"

#include "redis/resp.h"

namespace authstore::internal {

void encode_call(const RedisCall& call, std::string& out) {
  // Sized once: a growing string would reallocate three or four times for a script call.
  std::size_t size = redis::encoded_size(call.args);
  if (call.script != nullptr) {
    const std::string numkeys = std::to_string(call.keys.size());
    const std::string_view head[] = {"EVALSHA", call.script->sha1(), numkeys};
    size += redis::encoded_size(head) + redis::encoded_size(call.keys);
  }
  out.reserve(out.size() + size);  // an upper bound: each part's array header counted
  if (call.script != nullptr) {
    redis::append_array_header(out, 3 + call.keys.size() + call.args.size());
    redis::append_bulk(out, "EVALSHA");
    redis::append_bulk(out, call.script->sha1());
    redis::append_bulk(out, std::to_string(call.keys.size()));
    for (std::string_view k : call.keys) redis::append_bulk(out, k);
  } else {
    redis::append_array_header(out, call.args.size());
  }
  for (std::string_view a : call.args) redis::append_bulk(out, a);
}

ExecutorTimer::ExecutorTimer() : thread_([this] { run(); }) {}

ExecutorTimer::~ExecutorTimer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& [at, fn] : due_) fn(true);
}

void ExecutorTimer::at(Clock::time_point when, Fn fn) {
  {
    std::lock_guard lock(mu_);
    due_.emplace(when, std::move(fn));
  }
  cv_.notify_all();
}

void ExecutorTimer::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (due_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    if (first->first > Clock::now()) {
      cv_.wait_until(lock, first->first);
      continue;
    }
    Fn fn = std::move(first->second);
    due_.erase(first);
    lock.unlock();
    fn(false);
    lock.lock();
  }
}

}  // namespace authstore::internal
