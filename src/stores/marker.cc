// The store marker: layout, signing, and the decision open() takes on it (marker.h).
#include "stores/marker.h"

#include <algorithm>
#include <sstream>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/record.h"
#include "stores/context.h"
#include "stores/keys.h"

namespace authstore::internal {
namespace {

constexpr std::string_view kMagic = "authstore-marker 1\n";
constexpr std::string_view kMacLabel = "authstore marker v1\n";
constexpr std::size_t kSample = 32;  // records checked in a store without a marker
constexpr int kAttempts = 8;         // compare-and-set rounds before giving up

std::string b64(std::string_view s) { return base64url_encode(s); }

std::string body_of(const Marker& m) {
  std::string out(kMagic);
  out += "store " + b64(m.store_id) + "\n";
  out += "index " + b64(m.index_fingerprint) + " " +
         (m.index_source == 0 ? std::string("route") : "key:" + std::to_string(m.index_source)) + "\n";
  for (const auto& [id, fp] : m.keys) out += "key " + std::to_string(id) + " " + b64(fp) + "\n";
  return out;
}

std::string mac_of(const RingKey& k, const std::string& body) { return k.marker_mac->mac({kMacLabel, body}); }

std::string id_list(const std::vector<std::uint16_t>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(ids[i]);
  }
  return out.empty() ? "none" : out;
}

std::vector<std::uint16_t> marker_ids(const Marker& m) {
  std::vector<std::uint16_t> ids;
  for (const auto& k : m.keys) ids.push_back(k.first);
  return ids;
}

std::vector<std::uint16_t> ring_ids(const KeyRing& ring) {
  std::vector<std::uint16_t> ids;
  for (const auto& k : ring.keys()) ids.push_back(k.first);
  return ids;
}

Status refuse(std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(message), "keys");
}

std::string source_name(std::uint16_t source) {
  return source == 0 ? "the route secret" : "key " + std::to_string(source) + " (no route secret set)";
}

// Why the ring's index key differs from the store's, and what to do.
Status index_mismatch(const Marker& m, const KeyRing& ring) {
  std::string msg =
      "the index key of this key ring differs from the one that wrote this store "
      "(store " +
      b64(m.store_id) + "): the store's comes from " + source_name(m.index_source) + ", the ring's from " +
      source_name(ring.index_source()) + ". ";
  if (m.index_source != 0) {
    msg += "Keep key " + std::to_string(m.index_source) +
           " in the ring (it need not be current), or set the route secret (Options::keys."
           "route_secret, or a 'route' line in the key file) to key " +
           std::to_string(m.index_source) + "'s secret";
  } else {
    msg += "Restore the route secret that wrote this store; it never changes for the data's lifetime";
  }
  return refuse(msg + " (users' sessions, families and revocations would otherwise be unreachable)");
}

enum class Verdict { kVerified, kWrongKeys, kKeyMismatch };

// Whether `ring` verifies `m` (stored text `text`); sets *mismatched to a ring key id that is
// listed with another fingerprint (the same id, another secret).
Verdict verify(const Marker& m, const std::string& text, const KeyRing& ring, std::uint16_t* mismatched) {
  const std::string body = body_of(m);
  if (text.compare(0, body.size(), body) != 0) return Verdict::kWrongKeys;
  bool verified = false;
  for (const auto& [id, fp] : m.keys) {
    const RingKey* k = ring.find(id);
    if (k == nullptr) continue;
    if (!constant_time_equal(k->fingerprint, fp)) {
      *mismatched = id;
      continue;
    }
    for (const auto& [mid, mac] : m.macs) {
      if (mid == id && constant_time_equal(mac, mac_of(*k, body))) verified = true;
    }
  }
  if (*mismatched != 0) return Verdict::kKeyMismatch;
  return verified ? Verdict::kVerified : Verdict::kWrongKeys;
}

Status wrong_keys(const Marker& m, const KeyRing& ring, std::uint16_t mismatched) {
  std::string msg = "this store (store " + b64(m.store_id) + ") was written by key ids " +
                    id_list(marker_ids(m)) + ", and the key ring (key ids " + id_list(ring_ids(ring)) + ") ";
  if (mismatched != 0) {
    msg += "holds a key " + std::to_string(mismatched) + " with another secret than the store's key " +
           std::to_string(mismatched);
  } else {
    msg += "verifies none of them";
  }
  msg +=
      ": open it with the key file or secret that wrote it (records would otherwise all read as "
      "not found). To deliberately start a new store over it, set Options::start_new_store for "
      "one open";
  return refuse(msg);
}

