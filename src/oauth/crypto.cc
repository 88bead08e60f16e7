// The second (and last) file of ours that includes BoringSSL, beside jwt_key.cc: RAND_bytes,
// CRYPTO_memcmp, SHA256 and PKCS5_PBKDF2_HMAC behind the plain functions of crypto.h.
#include "handoff/oauth/crypto.h"

#include <openssl/digest.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <vector>

#include "handoff/core/base64.h"

namespace handoff::oauth {

namespace {

constexpr std::string_view kHashPrefix = "pbkdf2-sha256$";
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

std::string_view bytesView(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

// PBKDF2-HMAC-SHA256. BoringSSL fails only on allocation failure or zero iterations, both ruled
// out by the callers, so a failure is a broken invariant.
void pbkdf2(std::string_view password, const uint8_t* salt, uint32_t iterations, uint8_t out[kHashBytes]) {
  if (PKCS5_PBKDF2_HMAC(password.data(), password.size(), salt, kSaltBytes, iterations, EVP_sha256(),
                        kHashBytes, out) != 1) {
    abort();
  }
}

// Decimal without sign or leading zeros, within 1..kMaxPasswordIterations.
bool parseIterations(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 10 || s[0] == '0') return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > kMaxPasswordIterations) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

void randomBytes(std::span<uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), out.size()) != 1) abort();
}

std::string randomToken(size_t bytes) {
  uint8_t stackBuf[64];
  std::vector<uint8_t> heapBuf;
  uint8_t* buf = stackBuf;
  if (bytes > sizeof stackBuf) {
    heapBuf.resize(bytes);
    buf = heapBuf.data();
  }
  randomBytes({buf, bytes});
  std::string out(core::base64UrlEncodedLength(bytes), '\0');
  core::encodeBase64Url(buf, bytes, out.data());
  OPENSSL_cleanse(buf, bytes);
  return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  // On a length mismatch `a` is compared with itself, so the work is the same and no byte of `b`
  // (which may be shorter) is read.
  const bool sameLength = a.size() == b.size();
  const char* other = sameLength ? b.data() : a.data();
  const int diff = CRYPTO_memcmp(a.data(), other, a.size());
  return sameLength & (diff == 0);
}

void sha256(std::string_view in, uint8_t out[kSha256Bytes]) {
  SHA256(reinterpret_cast<const uint8_t*>(in.data()), in.size(), out);
}

std::string sha256Base64Url(std::string_view in) {
  uint8_t digest[kSha256Bytes];
  sha256(in, digest);
  std::string out(core::base64UrlEncodedLength(kSha256Bytes), '\0');
  core::encodeBase64Url(digest, kSha256Bytes, out.data());
  return out;
}

std::string hashPassword(std::string_view password, uint32_t iterations) {
  if (iterations == 0 || iterations > kMaxPasswordIterations) abort();
  uint8_t salt[kSaltBytes];
  randomBytes(salt);
  uint8_t hash[kHashBytes];
  pbkdf2(password, salt, iterations, hash);
  std::string out;
  out.reserve(kHashPrefix.size() + 10 + 2 + core::base64UrlEncodedLength(kSaltBytes) +
              core::base64UrlEncodedLength(kHashBytes));
  out.append(kHashPrefix);
  out.append(std::to_string(iterations));
  out.push_back('$');
  core::appendBase64Url(out, bytesView(salt, kSaltBytes));
  out.push_back('$');
  core::appendBase64Url(out, bytesView(hash, kHashBytes));
  OPENSSL_cleanse(hash, sizeof hash);
  return out;
}

bool verifyPassword(std::string_view password, std::string_view stored) {
  // HMAC pads short keys with zero bytes, so "pw" and "pw\0" would be the same password.
  if (password.find('\0') != std::string_view::npos) return false;
  if (!stored.starts_with(kHashPrefix)) return false;
  std::string_view rest = stored.substr(kHashPrefix.size());
  size_t d1 = rest.find('$');
  if (d1 == std::string_view::npos) return false;
  size_t d2 = rest.find('$', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  std::string_view iterText = rest.substr(0, d1);
  std::string_view saltText = rest.substr(d1 + 1, d2 - d1 - 1);
  std::string_view hashText = rest.substr(d2 + 1);  // a further '$' fails the length check below

  uint32_t iterations = 0;
  if (!parseIterations(iterText, iterations)) return false;
  if (saltText.size() != core::base64UrlEncodedLength(kSaltBytes) ||
      hashText.size() != core::base64UrlEncodedLength(kHashBytes)) {
    return false;
  }
  std::string salt;
  std::string expected;
  if (!core::decodeBase64Url(saltText, salt) || !core::decodeBase64Url(hashText, expected)) return false;
  if (salt.size() != kSaltBytes || expected.size() != kHashBytes) return false;

  uint8_t actual[kHashBytes];
  pbkdf2(password, reinterpret_cast<const uint8_t*>(salt.data()), iterations, actual);
  bool match = constantTimeEquals(bytesView(actual, kHashBytes), expected);
  OPENSSL_cleanse(actual, sizeof actual);
  return match;
}

bool verifyAgainstDummy(std::string_view password, uint32_t iterations) {
  if (iterations == 0) iterations = 1;
  if (iterations > kMaxPasswordIterations) iterations = kMaxPasswordIterations;
  // A fixed salt and target: nothing is secret here, only the cost matters. The comparison is
  // kept so that the work matches verifyPassword's step for step.
  static constexpr uint8_t kDummySalt[kSaltBytes] = {'h', 'a', 'n', 'd', 'o', 'f', 'f', '-',
                                                     'd', 'u', 'm', 'm', 'y', '-', 'p', 'w'};
  static constexpr uint8_t kDummyHash[kHashBytes] = {};
  uint8_t actual[kHashBytes];
  pbkdf2(password, kDummySalt, iterations, actual);
  bool match = constantTimeEquals(bytesView(actual, kHashBytes), bytesView(kDummyHash, kHashBytes));
  OPENSSL_cleanse(actual, sizeof actual);
  (void)match;
  return false;
}

}  // namespace handoff::oauth
