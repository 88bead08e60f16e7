// Test helpers for TLS listeners: test certificates from tools/gen-test-certs, a BoringSSL client
// that turns the fixture's Client into a TLS one (versions, SNI, ALPN, resumption, the peer's
// certificate), and a runner for the command-line clients (curl, openssl s_client).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server_fixture.h"

namespace handoff::it {

// $HANDOFF_GEN_TEST_CERTS, else tools/gen-test-certs relative to the working directory.
std::string genTestCertsPath();

// Runs tools/gen-test-certs [--renew] DIR; false (with its output in *why) on failure.
bool genTestCerts(const std::string& dir, bool renew, std::string* why);

// A file's first line ("server.serial" holds the leaf's serial in lower-case hex).
std::string readLine(const std::string& path);

struct CommandResult {
  int exitCode = -1;  // 128+N for death by signal N; -1 when it could not run or timed out
  std::string out;    // stdout and stderr together
};

// Runs argv[0] (found on PATH) with `input` on its stdin, killed after `timeout`. Its stdin
// stays open `holdInput` after the input (openssl s_client acts on a line, then quits at EOF).
CommandResult runCommand(const std::vector<std::string>& argv, const std::string& input = "",
                         Millis timeout = Millis(10000), Millis holdInput = Millis(0));

// A TLS session a client can offer again (opaque).
struct TlsSession;

struct TlsOptions {
  std::string caFile;                         // verify the chain against it; empty: no verification
  std::string verifyIp = "127.0.0.1";         // the address the certificate must name (with caFile)
  std::string serverName;                     // SNI; empty: none sent
  std::vector<std::string> alpn{"http/1.1"};  // offered protocols; empty: no ALPN extension
  int minVersion = 0x0303;                    // TLS 1.2
  int maxVersion = 0x0304;                    // TLS 1.3
  std::shared_ptr<TlsSession> session;        // offered for resumption
};

struct TlsInfo {
  std::string version;                     // "TLSv1.2", "TLSv1.3"
  std::string alpn;                        // negotiated protocol; "" when none
  bool resumed = false;
  std::string serial;                      // the leaf's serial, lower-case hex
  std::vector<std::string> chainSubjects;  // the certificates the server sent, leaf first
  std::string error;                       // why the handshake failed
};

// Connects to 127.0.0.1:port and completes a TLS handshake over it. nullopt when the connection
// or the handshake fails (info->error says why).
std::optional<Client> tlsConnect(uint16_t port, const TlsOptions& options, TlsInfo* info = nullptr);

// The newest session the server gave `client` (TLS 1.3 tickets arrive after the handshake:
// read a response first); null when there is none.
std::shared_ptr<TlsSession> tlsSessionOf(const Client& client);

// GET /metrics over TLS on a fresh connection (no certificate check); "" on failure.
std::string fetchMetricsOverTls(uint16_t port);

}  // namespace handoff::it
