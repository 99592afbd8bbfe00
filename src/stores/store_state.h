// What a Store handle points to.
#pragma once

#include <memory>

#include "authstore/store.h"
#include "stores/store_impls.h"

namespace authstore::internal {

struct StoreState {
  std::shared_ptr<StoreContext> context;
  std::shared_ptr<Backend> backend;
  std::unique_ptr<CodeStore> codes;
  std::unique_ptr<RefreshTokenStore> refresh;
  std::unique_ptr<SessionStore> sessions;
  std::unique_ptr<ReplayCache> replay;
  std::unique_ptr<ClientTokenStore> client_tokens;
};

std::shared_ptr<StoreState> assemble(std::shared_ptr<StoreContext> ctx, std::shared_ptr<Backend> backend);

// authstore::open() (src/stores/store.cc): keys, backend, the store marker, the stores.
Result<std::shared_ptr<StoreState>> open_state(std::string_view url, const Options& options);

}  // namespace authstore::internal
