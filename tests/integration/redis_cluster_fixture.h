// Integration-test harness: a real Redis Cluster of N masters (no replicas) on loopback.
//
// Each node is `redis-server --cluster-enabled yes` on a client port and a cluster-bus port
// picked at run time (both free when chosen), with its own directory under a fresh temporary
// directory (nodes.conf lives there, so a restarted node keeps its identity). start() creates
// the cluster with `redis-cli --cluster create` and waits for cluster_state:ok on every node.
// The destructor SIGKILLs whatever still runs (resuming stopped nodes first) and removes the
// directory. The binaries come from $HANDOFF_REDIS_SERVER / $HANDOFF_REDIS_CLI, else from PATH;
// when they are missing start() fails and says so (CI installs them: tools/setup).
//
// Nothing here depends on GoogleTest; failures are reported through return values and failure().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace handoff::it {

class RedisCluster {
 public:
  using Millis = std::chrono::milliseconds;

  explicit RedisCluster(size_t masters = 3);
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Starts the servers, creates the cluster, waits for cluster_state:ok everywhere.
  bool start(Millis timeout = Millis(20000));
  const std::string& failure() const { return why_; }

  size_t size() const { return nodes_.size(); }
  uint16_t port(size_t i) const { return nodes_[i].port; }
  std::string address(size_t i) const { return "127.0.0.1:" + std::to_string(nodes_[i].port); }
  std::vector<std::string> seeds() const;  // every node's address
  const std::string& dir() const { return tempDir_; }

  // Node control. stop: SIGTERM and wait; kill: SIGKILL and wait; pause/resume: SIGSTOP/SIGCONT;
  // restart: start a stopped or killed node again on its port and directory and wait for PING.
  bool stop(size_t i);
  bool kill(size_t i);
  bool pause(size_t i);
  bool resume(size_t i);
  bool restart(size_t i, Millis timeout = Millis(10000));
  bool running(size_t i) const { return nodes_[i].pid > 0; }
  pid_t pid(size_t i) const { return nodes_[i].pid; }

  // `redis-cli -h 127.0.0.1 -p <port(i)> args...`: its stdout without the trailing newline, or
  // "ERROR: ..." when it could not run or ran past `timeout` (never call it on a paused node
  // without a short timeout).
  std::string cli(size_t i, const std::vector<std::string>& args, Millis timeout = Millis(5000));
  // Any redis-cli invocation (for --cluster subcommands).
  std::string cliArgs(const std::vector<std::string>& args, Millis timeout = Millis(15000));

  // cluster_state:ok and all nodes known on every running node, within `timeout`.
  bool waitClusterOk(Millis timeout = Millis(15000));
  // CLUSTER MYID of node i.
  std::string nodeId(size_t i);
  // For every slot, the index of the node owning it per node `asking`'s CLUSTER NODES, or -1.
  std::vector<int> slotOwners(size_t asking = 0);

 private:
  struct Node {
    uint16_t port = 0;
    uint16_t busPort = 0;
    std::string dir;
    pid_t pid = -1;
  };
  bool spawnNode(size_t i);
  bool waitPing(size_t i, Millis timeout);
  bool reap(size_t i, Millis timeout);

  std::string server_;
  std::string cli_;
  std::string tempDir_;
  std::vector<Node> nodes_;
  std::string why_;
};

}  // namespace handoff::it
