// Redis errors mapped at the seam, on every operation of the Redis backend, against a real
// redis-server: after a normal setup, each key an operation touches is replaced by a key of
// another type (WRONGTYPE inside the server), and each field of each hash it touches is garbled.
// No outcome may be the caller's kInvalidArgument (nor a broken connection); every operation
// must report at least one of its wrong-type keys as kDataLoss. The store-level test at the end
// checks that such failures are counted as backend errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "backends/redis/redis_backend.h"
#include "conformance/harness.h"
#include "redis/client.h"
#include "redis/redis_test_env.h"

namespace authstore::internal {
namespace {

using namespace std::chrono_literals;
using redis::Reply;

constexpr Millis kNow = 1'700'000'000'000;
constexpr Millis kLater = kNow + 3'600'000;
const std::string kRoute = "{AAAAAAAAAAA}";

// A key prefix no other process of this test run uses (the fixture server outlives processes,
// whose pids may repeat).
std::string unique(const std::string& what) {
  static const std::string run =
      std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()) + "-";
  return what + run;
}

// What an operation answered: "ok", "ok+corrupt" (read as absent, flagged) or the status code.
std::string label(const Status& s) { return s.ok() ? "ok" : std::string(to_string(s.code())); }

// Runs `start(callback)` and waits (bounded) for its answer.
template <class T>
std::string answer(const std::function<void(Callback<T>)>& start,
                   const std::function<bool(const T&)>& flagged = {}) {
  auto p = std::make_shared<std::promise<std::string>>();
  auto f = p->get_future();
  start([p, flagged](Result<T> r) {
    if (r.ok() && flagged && flagged(r.value())) return p->set_value("ok+corrupt");
    p->set_value(label(r.status()));
  });
  if (f.wait_for(10s) != std::future_status::ready) return "no answer";
  return f.get();
}

struct Op {
  std::string name;
  std::function<std::string(Backend&)> run;
};

FamilyIssue family(const std::string& id, const std::string& token) {
  FamilyIssue f;
  f.route = kRoute;
  f.subject_key = "subj";
  f.family_key = "rf:" + kRoute + ":" + id;
  f.token_key = "rt:" + kRoute + ":" + token;
  f.client_key = "client";
  f.grant_key = "grant";
  f.record = "family-record";
  f.idle_ttl = 600'000;
  f.expires_at = kLater;
  f.now = kNow;
  return f;
}

JtiEntry jti(const std::string& id) {
  return JtiEntry{kRoute, "subj", "rj:" + kRoute + ":" + id, "client", "jti-record", kLater, kNow};
}

SessionWrite session(std::int64_t expected_lock) {
  return SessionWrite{kRoute, "bucket", "sess", "session-record", expected_lock, kLater, 0, kNow};
}

ReplayReservation reservation() {
  ReplayReservation r;
  r.key = "jr:hash";
  r.owner = "owner";
  return r;
}

PayloadPut payload() {
  PayloadPut p;
  p.key = "pl:{e}";
  p.record = "payload-record";
  p.grant_key = "pg:{g}";
  p.index_keys = {"pu:{u}"};
  p.expires_at = kLater;
  p.now = kNow;
  return p;
}

bool rotate_flagged(const RotateResult& r) { return r.family.corrupt; }
bool peek_flagged(const FamilyState& s) { return s.corrupt; }

// Every operation of the backend, with inputs that find the state setup() writes.
std::vector<Op> all_ops() {
  using V = std::vector<std::pair<std::string, std::string>>;
  return {
      {"code_insert",
       [](Backend& b) {
         return answer<Done>(
             [&](auto cb) { b.codes().insert("ac:" + kRoute + ":c", "r", "t", kLater, kNow, cb); });
       }},
      {"code_peek",
       [](Backend& b) {
         return answer<CodeSlot>([&](auto cb) { b.codes().peek("ac:" + kRoute + ":c", kNow, cb); });
       }},
      {"code_consume",
       [](Backend& b) {
         return answer<CodeSlot>([&](auto cb) { b.codes().consume("ac:" + kRoute + ":c", kNow, cb); });
       }},
      {"replay_reserve",
       [](Backend& b) {
         return answer<Done>([&](auto cb) { b.replay().reserve(reservation(), kLater, kNow, cb); });
       }},
      {"replay_release",
       [](Backend& b) {
         return answer<Done>([&](auto cb) { b.replay().release(reservation(), kNow, cb); });
       }},
      {"token_put",
       [](Backend& b) {
         return answer<Done>([&](auto cb) { b.client_tokens().put("ct:t", "blob", kLater, kNow, cb); });
       }},
      {"token_get",
       [](Backend& b) {
         return answer<std::string>([&](auto cb) { b.client_tokens().get("ct:t", kNow, cb); });
       }},
      {"token_take",
       [](Backend& b) {
         return answer<std::string>([&](auto cb) { b.client_tokens().take("ct:t", kNow, cb); });
       }},
      {"token_remove",
       [](Backend& b) { return answer<Done>([&](auto cb) { b.client_tokens().remove("ct:t", kNow, cb); }); }},
      {"token_exists",
       [](Backend& b) { return answer<bool>([&](auto cb) { b.client_tokens().exists("ct:t", kNow, cb); }); }},
      {"token_list",
       [](Backend& b) {
         return answer<KeyList>([&](auto cb) { b.client_tokens().list("ct:", "", 10, kNow, cb); });
       }},
      {"refresh_issue",
       [](Backend& b) { return answer<Done>([&](auto cb) { b.refresh().issue(family("f2", "t2"), cb); }); }},
      {"refresh_rotate",
       [](Backend& b) {
         RotateRequest req{
             kRoute, "rt:" + kRoute + ":t1", "rf:" + kRoute + ":f1", "rt:" + kRoute + ":t3", "client", 0,
             kNow};
         return answer<RotateResult>([&](auto cb) { b.refresh().rotate(req, cb); }, rotate_flagged);
       }},
      {"refresh_peek",
       [](Backend& b) {
         return answer<FamilyState>(
             [&](auto cb) {
               b.refresh().peek(kRoute, "rt:" + kRoute + ":t1", "rf:" + kRoute + ":f1", kNow, cb);
             },
             peek_flagged);
       }},
      {"refresh_revoke_token",
       [](Backend& b) {
         return answer<Done>([&](auto cb) {
           b.refresh().revoke_token(kRoute, "rt:" + kRoute + ":t1", "rf:" + kRoute + ":f1", kNow, cb);
         });
       }},
      {"refresh_revoke_family",
       [](Backend& b) {
         return answer<Done>(
             [&](auto cb) { b.refresh().revoke_family(kRoute, "rf:" + kRoute + ":f1", kNow, cb); });
       }},
      {"refresh_revoke_subject",
       [](Backend& b) {
         return answer<Done>([&](auto cb) { b.refresh().revoke_subject(kRoute, "subj", kNow, kLater, cb); });
       }},
      {"refresh_revoke_client",
       [](Backend& b) {
         return answer<Done>(
             [&](auto cb) { b.refresh().revoke_client(kRoute, "subj", "client", kNow, kLater, cb); });
       }},
      {"refresh_revoke_grant",
       [](Backend& b) {
         return answer<Done>(
             [&](auto cb) { b.refresh().revoke_grant(kRoute, "subj", "grant", kLater, kNow, cb); });
       }},
      {"refresh_grant_live",
       [](Backend& b) {
         return answer<Done>(
             [&](auto cb) { b.refresh().grant_live(kRoute, "subj", "client", "grant", kNow, kNow, cb); });
       }},
      {"refresh_list",
       [](Backend& b) {
         return answer<std::vector<FamilyState>>(
             [&](auto cb) { b.refresh().list(kRoute, "subj", kNow, cb); });
       }},
      {"jti_store",
       [](Backend& b) { return answer<Done>([&](auto cb) { b.refresh().store_jti(jti("j2"), cb); }); }},
      {"jti_consume",
       [](Backend& b) {
         return answer<JtiResult>(
             [&](auto cb) { b.refresh().consume_jti(kRoute, "subj", "rj:" + kRoute + ":j1", kNow, cb); });
       }},
      {"session_get",
       [](Backend& b) {
         return answer<std::string>([&](auto cb) { b.sessions().get(kRoute, "bucket", "sess", kNow, cb); });
       }},
      {"session_upsert",
       [](Backend& b) { return answer<Done>([&](auto cb) { b.sessions().upsert(session(1), cb); }); }},
      {"session_remove",
       [](Backend& b) {
         return answer<Done>([&](auto cb) { b.sessions().remove(kRoute, "bucket", "sess", kNow, cb); });
       }},
      {"session_get_all",
       [](Backend& b) {
         return answer<std::vector<StoredSession>>(
             [&](auto cb) { b.sessions().get_all(kRoute, "bucket", kNow, cb); });
       }},
      {"session_remove_all",
       [](Backend& b) {
         return answer<std::int64_t>([&](auto cb) { b.sessions().remove_all(kRoute, "bucket", kNow, cb); });
       }},
      {"payload_put",
       [](Backend& b) { return answer<Done>([&](auto cb) { b.payloads().put(payload(), cb); }); }},
      {"payload_get",
       [](Backend& b) {
         return answer<PayloadSlot>([&](auto cb) { b.payloads().get("pl:{e}", kNow, cb); });
       }},
      {"payload_index_get",
       [](Backend& b) {
         return answer<PayloadSlot>([&](auto cb) { b.payloads().get_indexed("pu:{u}", kNow, cb); });
       }},
      {"payload_consume",
       [](Backend& b) {
         return answer<PayloadSlot>([&](auto cb) { b.payloads().consume("pl:{e}", kNow, cb); });
       }},
      {"payload_destroy",
       [](Backend& b) { return answer<Done>([&](auto cb) { b.payloads().remove("pl:{e}", kNow, cb); }); }},
      {"payload_revoke_grant",
       [](Backend& b) {
         return answer<Done>([&](auto cb) { b.payloads().revoke_grant("pg:{g}", kLater, kNow, cb); });
       }},
      {"payload_grant_get",
       [](Backend& b) {
         return answer<bool>([&](auto cb) { b.payloads().grant_revoked("pg:{g}", kNow, cb); });
       }},
      {"marker_read", [](Backend& b) { return answer<std::string>([&](auto cb) { b.read_marker(cb); }); }},
      {"marker_swap",
       [](Backend& b) { return answer<std::string>([&](auto cb) { b.swap_marker("m1", "m2", cb); }); }},
      {"marker_sample", [](Backend& b) { return answer<V>([&](auto cb) { b.sample_records(10, cb); }); }},
  };
}

class RedisErrorSeam : public ::testing::Test {
 protected:
  void SetUp() override {
    AUTHSTORE_REQUIRE_REDIS_FIXTURE();
    auto c = redis::Client::from_url(redis::testing::plain_url());
    ASSERT_TRUE(c.ok());
    raw_ = std::move(c.value());
  }

