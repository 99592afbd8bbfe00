// `authstore demo`: every flow end to end, each step printed. Uses only the public API.
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "cli/cli.h"

namespace authstore::cli {
namespace {

int failures = 0;

std::string mask(const std::string& secret) {
  return secret.size() <= 8 ? std::string("****")
                            : secret.substr(0, 8) + "...(" + std::to_string(secret.size()) + " chars)";
}

void step(const std::string& what) { std::cout << "\n== " << what << "\n"; }

template <class T>
bool expect(const Result<T>& r, StatusCode want, const std::string& what) {
  const bool ok = r.code() == want;
  std::cout << (ok ? "  ok    " : "  FAIL  ") << what << " -> " << to_string(r.code());
  if (!r.ok() && !r.status().message().empty()) std::cout << " (" << r.status().message() << ")";
  std::cout << "\n";
  if (!ok) ++failures;
  return ok;
}

std::string run_id() {
  std::random_device rd;
  std::ostringstream s;
  s << std::hex << rd() << rd();
  return s.str();
}

}  // namespace

int run_demo(const std::string& url, const KeySource& keys, bool show_metrics) {
  Options options;
  if (!resolve_keys(keys, options.keys)) return 1;
  if (!check_store_files(url)) return 1;
  auto opened = open(url, options);
  if (!opened.ok()) {
    std::cerr << redact("error: cannot open " + url + ": " + opened.status().to_string(), url) << "\n";
    return 1;
  }
  Store store = opened.value();
  std::cout << "store: " << redact(url, url) << " (backend " << store.backend() << ")\n";
  const std::string alice = "alice-" + run_id();  // a fresh user per run: reruns don't collide
  const UnixMillis now = SystemClock().now();

  step("1. Authorization code with PKCE (RFC 7636, S256)");
  const std::string verifier = pkce_new_verifier();
  CodeGrant grant;
  grant.client_id = "demo-client";
  grant.subject = alice;
  grant.claims_json = R"({"email":"alice@example.com","email_verified":true})";
  grant.scope = "openid profile offline_access";
  grant.redirect_uri = "https://app.example.com/callback";
  grant.nonce = "n-" + run_id();
  grant.code_challenge = pkce_s256_challenge(verifier);
  grant.code_challenge_method = "S256";
  grant.auth_time = now;
  auto code = store.codes().issue(grant);
  if (!expect(code, StatusCode::kOk, "issue code")) return 1;
  std::cout << "        code " << mask(code->code) << ", grant " << code->grant_id << "\n";
  auto peeked = store.codes().peek(code->code);
  expect(peeked, StatusCode::kOk, "peek (read-only) while validating the token request");
  Status pkce = verify_pkce(peeked.value(), verifier);
  std::cout << (pkce.ok() ? "  ok    " : "  FAIL  ") << "PKCE verifier matches the S256 challenge\n";
  if (!pkce.ok()) ++failures;
  Status wrong = verify_pkce(peeked.value(), pkce_new_verifier());
  std::cout << (!wrong.ok() ? "  ok    " : "  FAIL  ") << "a wrong verifier is refused -> "
            << wrong.to_string() << "\n";
  auto consumed = store.codes().consume(code->code);
  expect(consumed, StatusCode::kOk, "consume the code (exactly once)");

  step("2. Refresh token issued under the code's grant, then rotated");
  RefreshGrant rg;
  rg.subject = alice;
  rg.client_id = "demo-client";
  rg.scope = grant.scope;
  rg.grant_id = code->grant_id;
  rg.metadata_json = R"({"device":"Firefox on Linux"})";
  auto rt1 = store.refresh().issue(rg);
  expect(rt1, StatusCode::kOk, "issue refresh family " + rt1->family.family_id);
  auto rt2 = store.refresh().rotate(rt1->token, "demo-client");
  expect(rt2, StatusCode::kOk, "rotate: old token spent, successor " + mask(rt2->token));
  expect(store.refresh().rotate(rt2->token, "evil-client"), StatusCode::kPermissionDenied,
         "the token presented by another client");

  step("3. Code replay detected: revoke everything issued from that code (RFC 9700)");
  auto replay = store.codes().consume(code->code);
  expect(replay, StatusCode::kAlreadyConsumed, "consume the same code again");
  std::cout << "        replay names grant " << replay->grant.grant_id << " of subject "
            << replay->grant.subject << "\n";
  expect(store.refresh().revoke_grant(replay->grant.subject, replay->grant.grant_id), StatusCode::kOk,
         "revoke the grant");
  expect(store.refresh().rotate(rt2->token, "demo-client"), StatusCode::kRevoked,
         "the family issued from the replayed code is dead");
  expect(store.refresh().issue(rg), StatusCode::kRevoked, "new tokens under the revoked grant are refused");

  step("4. Refresh token reuse attack: the whole family is revoked");
  rg.grant_id.clear();
  rg.metadata_json = R"({"device":"Pixel 8"})";
  auto phone = store.refresh().issue(rg);
  expect(phone, StatusCode::kOk, "issue a new family (phone)");
  auto phone2 = store.refresh().rotate(phone->token, "demo-client");
  expect(phone2, StatusCode::kOk, "legitimate client rotates");
  expect(store.refresh().rotate(phone->token, "demo-client"), StatusCode::kReused,
         "attacker replays the stolen old token: reuse detected");
  expect(store.refresh().rotate(phone2->token, "demo-client"), StatusCode::kRevoked,
         "the legitimate successor is revoked with its family");

  step("5. Sessions with optimistic locking");
  Session s;
  s.id = SessionStore::new_session_id();
  s.user_id = alice;
  s.type = "full";
  s.refresh_expires_at = now + 3'600'000;
  s.expires_at = now + 900'000;
  auto v1 = store.sessions().upsert(s);
  expect(v1, StatusCode::kOk, "insert session (lock_version 0 -> 1)");
  Session tab_a = v1.value();
  Session tab_b = v1.value();
  tab_a.refreshed_at = SystemClock().now();
  expect(store.sessions().upsert(tab_a), StatusCode::kOk, "tab A refreshes (lock_version 1 -> 2)");
  expect(store.sessions().upsert(tab_b), StatusCode::kConflict, "tab B writes a stale copy: lock conflict");
  Session other = s;
  other.id = SessionStore::new_session_id();
  expect(store.sessions().upsert(other), StatusCode::kOk, "a second session (another browser)");

  step("6. Your devices, then log out everywhere");
  rg.metadata_json = R"({"device":"ThinkPad"})";
  auto laptop = store.refresh().issue(rg);
  expect(laptop, StatusCode::kOk, "issue a family (laptop)");
  auto devices = store.refresh().list(alice);
  expect(devices, StatusCode::kOk, "list active refresh families: " + std::to_string(devices->size()));
  for (const auto& f : devices.value()) {
    std::cout << "        " << f.family_id << " client=" << f.client_id << " " << f.metadata_json << "\n";
  }
  auto sessions = store.sessions().get_all(alice, "full");
  expect(sessions, StatusCode::kOk, "list sessions: " + std::to_string(sessions->size()));
  expect(store.refresh().revoke_subject(alice), StatusCode::kOk, "revoke every refresh token of the user");
  auto deleted = store.sessions().delete_all(alice, "full");
  expect(deleted, StatusCode::kOk, "delete every session: " + std::to_string(deleted.value()));
  expect(store.refresh().rotate(laptop->token, "demo-client"), StatusCode::kRevoked,
         "the laptop's token is dead");
  expect(store.sessions().upsert(tab_a), StatusCode::kConflict,
         "a racing stale upsert cannot resurrect a session");
  std::cout << "        families left: " << store.refresh().list(alice)->size()
            << ", sessions left: " << store.sessions().get_all(alice, "full")->size() << "\n";

  step("7. JWT ID replay cache (DPoP proof / client assertion), per issuer");
  const std::string jti = "jti-" + run_id();
  auto r1 = store.replay().reserve("https://client.example.com", jti, now + 60'000);
  expect(r1, StatusCode::kOk, "reserve a fresh jti");
  expect(store.replay().reserve("https://client.example.com", jti, now + 60'000), StatusCode::kReplayed,
         "the same jti again: replay refused");
  expect(store.replay().reserve("https://other-issuer.example", jti, now + 60'000), StatusCode::kOk,
         "the same jti from another issuer is not a replay");
  expect(store.replay().release(r1.value()), StatusCode::kOk, "downstream failed: release our reservation");
  expect(store.replay().reserve("https://client.example.com", jti, now + 60'000), StatusCode::kOk,
         "the retry can reserve it again");

  step("8. Tokens an OAuth client holds (encrypted at rest)");
  TokenRecord t;
  t.access_token = "at-" + run_id();
  t.refresh_token = "rt-" + run_id();
  t.token_type = "Bearer";
  t.scope = "read";
  t.resource = "https://api.example.com/";
  t.expires_at = now + 3'600'000;
  t.refresh_expires_at = now + 30LL * 24 * 3600 * 1000;
  expect(store.client_tokens().save_access_token(alice, "https://api.example.com/", t), StatusCode::kOk,
         "save access + refresh token for (user, resource)");
  auto back = store.client_tokens().get_access_token(alice, "https://api.example.com/");
  expect(back, StatusCode::kOk,
         "read it back: access " + mask(back->access_token) + ", refresh " + mask(back->refresh_token));
  PkceValues pv{pkce_new_verifier(), "", "S256"};
  pv.code_challenge = pkce_s256_challenge(pv.code_verifier);
  expect(store.client_tokens().save_pkce(alice, "state-xyz", pv), StatusCode::kOk,
         "save PKCE values for an OAuth state");
  expect(store.client_tokens().take_pkce(alice, "state-xyz"), StatusCode::kOk, "take them (read and delete)");
  expect(store.client_tokens().take_pkce(alice, "state-xyz"), StatusCode::kNotFound,
         "a second take finds nothing");

  if (show_metrics) {
    step("9. Metrics (Prometheus text format)");
    std::cout << store.metrics().prometheus();
  }
  std::cout << "\n"
            << (failures == 0 ? "demo: every step behaved as expected" : "demo: SOME STEPS FAILED") << "\n";
  return failures == 0 ? 0 : 1;
}

}  // namespace authstore::cli
