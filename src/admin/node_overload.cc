// Overload protection, wired (README "Limits and overload"): the connection caps every shard's
// servers share, the file-descriptor limit they need, the rate limiters and the password-check
// cap the OAuth endpoints share, and their metrics.
#include <sys/resource.h>

#include "handoff/admin/node.h"
#include "handoff/core/log.h"
#include "handoff/net/refusal.h"

namespace handoff::admin {

namespace {

// Descriptors a node holds besides its admitted connections: listeners, logs, key and GeoIP
// files, libuv's own, and the refused connections each shard may let linger (net/refusal.h).
size_t reservedFds(unsigned threads, size_t listeners) {
  return 256 + threads * (listeners + net::kMaxLingeringRefusals);
}

std::unique_ptr<oauth::SharedRateLimiter> limiterFor(const config::RateLimitConfig& c, size_t maxKeys) {
  if (c.perMinute == 0) return nullptr;
  return std::make_unique<oauth::SharedRateLimiter>(
      oauth::RateLimiter::Options{.burst = c.burst, .intervalMs = 60000 / c.perMinute, .maxKeys = maxKeys});
}

}  // namespace

void Node::setUpOverload(unsigned threads) {
  http::Limits& l = config_.limits;
  if (l.maxConnections != 0) {
    // A cap above what the process may open would end in EMFILE instead of a 503: raise the soft
    // limit as far as the hard one allows, and lower the cap to fit if that is not enough.
    size_t reserve = reservedFds(threads, listeners_.size());
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      rlim_t want = static_cast<rlim_t>(l.maxConnections + reserve);
      if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rlimit raised = rl;
        raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
      }
      if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        size_t fit = rl.rlim_cur > 2 * reserve ? rl.rlim_cur - reserve : rl.rlim_cur / 2;
        core::logWarn("limits: max_connections lowered to fit the open-file limit",
                      {{"configured", static_cast<unsigned long long>(l.maxConnections)},
                       {"max_connections", static_cast<unsigned long long>(fit)},
                       {"nofile", static_cast<unsigned long long>(rl.rlim_cur)}});
        l.maxConnections = fit;
      }
    }
  }
  connections_ = std::make_unique<net::ConnectionLimiter>(
      net::ConnectionCaps{.maxConnections = l.maxConnections, .maxPerIp = l.maxConnectionsPerIp});
  loginLimiter_ = limiterFor(config_.rateLimits.login, config_.rateLimits.maxKeys);
  tokenLimiter_ = limiterFor(config_.rateLimits.token, config_.rateLimits.maxKeys);
  provider_.loginLimiter = loginLimiter_.get();
  provider_.tokenLimiter = tokenLimiter_.get();
  provider_.passwordChecks = &passwordChecks_;
  provider_.maxPasswordChecks = l.maxPasswordChecks;
}

void Node::renderOverloadMetrics(std::string& out) const {
  uint64_t global = 0, perIp = 0, loginLimited = 0, tokenLimited = 0, shed = 0;
  for (const auto& st : states_) {
    global += st->connections.refusedGlobal.load(std::memory_order_relaxed);
    perIp += st->connections.refusedPerIp.load(std::memory_order_relaxed);
    loginLimited += st->provider->overloadStats().loginLimited.get();
    tokenLimited += st->provider->overloadStats().tokenLimited.get();
    shed += st->provider->overloadStats().passwordShed.get();
  }
  out.append("# HELP handoff_connections_refused_total Connections refused for overload (503, then close), by "
             "the cap they met.\n# TYPE handoff_connections_refused_total counter\n");
  out.append("handoff_connections_refused_total{reason=\"max_connections\"} ").append(std::to_string(global)).append("\n");
  out.append("handoff_connections_refused_total{reason=\"max_connections_per_ip\"} ")
      .append(std::to_string(perIp))
      .append("\n");
  auto line = [&](const char* name, const char* type, const char* help, uint64_t v) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ").append(type);
    out.append("\n").append(name).append(" ").append(std::to_string(v)).append("\n");
  };
  line("handoff_connections_admitted", "gauge", "Connections counted against max_connections now.",
       connections_ ? connections_->open() : 0);
  line("handoff_connection_ips", "gauge", "Client IPs counted against max_connections_per_ip now.",
       connections_ ? connections_->trackedIps() : 0);
  out.append("# HELP handoff_rate_limited_total Requests refused with 429 by [rate_limits], by endpoint.\n"
             "# TYPE handoff_rate_limited_total counter\n");
  out.append("handoff_rate_limited_total{endpoint=\"login\"} ").append(std::to_string(loginLimited)).append("\n");
  out.append("handoff_rate_limited_total{endpoint=\"token\"} ").append(std::to_string(tokenLimited)).append("\n");
  line("handoff_password_checks_in_flight", "gauge", "Password checks queued or running on the thread pool.",
       passwordChecks_.load(std::memory_order_relaxed));
  line("handoff_password_checks_shed_total", "counter", "Logins refused with 503 at max_password_checks.", shed);
}

}  // namespace handoff::admin
