// The HTTP/1.1 parser wrapper on the requests handoff serves most: a token request with a form
// body, and an /authorize GET with a long query and browser-like headers.
#include <benchmark/benchmark.h>

#include <string>

#include "handoff/http/parser.h"

namespace {

using handoff::http::ParseResult;
using handoff::http::Parser;
using handoff::http::ParserEvents;

// Does what the session does per callback minus storage: counts bytes, pauses per message.
struct Sink : ParserEvents {
  size_t bytes = 0;
  int onMessageBegin() override { return kContinue; }
  int onUrl(const char*, size_t n) override { bytes += n; return kContinue; }
  int onHeaderField(const char*, size_t n) override { bytes += n; return kContinue; }
  int onHeaderValue(const char*, size_t n) override { bytes += n; return kContinue; }
  int onHeadersComplete() override { return kContinue; }
  int onBody(const char*, size_t n) override { bytes += n; return kContinue; }
  int onMessageComplete() override { return kPause; }
};

const std::string kTokenBody =
    "grant_type=refresh_token&client_id=demo-native&refresh_token=v1.Mf3kq9Z2xWbP0sYcT7uHnRa4LdE8gJiKoQ5vNzX1yA6&"
    "audience=urn%3A127.0.0.1%3A8080%3Asession_transfer";
const std::string kToken =
    "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    "Content-Length: " + std::to_string(kTokenBody.size()) + "\r\nUser-Agent: Auth0.swift/2.10\r\nAccept: */*\r\n\r\n" + kTokenBody;

const std::string kAuthorize =
    "GET /authorize?client_id=demo-web&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fcallback&response_type=code"
    "&scope=openid%20profile%20email&state=af0ifjsldkj&nonce=n-0S6_WzA2Mj&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    "&code_challenge_method=S256&session_transfer_token=stt_0_Zq3Xo1t8URWbuGJSstwcMaoeK1t8 HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.9\r\n"
    "Accept-Encoding: gzip, deflate, br\r\nCookie: auth0_session=s_9f8e7d6c5b4a; did=abcdef\r\nConnection: keep-alive\r\n\r\n";

void parseLoop(benchmark::State& state, const std::string& req) {
  Sink sink;
  Parser parser(sink);
  for (auto _ : state) {
    size_t consumed = 0;
    ParseResult r = parser.execute(req.data(), req.size(), &consumed);
    if (r == ParseResult::kPaused) parser.resume();
    benchmark::DoNotOptimize(sink.bytes);
    if (r != ParseResult::kPaused || consumed != req.size()) state.SkipWithError("parse failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * req.size()));
}

void BM_ParseTokenRequest(benchmark::State& state) { parseLoop(state, kToken); }
void BM_ParseAuthorizeRequest(benchmark::State& state) { parseLoop(state, kAuthorize); }
BENCHMARK(BM_ParseTokenRequest);
BENCHMARK(BM_ParseAuthorizeRequest);

}  // namespace
