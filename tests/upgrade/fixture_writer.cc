// The upgrade fixture's writer: public API only (include/authstore), nothing from src/.
//
// What it leaves in the store (names are those of the log / tokens.txt):
//  phase 1, key 1 current (key-file variant; the secret variant has only key 1 anyway):
//   code.k1 (S256, live)  rf.k1 (live family)  ss.k1 (session)  ct generic "k1:generic"
//  phase 2, key 2 current:
//   codes:     code.s256 (S256, every field set), code.plain (plain PKCE), code.grant (caller
//              grant id, no PKCE), code.consumed (consumed here: replays as already_consumed)
//   refresh:   rf.fresh (never rotated, metadata), rf.rotated (rotated once: .old spent, .cur
//              current), rf.grant (grant id), rf.revoked (revoked), rf.consumed (consumed: the
//              family ended), rf.logout (carol, then revoke_subject(carol)), rf.after_logout
//              (carol, issued after the logout), rf.revoked_grant (under a grant then revoked)
//   JWT ids:   jti.live (alice), jti.consumed (consumed here), jti.logout (carol, before the
//              logout), jti.client_revoked (bob/client-a, then revoke_client), jti.bob_b (bob/client-b)
//   sessions:  ss.a1, ss.a2 (updated once: lock_version 2), ss.a3 (deleted: tombstone), ss.o1
//              (type oauth2), ss.b1 (bob, caller-chosen id); all alice "full" except o1 and b1
//   replay:    jr.held (reserved, owner logged), jr.kept (reserved), jr.released (reserved and
//              released)
//   client:    generic "user:1/https://rs.example/api" (ttl from the record), "user:1/forever%key
//              with space" (kNoExpiry), "user:1/removed" (saved then removed); credentials for
//              https://as.example/; PKCE (alice:1, state-1) live and (alice:1, state-taken) taken;
//              access token (alice:1, https://rs.example/api)
#include "upgrade/fixture_writer.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "authstore/authstore.h"
#include "upgrade/fixture_spec.h"

namespace authstore::upgrade {
namespace {

Status fail(const std::string& step, const Status& s) {
  return Status(s.code() == StatusCode::kOk ? StatusCode::kInternal : s.code(),
                "fixture step '" + step + "': " + s.to_string(), s.field());
}

// Expects `r` to have code `want`.
template <class T>
Status expect(const std::string& step, const Result<T>& r, StatusCode want = StatusCode::kOk) {
  if (r.code() == want) return Status::Ok();
  return fail(step,
              r.ok() ? Status(StatusCode::kInternal, "unexpected ok, wanted " + std::string(to_string(want)))
                     : r.status());
}

#define FIX_TRY(expr)                            \
  do {                                           \
    if (Status s_ = (expr); !s_.ok()) return s_; \
  } while (0)

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kFailedPrecondition, "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status(StatusCode::kUnavailable, "cannot write " + path);
  ::chmod(path.c_str(), 0600);
  return Status::Ok();
}

// The key file with every "current" line replaced by `current_line`.
std::string with_current(const std::string& text, const std::string& current_line) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("current", 0) == 0) continue;
    out += line + "\n";
  }
  return out + current_line + "\n";
}

// Creates the key file with keys 1 and 2 (current 2) unless it exists.
Status ensure_key_file(const std::string& path) {
  if (std::filesystem::exists(path)) return Status::Ok();
  FIX_TRY(create_key_file(path));
  auto text = read_text(path);
  if (!text.ok()) return text.status();
  // pkce_new_verifier() is b64u(32 random bytes): a valid key secret.
  return write_text(path, with_current(text.value(), "key 2 " + pkce_new_verifier() + "\ncurrent 2"));
}

Result<Store> open_store(const WriteConfig& config, const std::string& key_file,
                         std::shared_ptr<ManualClock> clock) {
  Result<Store> s = open(config.url, fixture_options(std::move(clock), key_file));
  if (!s.ok()) return fail("open " + config.url, s.status());
  return s;
}

Status phase1(Store& store, FixtureLog& log) {
  auto put = [&](std::string k, std::string v) { log.emplace_back(std::move(k), std::move(v)); };
  const std::string verifier = pkce_new_verifier();
  auto code = store.codes().issue(code_k1_grant(pkce_s256_challenge(verifier)));
  FIX_TRY(expect("code.k1", code));
  put("code.k1", code->code);
  put("code.k1.verifier", verifier);

  auto rf = store.refresh().issue(family_grant("alice", "client-a"));
  FIX_TRY(expect("rf.k1", rf));
  put("rf.k1", rf->token);
  put("rf.k1.family", rf->family.family_id);

  const std::string sid = SessionStore::new_session_id();
  FIX_TRY(expect("ss.k1", store.sessions().upsert(fixture_session("k1", sid))));
  put("ss.k1", sid);

  FIX_TRY(expect("ct.k1", store.client_tokens().save(kCtK1Key, ct_record("k1"))));
  return Status::Ok();
}

