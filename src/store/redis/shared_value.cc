// shareValue, seedList: a ClusterClient on a loop of its own, run until the one script has answered.
#include "handoff/store/redis/shared_value.h"

#include <uv.h>

#include <chrono>
#include <memory>
#include <optional>
#include <span>

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

const Script& seedThenRange() {
  static const Script s(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  for i = 1, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
end
return redis.call('LRANGE', KEYS[1], 0, -1)
)lua");
  return s;
}

// Runs one script on a client of a private loop until it answers (or `timeoutMs` passes).
core::Result<Reply> runOnce(const std::vector<std::string>& seeds, const Script& script, std::string_view key,
                            std::span<const std::string_view> args, uint32_t timeoutMs) {
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
  std::optional<Reply> reply;
  std::string why = "the cluster never had every slot served";
  bool asked = false;
  while (!reply && !late()) {
    if (!asked && client->healthy()) {
      asked = true;
      std::string_view keys[1] = {key};
      client->eval(script, keys, args, [&](CommandResult& r) {
        if (r.ok()) {
          reply = std::move(r.reply());
        } else {
          why = std::string("no answer: ") + std::string(failureName(r.failure()));
          asked = false;  // the scripts here may run twice: the second finds what the first did
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
  if (!reply) return Error(Errc::kUnavailable, "Redis Cluster: " + std::string(key) + ": " + why);
  if (reply->isError()) return Error(Errc::kInternal, "Redis Cluster: " + std::string(key) + ": " + reply->str);
  return std::move(*reply);
}

}  // namespace

core::Result<std::string> shareValue(const std::vector<std::string>& seeds, std::string_view key,
                                     std::string_view proposed, uint32_t timeoutMs) {
  std::string_view args[1] = {proposed};
  auto r = runOnce(seeds, setThenGet(), key, args, timeoutMs);
  if (!r) return r.error();
  if (!r->isString()) return Error(Errc::kInternal, "Redis Cluster: " + std::string(key) + ": not a string");
  return std::move(r->str);
}

core::Result<std::vector<std::string>> seedList(const std::vector<std::string>& seeds, std::string_view key,
                                                const std::vector<std::string>& proposed, uint32_t timeoutMs) {
  std::vector<std::string_view> args(proposed.begin(), proposed.end());
  auto r = runOnce(seeds, seedThenRange(), key, args, timeoutMs);
  if (!r) return r.error();
  if (!r->isArray()) return Error(Errc::kInternal, "Redis Cluster: " + std::string(key) + ": not a list");
  std::vector<std::string> out;
  out.reserve(r->elements.size());
  for (Reply& e : r->elements) out.push_back(std::move(e.str));
  return out;
}

}  // namespace handoff::store::redis