  // The fixture server is shared: keys left behind would slow other tests' keyspace scans.
  void TearDown() override {
    if (raw_ == nullptr) return;
    drop(unique("seam"));
    drop(unique("seamstore"));
  }

  // A backend under a prefix of its own, holding one of everything.
  std::shared_ptr<Backend> fresh(std::string& prefix) {
    prefix = unique("seam") + std::to_string(counter_++) + ":";
    Options o;
    auto b = open_backend(redis::testing::plain_url() + "?prefix=" + prefix,
                          BackendConfig{&o, std::make_shared<ManualClock>(kNow), {}});
    EXPECT_TRUE(b.ok()) << b.status().to_string();
    if (!b.ok()) return nullptr;
    Backend& be = *b.value();
    std::vector<std::string> setup = {
        answer<Done>([&](auto cb) { be.codes().insert("ac:" + kRoute + ":c", "r", "t", kLater, kNow, cb); }),
        answer<Done>([&](auto cb) { be.replay().reserve(reservation(), kLater, kNow, cb); }),
        answer<Done>([&](auto cb) { be.client_tokens().put("ct:t", "blob", kLater, kNow, cb); }),
        answer<Done>([&](auto cb) { be.refresh().issue(family("f1", "t1"), cb); }),
        answer<Done>(
            [&](auto cb) { be.refresh().revoke_grant(kRoute, "subj", "other-grant", kLater, kNow, cb); }),
        answer<Done>([&](auto cb) { be.refresh().store_jti(jti("j1"), cb); }),
        answer<Done>([&](auto cb) { be.sessions().upsert(session(0), cb); }),
        answer<std::string>([&](auto cb) { be.swap_marker("", "m1", cb); }),
        answer<Done>([&](auto cb) { be.payloads().put(payload(), cb); }),
        answer<Done>([&](auto cb) { be.payloads().revoke_grant("pg:{g}", kLater, kNow, cb); }),
    };
    for (const std::string& s : setup) EXPECT_EQ(s, "ok");
    return std::move(b.value());
  }

