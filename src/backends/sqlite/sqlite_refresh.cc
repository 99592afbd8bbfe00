// Refresh-token families on SQLite: the state machine of RefreshBackend (backends/backend.h),
// decided in C++ on one row read by a single SELECT (token -> family joined with the user's
// generations and the grant's revocation), then at most two writes.
//
// Grace bookkeeping lives on the family row: a spent token may rotate again within the grace
// window only if it was presented (not superseded) and its successor is the family's current
// token. Those tokens are at most two: `prev_token` (the one whose normal rotation made the
// current token) and `grace_token` (the token presented at the last grace rotation, whose
// successor was reset to the new current token). A grace rotation clears `prev_token`: the
// successor it supersedes was never presented, so presenting it later is reuse.
#include <algorithm>
#include <limits>

#include "backends/refresh_policy.h"
#include "backends/sqlite/sqlite_backend.h"

namespace authstore::internal::sqlite {
namespace {

enum FamilyDbState : std::int64_t { kActive = 0, kEnded = 1, kRevokedState = 2 };

struct FamilyRow {
  FamilyState view;
  std::int64_t state = kActive;
  std::string current_token;
  std::string prev_token;
  Millis prev_spent_at = 0;
  std::string grace_token;
  Millis grace_spent_at = 0;
  std::string client_key;
  bool revoked = false;  // state revoked, or a generation / grant revocation applies
  Millis idle_ttl = 0;
  bool sane = true;  // every column has its type and range (else: read as absent, corrupt)
};

// kFamilyByToken: nullopt when the token or its family is missing or expired, or the token is
// linked to another family than a non-empty `family_key`.
Result<std::optional<FamilyRow>> load_family(Db& db, const std::string& token_key,
                                             const std::string& family_key, Millis now) {
  Stmt s = db.stmt(StmtId::kFamilyByToken);
  s.blob(1, token_key).i64(2, now).blob(3, family_key);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<FamilyRow>();
  if (rc != SQLITE_ROW) return db.error(rc, "refresh.lookup");
  FamilyRow r;
  r.view.family_key = s.col_blob(0);
  r.view.record = s.col_blob(1);
  r.view.created_at = s.col_i64(2);
  r.view.last_used_at = s.col_i64(3);
  r.view.idle_expires_at = s.col_i64(4);
  r.view.expires_at = s.col_i64(5);
  r.view.rotations = s.col_i64(6);
  r.state = s.col_i64(7);
  r.current_token = s.col_blob(8);
  r.prev_token = s.col_blob(9);
  r.prev_spent_at = s.col_i64(10);
  r.grace_token = s.col_blob(11);
  r.grace_spent_at = s.col_i64(12);
  r.client_key = s.col_blob(13);
  r.revoked = r.state == kRevokedState || s.col_i64(14) != 0;
  r.idle_ttl = s.col_i64(15);
  r.sane = s.col_i64(16) != 0;
  return std::optional<FamilyRow>(std::move(r));
}

// The facts the shared decision (backends/refresh_policy.h) needs, from the family row. A spent
// token may rotate again within the grace window only as `prev_token` (its normal rotation made
// the current token) or `grace_token` (presented at the last grace rotation; its successor was
// reset to the current token). A normal rotation clears `grace_token`, a grace rotation
// `prev_token`: a token is never both.
RotationFacts facts_of(const FamilyRow& f, const std::string& token_key) {
  RotationFacts facts;
  facts.revoked = f.revoked;
  facts.client_key = f.client_key;
  facts.current = !f.current_token.empty() && f.current_token == token_key;
  facts.active = f.state == kActive && !f.current_token.empty();
  if (!facts.current && token_key == f.prev_token) facts.grace_spent_at = f.prev_spent_at;
  if (!facts.current && token_key == f.grace_token) facts.grace_spent_at = f.grace_spent_at;
  return facts;
}

Status insert_token(Db& db, const std::string& token_key, const std::string& family_key, Millis expires_at,
                    Millis now) {
  Stmt s = db.stmt(StmtId::kTokenInsert);
  s.blob(1, token_key).blob(2, family_key).i64(3, expires_at).i64(4, now);
  if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.insert_token");
  if (db.changes() == 0) return Status(StatusCode::kAlreadyExists, "key collision");
  return Status::Ok();
}

// Moves the family to `new_token` (empty: the family ends); `grace_token` / `grace_spent_at`
// record the token presented at a grace rotation (empty otherwise).
Status advance(Db& db, FamilyRow& f, const RotateRequest& req, const std::string& grace_token,
               Millis grace_spent_at) {
  {
    Stmt s = db.stmt(StmtId::kFamilyRotate);
    s.blob(1, f.view.family_key).blob(2, req.new_token_key);
    s.i64(3, req.new_token_key.empty() ? kEnded : kActive).i64(4, req.now);
    s.blob(5, grace_token).i64(6, grace_spent_at).i64(7, grace_token.empty() ? 0 : 1);
    // No RETURNING (see SqliteCodes::consume): the new values are computed here exactly as the
    // UPDATE computes them, from the row read under the same write transaction.
    if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.rotate");
    if (db.changes() != 1) return db.error(SQLITE_INTERNAL, "refresh.rotate");
    f.view.last_used_at = req.now;
    f.view.idle_expires_at = std::min(req.now + f.idle_ttl, f.view.expires_at);
    f.view.rotations += 1;
  }
  if (req.new_token_key.empty()) return Status::Ok();
  return insert_token(db, req.new_token_key, f.view.family_key, f.view.expires_at, req.now);
}

Result<RotateResult> rotate_tx(Db& db, const RotateRequest& req) {
  RotateResult out;
  Result<std::optional<FamilyRow>> loaded = load_family(db, req.token_key, req.family_key, req.now);
  if (!loaded.ok()) return loaded.status();
  if (!loaded.value()) return out;  // kNotFound
  FamilyRow& f = *loaded.value();
  if (!f.sane) {
    out.family.corrupt = true;  // kNotFound; nothing changes
    return out;
  }
  const RotationFacts facts = facts_of(f, req.token_key);
  switch (out.outcome = decide_rotation(facts, req)) {
    case TokenOutcome::kGraceRotated:
      // The window runs from the presented token's first rotation: its spent_at stays.
      if (Status s = advance(db, f, req, req.token_key, *facts.grace_spent_at); !s.ok()) return s;
      break;
    case TokenOutcome::kRotated:
      if (Status s = advance(db, f, req, std::string(), 0); !s.ok()) return s;
      break;
    case TokenOutcome::kReused: {
      Stmt s = db.stmt(StmtId::kFamilySetState);
      s.blob(1, f.view.family_key).i64(2, kRevokedState);
      if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.revoke_on_reuse");
      break;
    }
    default:
      break;
  }
  out.family = std::move(f.view);
  return out;
}

// The generations a new family or jti captures: user gen, client gen (+ the rows' expiries so
// that they can be extended to cover what captures them), and whether the grant is revoked.
struct Gens {
  std::int64_t user_gen = 0;
  Millis user_expires = 0;
  std::int64_t client_gen = 0;
  Millis client_expires = 0;
  bool grant_revoked = false;
};

Result<Gens> read_gens(Db& db, const std::string& route, const std::string& subject_key,
                       const std::string& client_key, const std::string& grant_key, Millis now) {
  Stmt s = db.stmt(StmtId::kGens);
  s.blob(1, route).blob(2, subject_key).blob(3, client_key).blob(4, grant_key).i64(5, now);
  const int rc = s.step();
  if (rc != SQLITE_ROW) return db.error(rc, "refresh.generations");
  return Gens{s.col_i64(0), s.col_i64(1), s.col_i64(2), s.col_i64(3), s.col_i64(4) != 0};
}

// A generation row must outlive everything that captured its generation: a row that expired
// would read as generation 0 and unrevoke nothing, but a captured gen > 0 would then look
// revoked. Extend it (only when it exists and is shorter).
Status extend_gens(Db& db, const Gens& g, const std::string& route, const std::string& subject_key,
                   const std::string& client_key, Millis expires_at) {
  if (g.user_expires > 0 && g.user_expires < expires_at) {
    Stmt s = db.stmt(StmtId::kUserExtend);
    s.blob(1, route).blob(2, subject_key).i64(3, expires_at);
    if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.extend_user");
  }
  if (g.client_expires > 0 && g.client_expires < expires_at) {
    Stmt s = db.stmt(StmtId::kClientGenExtend);
    s.blob(1, route).blob(2, subject_key).blob(3, client_key).i64(4, expires_at);
    if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.extend_client");
  }
  return Status::Ok();
}

// kUserHorizon (client_key null; ?3 = now) or kClientHorizon (?3 = the client key).
Result<Millis> horizon(Db& db, StmtId id, const std::string& route, const std::string& subject_key,
                       const std::string* client_key, Millis now) {
  Stmt s = db.stmt(id);
  s.blob(1, route).blob(2, subject_key);
  if (client_key != nullptr) {
    s.blob(3, *client_key);
  } else {
    s.i64(3, now);
  }
  const int rc = s.step();
  if (rc != SQLITE_ROW) return db.error(rc, "refresh.horizon");
  return s.col_i64(0);
}

Status family_not_found() { return Status(StatusCode::kNotFound, "refresh family not found"); }

}  // namespace

// issue = 3 statements (generations, family, token), +1 per generation row to extend.
void SqliteRefresh::issue(const FamilyIssue& req, Callback<Done> done) {
  e_.submit<Done>(
      true, kFamilies | kTokens, req.now,
      [req](Db& db) -> Result<Done> {
        Result<Gens> g = read_gens(db, req.route, req.subject_key, req.client_key, req.grant_key, req.now);
        if (!g.ok()) return g.status();
        if (g->grant_revoked) {
          return Status(StatusCode::kRevoked, "grant revoked", "grant_id");
        }
        {
          Stmt s = db.stmt(StmtId::kFamilyInsert);
          s.blob(1, req.family_key).blob(2, req.route).blob(3, req.subject_key);
          s.blob(4, req.client_key).blob(5, req.grant_key).blob(6, req.record);
          s.i64(7, g->user_gen).i64(8, g->client_gen).blob(9, req.token_key);
          s.i64(10, req.now).i64(11, req.idle_ttl);
          s.i64(12, std::min(req.now + req.idle_ttl, req.expires_at));
          s.i64(13, req.expires_at);
          if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.issue");
          if (db.changes() == 0) return Status(StatusCode::kAlreadyExists, "key collision");
        }
        if (Status s = insert_token(db, req.token_key, req.family_key, req.expires_at, req.now); !s.ok()) {
          return s;
        }
        if (Status s = extend_gens(db, g.value(), req.route, req.subject_key, req.client_key, req.expires_at);
            !s.ok()) {
          return s;
        }
        return Done{};
      },
      std::move(done));
}

// rotate = 1 statement (lookup) + 2 (family update, successor insert) when it rotates,
// + 1 (family revoked) on reuse, + 0 otherwise.
void SqliteRefresh::rotate(const RotateRequest& req, Callback<RotateResult> done) {
  e_.submit<RotateResult>(
      true, kTokens, req.now, [req](Db& db) { return rotate_tx(db, req); }, std::move(done));
}

// peek = 1 statement.
void SqliteRefresh::peek(const std::string& route, const std::string& token_key,
                         const std::string& family_key, Millis now, Callback<FamilyState> done) {
  (void)route;
  e_.submit<FamilyState>(
      false, 0, now,
      [token_key, family_key, now](Db& db) -> Result<FamilyState> {
        auto loaded = load_family(db, token_key, family_key, now);
        if (!loaded.ok()) return loaded.status();
        if (!loaded.value()) {
          return Status(StatusCode::kNotFound, "refresh token not found");
        }
        FamilyRow& f = *loaded.value();
        if (!f.sane) {
          FamilyState corrupt;
          corrupt.corrupt = true;
          return corrupt;
        }
        fill_peek(f.view, facts_of(f, token_key));
        return std::move(f.view);
      },
      std::move(done));
}

// revoke_token / revoke_family = 1 statement each.
void SqliteRefresh::revoke_token(const std::string& route, const std::string& token_key,
                                 const std::string& family_key, Millis now, Callback<Done> done) {
  (void)route;
  e_.submit<Done>(
      true, 0, now,
      [token_key, family_key, now](Db& db) -> Result<Done> {
        Stmt s = db.stmt(StmtId::kFamilyRevokeByToken);
        s.blob(1, token_key).i64(2, now).blob(3, family_key);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.revoke");
        if (db.changes() == 0) return Status(StatusCode::kNotFound, "refresh token not found");
        return Done{};
      },
      std::move(done));
}

void SqliteRefresh::revoke_family(const std::string& route, const std::string& family_key, Millis now,
                                  Callback<Done> done) {
  (void)route;
  e_.submit<Done>(
      true, 0, now,
      [family_key, now](Db& db) -> Result<Done> {
        Stmt s = db.stmt(StmtId::kFamilyRevoke);
        s.blob(1, family_key).i64(2, now);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.revoke_family");
        if (db.changes() == 0) return family_not_found();
        return Done{};
      },
      std::move(done));
}

namespace {

// Logouts for grant_live, as rows of refresh_grants under keys no grant key has (grant keys are
// base64url text): x'00' || T for the user, x'01' || client key || T for a client, T the logout
// time as 8 big-endian bytes with the sign bit flipped (so that byte order is time order, negative
// times included), `until` how long it is remembered. One row per logout time; swept by `until`.
std::string order_preserving_time(Millis t) {
  const auto u = static_cast<std::uint64_t>(t) ^ (std::uint64_t{1} << 63);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>((u >> (56 - 8 * i)) & 0xff);
  return out;
}
std::string logout_key(const std::string* client_key, Millis t) {
  std::string k(1, client_key == nullptr ? '\x00' : '\x01');
  if (client_key != nullptr) k += *client_key;
  return k + order_preserving_time(t);
}
Status record_logout(Db& db, const std::string& route, const std::string& subject_key,
                     const std::string* client_key, Millis now, Millis remember_until, const char* op) {
  const std::string key = logout_key(client_key, now);  // bound without a copy: outlives step()
  Stmt s = db.stmt(StmtId::kGrantRevoke);
  s.blob(1, route).blob(2, subject_key).blob(3, key).i64(4, remember_until).i64(5, now);
  if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, op);
  return Status();
}

}  // namespace

