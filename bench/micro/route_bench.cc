// Routing: the route table handoffd builds on every shard (Node::buildRoutes, then
// Provider::addRoutes, in that order), matched against the paths that carry the load, a
// method check as the session does it, and a miss (404).
#include <benchmark/benchmark.h>

#include <string_view>

#include "handoff/http/router.h"

namespace {

using namespace handoff::http;

void noop(void*, Exchange&) {}

// The same paths, methods, body limits and order as handoffd's table (without /test/clock,
// which only the test clock option adds).
Router realRoutes() {
  Router r;
  r.add({.path = "/healthz", .name = "healthz", .methods = kGet, .fn = noop});
  r.add({.path = "/metrics", .name = "metrics", .methods = kGet, .fn = noop});
  r.add({.path = "/.well-known/openid-configuration", .name = "discovery", .methods = kGet, .fn = noop});
  r.add({.path = "/.well-known/jwks.json", .name = "jwks", .methods = kGet, .fn = noop});
  r.add({.path = "/oauth/token", .name = "token", .methods = kPost, .fn = noop, .maxBody = 16384});
  r.add({.path = "/authorize", .name = "authorize", .methods = kGet, .fn = noop});
  r.add({.path = "/u/login", .name = "login", .methods = kGet | kPost, .fn = noop, .maxBody = 16384});
  r.add({.path = "/v2/logout", .name = "logout", .methods = kGet, .fn = noop});
  r.add({.path = "/oidc/logout", .name = "oidc_logout", .methods = kGet | kPost, .fn = noop, .maxBody = 16384});
  r.add({.path = "/userinfo", .name = "userinfo", .methods = kGet | kPost, .fn = noop, .maxBody = 4096});
  r.add({.path = "/oauth/revoke", .name = "revoke", .methods = kPost, .fn = noop, .maxBody = 16384});
  r.add({.path = "/api/v2/logs", .name = "api_logs", .methods = kGet, .fn = noop});
  return r;
}

void matchLoop(benchmark::State& state, std::string_view path, Method method) {
  Router r = realRoutes();
  for (auto _ : state) {
    std::string_view p = path;
    benchmark::DoNotOptimize(p);
    const Route* route = r.match(p);
    bool ok = route != nullptr && Router::allows(*route, method);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RouteAuthorize(benchmark::State& state) { matchLoop(state, "/authorize", Method::kGet); }
void BM_RouteToken(benchmark::State& state) { matchLoop(state, "/oauth/token", Method::kPost); }
void BM_RouteLogs(benchmark::State& state) { matchLoop(state, "/api/v2/logs", Method::kGet); }
void BM_RouteMiss(benchmark::State& state) { matchLoop(state, "/favicon.ico", Method::kGet); }
BENCHMARK(BM_RouteAuthorize);
BENCHMARK(BM_RouteToken);
BENCHMARK(BM_RouteLogs);
BENCHMARK(BM_RouteMiss);

}  // namespace
