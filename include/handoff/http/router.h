// Maps a request path to an endpoint: exact paths first, then prefixes ("/api/v2/"), longest
// first. Unknown path → 404; known path, wrong method → 405 with Allow. HEAD is allowed wherever
// GET is. Each shard builds its own Router at start-up (handlers capture per-shard context), from
// the same code, so route ids agree across shards.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "handoff/http/message.h"

namespace handoff::http {

using HandlerFn = void (*)(void* ctx, Exchange& ex);

constexpr uint32_t methodBit(Method m) { return 1u << static_cast<unsigned>(m); }
constexpr uint32_t kGet = methodBit(Method::kGet);
constexpr uint32_t kPost = methodBit(Method::kPost);
constexpr uint32_t kPut = methodBit(Method::kPut);
constexpr uint32_t kPatch = methodBit(Method::kPatch);
constexpr uint32_t kDelete = methodBit(Method::kDelete);
constexpr uint32_t kOptions = methodBit(Method::kOptions);

struct Route {
  std::string path;
  std::string name;     // metrics label
  uint32_t methods = 0;
  HandlerFn fn = nullptr;
  void* ctx = nullptr;
  size_t maxBody = 0;   // 0: the configured default
  bool prefix = false;
  uint16_t id = 0;      // 1-based; 0 means "no route"
};

class Router {
 public:
  static constexpr size_t kMaxRoutes = 31;

  // Returns the route id. Aborts past kMaxRoutes (a programming error, found at start-up).
  uint16_t add(Route route);
  const Route* match(std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

  // "GET, HEAD, POST" for a method set.
  static std::string allowHeader(uint32_t methods);
  static bool allows(const Route& r, Method m);

 private:
  std::vector<Route> routes_;
};

}  // namespace handoff::http
