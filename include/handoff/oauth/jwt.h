// JSON Web Tokens signed by the server (RFC 7515 compact serialization, RFC 7519 claims), the
// server's signing keys, the published key set (RFC 7517 JWKS) and its storage in the data
// directory. BoringSSL stays behind this header: no OpenSSL type appears here.
//
// Contracts:
//  - SigningKey is immutable after creation and thread-safe: any number of threads may sign
//    and verify with one key at the same time.
//  - KeySet is an immutable snapshot, shared as std::shared_ptr<const KeySet>. The control
//    thread builds a new one (loadOrCreateKeys, rotateKeys) and hands the pointer to the shards;
//    readers keep the old one alive for as long as they use it.
//  - signJwt and verifyJwt are thread-safe. They return Errors with static messages (request
//    path); the key-file functions name the file in theirs (start-up and rotation only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "handoff/core/result.h"

namespace handoff::oauth {

// The JWS algorithms the server signs with (RFC 7518 §3, RFC 8037 §3.1).
enum class JwtAlg : uint8_t {
  kRS256,  // RSASSA-PKCS1-v1_5 with SHA-256; keys are RSA-2048 (2048..4096 bits accepted)
  kES256,  // ECDSA P-256 with SHA-256; the signature is r||s, 64 bytes
  kEdDSA,  // Ed25519
};

// "RS256", "ES256", "EdDSA".
std::string_view jwtAlgName(JwtAlg alg);
// The algorithm with exactly that name (case-sensitive); nullopt for any other, "none" included.
std::optional<JwtAlg> parseJwtAlg(std::string_view name);

// One private signing key with its key id and public JWK, both computed once at creation.
// Immutable and thread-safe (see above). The private half never leaves except through
// appendPrivate, for the key file.
class SigningKey {
 public:
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  // A fresh key from the system's random source: RSA-2048 with e = 65537, P-256, or Ed25519.
  static core::Result<std::unique_ptr<SigningKey>> generate(JwtAlg alg);

  // Rebuilds a key from the text appendPrivate wrote: base64url (unpadded) of the PKCS#8
  // PrivateKeyInfo DER (RFC 5208/5958), the form `openssl pkcs8 -topk8 -nocrypt -outform DER`
  // writes. Fails with kInvalidArgument when the text is not that, or the key does not suit
  // `alg` (wrong type, an RSA modulus outside 2048..4096 bits, a curve other than P-256).
  static core::Result<std::unique_ptr<SigningKey>> fromPrivate(JwtAlg alg, std::string_view stored);

  JwtAlg alg() const;
  // The RFC 7638 JWK thumbprint of the public key: base64url of its SHA-256, 43 characters.
  const std::string& kid() const;
  // Appends the public JWK: {"kty","kid","use":"sig","alg"} plus "n","e" (RSA), "crv":"P-256",
  // "x","y" (EC) or "crv":"Ed25519","x" (OKP, RFC 8037).
  void appendJwk(std::string& out) const;
  // Appends the private key in the form fromPrivate reads. The caller keeps it secret.
  void appendPrivate(std::string& out) const;

  // The length of every signature this key makes: the modulus size for RSA, 64 otherwise.
  size_t signatureSize() const;
  // Signs `signingInput` and writes signatureSize() bytes to `sig`: PKCS#1 v1.5 over SHA-256,
  // raw r||s (each 32 bytes, big-endian) over SHA-256, or Ed25519. Fails (kInternal) only if
  // BoringSSL does, e.g. out of memory.
  core::Status signRaw(std::string_view signingInput, uint8_t* sig) const;
  // As signRaw, appending the signature bytes to `sigOut`; on failure `sigOut` is unchanged.
  core::Status sign(std::string_view signingInput, std::string& sigOut) const;
  // True when `signature` is this key's valid signature of `signingInput` in the form sign
  // writes. Any other length, and for ES256 a DER signature, is false.
  bool verify(std::string_view signingInput, std::string_view signature) const;

  // base64url({"alg":"…","typ":"JWT","kid":"…"}) followed by '.': the first part of every JWT
  // this key signs, encoded once.
  std::string_view jwtHeaderPrefix() const;

  struct Impl;  // defined by the implementation; holds the BoringSSL key

