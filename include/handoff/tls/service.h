// The TLS snapshots in service and their replacement: certificate reload (SIGHUP) and session
// ticket key rotation.
//
// A reload builds a whole new Context from the same files on the control thread — off every
// shard's loop — and publishes it only if it passes every check of Context::build; otherwise it
// is refused, logged and counted, and the Context in service keeps serving. Connections keep the
// SSL they began with; handshakes after the publication use the new certificates.
//
// Ticket keys: one random key at start, a new one every rotation period on a home shard's timer,
// the previous kept to open older tickets. Keys live in memory only: a restart (or another node)
// cannot resume this process's sessions.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "handoff/core/result.h"
#include "handoff/core/shard.h"
#include "handoff/tls/context.h"

namespace handoff::tls {

class TlsService {
 public:
  // Read by /metrics from any thread.
  struct Stats {
    std::atomic<uint64_t> reloads{0};    // contexts published after start
    std::atomic<uint64_t> refused{0};    // reloads refused (bad, missing, mismatched, expired files)
    std::atomic<uint64_t> rotations{0};  // ticket key rotations
    std::atomic<int64_t> notAfter{0};    // earliest notAfter of the certificates in service (Unix s)
  };

  // Builds the first Context (any error refuses the start; the message names the file) and
  // the first ticket keys. options.ticketLifetimeS is the key rotation period too.
  static core::Result<std::unique_ptr<TlsService>> create(ContextOptions options);

  // The snapshots in service, for shards created before start. Control thread.
  std::shared_ptr<const Context> context() const { return context_; }
  std::shared_ptr<const TicketKeys> tickets() const { return tickets_; }

  // SIGHUP, on the control thread: rebuilds the Context and hands a good one to `publish`.
  void reload(const std::function<void(std::shared_ptr<const Context>)>& publish);

  // Rotates the ticket keys every period from `home`'s loop and hands each new ring to
  // `publish`. Call on `home`, once.
  void rotateOn(core::Shard& home, std::function<void(std::shared_ptr<const TicketKeys>)> publish);

  const Stats& stats() const { return stats_; }

 private:
  explicit TlsService(ContextOptions options) : options_(std::move(options)) {}

  ContextOptions options_;
  std::shared_ptr<const Context> context_;      // control thread
  std::shared_ptr<const TicketKeys> tickets_;   // the home shard once rotation starts
  std::function<void(std::shared_ptr<const TicketKeys>)> publishTickets_;
  Stats stats_;
};

}  // namespace handoff::tls
