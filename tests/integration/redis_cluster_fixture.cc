#include "redis_cluster_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

extern char** environ;

namespace handoff::it {

namespace {

using Clock = std::chrono::steady_clock;

std::string findProgram(const char* envName, const char* name) {
  if (const char* e = std::getenv(envName); e != nullptr && *e != '\0') return e;
  const char* path = std::getenv("PATH");
  std::string p = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream ss(p);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// Ports the kernel hands out for port 0, held together so that they differ, then released.
bool freePorts(size_t n, std::vector<uint16_t>* out) {
  std::vector<int> fds;
  bool ok = true;
  for (size_t i = 0; i < n && ok; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
         ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    if (fd >= 0) fds.push_back(fd);
    if (ok) out->push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) ::close(fd);
  return ok;
}

pid_t spawn(const std::vector<std::string>& args, int stdoutFd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (stdoutFd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, stdoutFd, 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// Runs a program to completion, returning its stdout; kills it past the timeout.
std::string runCapture(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return "ERROR: pipe";
  pid_t pid = spawn(args, p[1]);
  ::close(p[1]);
  if (pid < 0) {
    ::close(p[0]);
    return "ERROR: cannot run " + args[0];
  }
  std::string out;
  auto deadline = Clock::now() + timeout;
  bool timedOut = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    pollfd pfd{p[0], POLLIN, 0};
    int rc = ::poll(&pfd, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(p[0]);
  if (timedOut) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (timedOut) return "ERROR: timed out: " + args[0];
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool pingPort(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{0, 300000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6) {
    char buf[16];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ok = n >= 5 && std::memcmp(buf, "+PONG", 5) == 0;
  }
  ::close(fd);
  return ok;
}

}  // namespace

RedisCluster::RedisCluster(size_t masters) : nodes_(masters) {
  server_ = findProgram("HANDOFF_REDIS_SERVER", "redis-server");
  cli_ = findProgram("HANDOFF_REDIS_CLI", "redis-cli");
}

RedisCluster::~RedisCluster() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].pid > 0) {
      ::kill(nodes_[i].pid, SIGCONT);
      ::kill(nodes_[i].pid, SIGKILL);
      reap(i, Millis(5000));
    }
  }
  if (!tempDir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(tempDir_, ec);
  }
}

std::vector<std::string> RedisCluster::seeds() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < nodes_.size(); ++i) out.push_back(address(i));
  return out;
}

bool RedisCluster::spawnNode(size_t i) {
  Node& n = nodes_[i];
  std::vector<std::string> args = {server_, "--port", std::to_string(n.port), "--cluster-port", std::to_string(n.busPort),
      "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
      "--cluster-node-timeout", "2000",
      // The fault tests stop one master for longer than the node timeout: the others must keep
      // serving their own slots meanwhile.
      "--cluster-require-full-coverage", "no",
      "--save", "", "--appendonly", "no", "--dir", n.dir, "--daemonize", "no",
      "--logfile", tempDir_ + "/c" + std::to_string(i) + ".log"};
  n.pid = spawn(args, -1);
  if (n.pid < 0) {
    why_ = "cannot spawn " + server_;
    return false;
  }
  return true;
}

bool RedisCluster::waitPing(size_t i, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pingPort(nodes_[i].port)) return true;
    int status = 0;
    if (::waitpid(nodes_[i].pid, &status, WNOHANG) == nodes_[i].pid) {
      nodes_[i].pid = -1;
      why_ = "redis-server on port " + std::to_string(nodes_[i].port) + " exited; see " + tempDir_ + "/c" +
             std::to_string(i) + ".log";
      return false;
    }
    std::this_thread::sleep_for(Millis(20));
  }
  why_ = "redis-server on port " + std::to_string(nodes_[i].port) + " does not answer PING";
  return false;
}

bool RedisCluster::reap(size_t i, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(nodes_[i].pid, &status, WNOHANG);
    if (r == nodes_[i].pid || (r < 0 && errno == ECHILD)) {
      nodes_[i].pid = -1;
      return true;
    }
    std::this_thread::sleep_for(Millis(5));
  }
  return false;
}

