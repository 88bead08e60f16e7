// GET /api/v2/logs: the tenant log (SPEC.md §7) through the management API, with Auth0's query
// parameters (page, per_page, include_totals, sort, q, from, take). Needs a management token
// with the read:logs scope.
#include <string>
#include <utility>
#include <vector>

#include "handoff/oauth/management_auth.h"
#include "handoff/oauth/provider.h"

namespace handoff::oauth {

void Provider::serveLogs(void* self, http::Exchange& ex) {
  Provider& p = *static_cast<Provider*>(self);
  if (!authorizeManagement(p, ex, "read:logs")) return;
  if (p.shared_.events == nullptr) return sendManagementError(ex.response, 404, "The tenant log is not kept", "");
  if (http::decodeForm(ex.request.query, *ex.request.arena, p.params_) != http::DecodeStatus::kOk) {
    return sendManagementError(ex.response, 400, "Query validation error: malformed query string",
                               "invalid_query_string");
  }
  std::vector<std::pair<std::string_view, std::string_view>> params;
  params.reserve(p.params_.size());
  for (const http::Param& prm : p.params_) params.emplace_back(prm.name, prm.value);
  auto query = events::parseLogQuery(params);
  if (!query) return sendManagementError(ex.response, 400, query.error().message(), "invalid_query_string");
  std::string body = p.shared_.events->query(*query);
  ex.response.start(200);
  ex.response.header("Cache-Control", "no-store");
  ex.response.finish("application/json", body);
}

}  // namespace handoff::oauth
