// handoffd: argv → config → node. Nothing else lives here.
#include <cstdio>
#include <cstdlib>

#include "handoff/admin/node.h"
#include "handoff/config/config.h"
#include "handoff/core/log.h"
#include "handoff/core/signals.h"

int main(int argc, char** argv) {
  using namespace handoff;
  core::blockControlSignals();  // before any thread exists
  auto cl = config::parseCommandLine(argc, argv);
  if (!cl) {
    std::fprintf(stderr, "handoffd: %s\n", cl.error().message().c_str());
    return 2;
  }
  if (cl->help) {
    std::fputs(config::usage().c_str(), stdout);
    return 0;
  }
  if (cl->version) {
    std::puts("handoffd " HANDOFF_VERSION);
    return 0;
  }
  core::setLogLevel(cl->config.logLevel);
  admin::Node node(std::move(cl->config));
  if (auto st = node.start(); !st) {
    core::logError("cannot start", {{"error", st.error().message()}});
    std::fprintf(stderr, "handoffd: %s\n", st.error().message().c_str());
    return 1;
  }
  int code = node.run();
  std::fflush(stdout);
  std::_Exit(code);  // shards have ended or were abandoned at the drain deadline
}
