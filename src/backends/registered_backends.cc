// The backends this build serves: the one place that names them, one line per backend. A scheme
// listed without a factory is known but refused with a precise message (field "url"): a backend
// left out at configure time (AUTHSTORE_WITH_REDIS=OFF, AUTHSTORE_WITH_SQLITE=OFF) answers
// kInvalidArgument naming the option that builds it.
#include "backends/factories.h"
#include "backends/memory/memory_backend.h"
#include "backends/redis/redis_schemes.h"
#ifdef AUTHSTORE_HAVE_REDIS
#include "backends/redis/redis_backend.h"
#endif
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
      {{"sqlite"},
       nullptr,
       "this build has no SQLite backend (libauthstore was configured with AUTHSTORE_WITH_SQLITE=OFF)",
       false},
#endif
#ifdef AUTHSTORE_HAVE_REDIS
      redis_backend_registration(),
#else
      {redis_schemes(), nullptr,
       "this build has no Redis backend (libauthstore was configured with AUTHSTORE_WITH_REDIS=OFF)", false},
#endif
  };
  return kBackends;
}

}  // namespace authstore::internal
