// Signals for the control thread. blockControlSignals() must run on the main thread before any
// other thread starts, so that every thread inherits the mask and only the control thread, in
// waitControlSignal(), ever receives SIGINT, SIGTERM or SIGHUP. SIGPIPE is ignored process-wide
// (a peer that went away is an error value on the write, not a signal).
#pragma once

#include <cstdint>

namespace handoff::core {

enum class ControlSignal : uint8_t { kNone, kTerminate, kReload };

void blockControlSignals();
// Waits up to timeoutMs; kNone on time-out.
ControlSignal waitControlSignal(int64_t timeoutMs);

}  // namespace handoff::core
