// SSL_CTXs from certificate files: read, check, configure. Runs on the control thread (start,
// SIGHUP), never on a shard.
#include "handoff/tls/context.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>

#include "ssl_hooks.h"

namespace handoff::tls {

using core::Errc;
using core::Error;

struct Context::Impl {
  bssl::UniquePtr<SSL_CTX> initial;
  std::vector<bssl::UniquePtr<SSL_CTX>> others;
  std::map<std::string, SSL_CTX*, std::less<>> byName;  // lower-case; "*.example.com" for wildcards
};

namespace {

constexpr size_t kMaxPemBytes = 1 << 20;

// TLS 1.2 suites: ECDHE with an AEAD only (TLS 1.3's are fixed by BoringSSL, all AEAD).
constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

constexpr uint8_t kSessionIdContext[] = {'h', 'a', 'n', 'd', 'o', 'f', 'f'};

// The reason of BoringSSL's last error, and the queue cleared (it is per thread).
std::string sslError() {
  uint32_t e = ERR_peek_last_error();
  std::string out = e != 0 ? ERR_reason_error_string(e) : "unknown error";
  ERR_clear_error();
  return out;
}

// A whole file, read without following it into a FIFO or a device (a FIFO would hang the
// control thread) and bounded in size.
core::Result<std::string> readSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Error(Errc::kIo, "cannot read " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error(Errc::kInvalidArgument, path + ": not a regular file");
  }
  if (static_cast<size_t>(st.st_size) > kMaxPemBytes) {
    ::close(fd);
    return Error(Errc::kInvalidArgument, path + ": larger than 1 MiB, not a PEM file");
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return Error(Errc::kIo, "cannot read " + path + ": " + (n == 0 ? "file shrank while read" : std::strerror(err)));
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  return data;
}

int noPassword(char*, int, int, void*) { return 0; }  // an encrypted key is refused, never prompted for

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

std::string timeText(const ASN1_TIME* t) {
  bssl::UniquePtr<BIO> b(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(b.get(), t);
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(b.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

int64_t unixTime(const ASN1_TIME* t) {
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0, secs = 0;
  if (!epoch || ASN1_TIME_diff(&days, &secs, epoch.get(), t) != 1) return 0;
  return static_cast<int64_t>(days) * 86400 + secs;
}

std::vector<std::string> dnsNames(X509* leaf) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (size_t i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type != GEN_DNS) continue;
    const ASN1_STRING* s = n->d.dNSName;
    out.push_back(lower({reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s))}));
  }
  sk_GENERAL_NAME_pop_free(names, GENERAL_NAME_free);
  return out;
}

// ALPN: http/1.1 or nothing. A client that offers ALPN without http/1.1 (h2 only) gets the
// no_application_protocol alert RFC 7301 asks for.
int selectAlpn(SSL*, const uint8_t** out, uint8_t* outLen, const uint8_t* in, unsigned inLen, void*) {
  static constexpr uint8_t kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
  for (unsigned i = 0; i < inLen;) {
    unsigned len = in[i];
    if (i + 1 + len > inLen) break;
    if (len == sizeof kHttp11 && std::memcmp(in + i + 1, kHttp11, len) == 0) {
      *out = in + i + 1;
      *outLen = static_cast<uint8_t>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// SNI: switch the connection to the certificate that claims the name; the default otherwise.
int selectCertificate(SSL* ssl, int*, void* arg) {
  const auto* impl = static_cast<const Context::Impl*>(arg);
  const char* sent = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (sent == nullptr || impl->byName.empty()) return SSL_TLSEXT_ERR_OK;
  std::string name = lower(sent);
  auto it = impl->byName.find(name);
  if (it == impl->byName.end()) {
    size_t dot = name.find('.');
    if (dot != std::string::npos) it = impl->byName.find("*" + name.substr(dot));
  }
  if (it != impl->byName.end()) SSL_set_SSL_CTX(ssl, it->second);
  return SSL_TLSEXT_ERR_OK;
}

struct Loaded {
  bssl::UniquePtr<SSL_CTX> ctx;
  CertificateInfo info;
};

core::Result<Loaded> load(const CertificateFiles& files, uint32_t ticketLifetimeS, time_t now) {
  auto certPem = readSmallFile(files.cert);
  if (!certPem) return certPem.error();
  auto keyPem = readSmallFile(files.key);
  if (!keyPem) return keyPem.error();

  ERR_clear_error();
  bssl::UniquePtr<BIO> cb(BIO_new_mem_buf(certPem->data(), certPem->size()));
  bssl::UniquePtr<X509> leaf(PEM_read_bio_X509(cb.get(), nullptr, noPassword, nullptr));
  if (!leaf) {
    ERR_clear_error();
    return Error(Errc::kInvalidArgument, files.cert + ": no PEM certificate in it");
  }
  std::vector<bssl::UniquePtr<X509>> chain;
  for (;;) {
    bssl::UniquePtr<X509> c(PEM_read_bio_X509(cb.get(), nullptr, noPassword, nullptr));
    if (!c) break;
    chain.push_back(std::move(c));
  }
  uint32_t err = ERR_peek_last_error();
  if (err != 0 && !(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
    return Error(Errc::kInvalidArgument, files.cert + ": certificate " + std::to_string(chain.size() + 2) +
                                             " of the chain cannot be read: " + sslError());
  }
  ERR_clear_error();

  bssl::UniquePtr<BIO> kb(BIO_new_mem_buf(keyPem->data(), keyPem->size()));
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(kb.get(), nullptr, noPassword, nullptr));
  if (!key) {
    ERR_clear_error();
    return Error(Errc::kInvalidArgument, files.key + ": no unencrypted PEM private key in it");
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return Error(Errc::kInvalidArgument, files.key + ": this key does not belong to the certificate in " + files.cert);
  }
  if (X509_cmp_time(X509_get0_notAfter(leaf.get()), &now) < 0) {
    return Error(Errc::kInvalidArgument,
                 files.cert + ": the certificate expired on " + timeText(X509_get0_notAfter(leaf.get())));
  }
  if (X509_cmp_time(X509_get0_notBefore(leaf.get()), &now) > 0) {
    return Error(Errc::kInvalidArgument,
                 files.cert + ": the certificate is not valid before " + timeText(X509_get0_notBefore(leaf.get())));
  }

  Loaded out;
  out.ctx.reset(SSL_CTX_new(TLS_method()));
  SSL_CTX* ctx = out.ctx.get();
  bool ok = ctx != nullptr && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) &&
            SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) && SSL_CTX_set_strict_cipher_list(ctx, kCiphers) &&
            SSL_CTX_use_certificate(ctx, leaf.get()) && SSL_CTX_use_PrivateKey(ctx, key.get()) &&
            SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext);
  for (size_t i = 0; ok && i < chain.size(); ++i) ok = SSL_CTX_add1_chain_cert(ctx, chain[i].get());
  ok = ok && SSL_CTX_check_private_key(ctx);
  if (!ok) {
    // A key type or certificate BoringSSL will not serve (a DSA key, say).
    return Error(Errc::kInvalidArgument, files.cert + ": cannot be served: " + sslError());
  }
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // stateless tickets only: nothing shared to lock
  SSL_CTX_set_timeout(ctx, ticketLifetimeS);
  SSL_CTX_set_session_psk_dhe_timeout(ctx, ticketLifetimeS);
  SSL_CTX_set_tlsext_ticket_key_cb(ctx, ticketKeyCallback);
  SSL_CTX_set_alpn_select_cb(ctx, selectAlpn, nullptr);

  CertificateInfo& info = out.info;
  info.file = files.cert;
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(leaf.get()), subject, sizeof subject);
  info.subject = subject;
  bssl::UniquePtr<BIGNUM> serial(ASN1_INTEGER_to_BN(X509_get_serialNumber(leaf.get()), nullptr));
  if (serial) {
    bssl::UniquePtr<char> hex(BN_bn2hex(serial.get()));
    info.serialHex = lower(hex.get());
  }
  info.notAfter = unixTime(X509_get0_notAfter(leaf.get()));
  info.chainLength = 1 + chain.size();
  info.names = files.names;
  for (std::string& n : info.names) n = lower(n);
  if (info.names.empty()) info.names = dnsNames(leaf.get());
  return out;
}

}  // namespace