bool RedisCluster::start(Millis timeout) {
  if (server_.empty() || cli_.empty()) {
    why_ = std::string(server_.empty() ? "redis-server" : "redis-cli") +
           " not found in PATH: install redis-server and redis-tools (tools/setup does)";
    return false;
  }
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t != nullptr && *t != '\0' ? t : "/tmp") + "/handoff-redis-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    why_ = "mkdtemp failed";
    return false;
  }
  tempDir_ = tmpl;
  std::vector<uint16_t> ports;
  if (!freePorts(nodes_.size() * 2, &ports)) {
    why_ = "no free loopback ports";
    return false;
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].port = ports[2 * i];
    nodes_[i].busPort = ports[2 * i + 1];
    nodes_[i].dir = tempDir_ + "/c" + std::to_string(i);
    std::filesystem::create_directories(nodes_[i].dir);
    if (!spawnNode(i)) return false;
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!waitPing(i, Millis(5000))) return false;
  }
  std::vector<std::string> create = {"--cluster", "create"};
  for (size_t i = 0; i < nodes_.size(); ++i) create.push_back(address(i));
  create.insert(create.end(), {"--cluster-replicas", "0", "--cluster-yes"});
  std::string out = cliArgs(create, timeout);
  if (out.find("[OK] All 16384 slots covered") == std::string::npos) {
    why_ = "redis-cli --cluster create failed:\n" + out;
    return false;
  }
  if (!waitClusterOk(timeout)) {
    why_ = "cluster_state:ok not reached on every node";
    return false;
  }
  return true;
}

std::string RedisCluster::cli(size_t i, const std::vector<std::string>& args, Millis timeout) {
  std::vector<std::string> all = {cli_, "-h", "127.0.0.1", "-p", std::to_string(nodes_[i].port)};
  all.insert(all.end(), args.begin(), args.end());
  return runCapture(all, timeout);
}

std::string RedisCluster::cliArgs(const std::vector<std::string>& args, Millis timeout) {
  std::vector<std::string> all = {cli_};
  all.insert(all.end(), args.begin(), args.end());
  return runCapture(all, timeout);
}

bool RedisCluster::waitClusterOk(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  std::string want = "cluster_known_nodes:" + std::to_string(nodes_.size());
  while (Clock::now() < deadline) {
    bool all = true;
    for (size_t i = 0; i < nodes_.size() && all; ++i) {
      if (nodes_[i].pid <= 0) continue;
      std::string info = cli(i, {"CLUSTER", "INFO"}, Millis(1000));
      all = info.find("cluster_state:ok") != std::string::npos && info.find(want) != std::string::npos;
    }
    if (all) return true;
    std::this_thread::sleep_for(Millis(50));
  }
  return false;
}

std::string RedisCluster::nodeId(size_t i) { return cli(i, {"CLUSTER", "MYID"}); }

std::vector<int> RedisCluster::slotOwners(size_t asking) {
  std::vector<int> owners(16384, -1);
  // CLUSTER NODES lines: <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slots...>
  std::stringstream lines(cli(asking, {"CLUSTER", "NODES"}));
  std::string line;
  while (std::getline(lines, line)) {
    std::stringstream words(line);
    std::vector<std::string> w;
    std::string word;
    while (words >> word) w.push_back(word);
    if (w.size() < 9) continue;
    size_t colon = w[1].find(':');
    size_t at = w[1].find('@');
    unsigned port = 0;
    std::from_chars(w[1].data() + colon + 1, w[1].data() + at, port);
    int index = -1;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].port == port) index = static_cast<int>(i);
    }
    for (size_t k = 8; k < w.size(); ++k) {
      if (w[k].front() == '[') continue;  // migrating / importing markers
      unsigned lo = 0, hi = 0;
      size_t dash = w[k].find('-');
      std::from_chars(w[k].data(), w[k].data() + (dash == std::string::npos ? w[k].size() : dash), lo);
      hi = lo;
      if (dash != std::string::npos) std::from_chars(w[k].data() + dash + 1, w[k].data() + w[k].size(), hi);
      for (unsigned s = lo; s <= hi && s < owners.size(); ++s) owners[s] = index;
    }
  }
  return owners;
}

bool RedisCluster::stop(size_t i) {
  if (nodes_[i].pid <= 0) return false;
  ::kill(nodes_[i].pid, SIGCONT);
  ::kill(nodes_[i].pid, SIGTERM);
  return reap(i, Millis(10000));
}

bool RedisCluster::kill(size_t i) {
  if (nodes_[i].pid <= 0) return false;
  ::kill(nodes_[i].pid, SIGKILL);
  return reap(i, Millis(5000));
}

bool RedisCluster::pause(size_t i) { return nodes_[i].pid > 0 && ::kill(nodes_[i].pid, SIGSTOP) == 0; }

bool RedisCluster::resume(size_t i) { return nodes_[i].pid > 0 && ::kill(nodes_[i].pid, SIGCONT) == 0; }

bool RedisCluster::restart(size_t i, Millis timeout) {
  if (nodes_[i].pid > 0) return false;
  return spawnNode(i) && waitPing(i, timeout);
}

}  // namespace handoff::it
