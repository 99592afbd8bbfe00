// Upgrade test (issue 19): stores written by an older authstore keep working, without any flag.
//
// tests/fixtures/upgrade/ holds stores written by make_fixture at the commit named in
// make_fixture.cc (SQLite files, Redis keyspaces as text), the key file / secret they were opened
// with, and tokens.txt, every token, id, verifier and owner issued. Each test opens such a store
// with the code under test, a ManualClock a few seconds after the fixture's time (nothing has
// expired), and uses every live item: codes consumed with their PKCE verifiers, refresh tokens
// rotated, sessions read and updated under their lock version, reservations refused / released,
// JWT ids consumed, client tokens read. It also checks that what was spent before the upgrade
// stays spent (consumed code, rotated-away token, revoked family / grant / subject / client,
// deleted session, taken PKCE values, removed client token).
//
// Variants: sqlite / redis x key file (route + keys 1 and 2, records of both key ids) / secret
// (AUTHSTORE_SECRET: one key, no route line). "fresh-*" variants run the same checks on a store
// the code under test writes itself (fixture_writer.cc): a check failing there is a wrong check
// or a changed behaviour, not an upgrade problem.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "authstore/authstore.h"
#include "redis/client.h"
#include "upgrade/fixture_spec.h"
#include "upgrade/fixture_writer.h"
#include "upgrade/redis_dump.h"

extern char** environ;

namespace authstore::upgrade {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kFixtureDir = AUTHSTORE_UPGRADE_FIXTURE_DIR;
const std::string kRedisServer = AUTHSTORE_UPGRADE_REDIS_SERVER;
constexpr UnixMillis kNow = kFixtureTime + 5'000;  // the test's clock: just after the writes

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The secret variant's AUTHSTORE_SECRET, set before any test (and any thread) runs. The key-file
// variants name their key file in Options, which wins over the environment.
class SecretEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string secret = read_file(kFixtureDir + "/secret.txt");
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    ASSERT_GE(secret.size(), 32u) << "missing " << kFixtureDir << "/secret.txt";
    ::setenv("AUTHSTORE_SECRET", secret.c_str(), 1);
  }
};
[[maybe_unused]] ::testing::Environment* const kSecretEnv =
    ::testing::AddGlobalTestEnvironment(new SecretEnvironment);

// A redis-server of the test's own on a free loopback port, no persistence, stopped by pid.
class RedisServer {
 public:
  ~RedisServer() { stop(); }
  bool start(const std::string& dir) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      port_ =
          20000 + static_cast<int>(
                      (static_cast<unsigned>(::getpid()) * 7919u + attempt * 104729u +
                       static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())) %
                      40000u);
      if (accepts()) continue;  // taken
      std::vector<std::string> args = {kRedisServer,
                                       "--bind",
                                       "127.0.0.1",
                                       "--port",
                                       std::to_string(port_),
                                       "--save",
                                       "",
                                       "--appendonly",
                                       "no",
                                       "--daemonize",
                                       "no",
                                       "--dir",
                                       dir,
                                       "--logfile",
                                       dir + "/redis.log"};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      if (posix_spawn(&pid_, kRedisServer.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
        pid_ = -1;
        return false;
      }
      const auto until = std::chrono::steady_clock::now() + 5s;
      while (std::chrono::steady_clock::now() < until) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: port taken?
          pid_ = -1;
          break;
        }
        if (accepts()) return true;
        std::this_thread::sleep_for(5ms);
      }
      stop();
    }
    return false;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  bool accepts() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }
  pid_t pid_ = -1;
  int port_ = 0;
};

enum class Backend { kSqlite, kRedis };

struct Variant {
  std::string name;  // also the tokens.txt section of a fixture variant
  Backend backend;
  bool secret;  // AUTHSTORE_SECRET instead of the key file
  bool fresh;   // written now by fixture_writer (control) instead of the committed fixture
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

std::vector<Variant> variants() {
  std::vector<Variant> v;
  for (bool fresh : {false, true}) {
    for (Backend b : {Backend::kSqlite, Backend::kRedis}) {
      if (b == Backend::kRedis && kRedisServer.empty()) continue;
      for (bool secret : {false, true}) {
        std::string name =
            std::string(b == Backend::kSqlite ? "sqlite" : "redis") + (secret ? "-secret" : "");
        v.push_back({fresh ? "fresh-" + name : name, b, secret, fresh});
      }
    }
  }
  return v;
}

// One stored value, as raw bytes, for the rewrite report: "where" names it (table/column/row or
// key/field).
using Snapshot = std::map<std::string, std::string>;

// The version byte of a stored record: the first byte that is not printable ASCII (every record
// starts with its binary header; what backends put before it, expiries, lock versions, session
// keys, is ASCII). -1 if none.
int version_byte(const std::string& value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c >= 0x7f) return c;
  }
  return -1;
}

