#include "server_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace handoff::it {

using Clock = std::chrono::steady_clock;

namespace {

int msLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string shellQuote(const std::string& s) {
  if (s.find_first_of(" \t'\"\\$") == std::string::npos) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string tempBase() {
  const char* t = std::getenv("TMPDIR");
  return t != nullptr && *t != '\0' ? t : "/tmp";
}

// Outcome of parsing the front of a buffer as one response.
enum class Parse { kNeedMore, kDone, kMalformed };

Parse parseResponse(std::string_view in, bool toHead, bool eof, HttpResponse* out, size_t* used, std::string* why) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return Parse::kNeedMore;
  std::string_view head = in.substr(0, end);
  size_t pos = head.find("\r\n");
  std::string_view statusLine = head.substr(0, pos);
  // "HTTP/1.1 200 OK"
  if (statusLine.size() < 12 || statusLine.substr(0, 5) != "HTTP/" || statusLine[8] != ' ') {
    *why = "malformed status line: " + escapeBytes(statusLine);
    return Parse::kMalformed;
  }
  HttpResponse r;
  r.version = std::string(statusLine.substr(0, 8));
  int status = 0;
  auto [p, ec] = std::from_chars(statusLine.data() + 9, statusLine.data() + 12, status);
  if (ec != std::errc() || p != statusLine.data() + 12) {
    *why = "malformed status code: " + escapeBytes(statusLine);
    return Parse::kMalformed;
  }
  r.status = status;
  r.reason = std::string(trim(statusLine.substr(12)));
  while (pos != std::string_view::npos) {
    size_t next = head.find("\r\n", pos + 2);
    std::string_view line = head.substr(pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
    pos = next;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      *why = "malformed header line: " + escapeBytes(line);
      return Parse::kMalformed;
    }
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }
  size_t bodyStart = end + 4;
  bool noBody = toHead || status / 100 == 1 || status == 204 || status == 304;
  if (noBody) {
    *used = bodyStart;
  } else if (iequals(r.header("Transfer-Encoding"), "chunked")) {
    size_t at = bodyStart;
    for (;;) {
      size_t eol = in.find("\r\n", at);
      if (eol == std::string_view::npos) return Parse::kNeedMore;
      size_t size = 0;
      std::string_view hex = in.substr(at, eol - at);
      hex = hex.substr(0, hex.find(';'));
      auto [q, e] = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
      if (e != std::errc() || q != hex.data() + hex.size()) {
        *why = "malformed chunk size: " + escapeBytes(hex);
        return Parse::kMalformed;
      }
      at = eol + 2;
      if (size == 0) {
        size_t trailerEnd = in.find("\r\n", at);  // no trailers expected
        if (trailerEnd == std::string_view::npos) return Parse::kNeedMore;
        *used = trailerEnd + 2;
        break;
      }
      if (in.size() < at + size + 2) return Parse::kNeedMore;
      r.body.append(in.substr(at, size));
      at += size + 2;
    }
  } else if (r.hasHeader("Content-Length")) {
    if (r.headerCount("Content-Length") != 1) {
      *why = "several Content-Length headers";
      return Parse::kMalformed;
    }
    std::string cl = r.header("Content-Length");
    size_t n = 0;
    auto [q, e] = std::from_chars(cl.data(), cl.data() + cl.size(), n);
    if (e != std::errc() || q != cl.data() + cl.size()) {
      *why = "malformed Content-Length: " + cl;
      return Parse::kMalformed;
    }
    if (in.size() < bodyStart + n) return Parse::kNeedMore;
    r.body = std::string(in.substr(bodyStart, n));
    *used = bodyStart + n;
  } else {
    if (!eof) return Parse::kNeedMore;  // delimited by the end of the connection
    r.body = std::string(in.substr(bodyStart));
    *used = in.size();
  }
  r.raw = std::string(in.substr(0, *used));
  *out = std::move(r);
  return Parse::kDone;
}

}  // namespace

std::string handoffdPath() {
  const char* p = std::getenv("HANDOFFD");
  return p != nullptr && *p != '\0' ? p : "build/src/handoffd";
}

std::string configWithLimits(std::string_view limitsBody) {
  std::string c = "[server]\nlisten = [\"127.0.0.1:0\"]\n\n[limits]\n";
  c.append(limitsBody);
  if (!c.empty() && c.back() != '\n') c.push_back('\n');
  return c;
}

std::string escapeBytes(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    switch (c) {
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\x%02x", c);
          out += b;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

bool eventually(const std::function<bool()>& pred, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis(5));
  }
}

// ── Server ──────────────────────────────────────────────────────────────────────────────────

