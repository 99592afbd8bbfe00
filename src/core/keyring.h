// The key ring: every secret authstore derives its keys from.
//
// Each ring key (id 1..65535) yields, by HKDF-SHA256 with distinct labels:
//   record MAC key  "authstore v1 record-mac"   signs records (HMAC-SHA256)
//   lookup key      "authstore v1 lookup"       hashes minted tokens (codes, refresh tokens)
//   encryption key  "authstore v1 encrypt"      AES-256-GCM for records holding secrets
// The ring's index key (from the route secret, label "authstore v1 index") never rotates: it
// computes routes, subject / client / grant keys, and lookup keys of caller-chosen identifiers
// (session ids, JWT ids, replay jtis), which must stay findable across rotations.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "authstore/options.h"
#include "authstore/status.h"
#include "core/crypto.h"

namespace authstore::internal {

struct RingKey {
  std::uint16_t id = 0;
  std::unique_ptr<HmacKey> record_mac;
  std::unique_ptr<HmacKey> lookup;
  std::string encrypt;  // 32 bytes.
};

class KeyRing {
 public:
  // Builds the ring from options, then the environment (AUTHSTORE_SECRET, AUTHSTORE_KEY_FILE).
  // allow_throwaway: memory:// in development mode may fall back to a random key; *throwaway
  // tells whether it did. kFailedPrecondition when no secret is configured; kInvalidArgument for
  // short secrets, bad ids, or a malformed key file (the message names the line, never a secret).
  static Result<std::shared_ptr<const KeyRing>> load(const KeyOptions& options,
                                                     bool allow_throwaway, bool* throwaway);
  // From explicit material (tests and tools).
  static Result<std::shared_ptr<const KeyRing>> from_keys(const std::vector<KeyEntry>& keys,
                                                          std::uint16_t current_id,
                                                          const std::string& route_secret);

  const RingKey& current() const { return *current_; }
  const RingKey* find(std::uint16_t id) const;
  const HmacKey& index() const { return *index_; }
  // The store this ring serves (from the store's marker); empty = unbound. Set once by open()
  // before the ring is shared; new records bind it into their MAC / AAD.
  const std::string& store_id() const { return store_id_; }
  void set_store_id(std::string id) { store_id_ = std::move(id); }

 private:
  std::map<std::uint16_t, RingKey> keys_;
  const RingKey* current_ = nullptr;
  std::unique_ptr<HmacKey> index_;
  std::string store_id_;
};

// Parses the text of a key file (see docs/security.md). Exposed for tests.
Result<KeyOptions> parse_key_file(const std::string& text);

}  // namespace authstore::internal
