// Shared by the migration tests (migration_test.cc, migration_sqlite_test.cc): a mixed
// population written through the public stores, what the stores answer about it (as text, in an
// order that also changes state), and rows as comparable text.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "conformance/harness.h"

namespace authstore::testing::migration_support {

using internal::migration::kTableCount;
using internal::migration::MigrationBackend;
using internal::migration::Page;
using internal::migration::Row;
using internal::migration::Table;

inline std::string unique_prefix(const char* tag) {
  static int counter = 0;
  static const unsigned salt = std::random_device{}();  // the pid repeats within a ctest run
  return std::string("mg") + tag + std::to_string(::getpid()) + "." + std::to_string(salt) + "-" +
         std::to_string(counter++) + ":";
}

inline std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

// One row as text (every column), so that row sets compare as sorted strings. `loose`: columns a
// Redis export derives from a key's TTL (generations, logouts) are left out.
struct RowText {
  bool loose = false;
  std::string operator()(const internal::migration::UserRow& r) const {
    return "user " + r.route + " " + r.subject_key + " " + std::to_string(r.gen) +
           (loose ? "" : " " + std::to_string(r.expires_at));
  }
  std::string operator()(const internal::migration::ClientGenRow& r) const {
    return "cgen " + r.route + " " + r.subject_key + " " + r.client_key + " " + std::to_string(r.gen) +
           (loose ? "" : " " + std::to_string(r.expires_at));
  }
  std::string operator()(const internal::migration::GrantRow& r) const {
    const bool logout = !r.grant_key.empty() && (r.grant_key[0] == '\x00' || r.grant_key[0] == '\x01');
    return "grant " + r.route + " " + r.subject_key + " " + hex(r.grant_key) +
           (loose && logout ? "" : " " + std::to_string(r.until));
  }
  std::string operator()(const internal::migration::FamilyRow& r) const {
    return "family " + r.family_key + " " + r.route + " " + r.subject_key + " " + r.client_key + " " +
           r.grant_key + " " + hex(r.record) + " " + std::to_string(r.user_gen) + " " +
           std::to_string(r.client_gen) + " " + std::to_string(r.state) + " cur=" + r.current_token +
           " prev=" + r.prev_token + "@" + std::to_string(r.prev_spent_at) + " grace=" + r.grace_token + "@" +
           std::to_string(r.grace_spent_at) + " " + std::to_string(r.created_at) + " " +
           std::to_string(r.last_used_at) + " " + std::to_string(r.idle_ttl) + " " +
           std::to_string(r.idle_expires_at) + " " + std::to_string(r.expires_at) + " " +
           std::to_string(r.rotations);
  }
  std::string operator()(const internal::migration::TokenRow& r) const {
    return "token " + r.token_key + " " + r.family_key + " " + std::to_string(r.expires_at);
  }
  std::string operator()(const internal::migration::JtiRow& r) const {
    return "jti " + r.route + " " + r.subject_key + " " + r.jti_key + " " + r.client_key + " " +
           hex(r.record) + " " + std::to_string(r.user_gen) + " " + std::to_string(r.client_gen) + " " +
           std::to_string(r.consumed) + " " + std::to_string(r.expires_at);
  }
  std::string operator()(const internal::migration::CodeRow& r) const {
    return "code " + r.key + " " + std::to_string(r.consumed) + " " + hex(r.record) + " " + hex(r.tombstone) +
           " " + std::to_string(r.expires_at);
  }
  std::string operator()(const internal::migration::SessionRow& r) const {
    return "session " + r.route + " " + r.bucket_key + " " + r.session_key + " " + hex(r.record) + " " +
           std::to_string(r.lock_version) + " " + std::to_string(r.deleted) + " " +
           std::to_string(r.refresh_expires_at);
  }
  std::string operator()(const internal::migration::ReplayRow& r) const {
    return "replay " + r.key + " " + r.owner + " " + std::to_string(r.kept_until);
  }
  std::string operator()(const internal::migration::ClientTokenRow& r) const {
    return "ctoken " + r.key + " " + hex(r.blob) + " " + std::to_string(r.expires_at);
  }
  std::string operator()(const internal::migration::PayloadGrantRow& r) const {
    return "pgrant " + r.grant_key + " " + std::to_string(r.until);
  }
  std::string operator()(const internal::migration::PayloadRow& r) const {
    return "payload " + r.key + " " + hex(r.record) + " " + r.grant_key + " " +
           std::to_string(r.consumed_at) + " " + std::to_string(r.expires_at);
  }
  std::string operator()(const internal::migration::PayloadIndexRow& r) const {
    return "pindex " + r.key + " " + r.target + " " + std::to_string(r.expires_at);
  }
};

inline MigrationBackend& seam(Harness& h) {
  MigrationBackend* m = h.backend().migration();
  EXPECT_NE(m, nullptr);
  return *m;
}

// Every row of table t, following the pages to the end (small pages: several SCAN steps).
inline std::vector<Row> export_all(MigrationBackend& m, Table t, internal::Millis now, std::size_t page = 7) {
  std::vector<Row> rows;
  std::string cursor;
  for (int i = 0; i < 100000; ++i) {
    Result<Page> p = m.export_page(t, cursor, page, now);
    EXPECT_TRUE(p.ok()) << p.status().to_string();
    if (!p.ok()) break;
    for (auto& r : p->rows) rows.push_back(std::move(r));
    cursor = p->next_cursor;
    if (cursor.empty()) break;
  }
  return rows;
}

inline std::vector<std::string> texts(const std::vector<Row>& rows, bool loose) {
  std::vector<std::string> out;
  for (const Row& r : rows) out.push_back(std::visit(RowText{loose}, r));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Copies every table of `from` into `to` (the order of Table), returns the rows per table.
inline std::map<int, std::vector<Row>> migrate(Harness& from, Harness& to, internal::Millis now) {
  std::map<int, std::vector<Row>> all;
  for (int t = 0; t < kTableCount; ++t) {
    std::vector<Row> rows = export_all(seam(from), static_cast<Table>(t), now);
    Status s = seam(to).import_rows(static_cast<Table>(t), rows, now);
    EXPECT_TRUE(s.ok()) << internal::migration::table_name(static_cast<Table>(t)) << ": " << s.to_string();
    all[t] = std::move(rows);
  }
  return all;
}

inline Options grace_options() {
  Options o;
  o.refresh.grace_window_ms = 30'000;
  return o;
}

inline std::string code_name(StatusCode c) { return std::string(to_string(c)); }

template <class T>
inline std::string outcome(const Result<T>& r) {
  return code_name(r.status().code());
}

// The tokens and ids a population hands out, to present them to both stores.
struct Population {
  std::string code_active, code_consumed;
  std::vector<std::string> f1;     // t0 t1 t2 t3: t1 grace-retried (t3 current), t2 superseded
  std::vector<std::string> f2;     // reused: revoked
  std::string f3, f4, f5, f6, f7;  // grant revoked, user logged out, client logged out, ended, active
  std::string grant3;
  UnixMillis logout_issued_at = 0;
  std::string s1, s2, s3;  // sessions: s1 updated, s2 deleted, s3 another type
};

inline Population populate(Store& s, ManualClock& clock) {
  Population p;
  auto code = [&](const std::string& sub) {
    CodeGrant g;
    g.client_id = "client-1";
    g.subject = sub;
    g.redirect_uri = "https://app.example/cb";
    g.scope = "openid";
    auto c = s.codes().issue(g);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    return c.ok() ? c->code : std::string();
  };
  p.code_active = code("alice");
  p.code_consumed = code("alice");
  EXPECT_TRUE(s.codes().consume(p.code_consumed).ok());

  auto issue = [&](const std::string& sub, const std::string& client, const std::string& grant) {
    RefreshGrant g;
    g.subject = sub;
    g.client_id = client;
    g.grant_id = grant;
    auto t = s.refresh().issue(g);
    EXPECT_TRUE(t.ok()) << t.status().to_string();
    return t.ok() ? t->token : std::string();
  };
  auto rotate = [&](const std::string& tok, const char* client = "client-1") {
    auto t = s.refresh().rotate(tok, client);
    EXPECT_TRUE(t.ok()) << t.status().to_string();
    return t.ok() ? t->token : std::string();
  };
  // F2: rotated twice, then the first token presented again: reuse, revoked.
  p.f2.push_back(issue("alice", "client-1", ""));
  p.f2.push_back(rotate(p.f2[0]));
  p.f2.push_back(rotate(p.f2[1]));
  EXPECT_EQ(s.refresh().rotate(p.f2[0], "client-1").status().code(), StatusCode::kReused);
  // F3: its grant revoked.
  p.grant3 = "grant-3";
  p.f3 = issue("alice", "client-1", p.grant3);
  EXPECT_TRUE(s.refresh().revoke_grant("alice", p.grant3).ok());
  // F4: bob logged out everywhere; F5: carol logged out of client-2.
  p.f4 = issue("bob", "client-1", "");
  p.f5 = issue("carol", "client-2", "");
  EXPECT_TRUE(s.refresh().store_jti("bob", "jti-3", "client-1", 600'000).ok());
  p.logout_issued_at = clock.now();
  clock.advance(1000);
  EXPECT_TRUE(s.refresh().revoke_subject("bob").ok());
  EXPECT_TRUE(s.refresh().revoke_client("carol", "client-2").ok());
  // F6 ended (consumed); F7 active.
  p.f6 = issue("alice", "client-1", "");
  EXPECT_TRUE(s.refresh().consume(p.f6, "client-1").ok());
  p.f7 = issue("alice", "client-1", "");
  // JWT ids: one stored, one consumed.
  EXPECT_TRUE(s.refresh().store_jti("alice", "jti-1", "client-1", 600'000).ok());
  EXPECT_TRUE(s.refresh().store_jti("alice", "jti-2", "client-1", 600'000).ok());
  EXPECT_TRUE(s.refresh().consume_jti("alice", "jti-2").ok());

  // Sessions: s1 inserted then updated (lock 2), s2 deleted (tombstone), s3 of another type.
  auto session = [&](const std::string& type) {
    Session x;
    x.id = SessionStore::new_session_id();
    x.user_id = "alice";
    x.type = type;
    x.refresh_expires_at = clock.now() + 3'600'000;
    return x;
  };
  Session s1 = session("full");
  auto r1 = s.sessions().upsert(s1);
  EXPECT_TRUE(r1.ok()) << r1.status().to_string();
  if (r1.ok()) {
    Session upd = r1.value();
    upd.extra_json = "{\"n\":2}";
    EXPECT_TRUE(s.sessions().upsert(upd).ok());
  }
  Session s2 = session("full");
  EXPECT_TRUE(s.sessions().upsert(s2).ok());
  EXPECT_TRUE(s.sessions().delete_session(s2.id, "alice", "full").ok());
  Session s3 = session("oauth2");
  EXPECT_TRUE(s.sessions().upsert(s3).ok());
  p.s1 = s1.id;
  p.s2 = s2.id;
  p.s3 = s3.id;

  // A replay reservation.
  EXPECT_TRUE(s.replay().reserve("https://issuer.example", "jti-r", clock.now() + 600'000).ok());

  // Client tokens: generic ones (with and without expiry), an access token, PKCE, credentials.
  TokenRecord rec;
  rec.access_token = "at-secret";
  rec.token_type = "Bearer";
  EXPECT_TRUE(s.client_tokens().save("generic/a", rec).ok());
  EXPECT_TRUE(s.client_tokens().save("generic/b", rec, 600'000).ok());
  EXPECT_TRUE(s.client_tokens().save_access_token("alice", "https://rs.example", rec).ok());
  PkceValues pk;
  pk.code_verifier = std::string(43, 'v');
  pk.code_challenge = std::string(43, 'c');
  EXPECT_TRUE(s.client_tokens().save_pkce("alice", "st", pk).ok());
  ClientCredentials cc;
  cc.client_id = "cid";
  cc.client_secret = "csecret";
  EXPECT_TRUE(s.client_tokens().save_client_credentials("https://as.example", cc).ok());

  // Payloads: one with uid / user code / grant, one whose grant is revoked, one consumed.
  PayloadWrite w;
  w.model = "DeviceCode";
  w.id = "p1";
  w.payload = "payload-1";
  w.grant_id = "pg-1";
  w.uid = "uid-1";
  w.user_code = "UC-1";
  w.ttl_ms = 600'000;
  EXPECT_TRUE(s.payloads().upsert(w).ok());
  PayloadWrite w2 = w;
  w2.id = "p2";
  w2.grant_id = "pg-2";
  w2.uid = "uid-2";
  w2.user_code = "";
  EXPECT_TRUE(s.payloads().upsert(w2).ok());
  EXPECT_TRUE(s.payloads().revoke_by_grant_id("pg-2").ok());
  PayloadWrite w3 = w;
  w3.id = "p3";
  w3.grant_id = "";
  w3.uid = "";
  w3.user_code = "";
  EXPECT_TRUE(s.payloads().upsert(w3).ok());
  EXPECT_TRUE(s.payloads().consume("DeviceCode", "p3").ok());

  // F1 last (its grace window runs from now): t0 -> t1 -> t2, then t1 again within the grace
  // window -> t3 (t2 superseded, t1 the grace candidate).
  p.f1.push_back(issue("alice", "client-1", ""));
  p.f1.push_back(rotate(p.f1[0]));
  clock.advance(100);
  p.f1.push_back(rotate(p.f1[1]));
  clock.advance(100);
  p.f1.push_back(rotate(p.f1[1]));
  return p;
}

// What the stores answer, as text, in an order that also changes state (the same on both).
inline std::vector<std::string> observe(Store& s, const Population& p) {
  std::vector<std::string> out;
  auto add = [&](const std::string& what, const std::string& v) { out.push_back(what + ": " + v); };
  auto peek_code = [&](const std::string& c) {
    auto r = s.codes().peek(c);
    return outcome(r) +
           (r.ok() ? (r->consumed ? " consumed" : " active") + std::string(" ") + r->grant.subject : "");
  };
  add("peek code active", peek_code(p.code_active));
  add("peek code consumed", peek_code(p.code_consumed));
  auto peek_tok = [&](const std::string& t) {
    auto r = s.refresh().peek(t);
    if (!r.ok()) return outcome(r);
    return "ok state " + std::to_string(static_cast<int>(r->state)) + " " + r->family.family_id + " rot " +
           std::to_string(r->family.rotations) + " lu " + std::to_string(r->family.last_used_at) + " ie " +
           std::to_string(r->family.idle_expires_at);
  };
  for (std::size_t i = 0; i < p.f1.size(); ++i) add("peek f1[" + std::to_string(i) + "]", peek_tok(p.f1[i]));
  for (std::size_t i = 0; i < p.f2.size(); ++i) add("peek f2[" + std::to_string(i) + "]", peek_tok(p.f2[i]));
  for (const auto* t : {&p.f3, &p.f4, &p.f5, &p.f6, &p.f7}) add("peek", peek_tok(*t));
  for (const char* sub : {"alice", "bob", "carol"}) {
    auto l = s.refresh().list(sub);
    std::string v = outcome(l);
    if (l.ok()) {
      std::vector<std::string> ids;
      for (const auto& f : l.value()) ids.push_back(f.family_id);
      std::sort(ids.begin(), ids.end());
      for (const auto& id : ids) v += " " + id;
    }
    add(std::string("list ") + sub, v);
  }
  add("grant_live bob", outcome(s.refresh().grant_live("bob", "client-1", "", p.logout_issued_at)));
  add("grant_live carol c2", outcome(s.refresh().grant_live("carol", "client-2", "", p.logout_issued_at)));
  add("grant_live carol c1", outcome(s.refresh().grant_live("carol", "client-1", "", p.logout_issued_at)));
  add("grant_live alice g3",
      outcome(s.refresh().grant_live("alice", "client-1", p.grant3, p.logout_issued_at)));
  add("grant_live alice", outcome(s.refresh().grant_live("alice", "client-1", "other", p.logout_issued_at)));
  // Rotations: the current token of F7; F1's grace candidate again (a grace retry), then its
  // superseded token (reuse), then its current one (revoked by the reuse); a reused family.
  auto rot = [&](const std::string& t) {
    auto r = s.refresh().rotate(t, "client-1");
    return outcome(r) + (r.ok() ? " rot " + std::to_string(r->family.rotations) : "");
  };
  add("rotate f7", rot(p.f7));
  add("rotate f1[1] grace", rot(p.f1[1]));
  add("rotate f1[2] superseded", rot(p.f1[2]));
  add("rotate f1[3]", rot(p.f1[3]));
  add("rotate f2[2]", rot(p.f2[2]));
  add("rotate f3", rot(p.f3));
  add("rotate f4", rot(p.f4));
  add("rotate f5 wrong client", rot(p.f5));
  add("consume f6 again", outcome(s.refresh().consume(p.f6)));
  add("jti-1", outcome(s.refresh().consume_jti("alice", "jti-1")));
  add("jti-1 again", outcome(s.refresh().consume_jti("alice", "jti-1")));
  add("jti-2", outcome(s.refresh().consume_jti("alice", "jti-2")));
  add("jti-3 (bob logged out)", outcome(s.refresh().consume_jti("bob", "jti-3")));
  // Codes: consume both.
  add("consume code active", outcome(s.codes().consume(p.code_active)));
  add("consume code consumed", outcome(s.codes().consume(p.code_consumed)));
  // Sessions.
  auto g1 = s.sessions().get(p.s1, "alice", "full");
  add("session s1",
      outcome(g1) + (g1.ok() ? " lock " + std::to_string(g1->lock_version) + " " + g1->extra_json : ""));
  add("session s2", outcome(s.sessions().get(p.s2, "alice", "full")));
  add("session s3", outcome(s.sessions().get(p.s3, "alice", "oauth2")));
  auto all = s.sessions().get_all("alice", "full");
  add("sessions all", outcome(all) + (all.ok() ? " " + std::to_string(all->size()) : ""));
  Session again;
  again.id = p.s2;
  again.user_id = "alice";
  again.type = "full";
  again.refresh_expires_at = 1;
  if (g1.ok()) again.refresh_expires_at = g1->refresh_expires_at;
  add("re-insert deleted s2", outcome(s.sessions().upsert(again)));
  if (g1.ok()) {
    Session stale = g1.value();
    stale.lock_version = 1;
    add("stale s1", outcome(s.sessions().upsert(stale)));
    add("update s1", outcome(s.sessions().upsert(g1.value())));
  }
  // Replay.
  add("reserve jti-r", outcome(s.replay().reserve("https://issuer.example", "jti-r", kStart + 3'600'000)));
  // Client tokens.
  auto a = s.client_tokens().get("generic/a");
  add("ctoken a", outcome(a) + (a.ok() ? " " + a->access_token : ""));
  add("ctoken b", outcome(s.client_tokens().get("generic/b")));
  auto l = s.client_tokens().list("generic/");
  std::string lv = outcome(l);
  if (l.ok()) {
    for (const auto& k : l->keys) lv += " " + k;
  }
  add("ctoken list", lv);
  add("access token", outcome(s.client_tokens().get_access_token("alice", "https://rs.example")));
  add("credentials", outcome(s.client_tokens().get_client_credentials("https://as.example")));
  add("pkce", outcome(s.client_tokens().take_pkce("alice", "st")));
  add("pkce again", outcome(s.client_tokens().take_pkce("alice", "st")));
  // Payloads.
  auto pay = [&](const Result<StoredPayload>& r) {
    return outcome(r) +
           (r.ok() ? " " + r->id + " " + r->payload + " c " + std::to_string(r->consumed_at) : "");
  };
  add("payload p1", pay(s.payloads().find("DeviceCode", "p1")));
  add("payload uid-1", pay(s.payloads().find_by_uid("DeviceCode", "uid-1")));
  add("payload UC-1", pay(s.payloads().find_by_user_code("DeviceCode", "UC-1")));
  add("payload p2 (grant revoked)", pay(s.payloads().find("DeviceCode", "p2")));
  add("payload uid-2", pay(s.payloads().find_by_uid("DeviceCode", "uid-2")));
  add("payload p3 (consumed)", pay(s.payloads().find("DeviceCode", "p3")));
  add("consume p1", pay(s.payloads().consume("DeviceCode", "p1")));
  add("consume p1 again", pay(s.payloads().consume("DeviceCode", "p1")));
  return out;
}

}  // namespace authstore::testing::migration_support
