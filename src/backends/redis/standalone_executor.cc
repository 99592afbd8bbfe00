// The standalone executor (executor.h): one server, one client; scripts loaded on NOSCRIPT.
#include <string>

#include "backends/redis/executor.h"
#include "redis/resp.h"

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
    eval(*call.script, call.keys, call.args, std::move(done), options);
  }

  std::chrono::milliseconds command_timeout() const override {
    return client_->options().command_timeout;
  }

 private:
  // EVALSHA sha numkeys keys... args...; on NOSCRIPT (it did not run): SCRIPT LOAD, then the same
  // EVALSHA once more. The encoded command is kept for that retry.
  void eval(const redis::Script& script, std::span<const std::string_view> keys,
            std::span<const std::string_view> args, redis::ReplyCallback done,
            redis::CallOptions options) {
    struct Eval {
      const redis::Script& script;
      std::string encoded;
      redis::CallOptions options;
      redis::ReplyCallback done;
    };
    auto e = std::make_shared<Eval>(Eval{script, {}, options, std::move(done)});
    redis::append_array_header(e->encoded, 3 + keys.size() + args.size());
    redis::append_bulk(e->encoded, "EVALSHA");
    redis::append_bulk(e->encoded, script.sha1());
    redis::append_bulk(e->encoded, std::to_string(keys.size()));
    for (std::string_view k : keys) redis::append_bulk(e->encoded, k);
    for (std::string_view a : args) redis::append_bulk(e->encoded, a);
    redis::Client* client = client_.get();
    client->async_call_encoded(e->encoded, [client, e](Result<redis::Reply> r) {
      if (!(r.has_value() && r.value().error_code() == "NOSCRIPT")) return e->done(std::move(r));
      const std::string_view load[] = {"SCRIPT", "LOAD", e->script.source()};
      redis::CallOptions load_options = e->options;
      load_options.writes = false;  // no stored state: needs no replica's acknowledgement
      client->async_call(load, [client, e](Result<redis::Reply> loaded) {
        if (!loaded.ok()) return e->done(std::move(loaded));
        client->async_call_encoded(e->encoded, [e](Result<redis::Reply> again) { e->done(std::move(again)); },
                                   e->options);
      }, load_options);
    }, e->options);
  }

  std::unique_ptr<redis::Client> client_;
};

}  // namespace

std::unique_ptr<RedisExecutor> make_standalone_executor(std::unique_ptr<redis::Client> client) {
  return std::make_unique<StandaloneExecutor>(std::move(client));
}

}  // namespace authstore::internal
