// Small cryptographic primitives the OAuth endpoints share: random bytes and tokens, constant-time
// comparison, SHA-256 (PKCE S256, hashes of tokens for logs) and password hashing.
//
// BoringSSL stays behind this header: src/oauth/crypto.cc is, with src/oauth/jwt_key.cc, the only
// file of ours that includes <openssl/...>. Every function here is thread-safe and allocates at
// most its return value. A failure of the system's random source is a broken invariant: the
// process aborts rather than hand out a predictable token or salt.
//
// Stored password hashes have the form `pbkdf2-sha256$<iterations>$<salt>$<hash>`: PBKDF2-HMAC-
// SHA256 (RFC 8018 §5.2) with a 16-byte random salt and a 32-byte output, salt and hash in
// unpadded base64url, iterations in decimal without leading zeros.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace handoff::oauth {

constexpr size_t kSha256Bytes = 32;

// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
constexpr uint32_t kDefaultPasswordIterations = 210000;
// verifyPassword refuses stored hashes that claim more work than this, so that a damaged record
// cannot pin a thread for minutes.
constexpr uint32_t kMaxPasswordIterations = 10'000'000;

// Fills `out` from BoringSSL's CSPRNG. Aborts if the random source fails.
void randomBytes(std::span<uint8_t> out);

// `bytes` random bytes as unpadded base64url: 43 characters for the default 32 bytes (256 bits).
std::string randomToken(size_t bytes = 32);

// True when a and b hold the same bytes. The time taken depends only on a.size(), never on the
// content of either string nor on where they differ; a length mismatch returns false after the
// same amount of work. Pass the presented (untrusted) value as `a` and the secret as `b`, so that
// the time reveals nothing about the secret, not even its length.
bool constantTimeEquals(std::string_view a, std::string_view b);

// SHA-256 of `in` into out[0..32).
void sha256(std::string_view in, uint8_t out[kSha256Bytes]);
// Unpadded base64url of SHA-256(in), 43 characters: the PKCE S256 code_challenge of a verifier
// (RFC 7636 §4.2), and the form in which tokens may appear in logs.
std::string sha256Base64Url(std::string_view in);

// Hashes `password` with a fresh random salt. `iterations` must lie in 1..kMaxPasswordIterations;
// anything else is a broken invariant and aborts (Tenant::build validates it first).
std::string hashPassword(std::string_view password, uint32_t iterations = kDefaultPasswordIterations);

// True when `stored` is a well-formed hash (exactly the form above: the prefix, four fields, a
// 16-byte salt, a 32-byte hash, iterations in range, canonical base64url) and `password` hashes
// to it; the final comparison is constant-time. Any malformed `stored` gives false, and so does
// a password holding a NUL byte: HMAC pads keys with zeros, so "pw\0" would otherwise pass for
// "pw" (hashPassword's input should not hold one either; Tenant::build refuses it).
bool verifyPassword(std::string_view password, std::string_view stored);

// Costs what verifyPassword costs on a stored hash of `iterations` iterations, and returns false.
// The login path calls it for an unknown user (or one without a password) so that the answer
// takes as long as for a known user with a wrong password. `iterations` is clamped to
// 1..kMaxPasswordIterations.
bool verifyAgainstDummy(std::string_view password, uint32_t iterations = kDefaultPasswordIterations);

}  // namespace handoff::oauth
