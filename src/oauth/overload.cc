// Overload protection of the OAuth endpoints (README "Limits and overload"): the token
// endpoint's rate limit per client IP, and the process-wide cap on password checks.
//
// Password checks (PBKDF2, ~40 ms of CPU each) run on libuv's thread pool, the same four threads
// that write and fsync the store's log. Without a cap a burst of logins would queue there without
// bound, and every durable answer would wait behind it; with the cap, a check that finds
// max_password_checks already queued or running is refused at once (503, Retry-After: 1).
// The default, 4, is the pool's size: more never adds throughput (the pool runs four at a time)
// and only queues. Measured with bench/load/login-flood (2 shards, 200 flooding clients, a
// 2-vCPU VM): a durable refresh grant answered in 6 ms at rest took 12 s with no cap, ~1 s at 16,
// ~0.4 s at 8 and ~50 ms at 4, for about the same number of logins served.
#include "handoff/oauth/provider.h"

namespace handoff::oauth {

bool Provider::startPasswordCheck() {
  if (shared_.passwordChecks == nullptr || shared_.maxPasswordChecks == 0) return true;
  std::atomic<size_t>& n = *shared_.passwordChecks;
  size_t cur = n.load(std::memory_order_relaxed);
  do {
    if (cur >= shared_.maxPasswordChecks) {
      overload_.passwordShed.add();
      return false;
    }
  } while (!n.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
  return true;
}

void Provider::endPasswordCheck() {
  if (shared_.passwordChecks == nullptr || shared_.maxPasswordChecks == 0) return;
  shared_.passwordChecks->fetch_sub(1, std::memory_order_relaxed);
}

bool Provider::admitTokenRequest(http::Exchange& ex) {
  if (shared_.tokenLimiter == nullptr) return true;
  uint64_t waitMs = shared_.tokenLimiter->take(clientIp(ex.request), nowMs());
  if (waitMs == 0) return true;
  overload_.tokenLimited.add();
  sendOAuthError(ex.response, kTooManyRequests, retryAfterSeconds(waitMs));
  return false;
}

}  // namespace handoff::oauth
