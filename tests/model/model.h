// Model-based checking (issue 12): the reference model of authstore's six stores.
//
// This is the specification, written from include/authstore/*.h, docs/api.md and the conformance
// tests' expectations. It shares no code with src/ (it includes nothing of the library): a model
// that reused the stores would agree with itself. State in, operation in, outcome text and state
// out; the clock is explicit (Model::now(), moved only by Kind::kAdvance).
//
// Option values are the library's documented defaults (include/authstore/options.h) except those
// a Config sets.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "model/ops.h"
#include "model/outcome.h"

namespace model {

struct Defaults {  // options.h defaults the model relies on
  static constexpr Millis kDefaultIdle = 14LL * 24 * 3600 * 1000;
  static constexpr Millis kDefaultLifetime = 90LL * 24 * 3600 * 1000;
  static constexpr Millis kMaxLifetime = 365LL * 24 * 3600 * 1000;
  static constexpr Millis kMaxGrace = 60'000;
  static constexpr Millis kCodeDefaultTtl = 600'000, kCodeMaxTtl = 600'000;
  static constexpr Millis kLeeway = 60'000, kMinTtl = 1'000, kMaxTtl = 24LL * 3600 * 1000;
  static constexpr Millis kPkceTtl = 600'000, kCtDefaultTtl = 30LL * 24 * 3600 * 1000;
  static constexpr Millis kPayloadMaxTtl = 30LL * 24 * 3600 * 1000;
};

class Model {
 public:
  explicit Model(Config config) : cfg_(config) {}

  // Applies `op` at now() and returns its outcome text.
  std::string apply(const Op& op);

  Millis now() const { return now_; }
  // Times at which some decision of the current state flips (expiries, grace ends, ...).
  std::vector<Millis> boundaries() const;

  // What the generator needs to pick sensible arguments.
  // Counts, and the handle (minting op id) of the i-th token / family / code / reservation.
  int tokens() const { return static_cast<int>(tokens_.size()); }
  int families() const { return static_cast<int>(families_.size()); }
  int codes() const { return static_cast<int>(codes_.size()); }
  int reservations() const { return static_cast<int>(reservations_.size()); }
  int token_handle(int i) const { return tokens_[static_cast<std::size_t>(i)].origin; }
  int family_handle(int i) const { return families_[static_cast<std::size_t>(i)].origin; }
  int code_handle(int i) const { return codes_[static_cast<std::size_t>(i)].origin; }
  int reservation_handle(int i) const { return reservations_[static_cast<std::size_t>(i)].origin; }
  int code_verifier(int i) const { return codes_[static_cast<std::size_t>(i)].verifier; }
  // The lock_version of the live session, or 0 when there is none.
  std::int64_t session_lock(int user, int type, int sid) const;
  // The client the i-th token's family is bound to.
  int token_client(int i) const;

 private:
  enum class FamStatus { kActive, kEnded, kRevoked };
  enum class TokState { kCurrent, kSpent, kSuperseded };
  struct Family {
    int origin;
    int user, client, grant;
    Millis created, last_used, idle_ttl, idle_expires, expires;
    std::int64_t rotations = 0;
    FamStatus status = FamStatus::kActive;
    std::int64_t gen, client_gen;
    int current;  // token handle, -1 when ended
  };
  struct Token {
    int origin;
    int family;
    TokState state = TokState::kCurrent;
    Millis spent_at = 0;
    int successor = -1;
  };
  struct User {
    std::int64_t gen = 0;
    std::map<int, std::int64_t> client_gen;
    std::map<int, Millis> grant_revoked_until;
  };
  struct Jti {
    int client;
    Millis expires;
    bool consumed = false;
    std::int64_t gen, client_gen;
  };
  struct Code {
    int origin;
    int user, client;
    std::string grant;  // "gen:<handle>" for a generated grant id
    int verifier;
    Millis issued, expires;
    bool consumed = false;
  };
  struct SessionRec {
    std::int64_t lock;
    Millis created, refresh_expires, expires;  // expires 0 = infinite
  };
  struct Reservation {
    int origin;
    int issuer, jti;
    Millis kept_until;
  };
  struct PayloadRec {
    int origin;  // the kYPut that wrote it
    int grant;   // -1 none
    Millis expires, consumed = 0;
  };
  struct CtEntry {
    std::string body;
    Millis expires;  // 0 = never
  };
  using SessionKey = std::tuple<int, int, int>;
  // The index of the item minted by op `handle`, or -1.
  static int find(const std::map<int, int>& at, int handle) {
    auto it = at.find(handle);
    return it == at.end() ? -1 : it->second;
  }

  std::string refresh(const Op& op);
  std::string rotate(const Op& op, bool successor);
  std::string codes(const Op& op);
  std::string sessions(const Op& op);
  std::string replay(const Op& op);
  std::string client_tokens(const Op& op);
  std::string payloads(const Op& op);
  bool payload_live(const PayloadRec& p) const;

  bool unexpired(const Family& f) const { return now_ < f.expires && now_ < f.idle_expires; }
  bool revoked(const Family& f) const;
  FamilyView view(int handle) const;
  std::string list(int user);
  bool session_live(const SessionKey& k) const;
  bool ct_live(const std::string& key) const;
  // Expiry of a client-token entry (0 = never) or nullopt with *error set.
  std::optional<Millis> ct_expiry(Millis ttl, bool record, bool has_refresh, Millis exp, Millis rexp,
                                  std::string* error) const;

  Config cfg_;
  Millis now_ = kStart;
  std::vector<Family> families_;
  std::vector<Token> tokens_;
  std::map<int, User> users_;
  std::map<std::pair<int, int>, Jti> jtis_;  // (user, jti)
  std::vector<Code> codes_;
  std::map<SessionKey, SessionRec> sessions_;
  std::map<SessionKey, Millis> tombstones_;
  std::vector<Reservation> reservations_;
  std::map<std::pair<int, int>, int> held_;  // (issuer, jti) -> reservation holding it
  std::map<std::string, CtEntry> ct_;
  std::map<std::pair<int, int>, PayloadRec> payloads_;  // (model, id)
  std::map<int, Millis> payload_grant_revoked_until_;
  std::map<int, int> token_at_, family_at_, code_at_,
      reservation_at_;  // handle -> index        // key ("g:", "c:", "p:", "a:" + names) -> entry
};

}  // namespace model