  std::vector<std::string> keys_of(const std::string& prefix) {
    std::vector<std::string> out;
    std::string cursor = "0";
    for (int i = 0; i < 1000; ++i) {
      auto r = raw_->call({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"});
      if (!r.ok()) break;
      cursor = r->elements()[0].str();
      for (const auto& k : r->elements()[1].elements()) out.push_back(k.str());
      if (cursor == "0") break;
    }
    return out;
  }

  void drop(const std::string& prefix) {
    const std::vector<std::string> keys = keys_of(prefix);
    for (std::size_t i = 0; i < keys.size(); i += 100) {
      std::vector<std::string_view> del = {"DEL"};
      for (std::size_t j = i; j < keys.size() && j < i + 100; ++j) del.push_back(keys[j]);
      EXPECT_TRUE(raw_->call(del).ok());
    }
  }

  // Replaces `key` by a key of another type.
  void plant_wrong_type(const std::string& key) {
    const std::string type = raw_->call({"TYPE", key})->str();
    ASSERT_TRUE(raw_->call({"DEL", key}).ok());
    if (type == "string") {
      ASSERT_TRUE(raw_->call({"HSET", key, "f", "not-authstore"}).ok());
    } else {
      ASSERT_TRUE(raw_->call({"SET", key, "not-authstore"}).ok());
    }
  }

  // The keys `op` touches (prefix removed): declared ones, or every key for a keyless call.
  std::vector<std::string> touched(const Op& op) {
    std::string prefix;
    auto b = fresh(prefix);
    if (b == nullptr) return {};
    std::set<std::string> keys;
    bool keyless = false;
    dynamic_cast<RedisBackend&>(*b).set_key_observer(
        [&](std::string_view, const std::vector<std::string>& k) {
          keyless = k.empty();
          keys.insert(k.begin(), k.end());
        });
    EXPECT_NE(op.run(*b), "no answer") << op.name;
    if (keyless) {
      for (const std::string& k : keys_of(prefix)) keys.insert(k);
    }
    std::vector<std::string> out;
    for (const std::string& k : keys) out.push_back(k.substr(prefix.size()));
    return out;
  }

  static inline int counter_ = 0;
  std::unique_ptr<redis::Client> raw_;
};

bool acceptable(const std::string& outcome) {
  return outcome != "invalid_argument" && outcome != "unavailable" && outcome != "deadline_exceeded" &&
         outcome != "no answer";
}

TEST_F(RedisErrorSeam, EveryOperationReportsWrongTypeKeysAsDataLossNeverInvalidArgument) {
  std::ostringstream table;
  int bad = 0;
  for (const Op& op : all_ops()) {
    const std::vector<std::string> keys = touched(op);
    EXPECT_FALSE(keys.empty()) << op.name;
    bool data_loss = false;
    for (const std::string& suffix : keys) {
      std::string prefix;
      auto b = fresh(prefix);
      ASSERT_NE(b, nullptr);
      plant_wrong_type(prefix + suffix);
      const std::string outcome = op.run(*b);
      table << op.name << " / wrong type at " << suffix << ": " << outcome << "\n";
      data_loss |= outcome == "data_loss";
      if (!acceptable(outcome)) ++bad;
    }
    // One never reads a key's old value: put replaces it (SET). (list reads its index.)
    // Neither does a payload upsert (DEL, then HSET; SET of the index) or destroy (DEL).
    const bool writes_over_or_skips =
        op.name == "token_put" || op.name == "payload_put" || op.name == "payload_destroy";
    EXPECT_EQ(data_loss, !writes_over_or_skips) << op.name << "\n" << table.str();
  }
  EXPECT_EQ(bad, 0) << table.str();
  if (::testing::Test::HasFailure() || std::getenv("AUTHSTORE_SHOW_SEAM_TABLE")) std::cout << table.str();
}

TEST_F(RedisErrorSeam, EveryOperationSurvivesEachGarbledHashField) {
  std::ostringstream table;
  int bad = 0;
  int planted = 0;
  for (const Op& op : all_ops()) {
    for (const std::string& suffix : touched(op)) {
      std::string prefix;
      auto probe = fresh(prefix);
      ASSERT_NE(probe, nullptr);
      if (raw_->call({"TYPE", prefix + suffix})->str() != "hash") continue;
      auto fields = raw_->call({"HKEYS", prefix + suffix});
      ASSERT_TRUE(fields.ok());
      for (const Reply& field : fields->elements()) {
        std::string p2;
        auto b = fresh(p2);
        ASSERT_NE(b, nullptr);
        ASSERT_TRUE(raw_->call({"HSET", p2 + suffix, field.str(), "garbage"}).ok());
        ++planted;
        const std::string outcome = op.run(*b);
        table << op.name << " / " << suffix << " field " << field.str() << " garbled: " << outcome << "\n";
        if (!acceptable(outcome)) ++bad;
      }
    }
  }
  EXPECT_GT(planted, 50);
  EXPECT_EQ(bad, 0) << table.str();
  if (std::getenv("AUTHSTORE_SHOW_SEAM_TABLE")) std::cout << table.str();
}

// Through the store: the refresh operations used to pass WRONGTYPE on as the caller's
// kInvalidArgument, uncounted.
TEST_F(RedisErrorSeam, WrongTypeUnderTheStoreIsCountedDataLoss) {
  const std::string prefix = unique("seamstore") + ":";
  testing::Harness h(redis::testing::plain_url() + "?prefix=" + prefix);
  Store& s = h.store();
  RefreshGrant g;
  g.subject = "ana";
  g.client_id = "app";
  auto issued = s.refresh().issue(g);
  ASSERT_TRUE(issued.ok()) << issued.status().to_string();
  for (const std::string& k : keys_of(prefix)) {
    // The user's generations, in both layouts (per user, and named by the route).
    if (k.find(":ru:") != std::string::npos || k.find(":rs:") != std::string::npos) plant_wrong_type(k);
  }
  const auto errors = s.metrics().security_events(SecurityEvent::kBackendError);
  const Status revoked = s.refresh().revoke_subject("ana").status();
  EXPECT_EQ(revoked.code(), StatusCode::kDataLoss) << revoked.to_string();
  EXPECT_NE(revoked.message().find("refresh_revoke_subject"), std::string::npos) << revoked.message();
  EXPECT_EQ(s.metrics().security_events(SecurityEvent::kBackendError), errors + 1);
}

}  // namespace
}  // namespace authstore::internal