// revoke_subject = 3 statements: how long the user's current generation of families and jtis
// lives (one index entry for the families, whatever the user holds; the user's jti rows), then
// the generation bump kept at least that long, then the logout's row for grant_live.
void SqliteRefresh::revoke_subject(const std::string& route, const std::string& subject_key, Millis now,
                                   Millis remember_until, Callback<Done> done) {
  e_.submit<Done>(
      true, kUsers | kGrants, now,
      [route, subject_key, now, remember_until](Db& db) -> Result<Done> {
        Result<Millis> h = horizon(db, StmtId::kUserHorizon, route, subject_key, nullptr, now);
        if (!h.ok()) return h.status();
        Stmt s = db.stmt(StmtId::kUserBump);
        s.blob(1, route).blob(2, subject_key).i64(3, std::max(h.value(), now)).i64(4, now);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.revoke_subject");
        if (Status r =
                record_logout(db, route, subject_key, nullptr, now, remember_until, "refresh.revoke_subject");
            !r.ok()) {
          return r;
        }
        return Done{};
      },
      std::move(done));
}

void SqliteRefresh::revoke_client(const std::string& route, const std::string& subject_key,
                                  const std::string& client_key, Millis now, Millis remember_until,
                                  Callback<Done> done) {
  e_.submit<Done>(
      true, kClientGens | kGrants, now,
      [route, subject_key, client_key, now, remember_until](Db& db) -> Result<Done> {
        Result<Millis> h = horizon(db, StmtId::kClientHorizon, route, subject_key, &client_key, now);
        if (!h.ok()) return h.status();
        Stmt s = db.stmt(StmtId::kClientGenBump);
        s.blob(1, route).blob(2, subject_key).blob(3, client_key);
        s.i64(4, std::max(h.value(), now)).i64(5, now);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.revoke_client");
        if (Status r = record_logout(db, route, subject_key, &client_key, now, remember_until,
                                     "refresh.revoke_client");
            !r.ok()) {
          return r;
        }
        return Done{};
      },
      std::move(done));
}

