// Session ticket keys: the ring, and the callback BoringSSL calls to seal and open tickets.
#include <openssl/aes.h>
#include <openssl/cipher.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

#include "handoff/tls/context.h"
#include "handoff/tls/transport.h"
#include "ssl_hooks.h"

namespace handoff::tls {

namespace {

TicketKey freshKey() {
  TicketKey k;
  RAND_bytes(k.name, sizeof k.name);
  RAND_bytes(k.aesKey, sizeof k.aesKey);
  RAND_bytes(k.hmacKey, sizeof k.hmacKey);
  return k;
}

}  // namespace

int shardSlot() {
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  if (slot < 0) std::abort();  // only fails when out of memory at the first connection
  return slot;
}

std::shared_ptr<const TicketKeys> TicketKeys::generate() {
  auto k = std::make_shared<TicketKeys>();
  k->current_ = freshKey();
  return k;
}

std::shared_ptr<const TicketKeys> TicketKeys::rotated() const {
  auto k = std::make_shared<TicketKeys>();
  k->previous_ = current_;
  k->hasPrevious_ = true;
  k->current_ = freshKey();
  return k;
}

const TicketKey* TicketKeys::find(const uint8_t* name, bool* isPrevious) const {
  *isPrevious = false;
  if (std::memcmp(name, current_.name, sizeof current_.name) == 0) return &current_;
  if (hasPrevious_ && std::memcmp(name, previous_.name, sizeof previous_.name) == 0) {
    *isPrevious = true;
    return &previous_;
  }
  return nullptr;
}

// Seals a new ticket under the current key of the connection's shard, or opens one under the
// current or previous key (2: accepted, but renew it under the current key). An unknown key
// name (older than the previous key, or another process's) means a full handshake.
int ticketKeyCallback(SSL* ssl, uint8_t* keyName, uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac, int encrypt) {
  const auto* shard = static_cast<const ShardTls*>(SSL_get_ex_data(ssl, shardSlot()));
  if (shard == nullptr || !shard->tickets) return encrypt ? -1 : 0;
  if (encrypt) {
    const TicketKey& k = shard->tickets->current();
    std::memcpy(keyName, k.name, sizeof k.name);
    if (RAND_bytes(iv, AES_BLOCK_SIZE) != 1 ||
        !EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aesKey, iv) ||
        !HMAC_Init_ex(hmac, k.hmacKey, sizeof k.hmacKey, EVP_sha256(), nullptr)) {
      return -1;
    }
    return 1;
  }
  bool previous = false;
  const TicketKey* k = shard->tickets->find(keyName, &previous);
  if (k == nullptr) return 0;
  if (!HMAC_Init_ex(hmac, k->hmacKey, sizeof k->hmacKey, EVP_sha256(), nullptr) ||
      !EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k->aesKey, iv)) {
    return 0;
  }
  return previous ? 2 : 1;
}

}  // namespace handoff::tls
