// The node's TLS: certificates at start, ticket key rotation from shard 0, and the metrics.
// (The reload hook and the listeners' wiring are in node.cc with the others.)
#include "handoff/admin/node.h"
#include "handoff/core/log.h"

namespace handoff::admin {

using core::Error;

core::Status Node::startTls() {
  if (config_.listenTls.empty()) {
    if (!config_.tls.cert.empty()) core::logWarn("tls: [tls] has a certificate but no listen_tls listener uses it");
    return {};
  }
  tls::ContextOptions o;
  o.defaultCert = {config_.tls.cert, config_.tls.key, {}};
  for (const config::TlsCertificateConfig& c : config_.tls.certificates) o.bySni.push_back({c.cert, c.key, c.names});
  o.ticketLifetimeS = config_.tls.ticketRotationS;
  auto svc = tls::TlsService::create(std::move(o));
  if (!svc) return Error(svc.error().code(), "tls: " + svc.error().message());
  tls_ = std::move(svc).value();
  return {};
}

void Node::initShardTls(core::Shard& shard) {
  if (!tls_ || shard.id() != 0) return;
  // One ring for every shard: a ticket sealed on one shard opens on any other.
  tls_->rotateOn(shard, [this](std::shared_ptr<const tls::TicketKeys> ring) {
    for (unsigned i = 0; i < shards_->size(); ++i) {
      shards_->post(i, [this, i, ring] { states_[i]->tls->tickets = ring; });
    }
  });
}

void Node::renderTlsMetrics(std::string& out) const {
  if (!tls_) return;
  auto sum = [&](std::atomic<uint64_t> tls::TlsCounters::*field) {
    uint64_t v = 0;
    for (const auto& st : states_) v += (st->tls->counters.*field).load(std::memory_order_relaxed);
    return std::to_string(v);
  };
  auto head = [&](const char* name, const char* type, const char* help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ");
    out.append(type).append("\n");
  };
  using C = tls::TlsCounters;
  head("handoff_tls_handshakes_total", "counter", "TLS handshakes completed, by protocol version.");
  out.append("handoff_tls_handshakes_total{version=\"TLSv1.2\"} ").append(sum(&C::handshakesTls12)).append("\n");
  out.append("handoff_tls_handshakes_total{version=\"TLSv1.3\"} ").append(sum(&C::handshakesTls13)).append("\n");
  head("handoff_tls_resumed_total", "counter", "TLS handshakes that resumed a session from a ticket.");
  out.append("handoff_tls_resumed_total ").append(sum(&C::resumed)).append("\n");
  head("handoff_tls_handshake_failures_total", "counter",
       "TLS handshakes that failed: protocol (not TLS, nothing in common), timeout, closed (the client left).");
  out.append("handoff_tls_handshake_failures_total{reason=\"protocol\"} ").append(sum(&C::failedProtocol)).append("\n");
  out.append("handoff_tls_handshake_failures_total{reason=\"timeout\"} ").append(sum(&C::failedTimeout)).append("\n");
  out.append("handoff_tls_handshake_failures_total{reason=\"closed\"} ").append(sum(&C::failedClosed)).append("\n");
  head("handoff_tls_errors_total", "counter", "TLS errors on established connections (bad records, renegotiation).");
  out.append("handoff_tls_errors_total ").append(sum(&C::errorsAfterHandshake)).append("\n");
  const tls::TlsService::Stats& s = tls_->stats();
  auto line = [&](const char* name, const char* type, const char* help, long long v) {
    head(name, type, help);
    out.append(name).append(" ").append(std::to_string(v)).append("\n");
  };
  line("handoff_tls_reloads_total", "counter", "Certificate sets swapped in on SIGHUP.",
       static_cast<long long>(s.reloads.load(std::memory_order_relaxed)));
  line("handoff_tls_reloads_refused_total", "counter",
       "Certificate reloads refused (missing, unreadable, mismatched or expired files); the old ones kept serving.",
       static_cast<long long>(s.refused.load(std::memory_order_relaxed)));
  line("handoff_tls_ticket_key_rotations_total", "counter", "Session ticket key rotations.",
       static_cast<long long>(s.rotations.load(std::memory_order_relaxed)));
  line("handoff_tls_certificate_not_after_seconds", "gauge",
       "Earliest expiry (Unix time) among the certificates in service.", s.notAfter.load(std::memory_order_relaxed));
}

}  // namespace handoff::admin
