// The Redis backend against the fixture's servers: hash slots of every operation's keys, TTLs and
// index hygiene after demo-like flows, no secret in any Redis key or value, tampering, prefixes,
// the maxmemory-policy rule and connection failures. (The store contract itself is covered by
// the conformance suite, which also runs on Redis.)
#include "backends/redis/redis_backend.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "conformance/harness.h"
#include "conformance/legacy_v1.h"
#include "redis/client.h"
#include "redis/monitor.h"
#include "redis/redis_test_env.h"
#include "stores/keys.h"
#include "testing/secret_forms.h"

namespace authstore::testing {
namespace {

using redis::testing::fixture_value;
using redis::testing::plain_url;
using redis::testing::PrivateServer;

std::string unique_prefix() {
  static int counter = 0;
  return "rb" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ":";
}

// Redis Cluster's key -> slot: CRC16 (XMODEM) of the hash tag if any, mod 16384.
std::uint16_t crc16(std::string_view s) {
  std::uint16_t crc = 0;
  for (unsigned char c : s) {
    crc = static_cast<std::uint16_t>(crc ^ (c << 8));
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}
int slot_of(std::string_view key) {
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close != open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % 16384;
}

class RedisBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AUTHSTORE_REQUIRE_REDIS_FIXTURE();
    prefix_ = unique_prefix();
    auto c = redis::Client::from_url(plain_url());
    ASSERT_TRUE(c.ok());
    raw_ = std::move(c.value());
  }
  std::string url() const { return plain_url() + "?prefix=" + prefix_; }
  std::vector<std::string> keys() {
    std::vector<std::string> out;
    std::string cursor = "0";
    for (int i = 0; i < 100000; ++i) {
      auto r = raw_->call({"SCAN", cursor, "MATCH", prefix_ + "*", "COUNT", "1000"});
      EXPECT_TRUE(r.ok()) << r.status().to_string();
      if (!r.ok()) break;
      cursor = r->elements()[0].str();
      for (const auto& k : r->elements()[1].elements()) out.push_back(k.str());
      if (cursor == "0") break;
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  std::string type_of(const std::string& k) { return raw_->call({"TYPE", k})->str(); }
  // Name and every field / member / value of a key, concatenated.
  std::string dump(const std::string& k) {
    std::string out = k;
    const std::string t = type_of(k);
    Result<redis::Reply> r = Status(StatusCode::kNotFound, "unexpected type " + t);
    if (t == "string") r = raw_->call({"GET", k});
    if (t == "hash") r = raw_->call({"HGETALL", k});
    if (t == "zset") r = raw_->call({"ZRANGE", k, "0", "-1", "WITHSCORES"});
    EXPECT_TRUE(r.ok()) << t;
    if (r->is_string()) out += "\n" + r->str();
    for (const auto& e : r->elements()) out += "\n" + e.str();
    return out;
  }

  std::string prefix_;
  std::unique_ptr<redis::Client> raw_;
};

CodeGrant code_grant(const std::string& subject) {
  CodeGrant g;
  g.client_id = "client-1";
  g.subject = subject;
  g.redirect_uri = "https://app.example/cb";
  g.scope = "openid";
  g.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  g.code_challenge_method = "S256";
  return g;
}

// A run through every store and every primitive; returns the secrets it was handed.
std::vector<std::string> demo_flows(Harness& h) {
  std::vector<std::string> secrets;
  Store& s = h.store();
  // Codes: issue, peek, consume, replay.
  auto code = s.codes().issue(code_grant("alice"));
  EXPECT_TRUE(code.ok()) << code.status().to_string();
  secrets.push_back(code->code);
  EXPECT_TRUE(s.codes().peek(code->code).ok());
  EXPECT_TRUE(s.codes().consume(code->code).ok());
  EXPECT_EQ(s.codes().consume(code->code).code(), StatusCode::kAlreadyConsumed);
  // Refresh: issue, rotate, reuse, peek, list, revocations, JWT ids.
  RefreshGrant rg;
  rg.subject = "alice";
  rg.client_id = "client-1";
  rg.grant_id = code->grant_id;
  rg.lifetime_ms = 3'600'000;
  auto short_lived = s.refresh().issue([&] {
    RefreshGrant g = rg;
    g.lifetime_ms = 60'000;
    return g;
  }());
  EXPECT_TRUE(short_lived.ok());
  secrets.push_back(short_lived->token);
  h.clock().advance(61'000);  // short_lived expires; later writes prune it
  auto t1 = s.refresh().issue(rg);
  EXPECT_TRUE(t1.ok()) << t1.status().to_string();
  secrets.push_back(t1->token);
  auto t2 = s.refresh().rotate(t1->token, "client-1");
  EXPECT_TRUE(t2.ok()) << t2.status().to_string();
  secrets.push_back(t2->token);
  EXPECT_TRUE(s.refresh().peek(t2->token).ok());
  auto t3 = s.refresh().issue(rg);
  EXPECT_TRUE(t3.ok());
  secrets.push_back(t3->token);
  EXPECT_EQ(s.refresh().rotate(t1->token, "client-1").code(), StatusCode::kReused);
  EXPECT_TRUE(s.refresh().list("alice").ok());
  EXPECT_TRUE(s.refresh().revoke(t3->token).ok());
  EXPECT_TRUE(s.refresh().store_jti("alice", "jti-1", "client-1", 600'000).ok());
  EXPECT_TRUE(s.refresh().consume_jti("alice", "jti-1").ok());
  EXPECT_TRUE(s.refresh().revoke_client("bob", "client-1").ok());
  EXPECT_TRUE(s.refresh().revoke_grant("alice", code->grant_id).ok());
  EXPECT_TRUE(s.refresh().revoke_subject("alice").ok());
  EXPECT_TRUE(s.refresh().list("alice").ok());
  // Sessions: create, update, delete (tombstone), cap, delete_all.
  for (int i = 0; i < 4; ++i) {
    Session se;
    se.id = SessionStore::new_session_id();
    secrets.push_back(se.id);
    se.user_id = "carol";
    se.refresh_expires_at = h.clock().now() + 600'000 + std::int64_t{i} * 1000;
    auto saved = s.sessions().upsert(se);
    EXPECT_TRUE(saved.ok()) << saved.status().to_string();
    if (i == 0) {
      EXPECT_TRUE(s.sessions().upsert(saved.value()).ok());
      EXPECT_TRUE(s.sessions().delete_session(se.id, "carol", "full").ok());
    }
  }
  EXPECT_TRUE(s.sessions().get_all("carol", "full").ok());
  Session brief;
  brief.id = SessionStore::new_session_id();
  secrets.push_back(brief.id);
  brief.user_id = "dave";
  brief.refresh_expires_at = h.clock().now() + 1000;
  EXPECT_TRUE(s.sessions().upsert(brief).ok());
  h.clock().advance(2000);  // brief expires; the next write prunes it
  Session later = brief;
  later.id = SessionStore::new_session_id();
  secrets.push_back(later.id);
  later.refresh_expires_at = h.clock().now() + 600'000;
  EXPECT_TRUE(s.sessions().upsert(later).ok());
  EXPECT_TRUE(s.sessions().delete_all("carol", "full").ok());
  // Replay cache.
  auto res = s.replay().reserve("https://issuer", "jti-9", h.clock().now() + 60'000);
  EXPECT_TRUE(res.ok());
  EXPECT_EQ(s.replay().reserve("https://issuer", "jti-9", h.clock().now() + 60'000).code(),
            StatusCode::kReplayed);
  EXPECT_TRUE(s.replay().release(res.value()).ok());
  EXPECT_TRUE(s.replay().reserve("https://issuer", "jti-10", h.clock().now() + 60'000).ok());
  // Client tokens.
  TokenRecord tr;
  tr.access_token = "at_" + SessionStore::new_session_id();
  tr.refresh_token = "rt_" + SessionStore::new_session_id();
  secrets.push_back(tr.access_token);
  secrets.push_back(tr.refresh_token);
  EXPECT_TRUE(s.client_tokens().save("user:1", tr, 600'000).ok());
  EXPECT_TRUE(s.client_tokens().save_access_token("erin", "https://api", tr, 600'000).ok());
  ClientCredentials cc;
  cc.client_id = "registered-client";
  cc.client_secret = "cs_" + SessionStore::new_session_id();
  secrets.push_back(cc.client_secret);
  EXPECT_TRUE(s.client_tokens().save_client_credentials("https://as", cc).ok());
  PkceValues pk;
  pk.code_verifier = "pv_" + SessionStore::new_session_id() + SessionStore::new_session_id();
  pk.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  secrets.push_back(pk.code_verifier);
  EXPECT_TRUE(s.client_tokens().save_pkce("erin", "state-1", pk).ok());
  EXPECT_TRUE(s.client_tokens().save_pkce("erin", "state-2", pk).ok());
  EXPECT_TRUE(s.client_tokens().take_pkce("erin", "state-1").ok());
  EXPECT_TRUE(s.client_tokens().list("user").ok());
  // Payloads: upsert with both indexes, find by id / uid / user code, consume twice, destroy,
  // revoke a grant (each of these keys has its own slot: docs/redis.md, "Payloads").
  PayloadWrite pw;
  pw.model = "DeviceCode";
  pw.id = "pid_" + SessionStore::new_session_id();
  pw.uid = "puid_" + SessionStore::new_session_id();
  pw.user_code = "pcode_" + SessionStore::new_session_id();
  pw.grant_id = "pgrant_" + SessionStore::new_session_id();
  pw.payload = R"({"deviceInfo":"x"})";
  pw.ttl_ms = 600'000;
  for (const std::string* v : {&pw.id, &pw.uid, &pw.user_code, &pw.grant_id}) secrets.push_back(*v);
  EXPECT_TRUE(s.payloads().upsert(pw).ok());
  EXPECT_TRUE(s.payloads().find("DeviceCode", pw.id).ok());
  EXPECT_TRUE(s.payloads().find_by_uid("DeviceCode", pw.uid).ok());
  EXPECT_TRUE(s.payloads().find_by_user_code("DeviceCode", pw.user_code).ok());
  EXPECT_TRUE(s.payloads().consume("DeviceCode", pw.id).ok());
  EXPECT_EQ(s.payloads().consume("DeviceCode", pw.id).code(), StatusCode::kAlreadyConsumed);
  PayloadWrite other = pw;
  other.id = "pid_" + SessionStore::new_session_id();
  secrets.push_back(other.id);
  EXPECT_TRUE(s.payloads().upsert(other).ok());
  EXPECT_TRUE(s.payloads().destroy("DeviceCode", other.id).ok());
  EXPECT_TRUE(s.payloads().revoke_by_grant_id(pw.grant_id).ok());
  EXPECT_EQ(s.payloads().find("DeviceCode", pw.id).code(), StatusCode::kNotFound);
  return secrets;
}

// The slot function the checks below use is Redis Cluster's, checked on the specification's
// own examples (CLUSTER KEYSLOT needs a cluster-enabled server).
TEST(RedisHashSlot, MatchesTheClusterSpecification) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // CRC16-CCITT (XMODEM) check value
  EXPECT_EQ(slot_of("somekey"), 11058);
  EXPECT_EQ(slot_of("foo{hash_tag}"), 2515);
  EXPECT_EQ(slot_of("{hash_tag}bar"), 2515);
  EXPECT_EQ(slot_of("a{}b"), crc16("a{}b") % 16384);  // an empty tag hashes the whole key
  EXPECT_EQ(slot_of("x{hash_tag}{other}"), 2515);     // the first tag counts
  EXPECT_EQ(slot_of("x{hash_tag"), crc16("x{hash_tag") % 16384);
}

// Lowercase hex SHA-1: the name EVALSHA gives a script.
std::string sha1_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xF]);
  }
  return out;
}

// The name redis::Script writes into every script's source ("-- authstore:<name>:v<n>").
std::string script_name(std::string_view source) {
  const auto at = source.find("-- authstore:");
  if (at == std::string_view::npos) return {};
  const auto from = at + 13;
  const auto to = source.find(":v", from);
  return to == std::string_view::npos ? std::string() : std::string(source.substr(from, to - from));
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// What a MONITOR record of the backend's traffic shows about hash slots.
struct SlotReport {
  std::vector<std::string> failures;  // keys of one operation in different slots, and the like
  // (script, key pattern) for every key a script touched without declaring it in KEYS.
  std::set<std::pair<std::string, std::string>> undeclared;
  std::map<std::string, int> script_runs;
  std::map<std::string, int> native_commands;
};

// "ru:{R}:*" for "<prefix>ru:{abc}:def", "ct:*" for "<prefix>ct:...", "marker" for "<prefix>marker".
std::string key_pattern(const std::string& key, const std::string& prefix) {
  if (key.rfind(prefix, 0) != 0) return "(outside the prefix) " + key;
  std::string rest = key.substr(prefix.size());  // not const: returned (moved) below
  const auto colon = rest.find(':');
  if (colon == std::string::npos) return rest;
  const bool tagged = colon + 1 < rest.size() && rest[colon + 1] == '{';
  return rest.substr(0, colon) + (tagged ? ":{R}:*" : ":*");
}

// Groups the record into script runs (a script's EVAL / EVALSHA line, then the "lua" lines of
// the commands it ran) and native commands; asks the server (COMMAND GETKEYS) which arguments of
// each command are keys, and checks them against the script's declared KEYS with slot_of().
SlotReport check_slots(const std::vector<redis::testing::MonitorLine>& lines, redis::Client& admin,
                       const std::string& prefix) {
  SlotReport out;
  auto keys_of = [&](const std::vector<std::string>& args, bool required) {
    std::vector<std::string_view> call = {"COMMAND", "GETKEYS"};
    call.insert(call.end(), args.begin(), args.end());
    auto r = admin.call(std::span<const std::string_view>(call));
    std::vector<std::string> keys;
    if (!r.ok() || r->is_error()) {
      // SCAN and the connection handshake have no keys.
      if (required && upper(args[0]) != "SCAN") {
        out.failures.push_back("COMMAND GETKEYS " + args[0] + ": " +
                               (r.ok() ? r->str() : r.status().to_string()));
      }
      return keys;
    }
    for (const auto& k : r->elements()) keys.push_back(k.str());
    return keys;
  };
  // sha1 -> script name, from every script the record shows loaded or sent whole (a first
  // EVALSHA answered NOSCRIPT comes before its SCRIPT LOAD).
  std::map<std::string, std::string> names;
  for (const auto& line : lines) {
    if (line.source == "lua" || line.args.size() < 2) continue;
    const std::string cmd = upper(line.args[0]);
    if (cmd == "SCRIPT" && line.args.size() == 3 && upper(line.args[1]) == "LOAD") {
      names[sha1_hex(line.args[2])] = script_name(line.args[2]);
    } else if (cmd == "EVAL" || cmd == "EVAL_RO") {
      names[sha1_hex(line.args[1])] = script_name(line.args[1]);
    }
  }
  struct Run {
    std::string name;
    std::set<std::string> declared;
    int slot = -1;  // -1: declares no key
  };
  std::optional<Run> run;
  for (const auto& line : lines) {
    if (line.source == "lua") {
      if (!run) {
        out.failures.push_back("a Lua command outside any script: " + line.args[0]);
        continue;
      }
      for (const auto& k : keys_of(line.args, true)) {
        if (run->slot < 0) {
          // No KEYS at all: the script cannot run on a cluster; listed as undeclared below.
        } else if (slot_of(k) != run->slot) {
          out.failures.push_back(run->name + " touched " + k + " (slot " + std::to_string(slot_of(k)) +
                                 ") outside its declared slot " + std::to_string(run->slot));
        }
        if (run->declared.count(k) == 0) out.undeclared.emplace(run->name, key_pattern(k, prefix));
      }
      continue;
    }
    run.reset();
    const std::string cmd = upper(line.args[0]);
    if (cmd == "EVAL" || cmd == "EVALSHA" || cmd == "EVAL_RO" || cmd == "EVALSHA_RO") {
      if (line.args.size() < 3) {
        out.failures.push_back("a short " + cmd);
        continue;
      }
      const std::string sha = cmd == "EVAL" || cmd == "EVAL_RO" ? sha1_hex(line.args[1]) : line.args[1];
      Run r;
      r.name = names.count(sha) != 0 ? names[sha] : std::string();
      if (r.name.empty()) {
        r.name = "script " + sha;
        out.failures.push_back("a script never loaded nor named (-- authstore:<name>): " + sha);
      }
      const std::size_t n = static_cast<std::size_t>(std::stoul(line.args[2]));
      for (std::size_t i = 0; i < n && 3 + i < line.args.size(); ++i) {
        const std::string& k = line.args[3 + i];
        r.declared.insert(k);
        if (r.slot < 0) r.slot = slot_of(k);
        if (slot_of(k) != r.slot) out.failures.push_back(r.name + " declares keys in two slots: " + k);
      }
      out.script_runs[r.name] += 1;
      run = std::move(r);
      continue;
    }
    const auto keys = keys_of(line.args, false);
    out.native_commands[cmd] += 1;
    for (const auto& k : keys) {
      if (slot_of(k) != slot_of(keys.front()))
        out.failures.push_back(std::string(cmd).append(" keys in two slots: ").append(k));
    }
  }
  return out;
}

// Every store operation, with every outcome that makes a script reach another key: rotation,
// grace retry, reuse, revocation, JWT ids, sessions, replay, client tokens.
void every_operation(Harness& h) {
  demo_flows(h);
  Store& s = h.store();
  RefreshGrant rg;
  rg.subject = "frank";
  rg.client_id = "client-1";
  rg.grant_id = "grant-f";
  // A grace retry: the presented token's successor is the family's current token (P .. f.cur).
  Options graceful = h.options();
  graceful.refresh.grace_window_ms = 10'000;
  Store g = h.another(graceful);
  auto t1 = g.refresh().issue(rg);
  EXPECT_TRUE(t1.ok()) << t1.status().to_string();
  auto t2 = g.refresh().rotate(t1->token, "client-1");
  EXPECT_TRUE(t2.ok()) << t2.status().to_string();
  auto retry = g.refresh().rotate(t1->token, "client-1");
  EXPECT_TRUE(retry.ok()) << retry.status().to_string();
  EXPECT_EQ(g.refresh().rotate(t2->token, "client-1").code(), StatusCode::kReused);
  // Consume (rotation without a successor), peek of a spent token, revocation by family.
  auto t3 = s.refresh().issue(rg);
  EXPECT_TRUE(t3.ok());
  EXPECT_TRUE(s.refresh().consume(t3->token, "client-1").ok());
  EXPECT_TRUE(s.refresh().peek(t3->token).ok());
  auto t4 = s.refresh().issue(rg);
  EXPECT_TRUE(t4.ok());
  EXPECT_TRUE(s.refresh().revoke_family(t4->family.family_id).ok());
  EXPECT_EQ(s.refresh().rotate(t4->token, "client-1").code(), StatusCode::kRevoked);
  EXPECT_TRUE(s.refresh().list("frank").ok());
  EXPECT_TRUE(s.refresh().grant_live("frank", "client-1", "grant-f", h.clock().now()).ok());
  // A JWT id consumed twice, then revoked with its client.
  EXPECT_TRUE(s.refresh().store_jti("frank", "jti-f", "client-1", 600'000).ok());
  EXPECT_TRUE(s.refresh().consume_jti("frank", "jti-f").ok());
  EXPECT_EQ(s.refresh().consume_jti("frank", "jti-f").code(), StatusCode::kAlreadyConsumed);
  // Native reads and deletes.
  Session se;
  se.id = SessionStore::new_session_id();
  se.user_id = "frank";
  se.refresh_expires_at = h.clock().now() + 600'000;
  EXPECT_TRUE(s.sessions().upsert(se).ok());
  EXPECT_TRUE(s.sessions().get(se.id, "frank", "full").ok());
  TokenRecord tr;
  tr.access_token = "at";
  EXPECT_TRUE(s.client_tokens().save("user:f", tr, 600'000).ok());
  EXPECT_TRUE(s.client_tokens().get("user:f").ok());
  EXPECT_TRUE(s.client_tokens().has("user:f").ok());
  EXPECT_TRUE(s.client_tokens().remove("user:f").ok());
  EXPECT_TRUE(s.client_tokens().get_access_token("erin", "https://api").ok());
  EXPECT_TRUE(s.client_tokens().get_client_credentials("https://as").ok());
}

// Every key each operation touches lies in one hash slot, the slot of the keys it declares
// (Redis Cluster runs a script on the node of its KEYS; a key elsewhere fails there, or worse,
// is read from the wrong node's empty keyspace). Checked on what the server itself ran: a
// MONITOR connection records every command, including each one a Lua script runs, and COMMAND
// GETKEYS names their keys; slot_of() is this test's own. `options` are URL options of the store
// (the layout), `known_undeclared` the (script, key pattern) pairs it may touch undeclared.
void every_key_lies_in_the_declared_slot(
    const std::string& prefix, const std::string& options,
    const std::set<std::pair<std::string, std::string>>& known_undeclared) {
  PrivateServer server("slot-monitor");
  ASSERT_TRUE(server.start());
  redis::testing::Monitor monitor(server.port());
  ASSERT_TRUE(monitor.ok());
  auto admin = redis::Client::from_url(server.url());
  ASSERT_TRUE(admin.ok()) << admin.status().to_string();
  const std::string url = server.url() + "?prefix=" + prefix + options;

  std::map<std::string, int> ops;
  {
    Harness h(url);
    auto* backend = dynamic_cast<internal::RedisBackend*>(&h.backend());
    ASSERT_NE(backend, nullptr);
    std::mutex mu;
    backend->set_key_observer([&](std::string_view op, const std::vector<std::string>&) {
      std::lock_guard lock(mu);
      ops[std::string(op)] += 1;
    });
    every_operation(h);
    // A store over these keys, opened without a marker: open() samples the records (a SCAN).
    Options o = h.options();
    auto opened = open(url, o);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  }
  const std::string marker = "monitor-end-" + prefix;
  ASSERT_TRUE((*admin)->call({"ECHO", marker}).ok());
  auto lines = monitor.read_until_echo(marker, std::chrono::seconds(20));
  ASSERT_TRUE(lines.has_value()) << "the MONITOR record did not parse or did not end";
  const SlotReport report = check_slots(*lines, **admin, prefix);

  // (a) Hard rule: no key outside the slot of the operation's declared keys.
  std::string failures;
  for (std::size_t i = 0; i < report.failures.size() && i < 10; ++i) failures += "\n  " + report.failures[i];
  EXPECT_TRUE(report.failures.empty()) << report.failures.size() << " failure(s), the first ten:" << failures;

  // (b) Keys touched but not declared in KEYS: exactly the expected ones (the list fails when a
  // pair appears or goes).
  std::string listed;
  for (const auto& [script, pattern] : report.undeclared)
    listed.append("\n  ").append(script).append(" ").append(pattern);
  EXPECT_EQ(report.undeclared, known_undeclared) << "undeclared (script, key) pairs now:" << listed;

  // The record covers every script, and the flows reached every operation of every store.
  for (const char* script : {"replay_release",
                             "token_put",
                             "token_take",
                             "token_list",
                             "session_upsert",
                             "session_remove",
                             "session_get_all",
                             "session_remove_all",
                             "refresh_issue",
                             "refresh_rotate",
                             "refresh_peek",
                             "refresh_revoke",
                             "refresh_list",
                             "refresh_revoke_subject",
                             "refresh_revoke_client",
                             "refresh_revoke_grant",
                             "refresh_grant_live",
                             "jti_store",
                             "jti_consume",
                             "marker_swap",
                             "payload_put",
                             "payload_consume",
                             "payload_revoke_grant"}) {
    EXPECT_GT(report.script_runs.count(script) != 0 ? report.script_runs.at(script) : 0, 0) << script;
  }
  // (code_insert, code_consume and replay_reserve are scripts of the rare paths only: see
  // native_layout_test.cc.)
  for (const char* cmd : {"HMGET", "HGET", "SET", "GET", "GETDEL", "GETRANGE", "ZRANGE", "SCAN"}) {
    EXPECT_GT(report.native_commands.count(cmd) != 0 ? report.native_commands.at(cmd) : 0, 0) << cmd;
  }
  for (const char* op : {"code_insert",
                         "code_peek",
                         "code_consume",
                         "refresh_issue",
                         "refresh_rotate",
                         "refresh_peek",
                         "refresh_list",
                         "refresh_revoke",
                         "refresh_revoke_subject",
                         "refresh_revoke_client",
                         "refresh_revoke_grant",
                         "refresh_grant_live",
                         "jti_store",
                         "jti_consume",
                         "session_upsert",
                         "session_get",
                         "session_remove",
                         "session_get_all",
                         "session_remove_all",
                         "replay_reserve",
                         "replay_release",
                         "token_put",
                         "token_get",
                         "token_take",
                         "token_exists",
                         "token_list",
                         "refresh_list_index",
                         "payload_put",
                         "payload_index",
                         "payload_get",
                         "payload_index_get",
                         "payload_consume",
                         "payload_destroy",
                         "payload_revoke_grant",
                         "payload_grant_get"}) {
    EXPECT_GT(ops[op], 0) << op;
  }
}

// Logout everywhere drops the user's family index with UNLINK, so that Redis frees a large index
// off its main thread: the script's cost does not follow the families the user holds (issue 17,
// target 5; bench/growth). A private server: no other test's frees are counted.
TEST_F(RedisBackendTest, LogoutFreesALargeFamilyIndexOffTheMainThread) {
  PrivateServer server("lazyfree");
  ASSERT_TRUE(server.start());
  auto admin = redis::Client::from_url(server.url());
  ASSERT_TRUE(admin.ok()) << admin.status().to_string();
  auto lazyfreed = [&]() -> long {
    auto r = (*admin)->call({"INFO", "memory"});
    if (!r.ok()) return -1;
    const std::string text = r->str();
    const auto at = text.find("lazyfreed_objects:");
    return at == std::string::npos ? -1 : std::atol(text.c_str() + at + 18);
  };
  Harness h(server.url() + "?prefix=" + prefix_);
  RefreshGrant g;
  g.subject = "many-devices";
  g.client_id = "app";
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(h.store().refresh().issue(g).ok());  // > Redis's 64
  const long before = lazyfreed();
  ASSERT_GE(before, 0) << "no lazyfreed_objects in INFO memory";
  ASSERT_TRUE(h.store().refresh().revoke_subject("many-devices").ok());
  long after = before;
  for (int i = 0; i < 100 && after == before; ++i) {  // the count moves once the free ran
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    after = lazyfreed();
  }
  EXPECT_EQ(after, before + 1);
  EXPECT_TRUE(h.store().refresh().list("many-devices")->empty());
}

// The route-named layout alone (a Cluster's, or legacy_user_keys=false): every key declared.
TEST_F(RedisBackendTest, EveryKeyATouchedOperationReachesLiesInItsDeclaredSlot) {
  every_key_lies_in_the_declared_slot(prefix_, "&legacy_user_keys=false", {});
}

// The default on a standalone server also keeps the per-user generations and revoked grants of
// earlier releases (so that their processes and this one see each other's revocations): rotate and
// peek, whose token names its route and family but not its subject, read those undeclared (same
// slot; docs/redis.md, "Generations and revoked grants"). Nothing else is undeclared.
TEST_F(RedisBackendTest, TheLegacyLayoutReadsOnlyTheOldPerUserKeysUndeclared) {
  every_key_lies_in_the_declared_slot(prefix_, "",
                                      {
                                          {"refresh_rotate", "ru:{R}:*"},
                                          {"refresh_rotate", "rg:{R}:*"},
                                          {"refresh_peek", "ru:{R}:*"},
                                          {"refresh_peek", "rg:{R}:*"},
                                      });
}

// Generations and revoked grants moved from per-user keys ("ru:", "rg:") to route-named ones
// ("rs:", "rx:"), so that rotate and peek declare them. Processes of earlier releases sharing the
// server only know the old keys: with the default (legacy) layout a revocation written there the
// way their scripts wrote it (HINCRBY / ZADD) stops this release's rotations, and this release's
// revocations land in the old keys too, where they read them. With legacy_user_keys=false the old
// keys are neither read nor written (the documented cost of turning it off too early).
TEST_F(RedisBackendTest, RevocationsCrossBetweenTheLegacyAndRouteNamedLayouts) {
  Harness h(url());
  auto ring = legacy::ring_of(h.options().keys);
  const internal::UserIds user = internal::user_ids(*ring, "alice");
  const std::string old_gens = prefix_ + "ru:" + user.tag + ":" + user.subject_key;
  const std::string old_grants = prefix_ + "rg:" + user.tag + ":" + user.subject_key;
  const std::string new_gens = prefix_ + "rs:" + user.tag;
  RefreshTokenStore& rt = h.store().refresh();
  RefreshGrant g;
  g.subject = "alice";
  g.client_id = "app";
  g.grant_id = "grant-1";

  // An earlier release logs alice out: only the old hash changes.
  auto a = rt.issue(g);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE(raw_->call({"HINCRBY", old_gens, "g", "1"}).ok());
  EXPECT_EQ(rt.rotate(a->token, "app").code(), StatusCode::kRevoked);
  EXPECT_EQ(rt.peek(a->token)->state, RefreshTokenState::kRevoked);
  EXPECT_TRUE(rt.list("alice")->empty());
  // A family issued after it captures the higher generation and lives.
  auto b = rt.issue(g);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  auto b2 = rt.rotate(b->token, "app");
  ASSERT_TRUE(b2.ok()) << b2.status().to_string();

  // An earlier release revokes grant-1 (its script: ZADD of the grant key, scored by until).
  const std::string grant_key = internal::index_hash(*ring, "grant", "grant-1");
  ASSERT_TRUE(raw_->call({"ZADD", old_grants, std::to_string(h.clock().now() + 3'600'000), grant_key}).ok());
  EXPECT_EQ(rt.rotate(b2->token, "app").code(), StatusCode::kRevoked);
  EXPECT_EQ(rt.issue(g).code(), StatusCode::kRevoked);

  // This release logs alice out: both places get the same new generation, above the old one.
  g.grant_id = "grant-2";
  auto c = rt.issue(g);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const std::string before = raw_->call({"HGET", old_gens, "g"})->str();
  ASSERT_TRUE(rt.revoke_subject("alice").ok());
  const std::string old_after = raw_->call({"HGET", old_gens, "g"})->str();
  const std::string new_after = raw_->call({"HGET", new_gens, "g:" + user.subject_key})->str();
  EXPECT_EQ(std::stoll(old_after), std::stoll(before) + 1);
  EXPECT_EQ(new_after, old_after);
  EXPECT_EQ(rt.rotate(c->token, "app").code(), StatusCode::kRevoked);
  // ... and a client logout and a grant revocation reach the old keys as well.
  auto d = rt.issue(g);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(rt.revoke_client("alice", "app").ok());
  const std::string client_key = internal::index_hash(*ring, "client", "app");
  EXPECT_EQ(raw_->call({"HGET", old_gens, "c:" + client_key})->str(), "1");
  ASSERT_TRUE(rt.revoke_grant("alice", "grant-2").ok());
  EXPECT_TRUE(
      raw_->call({"ZSCORE", old_grants, internal::index_hash(*ring, "grant", "grant-2")})->is_string());

  // Route-named only: an old-key revocation is not seen; this release's revocations still are.
  Harness only_new(url() + "&legacy_user_keys=false");
  RefreshTokenStore& nt = only_new.store().refresh();
  g.grant_id = "grant-3";
  auto e = nt.issue(g);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  ASSERT_TRUE(raw_->call({"HINCRBY", old_gens, "g", "1"}).ok());
  auto e2 = nt.rotate(e->token, "app");
  EXPECT_TRUE(e2.ok()) << "legacy_user_keys=false reads no old key: " << e2.status().to_string();
  ASSERT_TRUE(nt.revoke_subject("alice").ok());
  EXPECT_EQ(nt.rotate(e2->token, "app").code(), StatusCode::kRevoked);
  EXPECT_EQ(raw_->call({"HGET", old_gens, "g"})->str(), std::to_string(std::stoll(old_after) + 1))
      << "legacy_user_keys=false wrote the old hash";
}

// A Cluster never had the old layout: asking for it there is refused, naming the option.
TEST(RedisBackendOptions, LegacyUserKeysIsRefusedOnACluster) {
  internal::RedisBackendOptions o;
  auto url = internal::split_backend_options("redis://127.0.0.1:1?legacy_user_keys=maybe", o);
  EXPECT_EQ(url.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(url.status().message().find("legacy_user_keys"), std::string::npos);
  Options opts;
  opts.keys.keys.push_back({1, std::string(32, 'k')});
  auto cluster = open("redis+cluster://127.0.0.1:1?legacy_user_keys=true", opts);
  EXPECT_EQ(cluster.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(cluster.status().message().find("legacy_user_keys"), std::string::npos)
      << cluster.status().to_string();
}

TEST_F(RedisBackendTest, AfterTheFlowsEveryKeyHasATtlAndNoIndexHoldsAnExpiredMember) {
  Harness h(url());
  demo_flows(h);
  const std::int64_t now = h.clock().now();
  const auto all = keys();
  ASSERT_GT(all.size(), 10u);
  for (const auto& k : all) {
    const std::string rest = k.substr(prefix_.size());
    const std::int64_t ttl = raw_->call({"PTTL", k})->integer();
    if (rest.rfind("ct:c:", 0) == 0) continue;  // client credentials saved with no expiry
    // The generic client tokens' index, their expiries and the "moved under the index" flag: no
    // TTL (token_put prunes expired members).
    if (rest == "cti:{g}" || rest == "cte:{g}" || rest == "ctv:{g}") continue;
    EXPECT_GT(ttl, 0) << rest;
    if (rest.rfind("rf:", 0) == 0) {  // a family: lives at least until it idles out or ends
      auto f = raw_->call({"HMGET", k, "ie", "ea"});
      ASSERT_TRUE(f.ok());
      const std::int64_t until =
          std::min(std::stoll(f->elements()[0].str()), std::stoll(f->elements()[1].str()));
      EXPECT_GE(ttl, until - now) << rest;
    }
    if (type_of(k) != "zset") continue;
    auto members = raw_->call({"ZRANGE", k, "0", "-1", "WITHSCORES"});
    ASSERT_TRUE(members.ok());
    const auto& v = members->elements();
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
      EXPECT_GT(std::stoll(v[i + 1].str()), now) << rest << " holds expired " << v[i].str();
      if (rest.rfind("ri:", 0) == 0) {  // a family index: the family itself is unexpired
        auto f = raw_->call({"HMGET", prefix_ + v[i].str(), "ie", "ea"});
        ASSERT_TRUE(f.ok());
        ASSERT_TRUE(f->elements()[0].is_string()) << rest << " indexes a missing family";
        EXPECT_GT(std::stoll(f->elements()[0].str()), now);
        EXPECT_LE(std::stoll(f->elements()[1].str()) - now, ttl);  // the index outlives its members
      }
    }
  }
}

TEST_F(RedisBackendTest, NoIssuedSecretAppearsInAnyKeyOrValueInAnyEncoding) {
  Harness h(url());
  std::vector<std::string> secrets = demo_flows(h);
  // Also the random bytes inside the structured tokens ("ac1_" / "rt1_" + base64url).
  const std::size_t n = secrets.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto us = secrets[i].find('_');
    if (us == 3) {
      std::string raw = authstore::testing::b64url_bytes(std::string_view(secrets[i]).substr(4));
      if (raw.size() > 16) secrets.push_back(raw);
    }
  }
  std::string everything;
  for (const auto& k : keys()) everything += dump(k) + "\n";
  ASSERT_GT(everything.size(), 1000u);
  // The dump is real: plain, non-secret fields of signed (not encrypted) records are in it.
  EXPECT_NE(everything.find("client-1"), std::string::npos);
  for (const auto& secret : secrets) {
    ASSERT_GE(secret.size(), 16u);
    for (const auto& form : authstore::testing::secret_forms(secret)) {
      EXPECT_EQ(everything.find(form), std::string::npos) << "a form of a secret is stored: " << form;
    }
  }
}

TEST_F(RedisBackendTest, RecordAlteredInRedisReadsAsNotFoundAndIsCounted) {
  Harness h(url());
  Store& s = h.store();
  auto code = s.codes().issue(code_grant("frank"));
  ASSERT_TRUE(code.ok());
  const auto all = keys();
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const std::string& k) { return k.find(":ac:") != std::string::npos; });
  ASSERT_NE(it, all.end());
  std::string record = raw_->call({"GET", *it})->str();  // "<expires_at>:<record>"
  ASSERT_GT(record.size(), 40u);
  record[record.size() / 2] = static_cast<char>(record[record.size() / 2] ^ 0x20);
  ASSERT_TRUE(raw_->call({"SET", *it, record}).ok());
  EXPECT_EQ(s.codes().peek(code->code).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.metrics().security_events(SecurityEvent::kSignatureFailure), 1u);
}

// Issue 19, finding 1: session 1's value copied (raw HGET / HSET) over session 2's field of the
// same user and type, then session 1 logged out. Neither get nor get_all may return session 1.
TEST_F(RedisBackendTest, SessionValueCopiedOverAnotherSessionReadsAsNotFound) {
  Harness h(url());
  SessionStore& ss = h.store().sessions();
  Session s1;
  s1.id = SessionStore::new_session_id();
  s1.user_id = "hank";
  s1.type = "full";
  s1.refresh_expires_at = kStart + 3'600'000;
  Session s2 = s1;
  s2.id = SessionStore::new_session_id();
  ASSERT_TRUE(ss.upsert(s1).ok());
  ASSERT_TRUE(ss.upsert(s2).ok());
  auto ring = internal::KeyRing::load(test_keys(), false, nullptr);
  ASSERT_TRUE(ring.ok());
  const std::string hash = prefix_ + "sh:" + internal::user_ids(*ring.value(), "hank").tag + ":" +
                           internal::index_hash(*ring.value(), "bucket", "hank", "full");
  const std::string f1 = internal::index_hash(*ring.value(), "session", s1.id);
  const std::string f2 = internal::index_hash(*ring.value(), "session", s2.id);
  auto v1 = raw_->call({"HGET", hash, f1});
  ASSERT_TRUE(v1.ok() && v1->is_string()) << "no session hash " << hash;
  ASSERT_TRUE(raw_->call({"HSET", hash, f2, v1->str()}).ok());
  ASSERT_TRUE(ss.delete_session(s1.id, "hank", "full").ok());

  auto got = ss.get(s2.id, "hank", "full");
  EXPECT_EQ(got.code(), StatusCode::kNotFound) << (got.ok() ? "returned " + got->id : "");
  auto all = ss.get_all("hank", "full");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty()) << "listed " << all->size();
  EXPECT_EQ(h.store().metrics().security_events(SecurityEvent::kSignatureFailure), 2u);
}

// A store written before markers, in a database holding many other keys: open() finds its
// records however far the scan must go, and so refuses a ring that did not write them. (The
// sample once scanned 16 x 200 keys and took such a store for a new one, binding it to any ring.)
TEST_F(RedisBackendTest, StoreWithoutMarkerIsFoundAmongManyOtherKeys) {
  const std::string db_url = plain_url() + "/7";
  auto c = redis::Client::from_url(db_url);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  redis::Client& db = *c.value();
  struct Flush {
    redis::Client& db;
    ~Flush() { (void)db.call({"FLUSHDB"}); }
  } flush{db};
  ASSERT_TRUE(db.call({"FLUSHDB"}).ok());
  auto filled =
      db.call({"EVAL", "for i = 1, 60000 do redis.call('SET', 'other:' .. i, 'x') end return 1", "0"});
  ASSERT_TRUE(filled.ok()) << filled.status().to_string();
  const std::string url = db_url + "?prefix=" + prefix_;
  {
    Harness legacy(url);  // writes without a marker, as a store written before markers did
    ASSERT_TRUE(legacy.store().client_tokens().save("k1", TokenRecord{}, 60'000).ok());
  }
  Options wrong;
  wrong.keys.keys = {{7, std::string(32, 'x')}};
  wrong.keys.route_secret = std::string(32, 'r');
  auto refused = authstore::open(url, wrong);
  ASSERT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.status().to_string();
  EXPECT_NE(refused.status().message().find("no marker"), std::string::npos) << refused.status().message();
  Options right;
  right.keys = test_keys(2);
  auto opened = authstore::open(url, right);
  EXPECT_TRUE(opened.ok()) << opened.status().to_string();
}

TEST_F(RedisBackendTest, TwoPrefixesOnOneServerNeverSeeEachOther) {
  Harness a(url());
  Harness b(plain_url() + "?prefix=" + unique_prefix());
  TokenRecord tr;
  tr.access_token = "at-1";
  ASSERT_TRUE(a.store().client_tokens().save("shared", tr).ok());
  EXPECT_EQ(b.store().client_tokens().get("shared").code(), StatusCode::kNotFound);
  EXPECT_TRUE(b.store().client_tokens().list("")->keys.empty());
  auto code = a.store().codes().issue(code_grant("gina"));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(b.store().codes().peek(code->code).code(), StatusCode::kNotFound);
  RefreshGrant rg;
  rg.subject = "gina";
  rg.client_id = "c";
  auto t = a.store().refresh().issue(rg);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(b.store().refresh().list("gina")->empty());
  EXPECT_TRUE(b.store().refresh().revoke_subject("gina").ok());
  EXPECT_TRUE(a.store().refresh().peek(t->token).ok());
  EXPECT_EQ(a.store().refresh().peek(t->token)->state, RefreshTokenState::kActive);
  ASSERT_TRUE(b.store().replay().reserve("iss", "j", a.clock().now() + 60'000).ok());
  EXPECT_TRUE(a.store().replay().reserve("iss", "j", a.clock().now() + 60'000).ok());
}

// On the fixture's ACL server (no maxmemory is set there, so nothing is evicted meanwhile; the
// policy is restored however the test ends).
TEST_F(RedisBackendTest, RefusesAnEvictingServerUnlessAllowedToWarn) {
  const std::string port = fixture_value("REDIS_ACL_PORT");
  ASSERT_FALSE(port.empty());
  const std::string base = "redis://admin:admin-secret@127.0.0.1:" + port;
  auto admin = redis::Client::from_url(base);
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)->call({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"}).ok());
  struct Restore {
    redis::Client& c;
    ~Restore() { (void)c.call({"CONFIG", "SET", "maxmemory-policy", "noeviction"}); }
  } restore{**admin};
  {
    Harness h(base + "?prefix=" + prefix_);
    auto r = h.store().codes().issue(code_grant("hank"));
    EXPECT_EQ(r.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("maxmemory-policy is allkeys-lru"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(r.status().field(), "maxmemory-policy");
    EXPECT_EQ(h.store().client_tokens().get("k").code(), StatusCode::kFailedPrecondition);
  }
  {
    // allow_eviction=true: works, and says why it should not, in the log.
    std::mutex mu;
    std::vector<std::string> warnings;
    Options o;
    internal::BackendConfig config{&o, std::make_shared<ManualClock>(kStart),
                                   [&](LogLevel level, std::string_view m) {
                                     std::lock_guard lock(mu);
                                     if (level == LogLevel::kWarning) warnings.emplace_back(m);
                                   }};
    auto b = internal::make_redis_backend(base + "?prefix=" + prefix_ + "&allow_eviction=true", config);
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    std::promise<Status> done;
    internal::ReplayReservation entry;
    entry.key = "jr:x";
    entry.owner = "owner";
    b.value()->replay().reserve(entry, kStart + 60'000, kStart,
                                [&](const Result<Done>& r) { done.set_value(r.status()); });
    EXPECT_TRUE(done.get_future().get().ok());
    std::lock_guard lock(mu);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("maxmemory-policy is allkeys-lru"), std::string::npos) << warnings[0];
  }
}

TEST_F(RedisBackendTest, UnixSocketUrlOpensTheBackend) {
  const std::string sock = fixture_value("REDIS_UNIX_SOCKET");
  ASSERT_FALSE(sock.empty());
  auto store = open("unix://" + sock + "?prefix=" + prefix_, [] {
    Options o;
    o.keys = test_keys();
    return o;
  }());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto code = store->codes().issue(code_grant("kate"));
  ASSERT_TRUE(code.ok()) << code.status().to_string();
  EXPECT_TRUE(store->codes().consume(code->code).ok());
  EXPECT_EQ(store->codes().consume(code->code).code(), StatusCode::kAlreadyConsumed);
}

// A payload read with a grant is two calls on Redis; the store makes the second from the first's
// reply. The last handle dropped with such reads in flight: every callback runs once, none after
// the backend is gone, and none submits to a closing backend (the State waits for the calls
// inside its gate; ASan / TSan builds check the memory side).
TEST_F(RedisBackendTest, DroppingTheLastHandleWithTwoStepPayloadReadsInFlightAnswersEachOnce) {
  Options o;
  o.keys = test_keys();
  auto opened = open(url(), o);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  Store store = std::move(opened).value();
  PayloadWrite w;
  w.model = "AccessToken";
  w.id = "in-flight";
  w.payload = "{}";
  w.grant_id = "grant-in-flight";
  w.ttl_ms = 60'000;
  ASSERT_TRUE(store.payloads().upsert(w).ok());
  constexpr int kRounds = 20;
  constexpr int kCalls = 64;
  auto answered = std::make_shared<std::atomic<int>>(0);
  int ok_answers = 0;
  for (int round = 0; round < kRounds; ++round) {
    auto copy = std::make_unique<Store>(store);
    auto oks = std::make_shared<std::atomic<int>>(0);
    for (int i = 0; i < kCalls; ++i) {
      copy->payloads().find_async("AccessToken", "in-flight",
                                  [answered, oks](const Result<StoredPayload>& r) {
                                    if (r.ok()) oks->fetch_add(1);
                                    answered->fetch_add(1);
                                  });
    }
    if (round == kRounds - 1) {
      store = Store();  // the other handle goes first: `copy` is the last one
      copy.reset();     // with calls in flight
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (answered->load() < (round + 1) * kCalls && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(answered->load(), (round + 1) * kCalls) << "round " << round;
    ok_answers += oks->load();
  }
  // The rounds before the last found it every time (the grant was checked: not revoked).
  EXPECT_GE(ok_answers, (kRounds - 1) * kCalls);
}

TEST_F(RedisBackendTest, UnreachableServerIsUnavailable) {
  Harness h("redis://127.0.0.1:1?connect_timeout=200ms&prefix=x:");
  EXPECT_EQ(h.store().codes().issue(code_grant("ivan")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(h.store().client_tokens().get("k").code(), StatusCode::kUnavailable);
}

TEST_F(RedisBackendTest, WrongPasswordIsPermissionDenied) {
  const std::string port = fixture_value("REDIS_ACL_PORT");
  ASSERT_FALSE(port.empty());
  Harness h("redis://admin:wrong-password@127.0.0.1:" + port + "?prefix=x:");
  auto r = h.store().codes().issue(code_grant("judy"));
  EXPECT_EQ(r.code(), StatusCode::kPermissionDenied) << r.status().to_string();
  EXPECT_EQ(r.status().message().find("wrong-password"), std::string::npos);
}

TEST(RedisBackendUrl, SplitsItsOwnOptionsAndChecksThem) {
  internal::RedisBackendOptions o;
  auto u =
      internal::split_backend_options("redis://h:1/2?timeout=5ms&prefix=app:&allow_eviction=true&db=3", o);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u.value(), "redis://h:1/2?timeout=5ms&db=3");
  EXPECT_EQ(o.prefix, "app:");
  EXPECT_TRUE(o.allow_eviction);
  internal::RedisBackendOptions d;
  EXPECT_EQ(internal::split_backend_options("redis://h", d).value(), "redis://h");
  EXPECT_EQ(d.prefix, "authstore:");
  EXPECT_FALSE(d.allow_eviction);
  EXPECT_EQ(internal::split_backend_options("redis://h?prefix={x}", d).status().field(), "url");
  EXPECT_EQ(internal::split_backend_options("redis://h?allow_eviction=yes", d).status().field(), "url");
  // An option without '=' is refused, naming it (before: "?prefix" silently meant no prefix).
  for (const char* bare : {"prefix", "allow_eviction", "legacy_user_keys", "cluster"}) {
    internal::RedisBackendOptions b;
    const auto r = internal::split_backend_options(std::string("redis://h?timeout=5ms&") + bare, b);
    ASSERT_FALSE(r.ok()) << bare;
    EXPECT_EQ(r.status().field(), "url");
    EXPECT_NE(r.status().message().find(std::string("'") + bare + "' needs a value"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(b.prefix, "authstore:") << bare;
  }
  EXPECT_EQ(internal::split_backend_options("redis://h?prefix=", d).value(), "redis://h");
  EXPECT_EQ(d.prefix, "");
}

// The backend's options through the one query parser (src/core/url_query.h): the last of a
// repeated option wins; empty parameters are dropped; the client's options are passed on as written
// (escapes included: the client decodes them).
TEST(RedisBackendUrl, RepeatedEmptyAndEscapedOptions) {
  internal::RedisBackendOptions o;
  auto u = internal::split_backend_options("rediss://h?&prefix=a:&&sni=r%2Ex&prefix=b:&ca_file=/my%20ca&", o);
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u.value(), "rediss://h?sni=r%2Ex&ca_file=/my%20ca");
  EXPECT_EQ(o.prefix, "b:");
  internal::RedisBackendOptions d;
  EXPECT_EQ(internal::split_backend_options("redis://h?", d).value(), "redis://h");
  EXPECT_EQ(internal::split_backend_options("redis://h?&&", d).value(), "redis://h");
  // A prefix is taken as written: an escape is not one of its characters.
  const auto escaped = internal::split_backend_options("redis://h?prefix=a%3A", d);
  ASSERT_FALSE(escaped.ok());
  EXPECT_NE(escaped.status().message().find("option 'prefix' must be"), std::string::npos);
}

}  // namespace
}  // namespace authstore::testing
