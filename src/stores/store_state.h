// What a Store handle points to.
#pragma once

#include <memory>
#include <mutex>

#include "authstore/store.h"
#include "stores/store_impls.h"

namespace authstore {

// Hidden, although nested in an exported class: internal to the library (include/authstore/export.h).
class [[gnu::visibility("hidden")]] Store::State {
 public:
  std::shared_ptr<internal::StoreContext> context;
  std::shared_ptr<internal::Backend> backend;
  std::unique_ptr<CodeStore> codes;
  std::unique_ptr<RefreshTokenStore> refresh;
  std::unique_ptr<SessionStore> sessions;
  std::unique_ptr<ReplayCache> replay;
  std::unique_ptr<ClientTokenStore> client_tokens;
  std::unique_ptr<PayloadStore> payloads;

  // The last handle went: no call enters any more, and the calls inside the store are waited for
  // (among them a second call a store makes from a backend's reply: payloads on Redis), so none
  // is still submitting when the backend goes. Unlike close(), the backend is left to its own
  // destruction (another State may share it: tests). Inside a store callback it cannot wait.
  ~State();

  // Store::close() (src/stores/store.cc).
  void close();
  // The one way to build a Store from its state (the constructor is private).
  static Store handle(std::shared_ptr<State> state) { return Store(std::move(state)); }

 private:
  void drain();            // after gate.close(): waits until no call is inside the store.
  std::mutex close_mu_;    // serializes the closers that wait and release.
  bool released_ = false;  // guarded by close_mu_: backend->close() ran.
};

namespace internal {

using StoreState = Store::State;

std::shared_ptr<StoreState> assemble(std::shared_ptr<StoreContext> ctx, std::shared_ptr<Backend> backend);
// A handle on an assembled state (tests build states over their own backends).
inline Store make_store(std::shared_ptr<StoreState> state) { return StoreState::handle(std::move(state)); }

// authstore::open() (src/stores/store.cc): keys, backend, the store marker, the stores.
Result<std::shared_ptr<StoreState>> open_state(std::string_view url, const Options& options);

}  // namespace internal
}  // namespace authstore
