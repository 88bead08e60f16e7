// The C++ half of the JWT interop test (jwt_interop.py holds the other half).
//
//   jwt_emit          prints "JWKS <json>", "CLAIMS <json>" and one "TOKEN <alg> <jwt>" per
//                     algorithm, all from fresh keys, for an independent verifier to check.
//   jwt_emit verify   reads lines "<alg> <private key as fromPrivate reads it> <jwt>" from
//                     stdin and answers each with "ok <kid> <claims>" or "fail <reason>", so
//                     tokens and keys made by another library are checked by ours.
#include <iostream>
#include <sstream>
#include <string>

#include "handoff/oauth/jwt.h"

namespace {

using handoff::oauth::JwtAlg;
using handoff::oauth::KeySet;
using handoff::oauth::SigningKey;

constexpr std::string_view kClaims =
    R"({"iss":"https://auth.example.com/","sub":"auth0|5f7c8ec7c33c6c004bbafe82",)"
    R"("aud":"demo-web","iat":1700000000,"exp":4102444800,"nonce":"n-0S6_WzA2Mj7Yt3pQ",)"
    R"("name":"Zo\u00eb <z@example.com>","email_verified":true})";

int emit() {
  std::vector<KeySet::Entry> entries;
  for (JwtAlg alg : {JwtAlg::kRS256, JwtAlg::kES256, JwtAlg::kEdDSA}) {
    auto key = SigningKey::generate(alg);
    if (!key) {
      std::cerr << "generate: " << key.error().message() << "\n";
      return 1;
    }
    entries.push_back({std::move(*key), 0});
  }
  auto keys = KeySet::create(entries);
  if (!keys) return 1;
  std::string jwks;
  (*keys)->appendJwks(jwks);
  std::cout << "JWKS " << jwks << "\nCLAIMS " << kClaims << "\n";
  for (const KeySet::Entry& e : (*keys)->entries()) {
    std::string jwt;
    if (!signJwt(*e.key, kClaims, jwt)) return 1;
    std::cout << "TOKEN " << jwtAlgName(e.key->alg()) << " " << jwt << "\n";
  }
  return 0;
}

int verify() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string algName, stored, jwt;
    in >> algName >> stored >> jwt;
    auto alg = handoff::oauth::parseJwtAlg(algName);
    if (!alg) {
      std::cout << "fail unknown alg\n";
      continue;
    }
    auto key = SigningKey::fromPrivate(*alg, stored);
    if (!key) {
      std::cout << "fail " << key.error().message() << "\n";
      continue;
    }
    std::string kid = (*key)->kid();
    auto keys = KeySet::create({{std::move(*key), 0}});
    std::string claims;
    handoff::core::Status s = verifyJwt(**keys, jwt, claims);
    if (s) {
      std::cout << "ok " << kid << " " << claims << "\n";
    } else {
      std::cout << "fail " << s.error().message() << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "verify") return verify();
  if (argc == 1) return emit();
  std::cerr << "usage: jwt_emit [verify]\n";
  return 2;
}
