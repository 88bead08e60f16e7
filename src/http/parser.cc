#include "handoff/http/parser.h"

#include <llhttp.h>

namespace handoff::http {

static_assert(ParserEvents::kPause == HPE_PAUSED, "kPause must be llhttp's HPE_PAUSED");

namespace {
struct State {
  ParserEvents* events;
  bool badToken;
};
}  // namespace

struct Parser::Impl {
  llhttp_t parser;
  llhttp_settings_t settings;
  State state;
};

namespace {

ParserEvents& ev(llhttp_t* p) { return *static_cast<State*>(p->data)->events; }

// RFC 9110 §5.6.2 tchar. llhttp 8.1 lets whitespace before the colon through ("Host : x"), which
// RFC 9112 §5.1 says a server must answer with 400; checking the whole name catches that too.
bool isTokenChar(unsigned char c) {
  static constexpr char kExtra[] = "!#$%&'*+-.^_`|~";
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  for (char e : kExtra) {
    if (e != 0 && c == static_cast<unsigned char>(e)) return true;
  }
  return false;
}

}  // namespace

Parser::Parser(ParserEvents& events) : impl_(std::make_unique<Impl>()) {
  llhttp_settings_init(&impl_->settings);
  auto& s = impl_->settings;
  s.on_message_begin = [](llhttp_t* p) { return ev(p).onMessageBegin(); };
  s.on_url = [](llhttp_t* p, const char* at, size_t n) { return ev(p).onUrl(at, n); };
  s.on_header_field = [](llhttp_t* p, const char* at, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (!isTokenChar(static_cast<unsigned char>(at[i]))) {
        static_cast<State*>(p->data)->badToken = true;
        return -1;
      }
    }
    return ev(p).onHeaderField(at, n);
  };
  s.on_header_value = [](llhttp_t* p, const char* at, size_t n) { return ev(p).onHeaderValue(at, n); };
  s.on_headers_complete = [](llhttp_t* p) { return ev(p).onHeadersComplete(); };
  s.on_body = [](llhttp_t* p, const char* at, size_t n) { return ev(p).onBody(at, n); };
  s.on_message_complete = [](llhttp_t* p) { return ev(p).onMessageComplete(); };
  llhttp_init(&impl_->parser, HTTP_REQUEST, &impl_->settings);
  impl_->state = {&events, false};
  impl_->parser.data = &impl_->state;
}

Parser::~Parser() = default;

ParseResult Parser::execute(const char* data, size_t n, size_t* consumed) {
  llhttp_errno_t e = llhttp_execute(&impl_->parser, data, n);
  if (e == HPE_OK) {
    *consumed = n;
    return ParseResult::kOk;
  }
  const char* pos = llhttp_get_error_pos(&impl_->parser);
  *consumed = pos != nullptr ? static_cast<size_t>(pos - data) : n;
  switch (e) {
    case HPE_PAUSED: return ParseResult::kPaused;
    case HPE_INVALID_VERSION: return ParseResult::kBadVersion;
    case HPE_USER:
      return impl_->state.badToken ? ParseResult::kBadRequest : ParseResult::kAborted;
    case HPE_CB_MESSAGE_BEGIN:
    case HPE_CB_HEADERS_COMPLETE:
    case HPE_CB_MESSAGE_COMPLETE: return ParseResult::kAborted;
    default: return ParseResult::kBadRequest;
  }
}

void Parser::resume() { llhttp_resume(&impl_->parser); }

Method Parser::method() const {
  switch (impl_->parser.method) {
    case HTTP_GET: return Method::kGet;
    case HTTP_HEAD: return Method::kHead;
    case HTTP_POST: return Method::kPost;
    case HTTP_PUT: return Method::kPut;
    case HTTP_PATCH: return Method::kPatch;
    case HTTP_DELETE: return Method::kDelete;
    case HTTP_OPTIONS: return Method::kOptions;
    default: return Method::kOther;
  }
}

int Parser::versionMajor() const { return impl_->parser.http_major; }
int Parser::versionMinor() const { return impl_->parser.http_minor; }
bool Parser::keepAlive() const { return llhttp_should_keep_alive(&impl_->parser) != 0; }
bool Parser::chunked() const { return (impl_->parser.flags & F_CHUNKED) != 0; }

int64_t Parser::contentLength() const {
  if ((impl_->parser.flags & F_CONTENT_LENGTH) == 0) return -1;
  return static_cast<int64_t>(impl_->parser.content_length);
}

const char* Parser::errorReason() const { return llhttp_get_error_reason(&impl_->parser); }

}  // namespace handoff::http
