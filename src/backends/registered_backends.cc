// The backends this build serves: the one place that names them, one line per backend. A scheme
// listed without a factory is known but refused with a precise message (field "url").
#include "backends/factories.h"
#include "backends/memory/memory_backend.h"
#include "backends/redis/redis_backend.h"
#ifdef AUTHSTORE_HAVE_SQLITE
#include "backends/sqlite/sqlite_backend.h"
#endif

namespace authstore::internal {

std::span<const BackendRegistration> registered_backends() {
  static const std::vector<BackendRegistration> kBackends = {
      memory_backend_registration(),
#ifdef AUTHSTORE_HAVE_SQLITE
      sqlite_backend_registration(),
#else
      {{"sqlite"}, nullptr, "this build has no SQLite backend", false},
#endif
      redis_backend_registration(),
  };
  return kBackends;
}

}  // namespace authstore::internal
