#include "redis/connection_core.h"

#include <algorithm>
#include <utility>

namespace authstore::redis {
namespace {

Status lost_in_flight() {
  return Status(StatusCode::kUnavailable,
                "redis: connection lost while the request was in flight; it may have reached the "
                "server and was not retried");
}

}  // namespace

ConnectionCore::ConnectionCore(std::size_t read_chunk) : read_chunk_(std::max<std::size_t>(read_chunk, 64)) {}

bool ConnectionCore::push(std::span<const std::string_view> args, Clock::time_point deadline,
                          ReplyCallback&& callback, std::size_t max_pending) {
  if (entries_.size() >= max_pending) return false;
  append_command(out_, args);
  entries_.push_back(Entry{std::move(callback), deadline});
  note_deadline(deadline);
  return true;
}

bool ConnectionCore::push_encoded(std::string_view encoded, Clock::time_point deadline,
                                  ReplyCallback&& callback, std::size_t max_pending) {
  if (entries_.size() >= max_pending) return false;
  out_.append(encoded);
  entries_.push_back(Entry{std::move(callback), deadline});
  note_deadline(deadline);
  return true;
}

void ConnectionCore::begin_handshake(std::string_view encoded, std::vector<ReplyCallback> callbacks,
                                     Clock::time_point deadline) {
  out_.insert(0, encoded);
  for (auto it = callbacks.rbegin(); it != callbacks.rend(); ++it) {
    entries_.push_front(Entry{std::move(*it), deadline});
  }
  note_deadline(deadline);
  hold_ = true;
  hold_entries_ = callbacks.size();
  hold_bytes_ = encoded.size();
}

bool ConnectionCore::has_writable() const noexcept {
  return hold_ ? hold_bytes_ > 0 : !out_.empty();
}

bool ConnectionCore::take_write_buffer(std::string& out) {
  out.clear();
  if (hold_) {
    if (hold_bytes_ == 0) return false;
    out.assign(out_, 0, hold_bytes_);
    out_.erase(0, hold_bytes_);
    taken_ += hold_entries_;
    hold_bytes_ = 0;
    hold_entries_ = 0;
    return true;
  }
  if (out_.empty()) return false;
  out.swap(out_);
  taken_ = entries_.size();
  return true;
}

Status ConnectionCore::on_bytes(const char* data, std::size_t len, std::vector<Completion>& done) {
  while (len > 0) {
    const std::size_t n = std::min(len, read_chunk_);
    if (Status s = reader_.feed(data, n); !s.ok()) return s;
    data += n;
    len -= n;
    for (;;) {
      const ReplyReader::Next next = reader_.next(reply_);
      if (next == ReplyReader::Next::kNeedMore) break;
      if (next == ReplyReader::Next::kProtocolError) {
        return Status(StatusCode::kUnavailable, "redis: protocol error: " + reader_.error());
      }
      if (taken_ == 0) {
        return Status(StatusCode::kUnavailable, "redis: protocol error: reply without a request");
      }
      Entry& e = entries_.front();
      if (e.callback) done.push_back(Completion{std::move(e.callback), reply_result(std::move(reply_))});
      entries_.pop_front();
      --taken_;
    }
  }
  if (entries_.empty()) earliest_ = Clock::time_point::max();
  return Status::Ok();
}

void ConnectionCore::expire(Clock::time_point now, std::vector<Completion>& done) {
  expire(now, done,
         Status(StatusCode::kDeadlineExceeded, "redis: no reply before the request's deadline"));
}

void ConnectionCore::expire(Clock::time_point now, std::vector<Completion>& done, const Status& why) {
  Clock::time_point earliest = Clock::time_point::max();
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (!e.callback) continue;
    if (e.deadline <= now) {
      done.push_back(Completion{std::move(e.callback), why});
      e.callback = nullptr;
    } else if (e.deadline < earliest) {
      earliest = e.deadline;
    }
  }
  earliest_ = earliest;
}

void ConnectionCore::drop_unsent_handshake(std::vector<Completion>& done) {
  if (!hold_) return;
  if (hold_bytes_ > 0) {
    // The handshake never went out: its entries sit right after the taken ones.
    out_.erase(0, hold_bytes_);
    for (std::size_t i = 0; i < hold_entries_; ++i) {
      Entry& e = entries_[taken_];
      if (e.callback) {
        done.push_back(Completion{std::move(e.callback),
                                  Status(StatusCode::kUnavailable, "redis: connection lost")});
      }
      entries_.erase(taken_);
    }
  }
  hold_ = false;
  hold_bytes_ = 0;
  hold_entries_ = 0;
}

void ConnectionCore::on_disconnect(std::vector<Completion>& done) {
  drop_unsent_handshake(done);
  for (std::size_t i = 0; i < taken_; ++i) {
    Entry& e = entries_.front();
    if (e.callback) done.push_back(Completion{std::move(e.callback), lost_in_flight()});
    entries_.pop_front();
  }
  taken_ = 0;
  reader_.reset();
  if (entries_.empty()) earliest_ = Clock::time_point::max();
}

void ConnectionCore::fail_all(const Status& status, std::vector<Completion>& done) {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (!e.callback) continue;
    done.push_back(Completion{std::move(e.callback), i < taken_ ? lost_in_flight() : status});
  }
  entries_.clear();
  out_.clear();
  taken_ = 0;
  hold_ = false;
  hold_bytes_ = 0;
  hold_entries_ = 0;
  reader_.reset();
  earliest_ = Clock::time_point::max();
}

}  // namespace authstore::redis
