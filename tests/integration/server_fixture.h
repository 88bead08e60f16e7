// Integration-test harness: a real handoffd child process and a raw-socket HTTP/1.1 client.
//
// Server spawns the binary named by $HANDOFFD (set by meson; falls back to build/src/handoffd)
// with a fresh temporary directory for its data dir, config file and stderr log, waits with
// poll() for the "listening on HOST:PORT" line, and SIGKILLs the process in its destructor if a
// test left it running. Client speaks bytes, not HTTP: it sends exactly what a test gives it
// (optionally one byte per send) and parses responses strictly enough to tell framing apart.
//
// Nothing here depends on GoogleTest; failures are reported through return values and error().
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace handoff::it {

using Millis = std::chrono::milliseconds;

// $HANDOFFD, else build/src/handoffd relative to the working directory.
std::string handoffdPath();

// A config file that listens on 127.0.0.1:0 (a file must name a listener) with `limitsBody`
// as the body of its [limits] table, e.g. "max_pipelined = 4\nidle_timeout_ms = 300\n".
std::string configWithLimits(std::string_view limitsBody);

// Printable form of raw protocol bytes for failure messages ("\r\n" → "\\r\\n").
std::string escapeBytes(std::string_view bytes);

// Repeats `pred` (every few milliseconds) until it holds or `timeout` passes. Only for state
// the process exposes no event for (a counter, a gauge updated after a close callback).
bool eventually(const std::function<bool()>& pred, Millis timeout = Millis(3000));

struct ServerOptions {
  std::string config;                  // TOML text for --config; empty: no --config (demo tenant)
  std::string listen = "127.0.0.1:0";  // --listen; empty: none (the config's listeners apply)
  unsigned threads = 2;                // --threads; 0: flag omitted
  std::string dataDir;                 // --data-dir; empty: a fresh directory of this server's own
  bool noPin = true;                   // --no-pin
  std::vector<std::string> extraArgs;
  unsigned listeners = 1;  // "listening on" lines start() waits for (one per listener; see ports())
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();  // SIGKILL + reap if still running; removes the temporary directory
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Spawns handoffd and waits for its first `options.listeners` "listening on" lines. False if
  // the process exits or the timeout passes first (see failure()).
  bool start(Millis timeout = Millis(5000));

  uint16_t port() const { return port_; }  // the first listener's
  const std::vector<uint16_t>& ports() const { return ports_; }  // every listener's, in printed order
  pid_t pid() const { return pid_; }
  const std::string& dataDir() const { return dataDir_; }
  const std::string& configPath() const { return configPath_; }
  const std::string& commandLine() const { return commandLine_; }

  bool running();
  bool signal(int sig);
  // Waits for the process to end. Returns its exit code (128+N for death by signal N), or
  // nullopt if it is still running after `timeout`.
  std::optional<int> waitExit(Millis timeout);
  // signal(sig) then waitExit(timeout).
  std::optional<int> stop(int sig = SIGTERM, Millis timeout = Millis(5000));

  std::string stdoutText() const { return stdout_; }
  std::string stderrText() const;  // everything the process has written to stderr so far
  std::string failure() const;     // why start() failed, with the command line and stderr

 private:
  ServerOptions options_;
  std::string tempDir_;
  std::string dataDir_;
  std::string configPath_;
  std::string stderrPath_;
  std::string commandLine_;
  std::string stdout_;
  std::string why_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdoutFd_ = -1;
  uint16_t port_ = 0;
  std::vector<uint16_t> ports_;
  std::optional<int> exitCode_;
};

struct HttpResponse {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string raw;  // the exact bytes of this response

  // The first value of a header (name compared case-insensitively); "" when absent.
  std::string header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
  size_t headerCount(std::string_view name) const;
  bool closes() const;  // "Connection: close"
};

// What a Client's bytes travel through: the socket itself unless a channel is set; the TLS
// helpers (tls_helpers.h) put TLS there.
class ClientChannel {
 public:
  virtual ~ClientChannel() = default;
  // Like ::send and ::recv on `fd` (recv: 0 at the end of the stream, < 0 with errno on errors).
  virtual ssize_t send(int fd, const char* data, size_t n) = 0;
  virtual ssize_t recv(int fd, char* data, size_t n) = 0;
  // Bytes already received and decoded, readable without waiting for the socket.
  virtual bool buffered() const = 0;
};

class Client {
 public:
  // Connects to 127.0.0.1:port (TCP_NODELAY, close-on-exec). Check connected().
  explicit Client(uint16_t port);
  // The same from a chosen local IPv4 address (bound before connecting; e.g. "127.0.0.2", any
  // loopback address works on Linux), so that the server sees another client IP. An empty
  // sourceIp is Client(port).
  Client(uint16_t port, const std::string& sourceIp);
  ~Client();
  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends and receives through `channel` from now on (a TLS session set up on fd()).
  void setChannel(std::unique_ptr<ClientChannel> channel) { channel_ = std::move(channel); }
  ClientChannel* channel() const { return channel_.get(); }

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const std::string& error() const { return error_; }

  // Sends every byte (blocking, 5 s send timeout). False on a send error (the peer closed).
  bool send(std::string_view bytes);
  // One byte per send() call, pausing `gap` between bytes so that each tends to arrive alone.
  bool sendBytewise(std::string_view bytes, Millis gap = Millis(1));
  void shutdownWrite();
  void close();

  // Reads one complete response (status line, headers, Content-Length or chunked body; a
  // response to HEAD or a 1xx/204/304 has no body). nullopt on timeout, a close before the
  // response is complete, or a malformed response; error() says which.
  std::optional<HttpResponse> readResponse(Millis timeout = Millis(3000), bool toHead = false);
  // send() then readResponse().
  std::optional<HttpResponse> roundTrip(std::string_view request, Millis timeout = Millis(3000));

  // Reads until the server closes (FIN or RST). Returns every byte received after what earlier
  // reads consumed; nullopt if the connection is still open after `timeout`.
  std::optional<std::string> readUntilEof(Millis timeout = Millis(3000));
  // True once data or the end of the stream is waiting to be read.
  bool readable(Millis timeout);
  bool peerClosed() const { return eof_; }
  bool peerReset() const { return reset_; }
  // Bytes received but not yet consumed by readResponse().
  const std::string& buffered() const { return buf_; }

 private:
  void connectTo(uint16_t port, const std::string& sourceIp);
  // Reads what is available (waiting up to the deadline). False on timeout or end of stream.
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::unique_ptr<ClientChannel> channel_;
  std::string buf_;
  bool eof_ = false;
  bool reset_ = false;
  std::string error_;
};

// Value of the Prometheus sample `series` (e.g. `handoff_connections_open` or
// `handoff_http_requests_total{route="healthz",status="200"}`) in a /metrics body.
std::optional<uint64_t> metricValue(std::string_view metricsText, std::string_view series);

// GET /metrics on a fresh connection; "" on failure.
std::string fetchMetrics(uint16_t port);

// A connection attempt to 127.0.0.1:port is refused (nothing listens there any more).
bool connectRefused(uint16_t port);

}  // namespace handoff::it