// grant_live = 1 statement over the user's range of refresh_grants: the grant's row, and the
// logout rows at or after issued_at (user, then client), still remembered.
void SqliteRefresh::grant_live(const std::string& route, const std::string& subject_key,
                               const std::string& client_key, const std::string& grant_key, Millis issued_at,
                               Millis now, Callback<Done> done) {
  e_.submit<Done>(
      false, 0, now,
      [route, subject_key, client_key, grant_key, issued_at, now](Db& db) -> Result<Done> {
        constexpr Millis kLast = std::numeric_limits<Millis>::max();
        Stmt s = db.stmt(StmtId::kGrantLive);
        // An empty grant key matches no row (no grant key is empty).
        s.blob(1, route).blob(2, subject_key).i64(3, now).blob(4, grant_key);
        // Bound without a copy (SQLITE_STATIC): the keys must outlive step().
        const std::string user_from = logout_key(nullptr, issued_at);
        const std::string user_to = logout_key(nullptr, kLast);
        const std::string client_from = logout_key(&client_key, issued_at);
        const std::string client_to = logout_key(&client_key, kLast);
        s.blob(5, user_from).blob(6, user_to).blob(7, client_from).blob(8, client_to);
        const int rc = s.step();
        if (rc == SQLITE_DONE) return Done{};
        if (rc != SQLITE_ROW) return db.error(rc, "refresh.grant_live");
        switch (s.col_i64(0)) {
          case 1:
            return grant_revoked_status();
          case 2:
            return subject_logged_out_status();
          default:
            return client_logged_out_status();
        }
      },
      std::move(done));
}