Status write_codes(Store& store, FixtureLog& log) {
  auto put = [&](std::string k, std::string v) { log.emplace_back(std::move(k), std::move(v)); };
  CodeStore& codes = store.codes();

  const std::string v1 = pkce_new_verifier();
  auto s256 = codes.issue(code_s256_grant(pkce_s256_challenge(v1)));
  FIX_TRY(expect("code.s256", s256));
  put("code.s256", s256->code);
  put("code.s256.verifier", v1);
  put("code.s256.grant_id", s256->grant_id);

  const std::string v2 = pkce_new_verifier();
  auto plain = codes.issue(code_plain_grant(v2));
  FIX_TRY(expect("code.plain", plain));
  put("code.plain", plain->code);
  put("code.plain.verifier", v2);
  put("code.plain.grant_id", plain->grant_id);

  auto grant = codes.issue(code_grant_grant());
  FIX_TRY(expect("code.grant", grant));
  put("code.grant", grant->code);

  auto consumed = codes.issue(code_consumed_grant());
  FIX_TRY(expect("code.consumed", consumed));
  FIX_TRY(expect("code.consumed consume", codes.consume(consumed->code)));
  put("code.consumed", consumed->code);
  return Status::Ok();
}

Status write_refresh(Store& store, FixtureLog& log) {
  auto put = [&](std::string k, std::string v) { log.emplace_back(std::move(k), std::move(v)); };
  RefreshTokenStore& rt = store.refresh();
  auto issue = [&](const std::string& name, const RefreshGrant& g) -> Result<IssuedRefreshToken> {
    auto r = rt.issue(g);
    if (!r.ok()) return fail(name, r.status());
    put(name + ".family", r->family.family_id);
    return r;
  };

  auto fresh = issue("rf.fresh", family_grant("alice", "client-a", {}, kFreshMetadata));
  FIX_TRY(expect("rf.fresh", fresh));
  put("rf.fresh", fresh->token);

  auto rotated = issue("rf.rotated", family_grant("alice", "client-b"));
  FIX_TRY(expect("rf.rotated", rotated));
  auto next = rt.rotate(rotated->token, "client-b");
  FIX_TRY(expect("rf.rotated rotate", next));
  put("rf.rotated.old", rotated->token);
  put("rf.rotated.cur", next->token);

  auto grant = issue("rf.grant", family_grant("alice", "client-a", kGrantFixture));
  FIX_TRY(expect("rf.grant", grant));
  put("rf.grant", grant->token);

  auto revoked = issue("rf.revoked", family_grant("alice", "client-a"));
  FIX_TRY(expect("rf.revoked", revoked));
  FIX_TRY(expect("rf.revoked revoke", rt.revoke(revoked->token)));
  put("rf.revoked", revoked->token);

  auto consumed = issue("rf.consumed", family_grant("bob", "client-b"));
  FIX_TRY(expect("rf.consumed", consumed));
  FIX_TRY(expect("rf.consumed consume", rt.consume(consumed->token, "client-b")));
  put("rf.consumed", consumed->token);

  // JWT ids (store_jti).
  auto jti = [&](const std::string& name, const char* subject, const char* client) -> Status {
    const std::string id = "jwt-" + pkce_new_verifier();
    FIX_TRY(expect(name, rt.store_jti(subject, id, client, kJtiTtl)));
    put(name, id);
    return Status::Ok();
  };
  FIX_TRY(jti("jti.live", "alice", "client-a"));
  FIX_TRY(jti("jti.consumed", "alice", "client-a"));
  FIX_TRY(expect("jti.consumed consume", rt.consume_jti("alice", log.back().second)));
  FIX_TRY(jti("jti.client_revoked", "bob", "client-a"));
  FIX_TRY(jti("jti.bob_b", "bob", "client-b"));
  FIX_TRY(expect("revoke_client bob", rt.revoke_client("bob", "client-a")));

  // carol logs out everywhere, then signs in again.
  auto logout = issue("rf.logout", family_grant("carol", "client-a"));
  FIX_TRY(expect("rf.logout", logout));
  put("rf.logout", logout->token);
  FIX_TRY(jti("jti.logout", "carol", "client-a"));
  FIX_TRY(expect("revoke_subject carol", rt.revoke_subject("carol")));
  auto after = issue("rf.after_logout", family_grant("carol", "client-a"));
  FIX_TRY(expect("rf.after_logout", after));
  put("rf.after_logout", after->token);

  // A grant revoked (a replayed code): its family is dead and the revocation sticks.
  auto rg = issue("rf.revoked_grant", family_grant("alice", "client-a", kGrantRevoked));
  FIX_TRY(expect("rf.revoked_grant", rg));
  put("rf.revoked_grant", rg->token);
  FIX_TRY(expect("revoke_grant", rt.revoke_grant("alice", kGrantRevoked)));
  return Status::Ok();
}

