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

}  // namespace authstore::internal
