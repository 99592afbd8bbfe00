// The key ring: every secret authstore derives its keys from.
//
// Each ring key (id 1..65535) yields, by HKDF-SHA256 with distinct labels:
//   record MAC key  "authstore v1 record-mac"   signs records (HMAC-SHA256)
//   lookup key      "authstore v1 lookup"       hashes minted tokens (codes, refresh tokens)
//   encryption key  "authstore v1 encrypt"      AES-256-GCM for records holding secrets
// The ring's index key (from the route secret, label "authstore v1 index") never rotates: it
// computes routes, subject / client / grant keys, and lookup keys of caller-chosen identifiers
// (session ids, JWT ids, replay jtis), which must stay findable across rotations.
//
// For the store marker (src/stores/marker.h), each ring key also yields a public fingerprint
// ("authstore v1 key-fingerprint", 16 bytes) and a marker MAC key ("authstore v1 marker-mac"),
// and the index key a fingerprint of the route secret ("authstore v1 index-fingerprint"). New
// labels: no existing derivation changes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authstore/options.h"
#include "authstore/status.h"
#include "core/crypto.h"

namespace authstore::internal {

struct RingKey {
  std::uint16_t id = 0;
  std::unique_ptr<HmacKey> record_mac;
  std::unique_ptr<HmacKey> lookup;
  std::string encrypt;                  // 32 bytes.
  std::string fingerprint;              // 16 bytes, public: names this secret in the marker.
  std::unique_ptr<HmacKey> marker_mac;  // signs the store marker.
};

class KeyRing {
 public:
  // Builds the ring from options, then the environment (AUTHSTORE_SECRET, AUTHSTORE_KEY_FILE).
  // allow_throwaway: memory:// in development mode may fall back to a random key; *throwaway
  // tells whether it did. kFailedPrecondition when no secret is configured, or a key file is
  // unsafe (not a regular file, a symlink, larger than 64 KiB, readable by group or others,
  // owned by another user: see KeyOptions::allow_insecure_key_file); kInvalidArgument for short
  // secrets, bad ids, an environment variable set but empty, or a malformed key file (the
  // message names the line, never a secret). A secret that looks weak (all zero bytes, or only
  // printable ASCII like a password) is loaded as it is, with a warning through `warn`.
  // The ring is not yet shared: open() sets its store id before handing it to the stores.
  static Result<std::shared_ptr<KeyRing>> load(const KeyOptions& options, bool allow_throwaway,
                                               bool* throwaway,
                                               const std::function<void(std::string_view)>& warn = {});
  // From explicit material (tests and tools).
  static Result<std::shared_ptr<const KeyRing>> from_keys(const std::vector<KeyEntry>& keys,
                                                          std::uint16_t current_id,
                                                          const std::string& route_secret);

  // Fingerprint of the index key (16 bytes) and where it comes from: 0 = the route secret, else
  // the id of the key it was derived from (no route secret set: the lowest id).
  const std::string& index_fingerprint() const { return index_fingerprint_; }
  std::uint16_t index_source() const { return index_source_; }
  const std::map<std::uint16_t, RingKey>& keys() const { return keys_; }

  const RingKey& current() const { return *current_; }
  const RingKey* find(std::uint16_t id) const;
  const HmacKey& index() const { return *index_; }
  // The store this ring serves (from the store's marker); empty = unbound. Set once by open()
  // before the ring is shared; new records bind it into their MAC / AAD.
  const std::string& store_id() const { return store_id_; }
  void set_store_id(std::string id) { store_id_ = std::move(id); }

 private:
  static Result<std::shared_ptr<KeyRing>> build(const std::vector<KeyEntry>& keys, std::uint16_t current_id,
                                                const std::string& route_secret);
  std::string index_fingerprint_;
  std::uint16_t index_source_ = 0;

  std::map<std::uint16_t, RingKey> keys_;
  const RingKey* current_ = nullptr;
  std::unique_ptr<HmacKey> index_;
  std::string store_id_;
};

// Parses the text of a key file (see docs/security.md). Exposed for tests. A directive may end
// in a "# comment"; a second 'route' or 'current' line, or a key id given twice, is refused.
Result<KeyOptions> parse_key_file(const std::string& text);

// True when a secret looks weak: all zero bytes, fewer than 8 distinct byte values, or only
// printable ASCII (a password, not key material). Such a secret is refused when a key is
// created and warned about when one is loaded (its derivations never change).
bool weak_secret(std::string_view secret);

// Reads a key file safely: opened without following a symlink and without blocking, a regular
// file of at most 64 KiB, owned by this user (or root) and not readable or writable by group or
// others, unless allow_insecure (then only the size and file-type checks hold).
Result<std::string> read_key_file(const std::string& path, bool allow_insecure);

}  // namespace authstore::internal