void SqliteRefresh::revoke_grant(const std::string& route, const std::string& subject_key,
                                 const std::string& grant_key, Millis until, Millis now,
                                 Callback<Done> done) {
  e_.submit<Done>(
      true, kGrants, now,
      [route, subject_key, grant_key, until, now](Db& db) -> Result<Done> {
        Stmt s = db.stmt(StmtId::kGrantRevoke);
        s.blob(1, route).blob(2, subject_key).blob(3, grant_key).i64(4, until).i64(5, now);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.revoke_grant");
        return Done{};
      },
      std::move(done));
}

// list = 1 statement over the user's index range of the current generation.
void SqliteRefresh::list(const std::string& route, const std::string& subject_key, Millis now,
                         Callback<std::vector<FamilyState>> done) {
  e_.submit<std::vector<FamilyState>>(
      false, 0, now,
      [route, subject_key, now](Db& db) -> Result<std::vector<FamilyState>> {
        Stmt s = db.stmt(StmtId::kFamilyList);
        s.blob(1, route).blob(2, subject_key).i64(4, now);
        std::vector<FamilyState> out;
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) {
          FamilyState st;
          st.family_key = s.col_blob(0);
          st.record = s.col_blob(1);
          st.created_at = s.col_i64(2);
          st.last_used_at = s.col_i64(3);
          st.idle_expires_at = s.col_i64(4);
          st.expires_at = s.col_i64(5);
          st.rotations = s.col_i64(6);
          st.live = true;
          out.push_back(std::move(st));
        }
        if (rc != SQLITE_DONE) return db.error(rc, "refresh.list");
        return out;
      },
      std::move(done));
}