namespace {

// Signing keys of the first server this process started in a data directory of its own. Servers with a fresh data
// directory of their own start with a copy, so that the suite does not generate an RSA key per
// test (the key tests bring their own data directory and get real generation).
std::string& sharedKeys() {
  static std::string keys;
  return keys;
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {
  std::string tmpl = tempBase() + "/handoff-it-XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) tempDir_ = tmpl;
  dataDir_ = options_.dataDir.empty() ? tempDir_ + "/data" : options_.dataDir;
  stderrPath_ = tempDir_ + "/stderr.log";
  if (!options_.config.empty()) {
    configPath_ = tempDir_ + "/handoff.toml";
    std::ofstream(configPath_) << options_.config;
  }
}

Server::~Server() {
  if (pid_ > 0 && !exitCode_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  if (stdoutFd_ >= 0) ::close(stdoutFd_);
  if (!tempDir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(tempDir_, ec);
  }
}

bool Server::start(Millis timeout) {
  if (tempDir_.empty()) {
    why_ = "cannot create a temporary directory";
    return false;
  }
  std::vector<std::string> args{handoffdPath()};
  if (!configPath_.empty()) args.insert(args.end(), {"--config", configPath_});
  if (!options_.listen.empty()) args.insert(args.end(), {"--listen", options_.listen});
  if (options_.threads != 0) args.insert(args.end(), {"--threads", std::to_string(options_.threads)});
  args.insert(args.end(), {"--data-dir", dataDir_});
  bool freshDemoDir = options_.dataDir.empty();
  if (freshDemoDir && !sharedKeys().empty()) {
    std::filesystem::create_directories(dataDir_);
    std::ofstream(dataDir_ + "/keys.json") << sharedKeys();
    std::filesystem::permissions(dataDir_ + "/keys.json", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  if (options_.noPin) args.push_back("--no-pin");
  args.insert(args.end(), options_.extraArgs.begin(), options_.extraArgs.end());
  commandLine_.clear();
  for (const auto& a : args) commandLine_ += (commandLine_.empty() ? "" : " ") + shellQuote(a);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    why_ = std::string("pipe2: ") + std::strerror(errno);
    return false;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, stderrPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = ::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    pid_ = -1;
    why_ = "posix_spawn " + args[0] + ": " + std::strerror(rc);
    return false;
  }
  stdoutFd_ = out[0];
  // glibc 2.36's <sys/pidfd.h> lacks extern "C": call the kernel directly. -1 on kernels before
  // 5.3, where waitExit falls back to polling waitpid.
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));

  auto deadline = Clock::now() + timeout;
  static constexpr std::string_view kPrefix = "listening on ";
  size_t lineStart = 0;
  ports_.clear();
  for (;;) {
    size_t nl = stdout_.find('\n', lineStart);
    if (nl != std::string::npos) {
      std::string_view line(stdout_.data() + lineStart, nl - lineStart);
      lineStart = nl + 1;
      if (line.substr(0, kPrefix.size()) != kPrefix) {
        why_ = "unexpected stdout line: " + std::string(line);
        return false;
      }
      size_t colon = line.rfind(':');
      unsigned p = 0;
      auto [end, ec] = std::from_chars(line.data() + colon + 1, line.data() + line.size(), p);
      if (colon == std::string_view::npos || ec != std::errc() || end != line.data() + line.size() || p == 0 || p > 65535) {
        why_ = "cannot read the port in: " + std::string(line);
        return false;
      }
      ports_.push_back(static_cast<uint16_t>(p));
      port_ = ports_.front();
      if (ports_.size() < std::max(1u, options_.listeners)) continue;
      if (options_.dataDir.empty() && sharedKeys().empty()) {
        std::ifstream f(dataDir_ + "/keys.json");
        sharedKeys().assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
      }
      return true;
    }
    pollfd pfd{stdoutFd_, POLLIN, 0};
    int n = ::poll(&pfd, 1, msLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      why_ = "no \"listening on\" line within " + std::to_string(timeout.count()) + " ms";
      return false;
    }
    char b[512];
    ssize_t got = ::read(stdoutFd_, b, sizeof b);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      why_ = "handoffd closed its stdout (exited?) before printing \"listening on\"";
      return false;
    }
    stdout_.append(b, static_cast<size_t>(got));
  }
}

bool Server::running() {
  if (pid_ <= 0 || exitCode_) return false;
  return !waitExit(Millis(0)).has_value();
}

bool Server::signal(int sig) { return pid_ > 0 && !exitCode_ && ::kill(pid_, sig) == 0; }

std::optional<int> Server::waitExit(Millis timeout) {
  if (exitCode_) return exitCode_;
  if (pid_ <= 0) return std::nullopt;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      exitCode_ = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
      return exitCode_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    int left = msLeft(deadline);
    if (left == 0) return std::nullopt;
    if (pidfd_ >= 0) {
      pollfd pfd{pidfd_, POLLIN, 0};
      ::poll(&pfd, 1, left);  // readable once the process has exited
    } else {
      std::this_thread::sleep_for(Millis(std::min(left, 5)));
    }
  }
}

std::optional<int> Server::stop(int sig, Millis timeout) {
  signal(sig);
  return waitExit(timeout);
}

