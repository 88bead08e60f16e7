// Tenant log event helpers and the Native to Web SSO warning texts.
#include "handoff/oauth/tenant_events.h"

#include "handoff/core/text.h"
#include "handoff/oauth/crypto.h"
#include "handoff/oauth/n2w_stats.h"
#include "handoff/oauth/tenant.h"

namespace handoff::oauth {

Details::Details() { out_.reserve(256); }  // an event's details: no regrowth on the way

void Details::key(std::string_view k) {
  if (out_.size() > 1) out_.push_back(',');
  core::appendJsonString(out_, k);
  out_.push_back(':');
}

Details& Details::str(std::string_view k, std::string_view value) {
  key(k);
  core::appendJsonString(out_, value);
  return *this;
}

Details& Details::num(std::string_view k, int64_t value) {
  key(k);
  out_.append(std::to_string(value));
  return *this;
}

Details& Details::flag(std::string_view k, bool value) {
  key(k);
  out_.append(value ? "true" : "false");
  return *this;
}

std::string Details::take() {
  out_.push_back('}');
  std::string out = std::move(out_);
  out_.assign("{");
  return out;
}

events::Event clientEvent(std::string_view type, const Client* client, std::string_view ip, std::string_view userAgent) {
  constexpr size_t kMaxUserAgent = 256;
  events::Event e;
  e.type = type;
  if (client != nullptr) {
    e.clientId = client->id();
    e.clientName = client->config.name;
  }
  e.ip = std::string(ip);
  e.userAgent = std::string(userAgent.substr(0, kMaxUserAgent));
  return e;
}

std::string tokenHash(std::string_view token) { return sha256Base64Url(token).substr(0, 16); }

std::string_view ipFamily(std::string_view ip) {
  if (ip.empty()) return "";
  return ip.find(':') != std::string_view::npos ? "ipv6" : "ipv4";
}

std::string_view redeemFailureCode(RedeemFailure r) {
  switch (r) {
    case RedeemFailure::kNotFound: return "not_found";
    case RedeemFailure::kExpired: return "expired";
    case RedeemFailure::kAlreadyUsed: return "already_used";
    case RedeemFailure::kParentRevoked: return "parent_revoked";
    case RedeemFailure::kTransport: return "transport_not_allowed";
    case RedeemFailure::kIpMismatch: return "ip_mismatch";
    case RedeemFailure::kAsnMismatch: return "asn_mismatch";
    case RedeemFailure::kOrganization: return "organization_mismatch";
    case RedeemFailure::kUserMismatch: return "user_mismatch";
    case RedeemFailure::kCountryChanged: return "country_mismatch";
    case RedeemFailure::kAsnDenied: return "asn_denied";
  }
  return "not_found";
}

// Auth0's own warning texts (auth0-n2w-reference.md §7.2); the transport and policy ones are ours.
std::string_view redeemFailureDescription(RedeemFailure r) {
  switch (r) {
    case RedeemFailure::kIpMismatch:
    case RedeemFailure::kAsnMismatch:
      return "Single Sign-On failed: Session Transfer Token device binding validation failed due to IP/ASN mismatch.";
    case RedeemFailure::kOrganization:
      return "Single Sign-On failed: Session Transfer Token organization mismatch detected.";
    case RedeemFailure::kUserMismatch: return "Single Sign-On failed: Session Transfer Token user mismatch detected.";
    case RedeemFailure::kParentRevoked:
      return "Single Sign-On failed: Parent refresh token not found. Session Transfer Token won't be used for "
             "session establishment.";
    case RedeemFailure::kTransport:
      return "Single Sign-On failed: Session Transfer Token transport is not allowed for this application.";
    case RedeemFailure::kCountryChanged:
      return "Single Sign-On failed: Session Transfer Token redeemed from another country than it was created in.";
    case RedeemFailure::kAsnDenied:
      return "Single Sign-On failed: Session Transfer Token used from a denied network (ASN).";
    case RedeemFailure::kNotFound:
    case RedeemFailure::kExpired:
    case RedeemFailure::kAlreadyUsed:
      break;
  }
  return "Single Sign-On failed: Session Transfer Token not found or expired. This may indicate token reuse or "
         "expiration.";
}

}  // namespace handoff::oauth
