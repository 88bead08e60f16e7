#include "tls_helpers.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

extern char** environ;

namespace handoff::it {

using Clock = std::chrono::steady_clock;

struct TlsSession {
  bssl::UniquePtr<SSL_SESSION> s;
};

namespace {

int msLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

std::string lowerHex(const ASN1_INTEGER* serial) {
  bssl::UniquePtr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return "";
  bssl::UniquePtr<char> hex(BN_bn2hex(bn.get()));
  std::string out = hex.get();
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

// TLS over the Client's (blocking) socket.
class TlsChannel final : public ClientChannel {
 public:
  TlsChannel(bssl::UniquePtr<SSL_CTX> ctx, bssl::UniquePtr<SSL> ssl) : ctx_(std::move(ctx)), ssl_(std::move(ssl)) {
    SSL_set_app_data(ssl_.get(), this);
  }
  ~TlsChannel() override {
    SSL_shutdown(ssl_.get());  // close_notify, best effort
    ERR_clear_error();
  }

  ssize_t send(int, const char* data, size_t n) override {
    int r = SSL_write(ssl_.get(), data, static_cast<int>(n));
    if (r > 0) return r;
    ERR_clear_error();
    errno = EPIPE;
    return -1;
  }

  ssize_t recv(int, char* data, size_t n) override {
    int r = SSL_read(ssl_.get(), data, static_cast<int>(n));
    if (r > 0) return r;
    int e = SSL_get_error(ssl_.get(), r);
    bool clean = e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0);
    ERR_clear_error();
    if (clean) return 0;  // close_notify, or the TCP connection ended
    errno = ECONNRESET;   // an alert or a TLS error: the connection is gone
    return -1;
  }

  bool buffered() const override { return SSL_pending(ssl_.get()) > 0; }

  SSL* ssl() const { return ssl_.get(); }
  std::shared_ptr<TlsSession> latest;  // the newest session the server handed out

  static int onNewSession(SSL* ssl, SSL_SESSION* session) {
    auto* self = static_cast<TlsChannel*>(SSL_get_app_data(ssl));
    self->latest = std::make_shared<TlsSession>();
    self->latest->s.reset(session);  // ours now
    return 1;
  }

 private:
  bssl::UniquePtr<SSL_CTX> ctx_;
  bssl::UniquePtr<SSL> ssl_;
};

}  // namespace

std::string genTestCertsPath() {
  const char* p = std::getenv("HANDOFF_GEN_TEST_CERTS");
  return p != nullptr && *p != '\0' ? p : "tools/gen-test-certs";
}

bool genTestCerts(const std::string& dir, bool renew, std::string* why) {
  std::vector<std::string> argv{genTestCertsPath()};
  if (renew) argv.push_back("--renew");
  argv.push_back(dir);
  CommandResult r = runCommand(argv);
  if (r.exitCode != 0 && why != nullptr) *why = "gen-test-certs exited " + std::to_string(r.exitCode) + ": " + r.out;
  return r.exitCode == 0;
}

std::string readLine(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

CommandResult runCommand(const std::vector<std::string>& argv, const std::string& input, Millis timeout,
                         Millis holdInput) {
  CommandResult res;
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return res;
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return res;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    res.out = std::string("cannot run ") + argv[0] + ": " + std::strerror(rc);
    return res;
  }
  signal(SIGPIPE, SIG_IGN);  // a child that exits before reading its input
  size_t written = 0;
  while (written < input.size()) {
    ssize_t n = ::write(in[1], input.data() + written, input.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  auto deadline = Clock::now() + timeout;
  auto release = Clock::now() + holdInput;
  bool inputOpen = true;
  if (holdInput.count() == 0) {
    ::close(in[1]);
    inputOpen = false;
  }
  bool timedOut = false;
  for (;;) {
    pollfd p{out[0], POLLIN, 0};
    int n = ::poll(&p, 1, inputOpen ? std::min(msLeft(release), msLeft(deadline)) : msLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && inputOpen && msLeft(release) == 0) {
      ::close(in[1]);
      inputOpen = false;
      continue;
    }
    if (n == 0) {
      timedOut = true;
      break;
    }
    char buf[4096];
    ssize_t got = ::read(out[0], buf, sizeof buf);
    if (got <= 0) break;
    res.out.append(buf, static_cast<size_t>(got));
  }
  ::close(out[0]);
  if (inputOpen) ::close(in[1]);
  if (timedOut) ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (!timedOut) res.exitCode = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
  return res;
}

std::optional<Client> tlsConnect(uint16_t port, const TlsOptions& o, TlsInfo* info) {
  TlsInfo scratch;
  TlsInfo& inf = info != nullptr ? *info : scratch;
  signal(SIGPIPE, SIG_IGN);  // BoringSSL writes to the socket with write(2)
  Client c(port);
  if (!c.connected()) {
    inf.error = c.error();
    return std::nullopt;
  }
  timeval tv{5, 0};
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);  // a silent server cannot hang a test

  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
  SSL_CTX_sess_set_new_cb(ctx.get(), TlsChannel::onNewSession);
  if (!o.caFile.empty()) {
    if (!SSL_CTX_load_verify_locations(ctx.get(), o.caFile.c_str(), nullptr)) {
      inf.error = "cannot load " + o.caFile;
      return std::nullopt;
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
  SSL_set_min_proto_version(ssl.get(), static_cast<uint16_t>(o.minVersion));
  SSL_set_max_proto_version(ssl.get(), static_cast<uint16_t>(o.maxVersion));
  if (!o.serverName.empty()) SSL_set_tlsext_host_name(ssl.get(), o.serverName.c_str());
  if (!o.caFile.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    if (!o.serverName.empty()) X509_VERIFY_PARAM_set1_host(param, o.serverName.data(), o.serverName.size());
    else if (!o.verifyIp.empty()) X509_VERIFY_PARAM_set1_ip_asc(param, o.verifyIp.c_str());
  }
  if (!o.alpn.empty()) {
    std::string wire;
    for (const std::string& p : o.alpn) wire += static_cast<char>(p.size()) + p;
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
  }
  if (o.session) SSL_set_session(ssl.get(), o.session->s.get());
  SSL_set_fd(ssl.get(), c.fd());
  SSL* raw = ssl.get();
  auto channel = std::make_unique<TlsChannel>(std::move(ctx), std::move(ssl));
  if (SSL_connect(raw) != 1) {
    uint32_t e = ERR_peek_last_error();
    const char* r = e != 0 ? ERR_reason_error_string(e) : nullptr;
    inf.error = r != nullptr ? r : "handshake failed (connection closed)";
    ERR_clear_error();
    return std::nullopt;
  }
  inf.version = SSL_get_version(raw);
  const uint8_t* alpn = nullptr;
  unsigned alpnLen = 0;
  SSL_get0_alpn_selected(raw, &alpn, &alpnLen);
  inf.alpn.assign(reinterpret_cast<const char*>(alpn), alpnLen);
  inf.resumed = SSL_session_reused(raw) != 0;
  inf.chainSubjects.clear();
  if (STACK_OF(X509)* chain = SSL_get_peer_full_cert_chain(raw)) {
    for (size_t i = 0; i < sk_X509_num(chain); ++i) {
      X509* x = sk_X509_value(chain, i);
      char subject[256];
      X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject);
      inf.chainSubjects.push_back(subject);
      if (i == 0) inf.serial = lowerHex(X509_get_serialNumber(x));
    }
  }
  c.setChannel(std::move(channel));
  return c;
}

std::shared_ptr<TlsSession> tlsSessionOf(const Client& client) {
  auto* ch = dynamic_cast<TlsChannel*>(client.channel());
  return ch != nullptr ? ch->latest : nullptr;
}

std::string fetchMetricsOverTls(uint16_t port) {
  auto c = tlsConnect(port, TlsOptions{});
  if (!c) return "";
  auto r = c->roundTrip("GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n");
  return r && r->status == 200 ? r->body : std::string();
}

}  // namespace handoff::it
