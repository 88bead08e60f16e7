#include "handoff/http/router.h"

#include <cstdlib>

#include "handoff/core/log.h"

namespace handoff::http {

uint16_t Router::add(Route route) {
  if (routes_.size() >= kMaxRoutes) {
    core::logError("router: too many routes", {{"path", route.path}});
    std::abort();
  }
  route.id = static_cast<uint16_t>(routes_.size() + 1);
  routes_.push_back(std::move(route));
  return routes_.back().id;
}

const Route* Router::match(std::string_view path) const {
  const Route* best = nullptr;
  for (const Route& r : routes_) {
    if (!r.prefix) {
      if (r.path == path) return &r;
    } else if (path.substr(0, r.path.size()) == r.path && (best == nullptr || r.path.size() > best->path.size())) {
      best = &r;
    }
  }
  return best;
}

bool Router::allows(const Route& r, Method m) {
  if (m == Method::kHead) m = Method::kGet;
  return (r.methods & methodBit(m)) != 0;
}

std::string Router::allowHeader(uint32_t methods) {
  static constexpr std::pair<Method, std::string_view> kNames[] = {
      {Method::kGet, "GET"}, {Method::kPost, "POST"}, {Method::kPut, "PUT"},
      {Method::kPatch, "PATCH"}, {Method::kDelete, "DELETE"}, {Method::kOptions, "OPTIONS"}};
  std::string out;
  for (auto [m, name] : kNames) {
    if ((methods & methodBit(m)) == 0) continue;
    if (!out.empty()) out.append(", ");
    out.append(name);
    if (m == Method::kGet) out.append(", HEAD");
  }
  return out;
}

}  // namespace handoff::http
