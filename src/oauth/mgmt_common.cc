// The management API's common steps; see mgmt_common.h.
#include "mgmt_common.h"

#include "handoff/http/params.h"
#include "handoff/oauth/tenant_events.h"

namespace handoff::oauth::mgmt {

bool splitPath(http::Exchange& ex, std::string_view prefix, std::string& id, std::string& rest) {
  std::string_view path = ex.request.path.substr(prefix.size());
  size_t slash = path.find('/');
  std::string_view idText = path.substr(0, slash);
  rest = slash == std::string_view::npos ? std::string() : std::string(path.substr(slash + 1));
  if (idText.empty() || !http::decodePathSegment(idText, id) || id.size() > 256) {
    sendManagementError(ex.response, 404, "Not Found", "");
    return false;
  }
  return true;
}

bool readJsonBody(http::Exchange& ex, const http::JsonValue** out) {
  if (!http::equalsIgnoreCase(ex.request.mediaType(), "application/json")) {
    sendManagementError(ex.response, 400, "Payload validation error: the body must be application/json",
                        "invalid_body");
    return false;
  }
  std::string_view dup;
  http::JsonError e = http::parseJson(ex.request.body, *ex.request.arena, out, 16, &dup);
  if (e == http::JsonError::kDuplicateKey) {
    sendManagementError(ex.response, 400, "Payload validation error: duplicate key '" + std::string(dup) + "'",
                        "invalid_body");
    return false;
  }
  if (e != http::JsonError::kNone) {
    sendManagementError(ex.response, 400, "Payload validation error: 'Invalid JSON'.", "invalid_body");
    return false;
  }
  if (!(*out)->isObject()) {
    sendManagementError(ex.response, 400, "Payload validation error: 'Expected type object'.", "invalid_body");
    return false;
  }
  return true;
}

void sendJson(http::Response& res, int status, std::string_view body) {
  res.start(status);
  res.header("Cache-Control", "no-store");
  res.finish(body.empty() ? "" : "application/json", body);
}

void sendMethodNotAllowed(http::Response& res) { sendManagementError(res, 405, "Method Not Allowed", ""); }

TenantChange changeError(int status, std::string message, std::string errorCode) {
  TenantChange c;
  c.status = status;
  c.body = std::move(message);
  c.errorCode = std::move(errorCode);
  return c;
}

ChangeContext changeContext(Provider& p, http::Exchange& ex, const ManagementCaller& caller, std::string description) {
  return ChangeContext{std::string(caller.clientId), p.clientIp(ex.request),
                       std::string(ex.request.header("user-agent")), std::move(description)};
}

void submitDeferred(Provider& p, http::Deferred d, ChangeContext ctx, TenantAdmin::Edit edit, AfterChange after) {
  // TenantAdmin keeps its callbacks in std::function, which must be copyable.
  auto answer = std::make_shared<http::Deferred>(std::move(d));
  p.shared().tenantAdmin->submit(
      p.shard(), std::move(edit), [&p, answer, ctx = std::move(ctx), after = std::move(after)](TenantChange c) {
        if (c.status < 400) {
          // Auth0's "Success API Operation"; nothing secret in it.
          events::Event e = clientEvent("sapi", p.tenant().client(ctx.callerClientId), ctx.ip, ctx.userAgent);
          if (e.clientId.empty()) e.clientId = ctx.callerClientId;
          e.description = ctx.description;
          p.emit(std::move(e));
        }
        bool failed = c.status >= 400;
        auto respond = [answer, c = std::move(c)] {
          answer->complete([&](http::Response& res) {
            if (c.status >= 400) return sendManagementError(res, c.status, c.body, c.errorCode);
            sendJson(res, c.status, c.body);
          });
        };
        if (failed || !after) return respond();
        after(p, std::move(respond));
      });
}

void submitChange(Provider& p, http::Exchange& ex, const ManagementCaller& caller, std::string description,
                  TenantAdmin::Edit edit) {
  if (p.shared().tenantAdmin == nullptr) {
    return sendManagementError(ex.response, 503, "The tenant cannot be changed on this node",
                               "temporarily_unavailable");
  }
  ChangeContext ctx = changeContext(p, ex, caller, std::move(description));
  submitDeferred(p, ex.defer(), std::move(ctx), std::move(edit));
}

}  // namespace handoff::oauth::mgmt
