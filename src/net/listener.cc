#include "handoff/net/listener.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace handoff::net {

using core::Errc;
using core::Error;

namespace {

int newSocket(int family) {
  return ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

std::string errnoText(const char* what, const SocketAddress& a, int err) {
  return std::string(what) + " " + a.toString() + ": " + std::strerror(err);
}

// Succeeds only if no socket, of any reuseport group or none, listens on `addr`.
core::Status probeFree(const SocketAddress& addr) {
  int fd = newSocket(addr.family());
  if (fd < 0) return Error(Errc::kIo, errnoText("socket for", addr, errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // TIME_WAIT is not "held"
  int rc = ::bind(fd, addr.sa(), addr.len());
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return Error(err == EADDRINUSE ? Errc::kAddressInUse : Errc::kIo,
                 errnoText("cannot listen on", addr, err) + (err == EADDRINUSE ? " (held by another socket or process)" : ""));
  }
  return {};
}

}  // namespace

core::Result<ListenerGroup> openListenerGroup(const SocketAddress& addr, unsigned count, int backlog) {
  ListenerGroup g;
  g.bound = addr;
  if (addr.port() != 0) {
    if (auto st = probeFree(addr); !st) return st.error();
  }
  for (unsigned i = 0; i < count; ++i) {
    int fd = newSocket(addr.family());
    if (fd < 0) {
      closeListenerGroup(g);
      return Error(Errc::kIo, errnoText("socket for", addr, errno));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    // The first socket of a port-0 group picks the port; the others join that port.
    if (::bind(fd, g.bound.sa(), g.bound.len()) != 0 || ::listen(fd, backlog) != 0) {
      int err = errno;
      ::close(fd);
      closeListenerGroup(g);
      return Error(err == EADDRINUSE ? Errc::kAddressInUse : Errc::kIo, errnoText("cannot listen on", addr, err));
    }
    if (i == 0) {
      sockaddr_storage ss;
      socklen_t len = sizeof ss;
      getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      g.bound = SocketAddress(reinterpret_cast<sockaddr*>(&ss), len);
    }
    g.fds.push_back(fd);
  }
  return g;
}

void closeListenerGroup(ListenerGroup& group) {
  for (int fd : group.fds) ::close(fd);
  group.fds.clear();
}

}  // namespace handoff::net