std::string Server::stderrText() const {
  std::ifstream f(stderrPath_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Server::failure() const {
  return why_ + "\n  command: " + commandLine_ + "\n  stdout: " + stdout_ + "\n  stderr: " + stderrText();
}

// ── HttpResponse ────────────────────────────────────────────────────────────────────────────

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

bool HttpResponse::hasHeader(std::string_view name) const { return headerCount(name) > 0; }

size_t HttpResponse::headerCount(std::string_view name) const {
  size_t n = 0;
  for (const auto& h : headers) n += iequals(h.first, name) ? 1 : 0;
  return n;
}

bool HttpResponse::closes() const { return iequals(header("Connection"), "close"); }

// ── Client ──────────────────────────────────────────────────────────────────────────────────

Client::Client(uint16_t port) { connectTo(port, {}); }

Client::Client(uint16_t port, const std::string& sourceIp) { connectTo(port, sourceIp); }

void Client::connectTo(uint16_t port, const std::string& sourceIp) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return;
  }
  if (!sourceIp.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = 0;
    if (::inet_pton(AF_INET, sourceIp.c_str(), &local.sin_addr) != 1) {
      error_ = "not an IPv4 address: " + sourceIp;
      ::close(fd);
      return;
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      error_ = "bind " + sourceIp + ": " + std::strerror(errno);
      ::close(fd);
      return;
    }
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    error_ = "connect 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // a stuck server must not hang a test
  fd_ = fd;
}

Client::~Client() { close(); }

Client::Client(Client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      channel_(std::move(other.channel_)),
      buf_(std::move(other.buf_)),
      eof_(other.eof_),
      reset_(other.reset_),
      error_(std::move(other.error_)) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    channel_ = std::move(other.channel_);
    buf_ = std::move(other.buf_);
    eof_ = other.eof_;
    reset_ = other.reset_;
    error_ = std::move(other.error_);
  }
  return *this;
}

void Client::close() {
  channel_.reset();  // a TLS channel may still say goodbye on the socket
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = channel_ ? channel_->send(fd_, bytes.data(), bytes.size())
                         : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = std::string("send: ") + std::strerror(errno);
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool Client::sendBytewise(std::string_view bytes, Millis gap) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (!send(bytes.substr(i, 1))) return false;
    if (gap.count() > 0 && i + 1 < bytes.size()) std::this_thread::sleep_for(gap);
  }
  return true;
}

void Client::shutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool Client::fill(Clock::time_point deadline) {
  if (eof_) return false;
  for (;;) {
    if (!channel_ || !channel_->buffered()) {
      pollfd pfd{fd_, POLLIN, 0};
      int n = ::poll(&pfd, 1, msLeft(deadline));
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) {
        error_ = "timed out waiting for data";
        return false;
      }
    }
    char b[16384];
    ssize_t got = channel_ ? channel_->recv(fd_, b, sizeof b) : ::recv(fd_, b, sizeof b, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got > 0) {
      buf_.append(b, static_cast<size_t>(got));
      return true;
    }
    eof_ = true;
    if (got < 0) reset_ = true;
    error_ = got == 0 ? "connection closed by the server" : std::string("recv: ") + std::strerror(errno);
    return false;
  }
}

std::optional<HttpResponse> Client::readResponse(Millis timeout, bool toHead) {
  if (fd_ < 0) {
    error_ = "not connected";
    return std::nullopt;
  }
  auto deadline = Clock::now() + timeout;
  for (;;) {
    HttpResponse r;
    size_t used = 0;
    std::string why;
    switch (parseResponse(buf_, toHead, eof_, &r, &used, &why)) {
      case Parse::kDone:
        buf_.erase(0, used);
        return r;
      case Parse::kMalformed:
        error_ = why;
        return std::nullopt;
      case Parse::kNeedMore:
        break;
    }
    if (eof_) {
      error_ = "connection closed by the server" +
               (buf_.empty() ? std::string(" before any response byte")
                             : " after an incomplete response: " + escapeBytes(buf_));
      return std::nullopt;
    }
    if (!fill(deadline) && !eof_) return std::nullopt;  // timeout; at EOF parse once more
  }
}

std::optional<HttpResponse> Client::roundTrip(std::string_view request, Millis timeout) {
  if (!send(request)) return std::nullopt;
  return readResponse(timeout);
}

std::optional<std::string> Client::readUntilEof(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (!eof_) {
    if (!fill(deadline) && !eof_) return std::nullopt;
  }
  return std::exchange(buf_, {});
}

bool Client::readable(Millis timeout) {
  if (!buf_.empty() || eof_ || (channel_ && channel_->buffered())) return true;
  pollfd pfd{fd_, POLLIN, 0};
  return ::poll(&pfd, 1, static_cast<int>(timeout.count())) > 0;
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────────

std::optional<uint64_t> metricValue(std::string_view text, std::string_view series) {
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    std::string_view line = text.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
    at = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.size() > series.size() && line.substr(0, series.size()) == series && line[series.size()] == ' ') {
      std::string_view v = line.substr(series.size() + 1);
      uint64_t x = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
      if (ec == std::errc() && p == v.data() + v.size()) return x;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string fetchMetrics(uint16_t port) {
  Client c(port);
  auto r = c.roundTrip("GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n");
  return r && r->status == 200 ? r->body : std::string();
}

bool connectRefused(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int err = errno;
  ::close(fd);
  return rc != 0 && err == ECONNREFUSED;
}

}  // namespace handoff::it