// The result of one backend call, waited for (open() runs on the caller's thread).
template <class T, class Start>
Result<T> call(Start&& start) {
  return wait_for<T>([&](Callback<T> cb) { start(std::move(cb)); });
}

// Checks a sample of a store without a marker. OK when it holds no records, or when its records
// verify under the ring and their route tags come from the ring's index key.
Status check_sample(Backend& backend, const KeyRing& ring, std::vector<std::string>& warnings) {
  auto sample = call<std::vector<std::pair<std::string, std::string>>>(
      [&](auto cb) { backend.sample_records(kSample, std::move(cb)); });
  if (!sample.ok()) return sample.status();
  if (sample->empty()) return Status::Ok();
  std::size_t verified = 0;
  std::size_t tagged = 0;
  std::size_t routed = 0;
  for (const auto& [key, blob] : sample.value()) {
    std::optional<std::string> body;
    for (auto type : {RecordType::kCode, RecordType::kCodeTombstone, RecordType::kFamily, RecordType::kJti}) {
      if (auto b = open_signed(ring, type, key, blob)) {
        body = std::string(*b);
        break;
      }
    }
    if (!body) {
      for (auto type : {RecordType::kClientToken, RecordType::kSession}) {
        if (auto b = open_encrypted(ring, type, key, blob)) {
          body = std::move(*b);
          break;
        }
      }
    }
    if (!body) continue;
    ++verified;
    // A user's key "ac:{R}:...", "rf:{R}:...", "rj:{R}:..." carries the user's route tag: some
    // field of the record (the subject) must map to it under the ring's index key. (Client
    // token keys are the caller's own names: any braces in them mean nothing.)
    const bool user_key = key.rfind("ac:{", 0) == 0 || key.rfind("rf:{", 0) == 0 || key.rfind("rj:{", 0) == 0;
    const auto close = key.find('}');
    if (user_key && close != std::string::npos) {
      ++tagged;
      const std::string tag = key.substr(3, close - 2);
      if (auto reader = RecordReader::parse(*body)) {
        for (std::uint8_t t = 1; t < 64; ++t) {
          const std::string_view v = reader->str(t);
          if (!v.empty() && user_ids(ring, v).tag == tag) {
            ++routed;
            break;
          }
        }
      }
    }
    cleanse(*body);  // client tokens hold secrets
  }
  const std::string counts = std::to_string(verified) + " of " + std::to_string(sample->size());
  if (verified == 0) {
    return refuse(
        "this store has no marker yet (written before authstore recorded its keys), and "
        "none of " +
        std::to_string(sample->size()) +
        " sampled records verifies under the "
        "key ring (key ids " +
        id_list(ring_ids(ring)) +
        "): open it with the key file or "
        "secret that wrote it, or set Options::start_new_store to start a new store over it");
  }
  if (tagged > 0 && routed == 0) {
    return refuse(
        "this store has no marker yet, and its records verify under the key ring but were "
        "filed under another index key: the ring's index key comes from " +
        source_name(ring.index_source()) +
        ". If the records were written while a key with "
        "a lower id was in the ring, put that key back (it need not be current) or set "
        "the route secret to its secret");
  }
  if (verified < sample->size()) {
    warnings.push_back("store without a marker: " + counts +
                       " sampled records verify under the key ring (the others were written by keys "
                       "no longer in it, or altered); creating the marker");
  }
  return Status::Ok();
}

}  // namespace

std::optional<Marker> parse_marker(const std::string& text) {
  if (text.compare(0, kMagic.size(), kMagic) != 0) return std::nullopt;
  Marker m;
  std::istringstream in(text.substr(kMagic.size()));
  std::string line;
  bool store = false;
  bool index = false;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string kind;
    w >> kind;
    if (kind == "store" && !store && m.keys.empty() && m.macs.empty()) {
      std::string v;
      w >> v;
      auto id = base64url_decode(v);
      if (!id || id->size() != 16) return std::nullopt;
      m.store_id = *id;
      store = true;
    } else if (kind == "index" && store && !index) {
      std::string fp;
      std::string source;
      w >> fp >> source;
      auto f = base64url_decode(fp);
      if (!f || f->size() != 16) return std::nullopt;
      m.index_fingerprint = *f;
      if (source == "route") {
        m.index_source = 0;
      } else if (source.rfind("key:", 0) == 0) {
        const long id = std::strtol(source.c_str() + 4, nullptr, 10);
        if (id < 1 || id > 65535) return std::nullopt;
        m.index_source = static_cast<std::uint16_t>(id);
      } else {
        return std::nullopt;
      }
      index = true;
    } else if ((kind == "key" || kind == "mac") && index) {
      long id = 0;
      std::string v;
      w >> id >> v;
      auto bytes = base64url_decode(v);
      const std::size_t want = kind == "key" ? 16 : 32;
      if (id < 1 || id > 65535 || !bytes || bytes->size() != want) return std::nullopt;
      auto& list = kind == "key" ? m.keys : m.macs;
      if (kind == "key" && !m.macs.empty()) return std::nullopt;          // keys come first
      if (!list.empty() && list.back().first >= id) return std::nullopt;  // sorted, no repeats
      list.emplace_back(static_cast<std::uint16_t>(id), std::move(*bytes));
    } else {
      return std::nullopt;
    }
    std::string rest;
    if (w >> rest) return std::nullopt;
  }
  if (!index || m.keys.empty()) return std::nullopt;
  return m;
}

