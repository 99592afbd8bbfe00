// The Store handle and the assembly of its five stores over one backend.
#include "authstore/store.h"

#include "stores/store_state.h"

namespace authstore {

CodeStore& Store::codes() { return *state_->codes; }
RefreshTokenStore& Store::refresh() { return *state_->refresh; }
SessionStore& Store::sessions() { return *state_->sessions; }
ReplayCache& Store::replay() { return *state_->replay; }
ClientTokenStore& Store::client_tokens() { return *state_->client_tokens; }
Metrics& Store::metrics() { return *state_->context->metrics; }
const std::string& Store::backend() const { return state_->backend->name(); }

namespace internal {

std::shared_ptr<StoreState> assemble(std::shared_ptr<StoreContext> ctx, std::shared_ptr<Backend> backend) {
  auto st = std::make_shared<StoreState>();
  st->context = ctx;
  st->backend = backend;
  auto base = [&](auto impl) {
    impl->ctx = ctx;
    impl->backend = backend;
    return impl;
  };
  st->codes = std::make_unique<CodeStore>(base(std::make_shared<CodeStoreImpl>()));
  st->refresh = std::make_unique<RefreshTokenStore>(base(std::make_shared<RefreshStoreImpl>()));
  st->sessions = std::make_unique<SessionStore>(base(std::make_shared<SessionStoreImpl>()));
  st->replay = std::make_unique<ReplayCache>(base(std::make_shared<ReplayCacheImpl>()));
  st->client_tokens = std::make_unique<ClientTokenStore>(base(std::make_shared<ClientTokenStoreImpl>()));
  return st;
}

}  // namespace internal
}  // namespace authstore
