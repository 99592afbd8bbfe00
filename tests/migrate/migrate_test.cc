// authstore migrate (authstore/migrate.h) through the public API: a mixed population written by the
// stores on SQLite, migrated to another store (SQLite, or Redis and back to SQLite), then every
// operation asked of the target answers as it does on a reference copy of the source (a copy of
// the file taken before the migration: same store id, same records): tokens that worked work,
// consumed / rotated / revoked ones are refused, lock versions hold. Also: a consume on the
// source while it is being copied is refused (the fence), a run that stopped resumes, a target
// with records is refused, verify catches a difference.
#include "authstore/migrate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "authstore/authstore.h"

namespace authstore {
namespace {

namespace fs = std::filesystem;

UnixMillis now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string redis_port() {
  // The redis_servers fixture (tests/fixtures/redis/redis-fixture.sh) writes servers.env.
  const char* dir = std::getenv("AUTHSTORE_REDIS_FIXTURE_DIR");
  if (dir == nullptr) return {};
  std::FILE* f = std::fopen((std::string(dir) + "/servers.env").c_str(), "r");
  if (f == nullptr) return {};
  char line[512];
  std::string port;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    std::string l(line);
    const std::string k = "REDIS_PLAIN_PORT=";
    if (l.compare(0, k.size(), k) == 0) port = l.substr(k.size(), l.find_first_of("\r\n") - k.size());
  }
  std::fclose(f);
  return port;
}

// What the test issued on the source, to ask of the target afterwards.
struct Population {
  std::string code_active, code_consumed;
  std::string f1_t0, f1_t1, f1_t2;    // rotated twice: t2 current, t1 in its grace window, t0 spent
  std::string f2_t0, f2_t1;           // t0 presented twice: the family is revoked
  std::string bob_token;              // family of grant g-bob, revoked
  std::string carol_token;            // carol logged out everywhere
  std::string dave_web, dave_mobile;  // dave logged out of client web
  UnixMillis before_logouts = 0;
  std::string s1 = "sess-1-aaaaaaaaaaaaaaaaaaaaaa", s2 = "sess-2-bbbbbbbbbbbbbbbbbbbbbb";
  std::string p_consumed = "pay-consumed", p_live = "pay-live", p_revoked = "pay-revoked";
};

Options options_for(const std::string& key_file) {
  Options o;
  o.keys.key_file = key_file;
  o.refresh.grace_window_ms = 60'000;
  return o;
}

void populate(Store& s, Population& p) {
  auto& codes = s.codes();
  CodeGrant g;
  g.client_id = "app";
  g.subject = "alice";
  g.redirect_uri = "https://app.example/cb";
  auto c1 = codes.issue(g);
  ASSERT_TRUE(c1.ok()) << c1.status().to_string();
  p.code_active = c1->code;
  auto c2 = codes.issue(g);
  ASSERT_TRUE(c2.ok());
  p.code_consumed = c2->code;
  ASSERT_TRUE(codes.consume(p.code_consumed).ok());

  auto& rt = s.refresh();
  RefreshGrant rg;
  rg.subject = "alice";
  rg.client_id = "app";
  auto f1 = rt.issue(rg);
  ASSERT_TRUE(f1.ok()) << f1.status().to_string();
  p.f1_t0 = f1->token;
  auto r1 = rt.rotate(p.f1_t0, "app");
  ASSERT_TRUE(r1.ok());
  p.f1_t1 = r1->token;
  auto r2 = rt.rotate(p.f1_t1, "app");
  ASSERT_TRUE(r2.ok());
  p.f1_t2 = r2->token;

  auto f2 = rt.issue(rg);
  ASSERT_TRUE(f2.ok());
  p.f2_t0 = f2->token;
  auto f2r = rt.rotate(p.f2_t0, "app");
  ASSERT_TRUE(f2r.ok());
  p.f2_t1 = f2r->token;
  ASSERT_TRUE(rt.rotate(f2r->token, "app").ok());                    // t1 spent, t2 current
  EXPECT_EQ(rt.rotate(p.f2_t0, "app").code(), StatusCode::kReused);  // outside grace: t0's successor is spent

  RefreshGrant bob = rg;
  bob.subject = "bob";
  bob.grant_id = "g-bob";
  auto fb = rt.issue(bob);
  ASSERT_TRUE(fb.ok());
  p.bob_token = fb->token;
  ASSERT_TRUE(rt.revoke_grant("bob", "g-bob").ok());

  RefreshGrant carol = rg;
  carol.subject = "carol";
  carol.grant_id = "g-carol";
  auto fc = rt.issue(carol);
  ASSERT_TRUE(fc.ok());
  p.carol_token = fc->token;
  RefreshGrant dave = rg;
  dave.subject = "dave";
  dave.client_id = "web";
  auto fdw = rt.issue(dave);
  ASSERT_TRUE(fdw.ok());
  p.dave_web = fdw->token;
  dave.client_id = "mobile";
  auto fdm = rt.issue(dave);
  ASSERT_TRUE(fdm.ok());
  p.dave_mobile = fdm->token;
  p.before_logouts = fdm->family.created_at;
  ::usleep(5'000);
  ASSERT_TRUE(rt.revoke_subject("carol").ok());
  ASSERT_TRUE(rt.revoke_client("dave", "web").ok());

  ASSERT_TRUE(rt.store_jti("erin", "jti-1", "app", 600'000).ok());
  ASSERT_TRUE(rt.store_jti("erin", "jti-2", "app", 600'000).ok());
  ASSERT_TRUE(rt.consume_jti("erin", "jti-2").ok());

  auto& ss = s.sessions();
  Session a;
  a.id = p.s1;
  a.user_id = "alice";
  a.refresh_expires_at = now_ms() + 3'600'000;
  auto a1 = ss.upsert(a);
  ASSERT_TRUE(a1.ok()) << a1.status().to_string();
  auto a2 = ss.upsert(a1.value());
  ASSERT_TRUE(a2.ok());
  ASSERT_EQ(a2->lock_version, 2);
  Session b = a;
  b.id = p.s2;
  ASSERT_TRUE(ss.upsert(b).ok());
  ASSERT_TRUE(ss.delete_session(p.s2, "alice", "full").ok());

  ASSERT_TRUE(s.replay().reserve("https://issuer.example", "jwt-1", now_ms() + 600'000).ok());

  auto& ct = s.client_tokens();
  TokenRecord tr;
  tr.access_token = "at-secret-value";
  tr.refresh_token = "rt-secret-value";
  tr.token_type = "Bearer";
  ASSERT_TRUE(ct.save("generic:one", tr, 600'000).ok());
  ASSERT_TRUE(ct.save("generic:two", tr).ok());
  ClientCredentials cc;
  cc.client_id = "client-x";
  cc.client_secret = "client-secret-x";
  ASSERT_TRUE(ct.save_client_credentials("https://as.example", cc).ok());
  PkceValues pk;
  pk.code_verifier = std::string(43, 'v');
  pk.code_challenge = std::string(43, 'c');
  ASSERT_TRUE(ct.save_pkce("alice", "state-1", pk).ok());
  ASSERT_TRUE(ct.save_access_token("alice", "https://api.example", tr).ok());

  auto& pl = s.payloads();
  PayloadWrite w;
  w.model = "DeviceCode";
  w.id = p.p_live;
  w.payload = "{\"live\":true}";
  w.uid = "uid-live";
  w.user_code = "UC-LIVE";
  w.grant_id = "pg-live";
  w.ttl_ms = 600'000;
  ASSERT_TRUE(pl.upsert(w).ok());
  w.id = p.p_consumed;
  w.uid = "uid-consumed";
  w.user_code = "";
  ASSERT_TRUE(pl.upsert(w).ok());
  ASSERT_TRUE(pl.consume("DeviceCode", p.p_consumed).ok());
  w.id = p.p_revoked;
  w.uid = "";
  w.grant_id = "pg-revoked";
  ASSERT_TRUE(pl.upsert(w).ok());
  ASSERT_TRUE(pl.revoke_by_grant_id("pg-revoked").ok());
}

// One observation per operation: its status code and what it returned that matters.
std::vector<std::string> observe(Store& s, const Population& p) {
  std::vector<std::string> out;
  auto note = [&](const std::string& what, StatusCode c, const std::string& detail = {}) {
    out.push_back(what + " -> " + std::string(to_string(c)) + (detail.empty() ? "" : " " + detail));
  };
  auto& codes = s.codes();
  {
    auto r = codes.peek(p.code_consumed);
    note("peek consumed code", r.code(), r.ok() ? r->grant.subject : "");
    auto c = codes.consume(p.code_active);
    note("consume active code", c.code(), c.ok() ? c->grant.subject + "/" + c->grant.client_id : "");
    note("consume it again", codes.consume(p.code_active).code());
    note("consume consumed code", codes.consume(p.code_consumed).code());
  }
  auto& rt = s.refresh();
  {
    auto pk = rt.peek(p.f1_t2);
    note("peek f1 current", pk.code(), pk.ok() ? std::to_string(pk->family.rotations) : "");
    auto g = rt.rotate(p.f1_t1, "app");  // inside the grace window: rotated again
    note("grace rotate f1 t1", g.code());
    note("rotate f1 t0 (reuse)", rt.rotate(p.f1_t0, "app").code());
    note("rotate f1 t2 after reuse", rt.rotate(p.f1_t2, "app").code());
    note("rotate f2 t1 (revoked family)", rt.rotate(p.f2_t1, "app").code());
    note("rotate bob (revoked grant)", rt.rotate(p.bob_token, "app").code());
    RefreshGrant bob;
    bob.subject = "bob";
    bob.client_id = "app";
    bob.grant_id = "g-bob";
    note("issue on revoked grant", rt.issue(bob).code());
    note("rotate carol (logged out)", rt.rotate(p.carol_token, "app").code());
    note("grant_live carol", rt.grant_live("carol", "app", "g-carol", p.before_logouts).code());
    note("rotate dave web (client logout)", rt.rotate(p.dave_web, "web").code());
    auto dm = rt.rotate(p.dave_mobile, "mobile");
    note("rotate dave mobile", dm.code());
    note("rotate dave mobile wrong client", rt.rotate(dm.ok() ? dm->token : p.dave_mobile, "web").code());
    auto l = rt.list("dave");
    note("list dave", l.code(), l.ok() ? std::to_string(l->size()) : "");
    note("consume jti-1", rt.consume_jti("erin", "jti-1").code());
    note("consume jti-2 (consumed)", rt.consume_jti("erin", "jti-2").code());
  }
  auto& ss = s.sessions();
  {
    auto g = ss.get(p.s1, "alice", "full");
    note("get s1", g.code(), g.ok() ? std::to_string(g->lock_version) : "");
    note("get s2 (deleted)", ss.get(p.s2, "alice", "full").code());
    if (g.ok()) {
      Session stale = g.value();
      stale.lock_version = 1;
      note("upsert s1 stale lock", ss.upsert(stale).code());
      auto u = ss.upsert(g.value());
      note("upsert s1 current lock", u.code(), u.ok() ? std::to_string(u->lock_version) : "");
    }
    Session again;
    again.id = p.s2;
    again.user_id = "alice";
    again.refresh_expires_at = now_ms() + 3'600'000;
    note("insert over s2's tombstone", ss.upsert(again).code());
    auto all = ss.get_all("alice", "full");
    note("get_all alice", all.code(), all.ok() ? std::to_string(all->size()) : "");
  }
  note("reserve jwt-1 again",
       s.replay().reserve("https://issuer.example", "jwt-1", now_ms() + 600'000).code());
  auto& ct = s.client_tokens();
  {
    auto one = ct.get("generic:one");
    note("client token one", one.code(), one.ok() ? one->access_token + "/" + one->refresh_token : "");
    auto two = ct.get("generic:two");
    note("client token two", two.code(), two.ok() ? two->access_token : "");
    auto page = ct.list("generic:");
    note("list generic", page.code(), page.ok() ? std::to_string(page->keys.size()) : "");
    auto cc = ct.get_client_credentials("https://as.example");
    note("credentials", cc.code(), cc.ok() ? cc->client_secret : "");
    auto pk = ct.take_pkce("alice", "state-1");
    note("take pkce", pk.code(), pk.ok() ? pk->code_verifier.substr(0, 3) : "");
    note("take pkce again", ct.take_pkce("alice", "state-1").code());
    auto at = ct.get_access_token("alice", "https://api.example");
    note("access token", at.code(), at.ok() ? at->access_token : "");
  }
  auto& pl = s.payloads();
  {
    auto f = pl.find("DeviceCode", p.p_live);
    note("find live payload", f.code(), f.ok() ? f->payload : "");
    note("find by uid", pl.find_by_uid("DeviceCode", "uid-live").code());
    note("find by user code", pl.find_by_user_code("DeviceCode", "UC-LIVE").code());
    auto c = pl.find("DeviceCode", p.p_consumed);
    note("find consumed payload", c.code(), c.ok() ? std::to_string(c->consumed_at > 0) : "");
    note("find revoked payload", pl.find("DeviceCode", p.p_revoked).code());
    note("consume live payload", pl.consume("DeviceCode", p.p_live).code());
  }
  return out;
}

class MigrateTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::random_device rd;
    tag_ = std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
    dir_ = fs::temp_directory_path() / ("authstore-migrate-" + tag_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    key_file_ = (dir_ / "authstore.key").string();
    ASSERT_TRUE(create_key_file(key_file_).ok());
    if (GetParam() == "redis") {
      port_ = redis_port();
      if (port_.empty()) GTEST_SKIP() << "no Redis fixture (run through ctest)";
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string sqlite_url(const std::string& name) const { return "sqlite://" + (dir_ / name).string(); }
  std::string target_url(const std::string& name) const {
    if (GetParam() == "redis")
      return "redis://127.0.0.1:" + port_ + "/?prefix=mig-" + tag_ + "-" + name + ":";
    return sqlite_url(name + ".db");
  }

  // Writes the population on a new SQLite store `a.db` and keeps a copy of the file, taken with
  // no store open on it, as the reference.
  void make_source(Population& p) {
    {
      auto s = open(sqlite_url("a.db"), options_for(key_file_));
      ASSERT_TRUE(s.ok()) << s.status().to_string();
      populate(s.value(), p);
      s->close();
    }
    ASSERT_FALSE(fs::exists(dir_ / "a.db-wal") && fs::file_size(dir_ / "a.db-wal") > 0);
    fs::copy_file(dir_ / "a.db", dir_ / "ref.db");
  }

  std::vector<std::string> observe_url(const std::string& url, const Population& p) {
    auto s = open(url, options_for(key_file_));
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    if (!s.ok()) return {};
    auto out = observe(s.value(), p);
    s->close();
    return out;
  }

  fs::path dir_;
  std::string tag_, key_file_, port_;
};

TEST_P(MigrateTest, EveryOperationAnswersOnTheTargetAsOnTheSource) {
  Population p;
  make_source(p);
  if (HasFatalFailure()) return;
  const std::string source = sqlite_url("a.db"), target = target_url("b");

  // A server still running on the source while it is copied: its consume must be refused.
  auto live = open(source, options_for(key_file_));
  ASSERT_TRUE(live.ok());
  std::vector<StatusCode> during;
  MigrateOptions how;
  how.verify = true;
  how.page_rows = 2;  // several pages per table: the consume lands mid-copy
  how.progress = [&](const MigrateProgress& pr) {
    if (during.empty() && pr.table == "codes") {
      during.push_back(live->codes().consume(p.code_active).code());
      during.push_back(live->refresh().rotate(p.f1_t2, "app").code());
    }
  };
  auto r = migrate(source, target, options_for(key_file_), how);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->source_fenced);
  EXPECT_TRUE(r->verified) << r->first_mismatch;
  EXPECT_EQ(r->unreadable, 0);
  EXPECT_GT(r->copied, 20);
  ASSERT_EQ(during.size(), 2u);
  EXPECT_EQ(during[0], StatusCode::kFailedPrecondition);
  EXPECT_EQ(during[1], StatusCode::kFailedPrecondition);
  // Reads still work on the fenced source; writes stay refused after the copy.
  EXPECT_TRUE(live->codes().peek(p.code_active).ok());
  EXPECT_EQ(live->codes().consume(p.code_active).code(), StatusCode::kFailedPrecondition);
  live->close();
  auto fenced = is_fenced(source, options_for(key_file_));
  ASSERT_TRUE(fenced.ok());
  EXPECT_TRUE(fenced.value());

  const auto expected = observe_url(sqlite_url("ref.db"), p);
  const auto got = observe_url(target, p);
  if (std::getenv("MIGRATE_TEST_PRINT") != nullptr) {
    for (const auto& line : expected) std::printf("  %s\n", line.c_str());
  }
  ASSERT_EQ(expected.size(), got.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "observation " << i;
  // The reference answers what the population implies (so the comparison cannot pass vacuously).
  auto has = [&](const std::string& line) {
    return std::find(expected.begin(), expected.end(), line) != expected.end();
  };
  EXPECT_TRUE(has("consume active code -> ok alice/app"));
  EXPECT_TRUE(has("consume it again -> already_consumed"));
  EXPECT_TRUE(has("grace rotate f1 t1 -> ok"));
  EXPECT_TRUE(has("rotate f1 t0 (reuse) -> reused"));
  EXPECT_TRUE(has("rotate bob (revoked grant) -> revoked"));
  EXPECT_TRUE(has("rotate carol (logged out) -> revoked"));
  EXPECT_TRUE(has("rotate dave mobile -> ok"));
  EXPECT_TRUE(has("get s1 -> ok 2"));
  EXPECT_TRUE(has("upsert s1 stale lock -> conflict"));
  EXPECT_TRUE(has("upsert s1 current lock -> ok 3"));
  EXPECT_TRUE(has("reserve jwt-1 again -> replayed"));
  EXPECT_TRUE(has("client token one -> ok at-secret-value/rt-secret-value"));
  EXPECT_TRUE(has("find revoked payload -> not_found"));

  if (GetParam() == "redis") {
    // And back: Redis -> a new SQLite file. A Redis source cannot be fenced: refused unless the
    // operator says its writers are stopped.
    MigrateOptions back;
    back.verify = true;
    auto refused = migrate(target, sqlite_url("c.db"), options_for(key_file_), back);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().field(), "fence");
  }
}

TEST_P(MigrateTest, RoundTripKeepsWhatTheSourceAnswers) {
  if (GetParam() != "redis") GTEST_SKIP() << "the round trip goes through Redis";
  Population p;
  make_source(p);
  if (HasFatalFailure()) return;
  const std::string mid = target_url("rt");
  MigrateOptions how;
  how.verify = true;
  auto r = migrate(sqlite_url("a.db"), mid, options_for(key_file_), how);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->verified) << r->first_mismatch;
  how.source_stopped = true;
  auto back = migrate(mid, sqlite_url("c.db"), options_for(key_file_), how);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_TRUE(back->verified) << back->first_mismatch;
  EXPECT_FALSE(back->source_fenced);
  const auto expected = observe_url(sqlite_url("ref.db"), p);
  const auto got = observe_url(sqlite_url("c.db"), p);
  ASSERT_EQ(expected.size(), got.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "observation " << i;
}

TEST_P(MigrateTest, AStoppedRunResumesFromItsFile) {
  Population p;
  make_source(p);
  if (HasFatalFailure()) return;
  const std::string source = sqlite_url("a.db"), target = target_url("resume");
  const std::string state = (dir_ / "migrate.state").string();
  MigrateOptions how;
  how.page_rows = 1;
  how.resume_file = state;
  int pages = 0;
  how.progress = [&](const MigrateProgress&) {
    if (++pages == 7) throw std::runtime_error("the operator's terminal went away");
  };
  EXPECT_THROW((void)migrate(source, target, options_for(key_file_), how), std::runtime_error);
  ASSERT_TRUE(fs::exists(state));
  // Without the file the target is refused: it holds records now.
  MigrateOptions fresh;
  auto refused = migrate(source, target, options_for(key_file_), fresh);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().field(), "target");
  // With it, the run continues and the stores agree.
  how.progress = nullptr;
  how.verify = true;
  auto r = migrate(source, target, options_for(key_file_), how);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->resumed);
  EXPECT_TRUE(r->verified) << r->first_mismatch;
  const auto expected = observe_url(sqlite_url("ref.db"), p);
  const auto got = observe_url(target, p);
  EXPECT_EQ(got, expected);
  // The file names these two stores: another target is refused.
  auto other = migrate(source, target_url("other"), options_for(key_file_), how);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().field(), "resume");
}

TEST_P(MigrateTest, VerifyFindsADifferenceAndDryRunWritesNothing) {
  Population p;
  make_source(p);
  if (HasFatalFailure()) return;
  const std::string source = sqlite_url("a.db"), target = target_url("verify");
  MigrateOptions dry;
  dry.dry_run = true;
  auto d = migrate(source, target, options_for(key_file_), dry);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_GT(d->rows, 20);
  EXPECT_EQ(d->copied, 0);
  EXPECT_FALSE(d->source_fenced);
  auto f = is_fenced(source, options_for(key_file_));
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f.value());
  auto r = migrate(source, target, options_for(key_file_), MigrateOptions{});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  auto v = verify_migration(source, target, options_for(key_file_));
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->verified) << v->first_mismatch;
  // A change on the target (a session updated there after the cutover) is a difference.
  {
    auto t = open(target, options_for(key_file_));
    ASSERT_TRUE(t.ok());
    auto g = t->sessions().get(p.s1, "alice", "full");
    ASSERT_TRUE(g.ok());
    ASSERT_TRUE(t->sessions().upsert(g.value()).ok());
    t->close();
  }
  auto v2 = verify_migration(source, target, options_for(key_file_));
  ASSERT_TRUE(v2.ok());
  EXPECT_FALSE(v2->verified);
  EXPECT_EQ(v2->mismatched, 1);
  EXPECT_NE(v2->first_mismatch.find("sessions"), std::string::npos) << v2->first_mismatch;
  // Lifting the fence makes the source writable again.
  ASSERT_TRUE(lift_fence(source, options_for(key_file_)).ok());
  auto s = open(source, options_for(key_file_));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->codes().consume(p.code_active).ok());
  s->close();
}

TEST(Migrate, MemoryAndTheSameStoreAreRefused) {
  Options o;
  o.keys.development_mode = true;
  auto r = migrate("memory://", "memory://", o, MigrateOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "migration");
}

INSTANTIATE_TEST_SUITE_P(Targets, MigrateTest, ::testing::Values("sqlite", "redis"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

}  // namespace
}  // namespace authstore
