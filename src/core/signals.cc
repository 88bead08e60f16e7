#include "handoff/core/signals.h"

#include <signal.h>

#include <cerrno>
#include <ctime>

namespace handoff::core {
namespace {

sigset_t controlSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void blockControlSignals() {
  signal(SIGPIPE, SIG_IGN);
  // A file-size limit must fail the write (EFBIG: the log reports the disk as down and retries),
  // not kill the process.
  signal(SIGXFSZ, SIG_IGN);
  sigset_t set = controlSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ControlSignal waitControlSignal(int64_t timeoutMs) {
  sigset_t set = controlSet();
  timespec ts{static_cast<time_t>(timeoutMs / 1000), static_cast<long>(timeoutMs % 1000) * 1000000};
  int sig = sigtimedwait(&set, nullptr, &ts);
  if (sig == SIGHUP) return ControlSignal::kReload;
  if (sig == SIGINT || sig == SIGTERM) return ControlSignal::kTerminate;
  return ControlSignal::kNone;  // EAGAIN (time-out) or EINTR
}

}  // namespace handoff::core