Status write_sessions(Store& store, FixtureLog& log) {
  SessionStore& ss = store.sessions();
  for (const char* which : {"a1", "a2", "a3", "o1", "b1"}) {
    const std::string id =
        std::string(which) == "b1" ? std::string(kSessionB1Id) : SessionStore::new_session_id();
    auto r = ss.upsert(fixture_session(which, id));
    FIX_TRY(expect(std::string("ss.") + which, r));
    log.emplace_back(std::string("ss.") + which, id);
    if (std::string(which) == "a2") {
      FIX_TRY(expect("ss.a2 update", ss.upsert(session_a2_update(r.value()))));
    }
    if (std::string(which) == "a3") {
      FIX_TRY(expect("ss.a3 delete", ss.delete_session(id, "alice", "full")));
    }
  }
  return Status::Ok();
}

Status write_replay(Store& store, FixtureLog& log) {
  auto put = [&](std::string k, std::string v) { log.emplace_back(std::move(k), std::move(v)); };
  ReplayCache& rc = store.replay();
  const std::string held = "dpop-" + pkce_new_verifier();
  auto r = rc.reserve(kReplayIssuer, held, kReplayExp);
  FIX_TRY(expect("jr.held", r));
  put("jr.held", held);
  put("jr.held.owner", r->owner);
  put("jr.held.kept_until", std::to_string(r->kept_until));

  const std::string kept = "dpop-" + pkce_new_verifier();
  FIX_TRY(expect("jr.kept", rc.reserve(kReplayIssuer, kept, kReplayExp)));
  put("jr.kept", kept);

  const std::string released = "dpop-" + pkce_new_verifier();
  auto rel = rc.reserve(kReplayIssuer, released, kReplayExp);
  FIX_TRY(expect("jr.released", rel));
  FIX_TRY(expect("jr.released release", rc.release(rel.value())));
  put("jr.released", released);
  return Status::Ok();
}

Status write_client_tokens(Store& store, FixtureLog& log) {
  ClientTokenStore& ct = store.client_tokens();
  FIX_TRY(expect("ct.generic", ct.save(kCtGenericKey, ct_record("generic"))));
  FIX_TRY(expect("ct.forever", ct.save(kCtForeverKey, ct_record("forever"), kNoExpiry)));
  FIX_TRY(expect("ct.removed", ct.save(kCtRemovedKey, ct_record("removed"))));
  FIX_TRY(expect("ct.removed remove", ct.remove(kCtRemovedKey)));
  FIX_TRY(expect("ct.credentials", ct.save_client_credentials(kCtServer, ct_credentials())));

  PkceValues live;
  live.code_verifier = pkce_new_verifier();
  live.code_challenge = pkce_s256_challenge(live.code_verifier);
  FIX_TRY(expect("ct.pkce", ct.save_pkce(kCtUser, "state-1", live)));
  log.emplace_back("ct.pkce.verifier", live.code_verifier);
  PkceValues taken;
  taken.code_verifier = pkce_new_verifier();
  taken.code_challenge = pkce_s256_challenge(taken.code_verifier);
  FIX_TRY(expect("ct.pkce_taken", ct.save_pkce(kCtUser, "state-taken", taken)));
  FIX_TRY(expect("ct.pkce_taken take", ct.take_pkce(kCtUser, "state-taken")));

  FIX_TRY(expect("ct.access", ct.save_access_token(kCtUser, kCtResource, ct_record("access"))));
  return Status::Ok();
}

}  // namespace

Status write_fixture(const WriteConfig& config, FixtureLog& log) {
  auto clock = std::make_shared<ManualClock>(kFixtureTime);
  log.emplace_back("time", std::to_string(kFixtureTime));
  std::string phase1_keys;
  if (!config.key_file.empty()) {
    FIX_TRY(ensure_key_file(config.key_file));
    auto text = read_text(config.key_file);
    if (!text.ok()) return text.status();
    phase1_keys = config.key_file + ".phase1";
    FIX_TRY(write_text(phase1_keys, with_current(text.value(), "current 1")));
  }
  {
    auto store = open_store(config, phase1_keys, clock);
    if (!config.key_file.empty()) std::filesystem::remove(phase1_keys);
    if (!store.ok()) return store.status();
    FIX_TRY(phase1(store.value(), log));
  }
  auto store = open_store(config, config.key_file, clock);
  if (!store.ok()) return store.status();
  FIX_TRY(write_codes(store.value(), log));
  FIX_TRY(write_refresh(store.value(), log));
  FIX_TRY(write_sessions(store.value(), log));
  FIX_TRY(write_replay(store.value(), log));
  FIX_TRY(write_client_tokens(store.value(), log));
  return Status::Ok();
}

std::string format_log(const FixtureLog& log) {
  std::string out;
  for (const auto& [k, v] : log) out += k + " " + v + "\n";
  return out;
}

Result<std::map<std::string, std::string>> parse_log(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string section;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2) + "/";
      continue;
    }
    const auto sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || line.find(' ', sp + 1) != std::string::npos) {
      return Status(StatusCode::kInvalidArgument, "line " + std::to_string(n) + ": expected 'name value'");
    }
    if (!out.emplace(section + line.substr(0, sp), line.substr(sp + 1)).second) {
      return Status(StatusCode::kInvalidArgument, "line " + std::to_string(n) + ": name twice");
    }
  }
  return out;
}

}  // namespace authstore::upgrade
