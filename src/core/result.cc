#include "handoff/core/result.h"

namespace handoff::core {

std::string_view errcName(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument: return "invalid_argument";
    case Errc::kNotFound: return "not_found";
    case Errc::kAlreadyExists: return "already_exists";
    case Errc::kAddressInUse: return "address_in_use";
    case Errc::kIo: return "io";
    case Errc::kLimit: return "limit";
    case Errc::kUnavailable: return "unavailable";
    case Errc::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace handoff::core
