// Listening sockets for the shards: one SO_REUSEPORT socket per shard on the same address, so the
// kernel spreads connections across the shards' loops.
//
// SO_REUSEPORT lets any same-user socket join the group silently (DEPS.md §3: a new server
// quietly shared a port with a running nginx). So before binding, the address is probed with a
// socket that does *not* set SO_REUSEPORT: if anything listens there, the probe fails and start-up
// is refused. Called on the control thread at start-up.
#pragma once

#include <vector>

#include "handoff/core/result.h"
#include "handoff/net/address.h"

namespace handoff::net {

struct ListenerGroup {
  SocketAddress bound;         // the address actually bound (port 0 resolved)
  std::vector<int> fds;        // one listening, non-blocking socket per shard
  bool proxyProtocol = false;  // connections begin with a PROXY protocol header (net/proxy_handler.h)
  bool tls = false;            // connections speak TLS (tls/transport.h)
};

core::Result<ListenerGroup> openListenerGroup(const SocketAddress& addr, unsigned count, int backlog = 1024);

void closeListenerGroup(ListenerGroup& group);

}  // namespace handoff::net