// store_jti = 2 statements (generations, insert), +1 per generation row to extend.
void SqliteRefresh::store_jti(const JtiEntry& entry, Callback<Done> done) {
  e_.submit<Done>(
      true, kJtis, entry.now,
      [e = entry](Db& db) -> Result<Done> {
        Result<Gens> g = read_gens(db, e.route, e.subject_key, e.client_key, std::string(), e.now);
        if (!g.ok()) return g.status();
        {
          Stmt s = db.stmt(StmtId::kJtiInsert);
          s.blob(1, e.route).blob(2, e.subject_key).blob(3, e.jti_key);
          s.blob(4, e.client_key).blob(5, e.record).i64(6, g->user_gen);
          s.i64(7, g->client_gen).i64(8, e.expires_at).i64(9, e.now);
          if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.store_jti");
          if (db.changes() == 0) {
            return Status(StatusCode::kAlreadyExists, "jti already stored", "jti");
          }
        }
        if (Status s = extend_gens(db, g.value(), e.route, e.subject_key, e.client_key, e.expires_at);
            !s.ok()) {
          return s;
        }
        return Done{};
      },
      std::move(done));
}

// consume_jti = 1 statement (lookup with generations) + 1 (mark consumed) when it consumes.
void SqliteRefresh::consume_jti(const std::string& route, const std::string& subject_key,
                                const std::string& jti_key, Millis now, Callback<JtiResult> done) {
  e_.submit<JtiResult>(
      true, 0, now,
      [route, subject_key, jti_key, now](Db& db) -> Result<JtiResult> {
        JtiResult out;
        {
          Stmt s = db.stmt(StmtId::kJtiGet);
          s.blob(1, route).blob(2, subject_key).blob(3, jti_key).i64(4, now);
          const int rc = s.step();
          if (rc == SQLITE_DONE) return out;  // kNotFound
          if (rc != SQLITE_ROW) return db.error(rc, "refresh.consume_jti");
          out.outcome = decide_jti(s.col_i64(2) != 0, s.col_i64(1) != 0);
          if (out.outcome == JtiOutcome::kRevoked) return out;
          out.record = s.col_blob(0);
        }
        if (out.outcome == JtiOutcome::kAlreadyConsumed) return out;
        Stmt s = db.stmt(StmtId::kJtiConsume);
        s.blob(1, route).blob(2, subject_key).blob(3, jti_key);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "refresh.consume_jti");
        out.outcome = JtiOutcome::kConsumed;
        return out;
      },
      std::move(done));
}

}  // namespace authstore::internal::sqlite
