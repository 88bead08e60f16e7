// JWT compact serialization (RFC 7515 §7.1) over SigningKey, and the published KeySet.
//
// signJwt is on the token endpoint's hot path: the header is encoded once per key, the claims
// are encoded straight into the caller's buffer and the signature lands in a stack array, so a
// caller that reuses `out` allocates nothing. verifyJwt parses the header with the strict JSON
// parser into a per-thread arena, and checks the algorithm against the key (never the header
// alone) before any signature work.
#include "handoff/oauth/jwt.h"

#include <cstdlib>

#include "handoff/core/arena.h"
#include "handoff/core/base64.h"
#include "handoff/http/json.h"

namespace handoff::oauth {

using core::Errc;
using core::Error;
using core::Result;
using core::Status;

namespace {

// RSA moduli are capped at 4096 bits when a key is loaded, so no signature is longer.
constexpr size_t kMaxSignatureBytes = 512;

// Per-thread scratch for verifyJwt: decoded header and signature, and the header's DOM. Kept
// across calls so a thread that verifies many tokens stops allocating.
struct VerifyScratch {
  std::string header;
  std::string signature;
  core::Arena arena{1024};
};

Status malformed(std::string_view what) { return Error(Errc::kInvalidArgument, std::string(what)); }

}  // namespace

// ── KeySet ──────────────────────────────────────────────────────────────────────────────────

KeySet::KeySet(std::vector<Entry> entries) : entries_(std::move(entries)) {
  jwks_ = R"({"keys":[)";
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (i != 0) jwks_.push_back(',');
    entries_[i].key->appendJwk(jwks_);
  }
  jwks_.append("]}");
}

Result<std::shared_ptr<const KeySet>> KeySet::create(std::vector<Entry> entries) {
  if (entries.empty()) return Error(Errc::kInvalidArgument, "keys: the key set is empty");
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].key) return Error(Errc::kInvalidArgument, "keys: null key");
    for (size_t j = 0; j < i; ++j) {
      if (entries[j].key->kid() == entries[i].key->kid()) {
        return Error(Errc::kInvalidArgument, "keys: duplicate kid");
      }
    }
  }
  return std::shared_ptr<const KeySet>(new KeySet(std::move(entries)));
}

const SigningKey* KeySet::find(std::string_view kid) const {
  // A handful of keys at most: a scan beats any index.
  for (const Entry& e : entries_) {
    if (e.key->kid() == kid) return e.key.get();
  }
  return nullptr;
}

// ── Compact JWT ─────────────────────────────────────────────────────────────────────────────

Status signJwt(const SigningKey& key, std::string_view claimsJson, std::string& out) {
  const size_t start = out.size();
  const std::string_view prefix = key.jwtHeaderPrefix();
  const size_t sigSize = key.signatureSize();
  if (sigSize > kMaxSignatureBytes) abort();  // fromPrivate refuses such keys
  out.reserve(start + prefix.size() + core::base64UrlEncodedLength(claimsJson.size()) + 1 +
              core::base64UrlEncodedLength(sigSize));
  out.append(prefix);
  core::appendBase64Url(out, claimsJson);

  uint8_t sig[kMaxSignatureBytes];
  if (Status s = key.signRaw(std::string_view(out).substr(start), sig); !s) {
    out.resize(start);
    return s;
  }
  out.push_back('.');
  const size_t at = out.size();
  out.resize(at + core::base64UrlEncodedLength(sigSize));
  core::encodeBase64Url(sig, sigSize, out.data() + at);
  return {};
}

Status verifyJwt(const KeySet& keys, std::string_view jwt, std::string& claimsJsonOut) {
  if (jwt.size() > kMaxJwtBytes) return Error(Errc::kLimit, "jwt: too long");
  const size_t dot1 = jwt.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : jwt.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return malformed("jwt: not three parts");
  // A third '.' falls inside the signature part, which base64url decoding refuses.
  const std::string_view headerText = jwt.substr(0, dot1);
  const std::string_view claimsText = jwt.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view sigText = jwt.substr(dot2 + 1);
  if (headerText.empty() || claimsText.empty() || sigText.empty()) {
    return malformed("jwt: empty part");
  }

  thread_local VerifyScratch scratch;
  scratch.header.clear();
  scratch.signature.clear();
  scratch.arena.reset();
  if (!core::decodeBase64Url(headerText, scratch.header)) {
    return malformed("jwt: header is not base64url");
  }
  const http::JsonValue* header = nullptr;
  if (http::parseJson(scratch.header, scratch.arena, &header, 4) != http::JsonError::kNone ||
      !header->isObject()) {
    return malformed("jwt: header is not a JSON object");
  }
  const std::string_view* alg = header->findString("alg");
  const std::string_view* kid = header->findString("kid");
  const http::JsonValue* typ = header->find("typ");
  if (alg == nullptr) return malformed("jwt: header has no alg");
  if (kid == nullptr) return malformed("jwt: header has no kid");
  if (typ != nullptr && !typ->isString()) return malformed("jwt: typ is not a string");
  // RFC 7515 §4.1.11: extensions marked critical must be understood; we understand none.
  if (header->find("crit") != nullptr) return malformed("jwt: crit is not supported");

  const SigningKey* key = keys.find(*kid);
  if (key == nullptr) return Error(Errc::kNotFound, "jwt: unknown kid");
  // The key decides the algorithm; the header only has to agree (no "none", no HS256 keyed
  // with a public key, no ES256 header on an RSA key).
  if (*alg != jwtAlgName(key->alg())) return malformed("jwt: alg does not match the key");

  if (!core::decodeBase64Url(sigText, scratch.signature)) {
    return malformed("jwt: signature is not base64url");
  }
  if (!key->verify(jwt.substr(0, dot2), scratch.signature)) {
    return malformed("jwt: bad signature");
  }
  if (!core::decodeBase64Url(claimsText, claimsJsonOut)) {
    return malformed("jwt: claims are not base64url");
  }
  return {};
}

}  // namespace handoff::oauth
