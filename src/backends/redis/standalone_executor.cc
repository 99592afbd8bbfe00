// The standalone executor (executor.h): one server, one client; scripts loaded on NOSCRIPT.
#include <string>

#include "backends/redis/executor.h"
#include "backends/redis/executor_support.h"

namespace authstore::internal {
namespace {

class StandaloneExecutor final : public RedisExecutor {
 public:
  explicit StandaloneExecutor(std::unique_ptr<redis::Client> client) : client_(std::move(client)) {}

  void execute(const RedisCall& call, RedisDeadline deadline, redis::ReplyCallback done) override {
    redis::CallOptions options;
    options.deadline = deadline;
    options.writes = call.writes;
    if (call.script == nullptr) return client_->async_call(call.args, std::move(done), options);
    eval(call, std::move(done), options);
  }

  std::chrono::milliseconds command_timeout() const override { return client_->options().command_timeout; }

 private:
  // EVALSHA sha numkeys keys... args...; on NOSCRIPT (it did not run): SCRIPT LOAD, then the same
  // EVALSHA once more. The encoded command is kept for that retry.
  void eval(const RedisCall& call, redis::ReplyCallback done, redis::CallOptions options) {
    struct Eval {
      const redis::Script& script;
      std::string encoded;
      redis::CallOptions options;
      redis::ReplyCallback done;
      redis::Client* client;
      // The call's own reference while the EVALSHA is out: the client's callback holds a bare
      // pointer (kept inline by std::function: no allocation) and takes it back when it runs,
      // exactly once (the client's contract, a closing client included).
      std::shared_ptr<Eval> self;
    };
    auto e = std::make_shared<Eval>(Eval{*call.script, {}, options, std::move(done), client_.get(), nullptr});
    encode_call(call, e->encoded);
    Eval* raw = e.get();
    raw->self = std::move(e);
    raw->client->async_call_encoded(
        raw->encoded,
        [raw](Result<redis::Reply> r) {
          std::shared_ptr<Eval> mine = std::move(raw->self);
          if (!(r.has_value() && r.value().error_code() == "NOSCRIPT")) return mine->done(std::move(r));
          const std::string_view load[] = {"SCRIPT", "LOAD", mine->script.source()};
          redis::CallOptions load_options = mine->options;
          load_options.writes = false;  // no stored state: needs no replica's acknowledgement
          redis::Client* client = mine->client;
          client->async_call(
              load,
              [client, e = mine](Result<redis::Reply> loaded) {
                if (!loaded.ok()) return e->done(std::move(loaded));
                client->async_call_encoded(
                    e->encoded, [e](Result<redis::Reply> again) { e->done(std::move(again)); }, e->options);
              },
              load_options);
        },
        raw->options);
  }

  std::unique_ptr<redis::Client> client_;
};

}  // namespace

std::unique_ptr<RedisExecutor> make_standalone_executor(std::unique_ptr<redis::Client> client) {
  return std::make_unique<StandaloneExecutor>(std::move(client));
}

}  // namespace authstore::internal
