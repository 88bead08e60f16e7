// SigningKey: the one place where the server's private keys meet BoringSSL. Signing uses the
// low-level calls (RSA_sign, ECDSA_do_sign, ED25519_sign) on keys parsed once, so a signature
// costs no EVP context; BoringSSL documents these as safe on one key from many threads.
#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/curve25519.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <initializer_list>

#include "handoff/core/arena.h"
#include "handoff/core/base64.h"
#include "handoff/http/json.h"
#include "handoff/oauth/jwt.h"

namespace handoff::oauth {

using core::Errc;
using core::Error;
using core::Result;
using core::Status;

struct SigningKey::Impl {
  JwtAlg alg = JwtAlg::kRS256;
  bssl::UniquePtr<EVP_PKEY> pkey;  // owns the key; what PKCS#8 marshals
  RSA* rsa = nullptr;              // RS256: borrowed from pkey
  const EC_KEY* ec = nullptr;      // ES256: borrowed from pkey
  uint8_t edPrivate[64] = {};      // EdDSA: seed || public key, the form ED25519_sign takes
  uint8_t edPublic[32] = {};
  size_t sigSize = 0;
  std::string kid;
  std::string jwk;
  std::string headerPrefix;

  ~Impl() { OPENSSL_cleanse(edPrivate, sizeof edPrivate); }
};

namespace {

std::string_view bytesView(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

bool isBase64UrlText(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return !s.empty();
}

// RFC 7638 §3.2: the required members in lexicographic order, no whitespace. Every value here is
// base64url text or a curve name, so none needs escaping.
struct Member {
  std::string_view name;
  std::string_view value;
};

std::string thumbprintOf(std::initializer_list<Member> members) {
  std::string canonical = "{";
  for (const Member& m : members) {
    if (canonical.size() > 1) canonical.push_back(',');
    canonical.append("\"").append(m.name).append("\":\"").append(m.value).append("\"");
  }
  canonical.push_back('}');
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size(), digest);
  std::string out;
  core::appendBase64Url(out, bytesView(digest, sizeof digest));
  return out;
}

std::string bnBase64Url(const BIGNUM* bn) {
  std::string bytes(BN_num_bytes(bn), '\0');
  BN_bn2bin(bn, reinterpret_cast<uint8_t*>(bytes.data()));
  std::string out;
  core::appendBase64Url(out, bytes);
  return out;
}

void appendMember(std::string& out, std::string_view name, std::string_view value) {
  out.push_back(',');
  core::appendJsonString(out, name);
  out.push_back(':');
  core::appendJsonString(out, value);
}

// Fills kid, jwk and headerPrefix from the public half of the key in `impl`.
Status finish(SigningKey::Impl& impl) {
  std::string_view alg = jwtAlgName(impl.alg);
  std::string jwkTail;  // the members after kid, use and alg
  switch (impl.alg) {
    case JwtAlg::kRS256: {
      const BIGNUM *n = nullptr, *e = nullptr;
      RSA_get0_key(impl.rsa, &n, &e, nullptr);
      std::string nText = bnBase64Url(n), eText = bnBase64Url(e);
      impl.kid = thumbprintOf({{"e", eText}, {"kty", "RSA"}, {"n", nText}});
      impl.jwk = R"({"kty":"RSA")";
      appendMember(jwkTail, "n", nText);
      appendMember(jwkTail, "e", eText);
      impl.sigSize = RSA_size(impl.rsa);
      break;
    }
    case JwtAlg::kES256: {
      uint8_t point[65];
      if (EC_POINT_point2oct(EC_KEY_get0_group(impl.ec), EC_KEY_get0_public_key(impl.ec),
                             POINT_CONVERSION_UNCOMPRESSED, point, sizeof point,
                             nullptr) != sizeof point) {
        ERR_clear_error();
        return Error(Errc::kInternal, "jwt: cannot encode the EC public key");
      }
      std::string x, y;
      core::appendBase64Url(x, bytesView(point + 1, 32));
      core::appendBase64Url(y, bytesView(point + 33, 32));
      impl.kid = thumbprintOf({{"crv", "P-256"}, {"kty", "EC"}, {"x", x}, {"y", y}});
      impl.jwk = R"({"kty":"EC")";
      appendMember(jwkTail, "crv", "P-256");
      appendMember(jwkTail, "x", x);
      appendMember(jwkTail, "y", y);
      impl.sigSize = 64;
      break;
    }
    case JwtAlg::kEdDSA: {
      std::string x;
      core::appendBase64Url(x, bytesView(impl.edPublic, sizeof impl.edPublic));
      impl.kid = thumbprintOf({{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", x}});
      impl.jwk = R"({"kty":"OKP")";
      appendMember(jwkTail, "crv", "Ed25519");
      appendMember(jwkTail, "x", x);
      impl.sigSize = 64;
      break;
    }
  }
  appendMember(impl.jwk, "kid", impl.kid);
  appendMember(impl.jwk, "use", "sig");
  appendMember(impl.jwk, "alg", alg);
  impl.jwk.append(jwkTail).push_back('}');

  std::string header = R"({"alg":)";
  core::appendJsonString(header, alg);
  header.append(R"(,"typ":"JWT","kid":)");
  core::appendJsonString(header, impl.kid);
  header.push_back('}');
  core::appendBase64Url(impl.headerPrefix, header);
  impl.headerPrefix.push_back('.');
  return {};
}

// Takes the algorithm-specific view of impl.pkey and checks that it suits impl.alg.
Status bind(SigningKey::Impl& impl) {
  switch (impl.alg) {
    case JwtAlg::kRS256: {
      if (EVP_PKEY_id(impl.pkey.get()) != EVP_PKEY_RSA) break;
      impl.rsa = EVP_PKEY_get0_RSA(impl.pkey.get());
      unsigned bits = RSA_bits(impl.rsa);
      if (bits < 2048 || bits > 4096) {
        return Error(Errc::kInvalidArgument, "jwt: RSA key size outside 2048..4096 bits");
      }
      return {};
    }
    case JwtAlg::kES256: {
      if (EVP_PKEY_id(impl.pkey.get()) != EVP_PKEY_EC) break;
      impl.ec = EVP_PKEY_get0_EC_KEY(impl.pkey.get());
      if (EC_GROUP_get_curve_name(EC_KEY_get0_group(impl.ec)) != NID_X9_62_prime256v1 ||
          EC_KEY_get0_public_key(impl.ec) == nullptr) {
        return Error(Errc::kInvalidArgument, "jwt: EC key is not on P-256");
      }
      return {};
    }
    case JwtAlg::kEdDSA: {
      if (EVP_PKEY_id(impl.pkey.get()) != EVP_PKEY_ED25519) break;
      uint8_t seed[32];
      size_t len = sizeof seed;
      if (!EVP_PKEY_get_raw_private_key(impl.pkey.get(), seed, &len) || len != sizeof seed) {
        ERR_clear_error();
        return Error(Errc::kInvalidArgument, "jwt: bad Ed25519 private key");
      }
      ED25519_keypair_from_seed(impl.edPublic, impl.edPrivate, seed);
      OPENSSL_cleanse(seed, sizeof seed);
      return {};
    }
  }
  return Error(Errc::kInvalidArgument, "jwt: key type does not match the algorithm");
}

Result<std::unique_ptr<SigningKey::Impl>> generateImpl(JwtAlg alg) {
  auto impl = std::make_unique<SigningKey::Impl>();
  impl->alg = alg;
  impl->pkey.reset(EVP_PKEY_new());
  bool ok = impl->pkey != nullptr;
  if (ok && alg == JwtAlg::kRS256) {
    bssl::UniquePtr<RSA> rsa(RSA_new());
    bssl::UniquePtr<BIGNUM> e(BN_new());
    ok = rsa && e && BN_set_word(e.get(), RSA_F4) &&
         RSA_generate_key_ex(rsa.get(), 2048, e.get(), nullptr) &&
         EVP_PKEY_assign_RSA(impl->pkey.get(), rsa.get());
    if (ok) rsa.release();  // now owned by pkey
  } else if (ok && alg == JwtAlg::kES256) {
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    ok = ec && EC_KEY_generate_key(ec.get()) && EVP_PKEY_assign_EC_KEY(impl->pkey.get(), ec.get());
    if (ok) ec.release();
  } else if (ok) {
    uint8_t pub[32];
    ED25519_keypair(pub, impl->edPrivate);
    impl->pkey.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, impl->edPrivate, 32));
    ok = impl->pkey != nullptr;
  }
  if (!ok) {
    ERR_clear_error();
    return Error(Errc::kInternal, "jwt: key generation failed");
  }
  return impl;
}

}  // namespace

std::string_view jwtAlgName(JwtAlg alg) {
  switch (alg) {
    case JwtAlg::kRS256: return "RS256";
    case JwtAlg::kES256: return "ES256";
    case JwtAlg::kEdDSA: return "EdDSA";
  }
  return "RS256";
}

std::optional<JwtAlg> parseJwtAlg(std::string_view name) {
  for (JwtAlg alg : {JwtAlg::kRS256, JwtAlg::kES256, JwtAlg::kEdDSA}) {
    if (name == jwtAlgName(alg)) return alg;
  }
  return std::nullopt;
}

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::~SigningKey() = default;

Result<std::unique_ptr<SigningKey>> SigningKey::generate(JwtAlg alg) {
  Result<std::unique_ptr<Impl>> impl = generateImpl(alg);
  if (!impl) return impl.error();
  if (Status s = bind(**impl); !s) return s.error();
  if (Status s = finish(**impl); !s) return s.error();
  return std::unique_ptr<SigningKey>(new SigningKey(std::move(*impl)));
}

Result<std::unique_ptr<SigningKey>> SigningKey::fromPrivate(JwtAlg alg, std::string_view stored) {
  std::string der;
  if (!core::decodeBase64Url(stored, der)) {
    return Error(Errc::kInvalidArgument, "jwt: private key is not base64url");
  }
  CBS cbs;
  CBS_init(&cbs, reinterpret_cast<const uint8_t*>(der.data()), der.size());
  auto impl = std::make_unique<Impl>();
  impl->alg = alg;
  impl->pkey.reset(EVP_parse_private_key(&cbs));
  bool parsed = impl->pkey != nullptr && CBS_len(&cbs) == 0;
  OPENSSL_cleanse(der.data(), der.size());
  ERR_clear_error();
  if (!parsed) return Error(Errc::kInvalidArgument, "jwt: private key is not PKCS#8 DER");
  if (Status s = bind(*impl); !s) return s.error();
  if (Status s = finish(*impl); !s) return s.error();
  return std::unique_ptr<SigningKey>(new SigningKey(std::move(impl)));
}

JwtAlg SigningKey::alg() const { return impl_->alg; }
const std::string& SigningKey::kid() const { return impl_->kid; }
void SigningKey::appendJwk(std::string& out) const { out.append(impl_->jwk); }
size_t SigningKey::signatureSize() const { return impl_->sigSize; }
std::string_view SigningKey::jwtHeaderPrefix() const { return impl_->headerPrefix; }

void SigningKey::appendPrivate(std::string& out) const {
  CBB cbb;
  uint8_t* der = nullptr;
  size_t len = 0;
  if (!CBB_init(&cbb, 128) || !EVP_marshal_private_key(&cbb, impl_->pkey.get()) ||
      !CBB_finish(&cbb, &der, &len)) {
    // Marshalling a key BoringSSL built itself fails only when memory does: a broken invariant.
    CBB_cleanup(&cbb);
    abort();
  }
  core::appendBase64Url(out, bytesView(der, len));
  OPENSSL_cleanse(der, len);
  OPENSSL_free(der);
}

Status SigningKey::signRaw(std::string_view signingInput, uint8_t* sig) const {
  const auto* msg = reinterpret_cast<const uint8_t*>(signingInput.data());
  if (impl_->alg == JwtAlg::kEdDSA) {
    if (ED25519_sign(sig, msg, signingInput.size(), impl_->edPrivate)) return {};
    return Error(Errc::kInternal, "jwt: signing failed");
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(msg, signingInput.size(), digest);
  bool ok = false;
  if (impl_->alg == JwtAlg::kRS256) {
    unsigned len = 0;
    ok = RSA_sign(NID_sha256, digest, sizeof digest, sig, &len, impl_->rsa) &&
         len == impl_->sigSize;
  } else {
    bssl::UniquePtr<ECDSA_SIG> s(ECDSA_do_sign(digest, sizeof digest, impl_->ec));
    if (s) {
      const BIGNUM *r = nullptr, *sv = nullptr;
      ECDSA_SIG_get0(s.get(), &r, &sv);
      ok = BN_bn2bin_padded(sig, 32, r) && BN_bn2bin_padded(sig + 32, 32, sv);
    }
  }
  if (ok) return {};
  ERR_clear_error();
  return Error(Errc::kInternal, "jwt: signing failed");
}

Status SigningKey::sign(std::string_view signingInput, std::string& sigOut) const {
  size_t start = sigOut.size();
  sigOut.resize(start + impl_->sigSize);
  Status s = signRaw(signingInput, reinterpret_cast<uint8_t*>(sigOut.data() + start));
  if (!s) sigOut.resize(start);
  return s;
}

bool SigningKey::verify(std::string_view signingInput, std::string_view signature) const {
  if (signature.size() != impl_->sigSize) return false;
  const auto* msg = reinterpret_cast<const uint8_t*>(signingInput.data());
  const auto* sig = reinterpret_cast<const uint8_t*>(signature.data());
  if (impl_->alg == JwtAlg::kEdDSA) {
    return ED25519_verify(msg, signingInput.size(), sig, impl_->edPublic) == 1;
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(msg, signingInput.size(), digest);
  bool ok = false;
  if (impl_->alg == JwtAlg::kRS256) {
    ok = RSA_verify(NID_sha256, digest, sizeof digest, sig, signature.size(), impl_->rsa) == 1;
  } else {
    // JWS carries r||s; ECDSA_do_verify wants the pair as numbers. It refuses r or s outside
    // [1, n-1] itself.
    bssl::UniquePtr<ECDSA_SIG> s(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(sig, 32, nullptr);
    BIGNUM* sv = BN_bin2bn(sig + 32, 32, nullptr);
    if (s && r && sv && ECDSA_SIG_set0(s.get(), r, sv)) {
      ok = ECDSA_do_verify(digest, sizeof digest, s.get(), impl_->ec) == 1;
    } else {
      BN_free(r);
      BN_free(sv);
    }
  }
  if (!ok) ERR_clear_error();
  return ok;
}

Result<std::string> jwkThumbprint(std::string_view jwkJson) {
  core::Arena arena(1024);
  const http::JsonValue* root = nullptr;
  if (http::parseJson(jwkJson, arena, &root) != http::JsonError::kNone || !root->isObject()) {
    return Error(Errc::kInvalidArgument, "jwk: not a JSON object");
  }
  // A required member: a string in the base64url alphabet (curve names are too), else empty.
  auto get = [&](std::string_view name) -> std::string_view {
    const std::string_view* v = root->findString(name);
    return v != nullptr && isBase64UrlText(*v) ? *v : std::string_view();
  };
  const std::string_view* kty = root->findString("kty");
  std::string_view ktyName = kty != nullptr ? *kty : std::string_view();
  if (ktyName == "RSA") {
    std::string_view e = get("e"), n = get("n");
    if (!e.empty() && !n.empty()) return thumbprintOf({{"e", e}, {"kty", "RSA"}, {"n", n}});
  } else if (ktyName == "EC") {
    std::string_view crv = get("crv"), x = get("x"), y = get("y");
    if (!crv.empty() && !x.empty() && !y.empty()) {
      return thumbprintOf({{"crv", crv}, {"kty", "EC"}, {"x", x}, {"y", y}});
    }
  } else if (ktyName == "OKP") {
    std::string_view crv = get("crv"), x = get("x");
    if (!crv.empty() && !x.empty()) return thumbprintOf({{"crv", crv}, {"kty", "OKP"}, {"x", x}});
  } else {
    return Error(Errc::kInvalidArgument, "jwk: unknown kty");
  }
  return Error(Errc::kInvalidArgument, "jwk: a required member is missing or not base64url");
}

}  // namespace handoff::oauth
