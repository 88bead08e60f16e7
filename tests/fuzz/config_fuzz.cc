// The TOML config loader (config/config.h) over untrusted files: the input is written to a
// scratch file and loaded. Loading must end in a Config or an error that names the file; it
// must never throw, crash or hang.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_file.h"
#include "handoff/config/config.h"
#include "handoff/core/log.h"

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "config_fuzz: invariant violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace handoff;
  static fuzz::ScratchFile file(".toml");
  const std::string& path = file.write(data, size);
  auto cfg = config::loadConfigFile(path);
  if (!cfg.ok() && cfg.error().message().find(path) == std::string::npos) {
    violated("a config error does not name the file");
  }
  return 0;
}
