// shareValue: a ClusterClient on a loop of its own, run until the one script has answered.
#include "handoff/store/redis/shared_value.h"

#include <uv.h>

#include <chrono>
#include <memory>
#include <optional>

#include "handoff/store/redis/cluster_client.h"

namespace handoff::store::redis {

using core::Errc;
using core::Error;

namespace {

const Script& setThenGet() {
  static const Script s(R"lua(
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
)lua");
  return s;
}

}  // namespace

core::Result<std::string> shareValue(const std::vector<std::string>& seeds, std::string_view key,
                                     std::string_view proposed, uint32_t timeoutMs) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_timer_t tick;
  uv_timer_init(&loop, &tick);
  uv_timer_start(&tick, [](uv_timer_t*) {}, 10, 10);  // wakes the loop to look at the clock
  ClusterOptions o;
  o.seeds = seeds;
  o.deadlineMs = std::min<uint32_t>(timeoutMs, 2000);
  auto made = ClusterClient::create(&loop, o);
  if (!made) {
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return made.error();
  }
  std::unique_ptr<ClusterClient> client = std::move(made).value();
  client->start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  auto late = [&] { return std::chrono::steady_clock::now() >= deadline; };
  std::optional<std::string> value;
  std::string why = "the cluster never had every slot served";
  bool asked = false, answered = false;
  while (!answered && !late()) {
    if (!asked && client->healthy()) {
      asked = true;
      std::string_view keys[1] = {key};
      std::string_view args[1] = {proposed};
      client->eval(setThenGet(), keys, args, [&](CommandResult& r) {
        if (!r.ok()) {
          why = std::string("no answer: ") + std::string(failureName(r.failure()));
          asked = false;  // SET NX and GET may run twice: the second finds what the first stored
        } else if (r.reply().isString()) {
          value = r.reply().str;
          answered = true;
        } else {
          why = "unexpected reply: " + r.reply().str;
          answered = true;
        }
      });
    }
    uv_run(&loop, UV_RUN_ONCE);
  }
  client->close();
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  while (!client->closed()) uv_run(&loop, UV_RUN_ONCE);
  client.reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (!value) return Error(Errc::kUnavailable, "Redis Cluster: cannot share " + std::string(key) + ": " + why);
  return *value;
}

}  // namespace handoff::store::redis
