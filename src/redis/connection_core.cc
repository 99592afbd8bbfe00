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

ConnectionCore::ConnectionCore(std::size_t read_chunk, WaitPolicy wait)
    : read_chunk_(std::max<std::size_t>(read_chunk, 64)), wait_(wait) {
  if (wait_.replicas > 0) {
    const std::string replicas = std::to_string(wait_.replicas);
    const std::string timeout = std::to_string(std::max<long long>(wait_.timeout.count(), 1));
    append_command(wait_command_, {"WAIT", replicas, timeout});
  }
}

bool ConnectionCore::queue(std::string_view encoded, std::span<const std::string_view> args,
                           Clock::time_point deadline, ReplyCallback&& callback, std::size_t max_pending,
                           RequestFlags flags) {
  if (entries_.size() >= max_pending) return false;
  if (flags.asking) {
    static constexpr std::string_view kAsking[] = {"ASKING"};
    append_command(out_, kAsking);
    entries_.push_back(Entry{nullptr, deadline, Kind::kRead});  // its reply is dropped
  }
  if (args.empty()) {
    out_.append(encoded);
  } else {
    append_command(out_, args);
  }
  entries_.push_back(Entry{std::move(callback), deadline, flags.writes ? Kind::kWrite : Kind::kRead});
  if (flags.writes) ++untaken_writes_;
  note_deadline(deadline);
  return true;
}

bool ConnectionCore::push(std::span<const std::string_view> args, Clock::time_point deadline,
                          ReplyCallback&& callback, std::size_t max_pending, RequestFlags flags) {
  return queue({}, args, deadline, std::move(callback), max_pending, flags);
}

bool ConnectionCore::push_encoded(std::string_view encoded, Clock::time_point deadline,
                                  ReplyCallback&& callback, std::size_t max_pending, RequestFlags flags) {
  return queue(encoded, {}, deadline, std::move(callback), max_pending, flags);
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

bool ConnectionCore::has_writable() const noexcept { return hold_ ? hold_bytes_ > 0 : !out_.empty(); }

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
  if (untaken_writes_ > 0 && !wait_command_.empty()) {
    // One WAIT per written batch; it completes nothing itself (no callback, never expires): the
    // writes before it are held for its reply and keep their own deadlines.
    out_.append(wait_command_);
    entries_.push_back(Entry{nullptr, Clock::time_point::max(), Kind::kWait});
  }
  untaken_writes_ = 0;
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
      if (e.kind == Kind::kWait) {
        on_wait_reply(reply_, done);
      } else if (e.callback) {
        if (e.kind == Kind::kWrite && !wait_command_.empty() && !reply_.is_error()) {
          held_.push_back(Held{std::move(e.callback), e.deadline, std::move(reply_)});
        } else {
          done.push_back(Completion{std::move(e.callback), reply_result(std::move(reply_))});
        }
      }
      entries_.pop_front();
      --taken_;
    }
  }
  if (entries_.empty() && held_.empty()) earliest_ = Clock::time_point::max();
  return Status::Ok();
}

void ConnectionCore::on_wait_reply(const Reply& reply, std::vector<Completion>& done) {
  if (held_.empty()) return;
  const bool enough = reply.is_integer() && reply.integer() >= wait_.replicas;
  if (enough) {
    for (Held& h : held_)
      done.push_back(Completion{std::move(h.callback), Result<Reply>(std::move(h.reply))});
    held_.clear();
    return;
  }
  std::string why = "redis: the write ran on the server but ";
  if (reply.is_integer()) {
    why += "only " + std::to_string(reply.integer()) + " of " + std::to_string(wait_.replicas) +
           " replica(s) acknowledged it within wait_timeout (" + std::to_string(wait_.timeout.count()) +
           " ms)";
  } else {
    why += "WAIT failed (" + (reply.is_error() ? reply.str() : std::string("unexpected reply")) + ")";
  }
  why += ": a failover may still undo it; its outcome is unknown";
  const Status s(StatusCode::kUnavailable, why);
  for (Held& h : held_) done.push_back(Completion{std::move(h.callback), s});
  held_.clear();
}

void ConnectionCore::fail_held(std::vector<Completion>& done) {
  for (Held& h : held_) done.push_back(Completion{std::move(h.callback), lost_in_flight()});
  held_.clear();
}

void ConnectionCore::expire(Clock::time_point now, std::vector<Completion>& done) {
  expire(now, done, Status(StatusCode::kDeadlineExceeded, "redis: no reply before the request's deadline"));
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
  // Held writes keep their callers' deadlines: a WAIT that answers late fails them like a reply
  // that comes late (kDeadlineExceeded: outcome unknown).
  std::size_t kept = 0;
  for (Held& h : held_) {
    if (h.deadline <= now) {
      done.push_back(Completion{std::move(h.callback), why});
    } else {
      if (h.deadline < earliest) earliest = h.deadline;
      if (&held_[kept] != &h) held_[kept] = std::move(h);
      ++kept;
    }
  }
  held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(kept), held_.end());
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
                                  never_sent(Status(StatusCode::kUnavailable, "redis: connection lost"))});
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
  fail_held(done);
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
    // Not taken: its bytes never reached the transport, it cannot have run.
    done.push_back(Completion{std::move(e.callback), i < taken_ ? lost_in_flight() : never_sent(status)});
  }
  fail_held(done);
  entries_.clear();
  untaken_writes_ = 0;
  out_.clear();
  taken_ = 0;
  hold_ = false;
  hold_bytes_ = 0;
  hold_entries_ = 0;
  reader_.reset();
  earliest_ = Clock::time_point::max();
}

}  // namespace authstore::redis
