#include "handoff/oauth/client_auth.h"

#include "handoff/core/base64.h"
#include "handoff/http/message.h"
#include "handoff/oauth/crypto.h"

namespace handoff::oauth {

namespace {

// The answers, one per reason. Descriptions say what was wrong, never with which value.
constexpr OAuthError kTwoMethods{400, "invalid_request", "the client used more than one authentication method", false};
constexpr OAuthError kIdMismatch{400, "invalid_request", "client_id differs from the Basic credentials", false};
constexpr OAuthError kMalformedHeader{401, "invalid_client", "malformed Authorization header", false};
constexpr OAuthError kUnsupportedScheme{401, "invalid_client", "unsupported authentication scheme", false};
constexpr OAuthError kNoClientId{401, "invalid_client", "client authentication is required", false};
constexpr OAuthError kUnknownClient{401, "invalid_client", "unknown client", false};
constexpr OAuthError kSecretRequired{401, "invalid_client", "the client must authenticate with its secret", false};
constexpr OAuthError kPublicWithSecret{401, "invalid_client", "a public client must not send a secret", false};
constexpr OAuthError kWrongSecret{401, "invalid_client", "wrong client secret", false};

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding of one component, as http::decodeForm does it.
bool formDecode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hexValue(in[i + 1]);
      int lo = hexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    out.push_back(c);
  }
  return true;
}

OAuthError withChallenge(OAuthError e, bool headerPresent) {
  e.wwwAuthenticate = headerPresent && e.status == 401;
  return e;
}

}  // namespace

bool parseBasicAuthorization(std::string_view value, BasicCredentials& out) {
  size_t space = value.find(' ');
  if (space == std::string_view::npos || !http::equalsIgnoreCase(value.substr(0, space), "Basic")) return false;
  size_t start = value.find_first_not_of(' ', space);
  if (start == std::string_view::npos) return false;
  std::string decoded;
  if (!core::decodeBase64(value.substr(start), decoded)) return false;
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  if (!formDecode(std::string_view(decoded).substr(0, colon), out.clientId)) return false;
  if (!formDecode(std::string_view(decoded).substr(colon + 1), out.clientSecret)) return false;
  return !out.clientId.empty();
}

OAuthResult<ClientAuthResult> authenticateClient(const Tenant& tenant, std::string_view authorization,
                                                 const http::ParamList& body) {
  const bool headerPresent = !authorization.empty();
  std::string_view bodyId = body.get("client_id");
  std::string_view bodySecret = body.get("client_secret");

  BasicCredentials basic;
  std::string_view clientId;
  std::string_view secret;
  AuthMethod method;
  if (headerPresent) {
    size_t space = authorization.find(' ');
    std::string_view scheme = authorization.substr(0, space);
    if (!http::equalsIgnoreCase(scheme, "Basic")) return withChallenge(kUnsupportedScheme, true);
    if (!parseBasicAuthorization(authorization, basic)) return withChallenge(kMalformedHeader, true);
    if (!bodySecret.empty()) return kTwoMethods;
    if (!bodyId.empty() && bodyId != basic.clientId) return kIdMismatch;
    method = AuthMethod::kClientSecretBasic;
    clientId = basic.clientId;
    secret = basic.clientSecret;
  } else if (!bodySecret.empty()) {
    method = AuthMethod::kClientSecretPost;
    clientId = bodyId;
    secret = bodySecret;
  } else {
    method = AuthMethod::kNone;
    clientId = bodyId;
  }

  if (clientId.empty()) return withChallenge(kNoClientId, headerPresent);
  const Client* client = tenant.client(clientId);
  if (client == nullptr) return withChallenge(kUnknownClient, headerPresent);
  // A confidential client may send its secret either way (Basic or body), as Auth0 accepts and
  // as Auth0's web SDKs rely on (openid-client defaults to Basic); a public client sends none.
  if (client->isPublic() && method != AuthMethod::kNone) return withChallenge(kPublicWithSecret, headerPresent);
  if (!client->isPublic() && method == AuthMethod::kNone) return withChallenge(kSecretRequired, headerPresent);
  if (method != AuthMethod::kNone && !constantTimeEquals(secret, client->config.clientSecret)) {
    return withChallenge(kWrongSecret, headerPresent);
  }
  return ClientAuthResult{client, method};
}

}  // namespace handoff::oauth