Context::Context(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Context::~Context() = default;

ssl_ctx_st* Context::initial() const { return impl_->initial.get(); }

int64_t Context::earliestNotAfter() const {
  int64_t m = 0;
  for (const CertificateInfo& c : infos_) m = m == 0 ? c.notAfter : std::min(m, c.notAfter);
  return m;
}

core::Result<std::shared_ptr<const Context>> Context::build(const ContextOptions& options, int64_t nowUnix) {
  time_t now = nowUnix != 0 ? static_cast<time_t>(nowUnix) : ::time(nullptr);
  auto impl = std::make_unique<Impl>();
  std::vector<CertificateInfo> infos;
  auto first = load(options.defaultCert, options.ticketLifetimeS, now);
  if (!first) return first.error();
  impl->initial = std::move(first->ctx);
  first->info.names.clear();  // the default answers whatever no other certificate claims
  infos.push_back(std::move(first->info));
  std::map<std::string, std::string> claimedBy;
  for (const CertificateFiles& f : options.bySni) {
    auto more = load(f, options.ticketLifetimeS, now);
    if (!more) return more.error();
    if (more->info.names.empty()) {
      return Error(Errc::kInvalidArgument, f.cert + ": no DNS name in its subjectAltName; list the SNI names it serves");
    }
    for (const std::string& n : more->info.names) {
      auto [it, fresh] = claimedBy.emplace(n, f.cert);
      if (!fresh) return Error(Errc::kInvalidArgument, "TLS name '" + n + "' is claimed by both " + it->second + " and " + f.cert);
      impl->byName.emplace(n, more->ctx.get());
    }
    impl->others.push_back(std::move(more->ctx));
    infos.push_back(std::move(more->info));
  }
  // Only the initial SSL_CTX's servername callback runs; it receives the immutable Impl.
  SSL_CTX_set_tlsext_servername_callback(impl->initial.get(), selectCertificate);
  SSL_CTX_set_tlsext_servername_arg(impl->initial.get(), impl.get());
  std::shared_ptr<Context> ctx(new Context(std::move(impl)));
  ctx->infos_ = std::move(infos);
  return std::shared_ptr<const Context>(std::move(ctx));
}

}  // namespace handoff::tls
