// Certificate reload and ticket key rotation.
#include "handoff/tls/service.h"

#include "handoff/core/log.h"

namespace handoff::tls {
namespace {

void logInService(const char* msg, const Context& ctx) {
  for (const CertificateInfo& c : ctx.certificates()) {
    std::string names;
    for (const std::string& n : c.names) names += (names.empty() ? "" : ",") + n;
    core::logInfo(msg, {{"file", c.file}, {"subject", c.subject}, {"serial", c.serialHex},
                        {"not_after", static_cast<long long>(c.notAfter)},
                        {"chain", static_cast<unsigned>(c.chainLength)},
                        {"sni", names.empty() ? "(default)" : names}});
  }
}

}  // namespace

core::Result<std::unique_ptr<TlsService>> TlsService::create(ContextOptions options) {
  std::unique_ptr<TlsService> s(new TlsService(std::move(options)));
  auto ctx = Context::build(s->options_);
  if (!ctx) return ctx.error();
  s->context_ = std::move(ctx).value();
  s->tickets_ = TicketKeys::generate();
  s->stats_.notAfter.store(s->context_->earliestNotAfter(), std::memory_order_relaxed);
  logInService("tls: certificate", *s->context_);
  return s;
}

void TlsService::reload(const std::function<void(std::shared_ptr<const Context>)>& publish) {
  auto ctx = Context::build(options_);
  if (!ctx) {
    stats_.refused.fetch_add(1, std::memory_order_relaxed);
    core::logError("tls: new certificates refused; the ones in service keep serving",
                   {{"error", ctx.error().message()}});
    return;
  }
  context_ = std::move(ctx).value();
  stats_.notAfter.store(context_->earliestNotAfter(), std::memory_order_relaxed);
  logInService("tls: certificate reloaded", *context_);
  publish(context_);
  stats_.reloads.fetch_add(1, std::memory_order_relaxed);
}

void TlsService::rotateOn(core::Shard& home, std::function<void(std::shared_ptr<const TicketKeys>)> publish) {
  publishTickets_ = std::move(publish);
  home.every(uint64_t{options_.ticketLifetimeS} * 1000, [this] {
    tickets_ = tickets_->rotated();
    stats_.rotations.fetch_add(1, std::memory_order_relaxed);
    core::logDebug("tls: session ticket key rotated");
    publishTickets_(tickets_);
  });
}

}  // namespace handoff::tls
