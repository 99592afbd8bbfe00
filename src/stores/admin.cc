// StoreAdmin (include/authstore/admin.h): counts and health from the backend, the key ring's ids,
// and a walk of the stored records (Backend::admin_records) checked under the ring the way the
// store marker's check reads them.
#include "authstore/admin.h"

#include <limits>

#include "core/crypto.h"
#include "core/record.h"
#include "stores/context.h"
#include "stores/store_state.h"

namespace authstore {

class StoreAdmin::Impl {
 public:
  std::shared_ptr<internal::StoreState> state;
  Store store;
};

namespace {

Status empty_admin() { return Status(StatusCode::kFailedPrecondition, "empty StoreAdmin handle", "admin"); }

// The kind of a verified record, by its header's type byte.
std::string_view kind_name(internal::RecordType t) {
  using internal::RecordType;
  switch (t) {
    case RecordType::kCode:
      return "code";
    case RecordType::kCodeTombstone:
      return "code_tombstone";
    case RecordType::kFamily:
      return "refresh_family";
    case RecordType::kJti:
      return "jwt_id";
    case RecordType::kSession:
      return "session";
    case RecordType::kClientToken:
      return "client_token";
    case RecordType::kPayload:
      return "payload";
  }
  return "unknown";
}

// Whether `blob` verifies under `ring` as a record stored under `key`; its type on success.
std::optional<internal::RecordType> verify(const internal::KeyRing& ring, const std::string& key,
                                           const std::string& blob) {
  using internal::RecordType;
  for (auto type : {RecordType::kCode, RecordType::kCodeTombstone, RecordType::kFamily, RecordType::kJti}) {
    if (internal::open_signed(ring, type, key, blob)) return type;
  }
  for (auto type : {RecordType::kClientToken, RecordType::kSession}) {
    if (auto body = internal::open_encrypted(ring, type, key, blob)) {
      internal::cleanse(*body);  // client tokens hold secrets
      return type;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<StoreAdmin> StoreAdmin::open(std::string_view url, const Options& options) {
  auto state = internal::open_state(url, options);
  if (!state.ok()) return state.status();
  auto impl = std::make_shared<Impl>();
  impl->state = state.value();
  impl->store = internal::make_store(std::move(state.value()));
  return StoreAdmin(std::move(impl));
}

Store StoreAdmin::store() const { return impl_ ? impl_->store : Store(); }

Result<StoreCounts> StoreAdmin::counts() {
  if (!impl_) return empty_admin();
  auto& s = *impl_->state;
  const internal::Millis now = s.context->now();
  return internal::wait_for<StoreCounts>(
      [&](Callback<StoreCounts> cb) { s.backend->admin_counts(now, std::move(cb)); });
}

Result<BackendHealth> StoreAdmin::health() {
  if (!impl_) return empty_admin();
  auto& s = *impl_->state;
  using Items = std::vector<std::pair<std::string, std::string>>;
  auto items = internal::wait_for<Items>([&](Callback<Items> cb) { s.backend->admin_health(std::move(cb)); });
  if (!items.ok()) return items.status();
  BackendHealth h;
  h.backend = s.backend->name();
  h.items = std::move(items.value());
  return h;
}

KeyRingInfo StoreAdmin::key_ring() const {
  KeyRingInfo info;
  if (!impl_) return info;
  const internal::KeyRing& ring = *impl_->state->context->ring;
  for (const auto& [id, key] : ring.keys()) info.key_ids.push_back(id);
  info.signing_key_id = ring.current().id;
  info.index_key_source = ring.index_source();
  info.bound_to_store = !ring.store_id().empty();
  return info;
}

Result<KeyCheckReport> StoreAdmin::check_keys(std::size_t limit) {
  if (!impl_) return empty_admin();
  if (limit == 0) return Status(StatusCode::kInvalidArgument, "limit must be at least 1", "limit");
  auto& s = *impl_->state;
  if (s.backend->name() == "redis_cluster") {  // the walk's SCAN would reach one node only
    return Status(StatusCode::kFailedPrecondition,
                  "the record walk is not available on a Redis Cluster (a SCAN reaches one node)", "admin");
  }
  using Sample = std::vector<std::pair<std::string, std::string>>;
  // One record more than the limit tells a walk that stopped from one that ended.
  const std::size_t ask = limit == std::numeric_limits<std::size_t>::max() ? limit : limit + 1;
  auto sample =
      internal::wait_for<Sample>([&](Callback<Sample> cb) { s.backend->admin_records(ask, std::move(cb)); });
  if (!sample.ok()) return sample.status();
  const internal::KeyRing& ring = *s.context->ring;
  const std::uint16_t signing = ring.current().id;
  KeyCheckReport report;
  report.truncated = sample->size() > limit;
  if (report.truncated) sample->resize(limit);
  for (auto& [key, blob] : sample.value()) {
    ++report.records;
    const auto type = verify(ring, key, blob);
    if (!type) {
      ++report.failed;
      continue;
    }
    ++report.verified;
    // header = version || type || key id (u16 big-endian): verified, so at least 4 bytes.
    const auto id = static_cast<std::uint16_t>((static_cast<unsigned char>(blob[2]) << 8) |
                                               static_cast<unsigned char>(blob[3]));
    ++report.by_key[id];
    ++report.by_key_and_kind[id][std::string(kind_name(*type))];
    if (id != signing) ++report.need_retiring_keys;
    internal::cleanse(blob);
  }
  const std::string& name = s.backend->name();
  if (name == "memory") {
    report.scope =
        "codes (record or tombstone) and client tokens (memory:// keeps the rest in forms the walk "
        "does not read)";
  } else {
    report.scope =
        "codes (record or tombstone), refresh families, JWT refresh ids, client tokens and live "
        "sessions";
  }
  if (name.rfind("redis", 0) == 0) {
    report.scope += "; walked by SCAN of the prefix, one read per record key: the cost follows the keyspace";
  }
  report.scope += "; payloads are not walked";
  return report;
}

}  // namespace authstore
