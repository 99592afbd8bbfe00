// The store marker: one small signed record per store naming the keys that wrote it, so that
// open() refuses a wrong key ring instead of every record reading as not found (a silent mass
// logout). Specified in docs/format.md ("Store marker"); the rules in docs/security.md.
//
//   authstore-marker 1
//   store <base64url 16 random bytes>            the store id (bound into new records)
//   index <base64url fingerprint> <route|key:N>  the index key's fingerprint and its source
//   key <id> <base64url fingerprint>             every key that wrote the store, by id
//   mac <id> <base64url HMAC-SHA256>             one per key of the ring that wrote the marker
//
// Fingerprints are HKDF outputs with their own labels (core/keyring.h): public, one-way. A mac
// line is HMAC(marker-mac key of key <id>, "authstore marker v1\n" || every line above the first
// mac line). A ring verifies the marker when one of its keys is listed with the same fingerprint
// and its mac line checks. Lines are sorted by id, so two processes building a marker from the
// same state write the same bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "authstore/options.h"
#include "authstore/status.h"
#include "backends/backend.h"
#include "core/keyring.h"

namespace authstore::internal {

struct Marker {
  std::string store_id;  // 16 raw bytes.
  std::string index_fingerprint;
  std::uint16_t index_source = 0;  // 0 = route secret, else the key id it was derived from.
  std::vector<std::pair<std::uint16_t, std::string>> keys;  // id, fingerprint; sorted by id.
  std::vector<std::pair<std::uint16_t, std::string>> macs;  // id, mac; sorted by id.
};

// nullopt when `text` is not a well-formed marker.
std::optional<Marker> parse_marker(const std::string& text);
// Lays out `m` with fresh mac lines from every key of `ring` (m.macs is ignored).
std::string seal_marker(const Marker& m, const KeyRing& ring);
// A new marker for a new store: a random store id, the ring's keys and index fingerprint.
Marker new_marker(const KeyRing& ring);

// What open() decided about a store's marker.
struct MarkerCheck {
  Status status;         // not OK: refuse to open (kFailedPrecondition, field "keys").
  std::string store_id;  // the store id to bind the ring to.
  std::vector<std::string> warnings;
};

// Reads the store's marker and decides, creating or updating it in the backend when needed
// (one atomic compare-and-set per attempt; concurrent openers agree on one marker):
//  * a marker the ring verifies, with the ring's index fingerprint: OK. When the ring's current
//    key is not listed (rotation: "add key N"), the marker is re-signed with the ring's keys added.
//  * a marker the ring cannot verify, or whose index fingerprint differs: kFailedPrecondition
//    naming the key ids the store expects (and what to do), unless start_new_store.
//  * no marker: a sample of stored records must verify under the ring (records exist but none
//    verifies: refused as above); then a new marker is created. No records: a new marker.
MarkerCheck check_marker(Backend& backend, const KeyRing& ring, bool start_new_store);

}  // namespace authstore::internal