std::string hex_head(const std::string& value) {
  const auto pos =
      std::find_if(value.begin(), value.end(), [](unsigned char c) { return c < 0x20 || c >= 0x7f; });
  std::string out;
  char buf[4];
  for (auto it = pos; it != value.end() && it - pos < 4; ++it) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(*it));
    out += buf;
  }
  return out;
}

class UpgradeTest : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    const Variant& v = GetParam();
    char tmpl[] = "/tmp/authstore-upgrade-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    if (!v.secret) {
      key_file_ = dir_ + "/authstore.key";
      if (!v.fresh) {
        fs::copy_file(kFixtureDir + "/authstore.key", key_file_);
        fs::permissions(key_file_, fs::perms::owner_read | fs::perms::owner_write);
      }
    }
    clock_ = std::make_shared<ManualClock>(kNow);

    if (v.backend == Backend::kSqlite) {
      db_path_ = dir_ + "/store.db";
      if (!v.fresh) fs::copy_file(kFixtureDir + (v.secret ? "/v1-secret.db" : "/v1.db"), db_path_);
      url_ = "sqlite://" + db_path_;
    } else {
      ASSERT_TRUE(redis_.start(dir_)) << "redis-server did not start";
      auto client = redis::Client::from_url("redis://127.0.0.1:" + std::to_string(redis_.port()));
      ASSERT_TRUE(client.ok()) << client.status().to_string();
      client_ = std::move(client).value();
      // The server answering is ours (not another one that took the port meanwhile).
      auto info = client_->call({"INFO", "server"});
      ASSERT_TRUE(info.ok()) << info.status().to_string();
      ASSERT_NE(info->str().find("process_id:" + std::to_string(redis_.pid()) + "\r\n"), std::string::npos);
      prefix_ = v.secret ? "authstore:" : "up1:";
      url_ = "redis://127.0.0.1:" + std::to_string(redis_.port()) + (v.secret ? "" : "?prefix=up1:");
      if (!v.fresh) {
        auto keys =
            parse_dump(read_file(kFixtureDir + (v.secret ? "/v1-secret-redis.txt" : "/v1-redis.txt")));
        ASSERT_TRUE(keys.ok()) << keys.status().to_string();
        ASSERT_GT(keys->size(), 30u);
        ASSERT_TRUE(restore_keys(*client_, keys.value()).ok());
      }
    }

    if (v.fresh) {
      FixtureLog log;
      Status s = write_fixture(WriteConfig{url_, key_file_}, log);
      ASSERT_TRUE(s.ok()) << s.to_string();
      for (auto& [k, val] : log) tokens_[k] = val;
    } else {
      auto all = parse_log(read_file(kFixtureDir + "/tokens.txt"));
      ASSERT_TRUE(all.ok()) << all.status().to_string();
      const std::string section = v.name + "/";
      for (auto& [k, val] : all.value()) {
        if (k.rfind(section, 0) == 0) tokens_[k.substr(section.size())] = val;
      }
      ASSERT_FALSE(tokens_.empty()) << "no section [" << v.name << "] in tokens.txt";
    }
    ASSERT_EQ(tok("time"), std::to_string(kFixtureTime));

    auto store = open(url_, fixture_options(clock_, key_file_));
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }

  void TearDown() override {
    store_ = Store();
    client_.reset();
    redis_.stop();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // A value issued by the writer (tokens.txt).
  std::string tok(const std::string& name) {
    auto it = tokens_.find(name);
    if (it == tokens_.end()) {
      ADD_FAILURE() << "tokens.txt has no '" << name << "'";
      return {};
    }
    return it->second;
  }

  // Every stored value, raw (for the rewrite report).
  Snapshot snapshot() {
    Snapshot out;
    if (GetParam().backend == Backend::kSqlite) {
      sqlite3* db = nullptr;
      if (sqlite3_open_v2(db_path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        ADD_FAILURE() << "cannot open " << db_path_;
        sqlite3_close(db);
        return out;
      }
      std::vector<std::string> tables;
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='table'", -1, &st, nullptr);
      while (sqlite3_step(st) == SQLITE_ROW)
        tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
      sqlite3_finalize(st);
      for (const auto& t : tables) {
        if (sqlite3_prepare_v2(db, ("SELECT * FROM \"" + t + "\"").c_str(), -1, &st, nullptr) != SQLITE_OK)
          continue;
        while (sqlite3_step(st) == SQLITE_ROW) {
          // Records sit in columns named record / tombstone / blob (schema: docs/sqlite.md); a
          // row is named by its key columns (route, *key).
          std::string row_key;
          std::vector<std::pair<std::string, std::string>> records;
          for (int c = 0; c < sqlite3_column_count(st); ++c) {
            const std::string col = sqlite3_column_name(st, c);
            const auto* p = static_cast<const char*>(sqlite3_column_blob(st, c));
            std::string value(p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
            if (col == "route" || col.ends_with("key")) row_key += value + "|";
            if (col == "record" || col == "tombstone" || col == "blob") records.emplace_back(col, value);
          }
          const std::string row = std::to_string(std::hash<std::string>{}(row_key) % 1000000);
          for (auto& [col, value] : records) out[t + "." + col + "[" + row + "]"] = std::move(value);
        }
        sqlite3_finalize(st);
      }
      sqlite3_close(db);
    } else {
      auto keys = dump_keys(*client_, prefix_);
      if (!keys.ok()) {
        ADD_FAILURE() << keys.status().to_string();
        return out;
      }
      for (const auto& k : keys.value()) {
        if (k.type == "string") {
          if (version_byte(k.items[0]) >= 0) out[k.key] = k.items[0];
        } else if (k.type == "hash") {
          for (std::size_t i = 0; i + 1 < k.items.size(); i += 2) {
            if (version_byte(k.items[i + 1]) >= 0) out[k.key + "#" + k.items[i]] = k.items[i + 1];
          }
        }
      }
    }
    return out;
  }

  std::string dir_, key_file_, db_path_, url_, prefix_;
  std::shared_ptr<ManualClock> clock_;
  RedisServer redis_;
  std::unique_ptr<redis::Client> client_;
  std::map<std::string, std::string> tokens_;
  Store store_;
};

// ---------------------------------------------------------------- codes

void expect_grant_eq(const CodeGrant& got, const CodeGrant& want) {
  EXPECT_EQ(got.client_id, want.client_id);
  EXPECT_EQ(got.subject, want.subject);
  EXPECT_EQ(got.claims_json, want.claims_json);
  EXPECT_EQ(got.scope, want.scope);
  EXPECT_EQ(got.redirect_uri, want.redirect_uri);
  EXPECT_EQ(got.nonce, want.nonce);
  EXPECT_EQ(got.code_challenge, want.code_challenge);
  EXPECT_EQ(got.code_challenge_method, want.code_challenge_method);
  EXPECT_EQ(got.auth_time, want.auth_time);
  EXPECT_EQ(got.extra_json, want.extra_json);
}

TEST_P(UpgradeTest, CodesConsumeOnceWithTheirVerifiers) {
  CodeStore& codes = store_.codes();

  // S256, every field set: peek spends nothing, consume returns everything, the verifier matches.
  const std::string v1 = tok("code.s256.verifier");
  auto peek = codes.peek(tok("code.s256"));
  ASSERT_TRUE(peek.ok()) << peek.status().to_string();
  EXPECT_FALSE(peek->consumed);
  auto s256 = codes.consume(tok("code.s256"));
  ASSERT_TRUE(s256.ok()) << s256.status().to_string();
  expect_grant_eq(s256->grant, code_s256_grant(pkce_s256_challenge(v1)));
  EXPECT_EQ(s256->grant.grant_id, tok("code.s256.grant_id"));
  EXPECT_EQ(s256->issued_at, kFixtureTime);
  EXPECT_EQ(s256->expires_at, kFixtureTime + 600'000);
  EXPECT_TRUE(verify_pkce(s256.value(), v1).ok());
  EXPECT_EQ(verify_pkce(s256.value(), pkce_new_verifier()).code(), StatusCode::kInvalidArgument);
  auto again = codes.consume(tok("code.s256"));
  EXPECT_EQ(again.code(), StatusCode::kAlreadyConsumed);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->grant.grant_id, tok("code.s256.grant_id"));
  EXPECT_EQ(again->grant.subject, "alice");
  EXPECT_EQ(again->grant.client_id, "client-a");

  // plain PKCE.
  auto plain = codes.consume(tok("code.plain"));
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  expect_grant_eq(plain->grant, code_plain_grant(tok("code.plain.verifier")));
  EXPECT_EQ(plain->grant.grant_id, tok("code.plain.grant_id"));
  EXPECT_EQ(plain->expires_at, kFixtureTime + 300'000);
  EXPECT_TRUE(verify_pkce(plain.value(), tok("code.plain.verifier"), true).ok());

  // A caller's grant id, no PKCE.
  auto grant = codes.consume(tok("code.grant"));
  ASSERT_TRUE(grant.ok()) << grant.status().to_string();
  expect_grant_eq(grant->grant, code_grant_grant());
  EXPECT_EQ(grant->grant.grant_id, kGrantFixture);

  // Issued under key 1 while it was current (the key-file variant has key 2 current now).
  auto k1 = codes.consume(tok("code.k1"));
  ASSERT_TRUE(k1.ok()) << k1.status().to_string();
  EXPECT_EQ(k1->grant.grant_id, "grant-k1");
  EXPECT_TRUE(verify_pkce(k1.value(), tok("code.k1.verifier")).ok());

  // Consumed before the upgrade: still consumed, still naming its grant (RFC 9700 4.4).
  for (int i = 0; i < 2; ++i) {
    auto consumed = i == 0 ? codes.peek(tok("code.consumed")) : codes.consume(tok("code.consumed"));
    EXPECT_EQ(consumed.code(), StatusCode::kAlreadyConsumed);
    ASSERT_TRUE(consumed.has_value());
    EXPECT_TRUE(consumed->consumed);
    EXPECT_EQ(consumed->grant.grant_id, "grant-consumed-1");
    EXPECT_EQ(consumed->grant.subject, "alice");
    EXPECT_EQ(consumed->grant.client_id, "client-b");
  }

  // New codes beside the old ones.
  const std::string v = pkce_new_verifier();
  auto fresh = codes.issue(code_s256_grant(pkce_s256_challenge(v)));
  ASSERT_TRUE(fresh.ok()) << fresh.status().to_string();
  auto used = codes.consume(fresh->code);
  ASSERT_TRUE(used.ok());
  EXPECT_TRUE(verify_pkce(used.value(), v).ok());
}

// ---------------------------------------------------------------- refresh families

TEST_P(UpgradeTest, RefreshFamiliesRotateAndSpentTokensStaySpent) {
  RefreshTokenStore& rt = store_.refresh();

  // Listing: the live families of alice, nothing revoked.
  auto list = rt.list("alice");
  ASSERT_TRUE(list.ok()) << list.status().to_string();
  std::set<std::string> ids;
  for (const auto& f : list.value()) ids.insert(f.family_id);
  EXPECT_EQ(ids, (std::set<std::string>{tok("rf.k1.family"), tok("rf.fresh.family"), tok("rf.rotated.family"),
                                        tok("rf.grant.family")}));

  // Never rotated: every field, a wrong client changes nothing, then rotation.
  auto peek = rt.peek(tok("rf.fresh"));
  ASSERT_TRUE(peek.ok()) << peek.status().to_string();
  EXPECT_EQ(peek->state, RefreshTokenState::kActive);
  const RefreshFamily& f = peek->family;
  EXPECT_EQ(f.family_id, tok("rf.fresh.family"));
  EXPECT_EQ(f.subject, "alice");
  EXPECT_EQ(f.client_id, "client-a");
  EXPECT_EQ(f.scope, "openid offline_access");
  EXPECT_EQ(f.grant_id, "");
  EXPECT_EQ(f.metadata_json, kFreshMetadata);
  EXPECT_EQ(f.created_at, kFixtureTime);
  EXPECT_EQ(f.last_used_at, kFixtureTime);
  EXPECT_EQ(f.idle_expires_at, kFixtureTime + 14 * kDay);
  EXPECT_EQ(f.expires_at, kFixtureTime + 90 * kDay);
  EXPECT_EQ(f.rotations, 0);
  EXPECT_EQ(rt.rotate(tok("rf.fresh"), "client-b").code(), StatusCode::kPermissionDenied);
  auto r1 = rt.rotate(tok("rf.fresh"), "client-a");
  ASSERT_TRUE(r1.ok()) << r1.status().to_string();
  EXPECT_EQ(r1->family.family_id, tok("rf.fresh.family"));
  EXPECT_EQ(r1->family.metadata_json, kFreshMetadata);
  EXPECT_EQ(r1->family.rotations, 1);
  EXPECT_EQ(r1->family.last_used_at, kNow);
  EXPECT_EQ(r1->family.idle_expires_at, kNow + 14 * kDay);
  auto r2 = rt.rotate(r1->token, "client-a");
  ASSERT_TRUE(r2.ok()) << r2.status().to_string();
  EXPECT_EQ(r2->family.rotations, 2);

  // Rotated once before the upgrade: the old token is spent, the current one rotates; reuse of
  // the old one then revokes the family, successors included.
  auto old_peek = rt.peek(tok("rf.rotated.old"));
  ASSERT_TRUE(old_peek.ok()) << old_peek.status().to_string();
  EXPECT_EQ(old_peek->state, RefreshTokenState::kRotated);
  auto cur_peek = rt.peek(tok("rf.rotated.cur"));
  ASSERT_TRUE(cur_peek.ok());
  EXPECT_EQ(cur_peek->state, RefreshTokenState::kActive);
  EXPECT_EQ(cur_peek->family.rotations, 1);
  auto rr = rt.rotate(tok("rf.rotated.cur"), "client-b");
  ASSERT_TRUE(rr.ok()) << rr.status().to_string();
  EXPECT_EQ(rr->family.family_id, tok("rf.rotated.family"));
  EXPECT_EQ(rr->family.rotations, 2);
  auto reuse = rt.rotate(tok("rf.rotated.old"), "client-b");
  EXPECT_EQ(reuse.code(), StatusCode::kReused);
  ASSERT_TRUE(reuse.has_value());
  EXPECT_EQ(reuse->family.family_id, tok("rf.rotated.family"));
  EXPECT_EQ(rt.rotate(rr->token, "client-b").code(), StatusCode::kRevoked);

  // Issued under key 1.
  auto k1 = rt.rotate(tok("rf.k1"), "client-a");
  ASSERT_TRUE(k1.ok()) << k1.status().to_string();
  EXPECT_EQ(k1->family.family_id, tok("rf.k1.family"));
  EXPECT_TRUE(rt.rotate(k1->token, "client-a").ok());

  // A family with a grant id: rotates, then dies with its grant, and the revocation sticks.
  auto g = rt.rotate(tok("rf.grant"), "client-a");
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(g->family.grant_id, kGrantFixture);
  ASSERT_TRUE(rt.revoke_grant("alice", kGrantFixture).ok());
  EXPECT_EQ(rt.rotate(g->token, "client-a").code(), StatusCode::kRevoked);
  EXPECT_EQ(rt.issue(family_grant("alice", "client-a", kGrantFixture)).code(), StatusCode::kRevoked);

  // Spent before the upgrade.
  EXPECT_EQ(rt.rotate(tok("rf.revoked"), "client-a").code(), StatusCode::kRevoked);
  auto revoked_peek = rt.peek(tok("rf.revoked"));
  ASSERT_TRUE(revoked_peek.ok()) << revoked_peek.status().to_string();
  EXPECT_EQ(revoked_peek->state, RefreshTokenState::kRevoked);
  EXPECT_EQ(rt.rotate(tok("rf.consumed"), "client-b").code(), StatusCode::kReused);
  EXPECT_EQ(rt.rotate(tok("rf.revoked_grant"), "client-a").code(), StatusCode::kRevoked);
  EXPECT_EQ(rt.issue(family_grant("alice", "client-a", kGrantRevoked)).code(), StatusCode::kRevoked);
  // carol logged out everywhere, then signed in again.
  EXPECT_EQ(rt.rotate(tok("rf.logout"), "client-a").code(), StatusCode::kRevoked);
  auto after = rt.rotate(tok("rf.after_logout"), "client-a");
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_EQ(after->family.family_id, tok("rf.after_logout.family"));

  // Logout everywhere reaches families written before the upgrade and after it.
  auto fresh = rt.issue(family_grant("alice", "client-a"));
  ASSERT_TRUE(fresh.ok()) << fresh.status().to_string();
  ASSERT_TRUE(rt.revoke_subject("alice").ok());
  EXPECT_EQ(rt.rotate(fresh->token, "client-a").code(), StatusCode::kRevoked);
  EXPECT_EQ(rt.rotate(r2->token, "client-a").code(), StatusCode::kRevoked);
  auto empty = rt.list("alice");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// ---------------------------------------------------------------- JWT refresh ids

TEST_P(UpgradeTest, JwtRefreshIdsConsumeOnce) {
  RefreshTokenStore& rt = store_.refresh();
  auto live = rt.consume_jti("alice", tok("jti.live"));
  ASSERT_TRUE(live.ok()) << live.status().to_string();
  EXPECT_EQ(live->jti, tok("jti.live"));
  EXPECT_EQ(live->subject, "alice");
  EXPECT_EQ(live->client_id, "client-a");
  EXPECT_EQ(live->expires_at, kFixtureTime + kJtiTtl);
  EXPECT_EQ(rt.consume_jti("alice", tok("jti.live")).code(), StatusCode::kAlreadyConsumed);

  EXPECT_EQ(rt.consume_jti("alice", tok("jti.consumed")).code(), StatusCode::kAlreadyConsumed);
  EXPECT_EQ(rt.consume_jti("bob", tok("jti.client_revoked")).code(), StatusCode::kRevoked);
  EXPECT_EQ(rt.consume_jti("carol", tok("jti.logout")).code(), StatusCode::kRevoked);
  auto bob = rt.consume_jti("bob", tok("jti.bob_b"));
  ASSERT_TRUE(bob.ok()) << bob.status().to_string();
  EXPECT_EQ(bob->client_id, "client-b");
  // A jti is bound to its subject.
  EXPECT_EQ(rt.consume_jti("bob", tok("jti.live")).code(), StatusCode::kNotFound);

  // New ids beside the old ones, under the old generation rows.
  ASSERT_TRUE(rt.store_jti("bob", "jwt-new-1", "client-b", kJtiTtl).ok());
  EXPECT_TRUE(rt.consume_jti("bob", "jwt-new-1").ok());
  ASSERT_TRUE(rt.store_jti("bob", "jwt-new-2", "client-a", kJtiTtl).ok());
  EXPECT_TRUE(rt.consume_jti("bob", "jwt-new-2").ok());  // revoke_client was before it
}

// ---------------------------------------------------------------- sessions

void expect_session_eq(const Session& got, const Session& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.user_id, want.user_id);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.expires_at, want.expires_at);
  EXPECT_EQ(got.refresh_expires_at, want.refresh_expires_at);
  EXPECT_EQ(got.refresh_token_id, want.refresh_token_id);
  EXPECT_EQ(got.refreshed_at, want.refreshed_at);
  EXPECT_EQ(got.tokens_fresh_from, want.tokens_fresh_from);
  EXPECT_EQ(got.prev_tokens_fresh_from, want.prev_tokens_fresh_from);
  EXPECT_EQ(got.lock_version, want.lock_version);
  EXPECT_EQ(got.extra_json, want.extra_json);
}

TEST_P(UpgradeTest, SessionsReadUpdateAndTombstonesHold) {
  SessionStore& ss = store_.sessions();
  auto expected = [&](const std::string& which) {
    Session s = fixture_session(which, tok("ss." + which));
    if (which == "a2") s = session_a2_update(s);
    s.lock_version = which == "a2" ? 2 : 1;
    return s;
  };
  for (const char* which : {"k1", "a1", "a2", "o1", "b1"}) {
    SCOPED_TRACE(which);
    const Session want = expected(which);
    auto got = ss.get(want.id, want.user_id, want.type);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    expect_session_eq(got.value(), want);
  }
  EXPECT_EQ(tok("ss.b1"), kSessionB1Id);

  auto ids = [&](const char* user, const char* type) {
    std::vector<std::string> out;
    auto all = ss.get_all(user, type);
    EXPECT_TRUE(all.ok()) << all.status().to_string();
    if (all.ok()) {
      for (const auto& s : all.value()) out.push_back(s.id);
    }
    return out;
  };
  EXPECT_EQ(ids("alice", "full"), (std::vector<std::string>{tok("ss.k1"), tok("ss.a1"), tok("ss.a2")}));
  EXPECT_EQ(ids("alice", "oauth2"), (std::vector<std::string>{tok("ss.o1")}));
  EXPECT_EQ(ids("bob", "full"), (std::vector<std::string>{kSessionB1Id}));

  // Deleted before the upgrade: gone, and its id cannot be inserted again.
  const std::string a3 = tok("ss.a3");
  EXPECT_EQ(ss.get(a3, "alice", "full").code(), StatusCode::kNotFound);
  EXPECT_EQ(ss.upsert(fixture_session("a3", a3)).code(), StatusCode::kConflict);
  EXPECT_EQ(ss.get(a3, "alice", "full").code(), StatusCode::kNotFound);

  // Optimistic lock: a stale version loses, the current one wins.
  Session a2 = expected("a2");
  a2.extra_json = R"({"which":"a2","updated":2})";
  a2.lock_version = 1;
  EXPECT_EQ(ss.upsert(a2).code(), StatusCode::kConflict);
  a2.lock_version = 2;
  auto up = ss.upsert(a2);
  ASSERT_TRUE(up.ok()) << up.status().to_string();
  EXPECT_EQ(up->lock_version, 3);
  auto reread = ss.get(a2.id, "alice", "full");
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(reread->extra_json, a2.extra_json);
  EXPECT_EQ(reread->lock_version, 3);
  EXPECT_EQ(reread->created_at, a2.created_at);

  // The key-1 session updates too; then a delete leaves a tombstone.
  Session k1 = expected("k1");
  auto upk1 = ss.upsert(k1);
  ASSERT_TRUE(upk1.ok()) << upk1.status().to_string();
  EXPECT_EQ(upk1->lock_version, 2);
  ASSERT_TRUE(ss.delete_session(tok("ss.a1"), "alice", "full").ok());
  EXPECT_EQ(ss.get(tok("ss.a1"), "alice", "full").code(), StatusCode::kNotFound);
  EXPECT_EQ(ss.upsert(fixture_session("a1", tok("ss.a1"))).code(), StatusCode::kConflict);

  // New sessions beside the old ones; delete_all reaches both.
  Session n = fixture_session("b1", SessionStore::new_session_id());
  ASSERT_TRUE(ss.upsert(n).ok());
  auto removed = ss.delete_all("bob", "full");
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  EXPECT_EQ(removed.value(), 2);
  EXPECT_EQ(ss.get(kSessionB1Id, "bob", "full").code(), StatusCode::kNotFound);
}

// ---------------------------------------------------------------- replay cache

TEST_P(UpgradeTest, ReplayReservationsStayHeldUntilTheirOwnerReleases) {
  ReplayCache& rc = store_.replay();
  const std::string held = tok("jr.held");
  EXPECT_EQ(rc.reserve(kReplayIssuer, held, kReplayExp).code(), StatusCode::kReplayed);
  EXPECT_EQ(rc.reserve(kReplayIssuer, tok("jr.kept"), kReplayExp).code(), StatusCode::kReplayed);

  std::string other_owner = tok("jr.held.owner");  // another owner: first character changed
  ASSERT_FALSE(other_owner.empty());
  other_owner[0] = other_owner[0] == 'A' ? 'B' : 'A';
  Reservation other{kReplayIssuer, held, other_owner, std::stoll(tok("jr.held.kept_until"))};
  EXPECT_EQ(rc.release(other).code(), StatusCode::kNotFound);
  EXPECT_EQ(rc.reserve(kReplayIssuer, held, kReplayExp).code(), StatusCode::kReplayed);

  Reservation mine{kReplayIssuer, held, tok("jr.held.owner"), std::stoll(tok("jr.held.kept_until"))};
  ASSERT_TRUE(rc.release(mine).ok());
  auto again = rc.reserve(kReplayIssuer, held, kReplayExp);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(rc.reserve(kReplayIssuer, held, kReplayExp).code(), StatusCode::kReplayed);
  EXPECT_TRUE(rc.release(again.value()).ok());

  // Released before the upgrade: free.
  auto released = rc.reserve(kReplayIssuer, tok("jr.released"), kReplayExp);
  EXPECT_TRUE(released.ok()) << released.status().to_string();
  // The same jti of another issuer was never held.
  EXPECT_TRUE(rc.reserve("https://other.example", tok("jr.kept"), kReplayExp).ok());
}

// ---------------------------------------------------------------- client tokens

void expect_record_eq(const TokenRecord& got, const TokenRecord& want) {
  EXPECT_EQ(got.access_token, want.access_token);
  EXPECT_EQ(got.refresh_token, want.refresh_token);
  EXPECT_EQ(got.token_type, want.token_type);
  EXPECT_EQ(got.scope, want.scope);
  EXPECT_EQ(got.resource, want.resource);
  EXPECT_EQ(got.expires_at, want.expires_at);
  EXPECT_EQ(got.refresh_expires_at, want.refresh_expires_at);
  EXPECT_EQ(got.extra_json, want.extra_json);
}

TEST_P(UpgradeTest, ClientTokensOfEveryKindRead) {
  ClientTokenStore& ct = store_.client_tokens();
  for (auto [key, which] : {std::pair{kCtGenericKey, "generic"}, std::pair{kCtForeverKey, "forever"},
                            std::pair{kCtK1Key, "k1"}}) {
    SCOPED_TRACE(which);
    auto got = ct.get(key);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    expect_record_eq(got.value(), ct_record(which));
    auto has = ct.has(key);
    ASSERT_TRUE(has.ok());
    EXPECT_TRUE(has.value());
  }
  // Removed before the upgrade.
  EXPECT_EQ(ct.get(kCtRemovedKey).code(), StatusCode::kNotFound);
  auto has_removed = ct.has(kCtRemovedKey);
  ASSERT_TRUE(has_removed.ok());
  EXPECT_FALSE(has_removed.value());

  auto page = ct.list("user:1/");
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  std::set<std::string> keys(page->keys.begin(), page->keys.end());
  EXPECT_EQ(keys, (std::set<std::string>{kCtGenericKey, kCtForeverKey}));
  EXPECT_TRUE(page->next_cursor.empty());

  auto creds = ct.get_client_credentials(kCtServer);
  ASSERT_TRUE(creds.ok()) << creds.status().to_string();
  const ClientCredentials want = ct_credentials();
  EXPECT_EQ(creds->client_id, want.client_id);
  EXPECT_EQ(creds->client_secret, want.client_secret);
  EXPECT_EQ(creds->registration_access_token, want.registration_access_token);
  EXPECT_EQ(creds->extra_json, want.extra_json);

  auto access = ct.get_access_token(kCtUser, kCtResource);
  ASSERT_TRUE(access.ok()) << access.status().to_string();
  expect_record_eq(access.value(), ct_record("access"));

  // PKCE values are taken once; the ones taken before the upgrade stay taken.
  auto pkce = ct.take_pkce(kCtUser, "state-1");
  ASSERT_TRUE(pkce.ok()) << pkce.status().to_string();
  EXPECT_EQ(pkce->code_verifier, tok("ct.pkce.verifier"));
  EXPECT_EQ(pkce->code_challenge, pkce_s256_challenge(tok("ct.pkce.verifier")));
  EXPECT_EQ(pkce->code_challenge_method, "S256");
  EXPECT_EQ(ct.take_pkce(kCtUser, "state-1").code(), StatusCode::kNotFound);
  EXPECT_EQ(ct.take_pkce(kCtUser, "state-taken").code(), StatusCode::kNotFound);

  // Overwrite and remove old records.
  TokenRecord next = ct_record("generic");
  next.access_token = "at-generic-next";
  ASSERT_TRUE(ct.save(kCtGenericKey, next).ok());
  auto got = ct.get(kCtGenericKey);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->access_token, "at-generic-next");
  ASSERT_TRUE(ct.remove(kCtForeverKey).ok());
  EXPECT_EQ(ct.get(kCtForeverKey).code(), StatusCode::kNotFound);
  ASSERT_TRUE(ct.remove_access_token(kCtUser, kCtResource).ok());
  ASSERT_TRUE(ct.remove_client_credentials(kCtServer).ok());
  EXPECT_EQ(ct.get_client_credentials(kCtServer).code(), StatusCode::kNotFound);
}

// ---------------------------------------------------------------- rewriting

// Records are rewritten when next written. Asserted: each write replaces the stored bytes of what
// it wrote, and the rewritten record reads back (the tests above). Reported, not asserted: the
// version byte of the records before and after (today both are 0x01; a format change shows here).
// Payloads (issue 15) arrived with SQLite schema version 2: a version 1 file is migrated when
// opened, and the new store works on it (and on a Redis keyspace of version 1) at once.
TEST_P(UpgradeTest, PayloadsWorkAfterTheUpgrade) {
  if (GetParam().backend == Backend::kSqlite) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(db_path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  PayloadStore& ps = store_.payloads();
  PayloadWrite w;
  w.model = "AuthorizationCode";
  w.id = "upgraded-code";
  w.payload = R"({"accountId":"alice"})";
  w.grant_id = "g-upgrade";
  w.uid = "uid-upgrade";
  w.ttl_ms = 60'000;
  ASSERT_TRUE(ps.upsert(w).ok());
  auto found = ps.find_by_uid("AuthorizationCode", "uid-upgrade");
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  EXPECT_EQ(found->payload, w.payload);
  EXPECT_TRUE(ps.consume("AuthorizationCode", "upgraded-code").ok());
  EXPECT_EQ(ps.consume("AuthorizationCode", "upgraded-code").code(), StatusCode::kAlreadyConsumed);
  ASSERT_TRUE(ps.revoke_by_grant_id("g-upgrade").ok());
  EXPECT_EQ(ps.find("AuthorizationCode", "upgraded-code").code(), StatusCode::kNotFound);
}

TEST_P(UpgradeTest, RecordsAreRewrittenWhenNextWritten) {
  std::vector<std::pair<std::string, std::function<void()>>> writes = {
      {"session upsert",
       [&] {
         Session a2 = session_a2_update(fixture_session("a2", tok("ss.a2")));
         a2.lock_version = 2;
         EXPECT_TRUE(store_.sessions().upsert(a2).ok());
       }},
      {"client token save",
       [&] { EXPECT_TRUE(store_.client_tokens().save(kCtGenericKey, ct_record("generic")).ok()); }},
      {"credentials save",
       [&] {
         EXPECT_TRUE(store_.client_tokens().save_client_credentials(kCtServer, ct_credentials()).ok());
       }},
  };
  // Reported only: a rotation keeps the family record (its mutable state lives beside it today).
  const std::function<void()> rotate = [&] {
    EXPECT_TRUE(store_.refresh().rotate(tok("rf.fresh"), "client-a").ok());
  };
  writes.emplace_back("refresh rotate (report only)", rotate);
  std::ostringstream report;
  for (auto& [what, write] : writes) {
    const Snapshot before = snapshot();
    write();
    const Snapshot after = snapshot();
    int changed = 0;
    for (const auto& [where, value] : after) {
      auto it = before.find(where);
      if (it != before.end() && it->second == value) continue;
      ++changed;
      report << GetParam().name << " " << what << ": " << where.substr(0, 60) << ": header "
             << (it == before.end() ? std::string("(new)") : hex_head(it->second)) << " -> "
             << hex_head(value) << "\n";
    }
    if (what.find("report only") == std::string::npos) {
      EXPECT_GT(changed, 0) << what << " rewrote nothing";
    }
    if (changed == 0) report << GetParam().name << " " << what << ": no record rewritten\n";
  }
  std::cout << report.str();
  RecordProperty("rewrites", report.str());
}

INSTANTIATE_TEST_SUITE_P(Stores, UpgradeTest, ::testing::ValuesIn(variants()),
                         [](const ::testing::TestParamInfo<Variant>& param_info) {
                           std::string n = param_info.param.name;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace authstore::upgrade
