// JWT parsing and verification (oauth/jwt.h), and the JWK thumbprint parser.
//
// Input: byte 0 picks the mode, byte 1 the key (EdDSA, ES256, RS256), the rest is text.
//  - mode 0: the text is a compact JWT given to verifyJwt as is, and a JWK to jwkThumbprint;
//  - mode 1: the text is a claims set signed with signJwt: unless empty (a JWT has no empty
//    part) it must verify, to the same claims;
//  - mode 2: the text is "<header JSON>\n<claims>": both are base64url-encoded and signed by
//    the key, so the header rules are reached past the signature. "KID" in the header stands for
//    the key's real kid (generated at start, so it differs between runs). Claims that start
//    with '!' go into the token verbatim (not encoded), to reach the claims decoder.
// Checked: verification never appends on failure; signed claims verify to themselves.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "handoff/core/base64.h"
#include "handoff/oauth/jwt.h"

namespace {

using namespace handoff;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "jwt_fuzz: invariant violated: %s\n", what);
  std::abort();
}

std::shared_ptr<const oauth::KeySet> makeKeys() {
  std::vector<oauth::KeySet::Entry> entries;
  for (oauth::JwtAlg alg : {oauth::JwtAlg::kEdDSA, oauth::JwtAlg::kES256, oauth::JwtAlg::kRS256}) {
    auto k = oauth::SigningKey::generate(alg);
    if (!k.ok()) violated("key generation failed");
    entries.push_back({std::shared_ptr<const oauth::SigningKey>(std::move(k).value()), 1700000000});
  }
  auto set = oauth::KeySet::create(std::move(entries));
  if (!set.ok()) violated("the key set does not build");
  return set.value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::shared_ptr<const oauth::KeySet> keys = makeKeys();
  if (size < 2) return 0;
  const unsigned mode = data[0] % 3;
  const oauth::SigningKey& key = *keys->entries()[data[1] % 3].key;
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  std::string claims = "unchanged";

  if (mode == 0) {
    if (!oauth::verifyJwt(*keys, text, claims).ok() && claims != "unchanged") {
      violated("a failed verification appended claims");
    }
    (void)oauth::jwkThumbprint(text);
    return 0;
  }
  if (mode == 1) {
    if (text.empty()) return 0;
    std::string jwt;
    if (!oauth::signJwt(key, text, jwt).ok()) violated("signJwt failed");
    claims.clear();
    if (!oauth::verifyJwt(*keys, jwt, claims).ok()) {
      // Only the size limit may refuse a token we signed ourselves.
      if (jwt.size() <= oauth::kMaxJwtBytes) violated("a token signed by the key set does not verify");
      return 0;
    }
    if (claims != text) violated("verified claims differ from the signed ones");
    return 0;
  }
  size_t nl = text.find('\n');
  std::string header(text.substr(0, nl));
  std::string_view body = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  for (size_t at = header.find("KID"); at != std::string::npos; at = header.find("KID", at + 1)) {
    header.replace(at, 3, key.kid());
  }
  std::string jwt;
  core::appendBase64Url(jwt, header);
  jwt += '.';
  const bool verbatim = body.starts_with('!');
  if (verbatim) {
    jwt += body.substr(1);
  } else {
    core::appendBase64Url(jwt, body);
  }
  std::string sig;
  if (!key.sign(jwt, sig).ok()) violated("signing failed");
  jwt += '.';
  core::appendBase64Url(jwt, sig);
  claims = "unchanged";
  if (!oauth::verifyJwt(*keys, jwt, claims).ok()) {
    if (claims != "unchanged") violated("a failed verification appended claims");
  } else {
    claims.erase(0, 9);
    std::string decoded;
    if (verbatim && !core::decodeBase64Url(body.substr(1), decoded)) violated("verified undecodable claims");
    if (claims != (verbatim ? std::string_view(decoded) : body)) violated("verified claims differ from the signed ones");
  }
  return 0;
}