 private:
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The RFC 7638 thumbprint (base64url of SHA-256, 43 characters) of the public JWK in `jwkJson`,
// a JSON object. Only the required members of its "kty" count: "e","n" (RSA), "crv","x","y"
// (EC), "crv","x" (OKP); the others are ignored. Fails with kInvalidArgument on malformed JSON,
// an unknown kty or a missing member. Used by tests and for the "jkt" of proof-of-possession.
core::Result<std::string> jwkThumbprint(std::string_view jwkJson);

// The keys the server publishes: the current signing key first, then older keys that still
// verify tokens issued before a rotation. Immutable snapshot (see above).
class KeySet {
 public:
  struct Entry {
    std::shared_ptr<const SigningKey> key;
    int64_t createdAt = 0;  // Unix seconds
  };

  // entries[0] becomes the current key. Fails with kInvalidArgument when `entries` is empty,
  // holds a null key, or two keys with the same kid.
  static core::Result<std::shared_ptr<const KeySet>> create(std::vector<Entry> entries);

  const SigningKey& current() const { return *entries_.front().key; }
  // The key with that kid, or nullptr.
  const SigningKey* find(std::string_view kid) const;
  // Every key, current first.
  std::span<const Entry> entries() const { return entries_; }
  // Appends {"keys":[…]}: the public JWKs, current first (built once at creation).
  void appendJwks(std::string& out) const { out.append(jwks_); }
  const std::string& jwks() const { return jwks_; }

 private:
  explicit KeySet(std::vector<Entry> entries);
  std::vector<Entry> entries_;
  std::string jwks_;
};

// A JWT longer than this is refused by verifyJwt without further work.
inline constexpr size_t kMaxJwtBytes = 16 * 1024;

// Appends the compact JWT header.claims.signature to `out`: the key's header prefix (alg, typ
// "JWT", kid), then base64url(claimsJson), then base64url of the signature over both. The claims
// are signed as given; the caller writes them as one JSON object. `claimsJson` must not point
// into `out`, which may grow. On failure (kInternal) `out` is unchanged.
core::Status signJwt(const SigningKey& key, std::string_view claimsJson, std::string& out);

// Checks a compact JWT signed by one of `keys` and appends its decoded claims (the JSON text,
// not parsed nor validated: exp, aud, iss and the rest are the caller's) to `claimsJsonOut`.
// Strict: exactly three canonical base64url parts; a header that is one JSON object with string
// "alg" and "kid" (a "typ", if present, must be a string) and no "crit"; "alg" must name the
// algorithm of the key that "kid" names, so "none", "HS256" and any other alg are refused.
// Errors: kNotFound for an unknown kid, kInvalidArgument for everything else (kLimit above
// kMaxJwtBytes). On failure `claimsJsonOut` is unchanged.
core::Status verifyJwt(const KeySet& keys, std::string_view jwt, std::string& claimsJsonOut);

// ── Key file ────────────────────────────────────────────────────────────────────────────────
// DATA_DIR/keys.json holds a JSON array, current key first:
//   [{"kid":"…","alg":"ES256","created_at":1700000000,"private":"<appendPrivate text>"},…]
// It is written atomically (keys.json.tmp, mode 0600, fsync, rename, fsync of the directory)
// and read back strictly: a stored kid must match its key. Neither function is safe to call
// concurrently on the same directory; the server calls them from the control thread while it
// holds the data directory's lock.

inline constexpr size_t kDefaultKeepOld = 2;

// Loads DATA_DIR/keys.json, or when it does not exist generates one key of `alg` and writes the
// file. When the stored current key is of another algorithm, rotates to a new key of `alg` as
// rotateKeys does. A file that exists but cannot be read or parsed is an error (kIo or
// kInvalidArgument); it is never overwritten.
core::Result<std::shared_ptr<const KeySet>> loadOrCreateKeys(const std::string& dataDir,
                                                             JwtAlg alg,
                                                             size_t keepOld = kDefaultKeepOld);

// The key file's text of `keys`, as keys.json holds it (the form the nodes of a Redis Cluster
// deployment share: admin/node.cc), and the inverse: a key set read from such a text as strictly
// as the file, then written as DATA_DIR/keys.json. kInvalidArgument for a text that is not one.
std::string formatKeys(const KeySet& keys);
core::Result<std::shared_ptr<const KeySet>> adoptKeys(const std::string& dataDir, std::string_view text);

// Generates a new current key of `alg`, keeps the newest `keepOld` of the existing keys
// published after it, writes the file and returns the new set. A missing file is treated as an
// empty one.
core::Result<std::shared_ptr<const KeySet>> rotateKeys(const std::string& dataDir, JwtAlg alg,
                                                       size_t keepOld = kDefaultKeepOld);

}  // namespace handoff::oauth