std::string seal_marker(const Marker& m, const KeyRing& ring) {
  std::string out = body_of(m);
  const std::string body = out;
  for (const auto& [id, k] : ring.keys()) {
    out += "mac " + std::to_string(id) + " " + b64(mac_of(k, body)) + "\n";
  }
  return out;
}

Marker new_marker(const KeyRing& ring) {
  Marker m;
  m.store_id = random_bytes(16);
  m.index_fingerprint = ring.index_fingerprint();
  m.index_source = ring.index_source();
  for (const auto& [id, k] : ring.keys()) m.keys.emplace_back(id, k.fingerprint);
  return m;
}

MarkerCheck check_marker(Backend& backend, const KeyRing& ring, bool start_new_store) {
  MarkerCheck out;
  auto read = call<std::string>([&](auto cb) { backend.read_marker(std::move(cb)); });
  std::string stored;  // what the backend holds; empty = no marker
  if (read.ok()) {
    stored = std::move(read.value());
  } else if (read.code() != StatusCode::kNotFound) {
    out.status = read.status();
    return out;
  }
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::string desired;
    if (stored.empty()) {
      if (!start_new_store) {
        if (Status s = check_sample(backend, ring, out.warnings); !s.ok()) {
          out.status = s;
          return out;
        }
      }
      desired = seal_marker(new_marker(ring), ring);
    } else {
      auto m = parse_marker(stored);
      Status refused;
      if (!m) {
        refused = refuse(
            "this store's marker is malformed (altered or not written by authstore); "
            "restore it from a backup, or set Options::start_new_store to start a new "
            "store over it");
      } else {
        std::uint16_t mismatched = 0;
        const Verdict v = verify(*m, stored, ring, &mismatched);
        if (v != Verdict::kVerified) {
          refused = wrong_keys(*m, ring, mismatched);
        } else if (!constant_time_equal(m->index_fingerprint, ring.index_fingerprint())) {
          refused = index_mismatch(*m, ring);
        } else {
          const bool current_listed = std::any_of(
              m->keys.begin(), m->keys.end(), [&](const auto& k) { return k.first == ring.current().id; });
          out.store_id = m->store_id;
          if (current_listed) return out;  // the common case: one read
          // Rotation ("add key N"): list the ring's keys, signed by the ring.
          for (const auto& [id, k] : ring.keys()) {
            if (std::none_of(m->keys.begin(), m->keys.end(),
                             [id = id](const auto& e) { return e.first == id; })) {
              m->keys.emplace_back(id, k.fingerprint);
            }
          }
          std::sort(m->keys.begin(), m->keys.end());
          desired = seal_marker(*m, ring);
        }
      }
      if (!refused.ok()) {
        if (!start_new_store) {
          out.status = refused;
          return out;
        }
        out.warnings.push_back("start_new_store: replacing the marker of the store it found (" +
                               refused.message() +
                               "); its records now read as not found until "
                               "they expire");
        desired = seal_marker(new_marker(ring), ring);
      }
    }
    auto swapped = call<std::string>([&](auto cb) { backend.swap_marker(stored, desired, std::move(cb)); });
    if (!swapped.ok()) {
      out.status = swapped.status();
      return out;
    }
    if (swapped.value() == desired) {
      out.store_id = parse_marker(desired)->store_id;
      return out;
    }
    // Another process changed the marker first: decide again on what it wrote (never replace a
    // marker this open did not read, even with start_new_store).
    stored = std::move(swapped.value());
    start_new_store = false;
  }
  out.status = Status(StatusCode::kUnavailable,
                      "the store marker kept changing while opening (other processes rotating keys?); "
                      "retry",
                      "keys");
  return out;
}

}  // namespace authstore::internal
