// Private to src/tls: what context.cc (which builds the SSL_CTXs) and transport.cc (which owns
// the SSLs) share. BoringSSL's ssl headers are included by these three files and nowhere else.
#pragma once

#include <openssl/ssl.h>

namespace handoff::tls {

struct ShardTls;

// The SSL ex_data slot where a connection keeps its shard's ShardTls (read by the ticket
// callback: the ticket keys are per-shard snapshots).
int shardSlot();

// BoringSSL's session ticket callback (SSL_CTX_set_tlsext_ticket_key_cb), over the TicketKeys of
// the connection's shard (tickets.cc).
int ticketKeyCallback(SSL* ssl, uint8_t* keyName, uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac, int encrypt);

}  // namespace handoff::tls
