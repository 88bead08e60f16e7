// TLS server contexts built from certificate files, and the session ticket keys.
//
// A Context is an immutable snapshot: one BoringSSL SSL_CTX per certificate (the default one,
// and one per extra certificate chosen by the client's SNI name), TLS 1.2 and 1.3 only, ALPN
// http/1.1, modern AEAD cipher suites, no compression, no renegotiation, no 0-RTT, no
// server-side session cache (resumption is by session ticket only). It is built on the control
// thread — at start and on SIGHUP — and handed to every shard; a connection keeps the SSL_CTX it
// began with, a newer Context serves the handshakes after it. Thread-safe once built.
//
// TicketKeys is an immutable key ring (current + previous) for session tickets, shared by every
// shard and every Context, so a ticket survives a certificate reload and resumes on any shard.
// Tickets are sealed with AES-256-CBC + HMAC-SHA256 under the current key; the previous key
// still opens them (and the ticket is then renewed under the current one).
//
// Only src/tls/ includes BoringSSL's ssl headers; the SSL_CTX is named here by its C struct tag.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "handoff/core/result.h"

struct ssl_ctx_st;

namespace handoff::tls {

struct CertificateFiles {
  std::string cert;                // PEM chain: the leaf first, then intermediates
  std::string key;                 // PEM private key of the leaf (unencrypted)
  std::vector<std::string> names;  // SNI names; empty: the DNS names of the leaf's subjectAltName
};

struct ContextOptions {
  CertificateFiles defaultCert;           // served for any other name, and without SNI
  std::vector<CertificateFiles> bySni;    // the tenant's custom domains, for instance
  uint32_t ticketLifetimeS = 3600;        // how long a client may resume (the rotation period)
};

// What a certificate in service is, for logs and /metrics.
struct CertificateInfo {
  std::string file;
  std::string subject;                 // the leaf's subject, one line
  std::string serialHex;               // lower-case hex, no separators
  int64_t notAfter = 0;                // Unix seconds
  std::vector<std::string> names;      // the SNI names it answers (empty for the default)
  size_t chainLength = 0;              // certificates in the file, the leaf included
};

class Context {
 public:
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Reads and checks every certificate and key: readable files, PEM a certificate chain and a
  // private key, the key matching the leaf, the leaf not expired at `nowUnix` (0: the clock).
  // Errors name the file and what is wrong with it. Off the request path (it reads files).
  static core::Result<std::shared_ptr<const Context>> build(const ContextOptions& options, int64_t nowUnix = 0);

  // The SSL_CTX new connections start with (the default certificate; SNI may switch it).
  ssl_ctx_st* initial() const;
  // Certificates in service: the default first, then the SNI ones in configuration order.
  const std::vector<CertificateInfo>& certificates() const { return infos_; }
  // The earliest notAfter among them.
  int64_t earliestNotAfter() const;

  struct Impl;

 private:
  explicit Context(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::vector<CertificateInfo> infos_;
};

struct TicketKey {
  uint8_t name[16];
  uint8_t aesKey[32];
  uint8_t hmacKey[32];
};

class TicketKeys {
 public:
  // A first ring: one fresh random key, no previous one.
  static std::shared_ptr<const TicketKeys> generate();
  // The next ring: a fresh current key, this ring's current as the previous.
  std::shared_ptr<const TicketKeys> rotated() const;

  const TicketKey& current() const { return current_; }
  // The key whose name is `name` (16 bytes), and whether it is the previous one; null if none.
  const TicketKey* find(const uint8_t* name, bool* isPrevious) const;

 private:
  TicketKey current_{};
  TicketKey previous_{};
  bool hasPrevious_ = false;
};

}  // namespace handoff::tls
