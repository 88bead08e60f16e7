#include "handoff/http/message.h"

#include <charconv>
#include <ctime>

#include "handoff/core/log.h"

namespace handoff::http {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view Request::header(std::string_view name) const {
  for (const Header& h : headers) {
    if (equalsIgnoreCase(h.name, name)) return h.value;
  }
  return {};
}

bool Request::hasHeader(std::string_view name) const {
  for (const Header& h : headers) {
    if (equalsIgnoreCase(h.name, name)) return true;
  }
  return false;
}

std::string_view Request::mediaType() const {
  std::string_view t = header("content-type");
  t = t.substr(0, t.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return t;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

namespace {

// "Date: Fri, 27 Nov 2026 17:40:22 GMT\r\n", formatted once per second per thread.
std::string_view dateHeader() {
  thread_local time_t cachedSecond = 0;
  thread_local char buf[64];
  thread_local size_t len = 0;
  time_t now = time(nullptr);
  if (now != cachedSecond) {
    tm t;
    gmtime_r(&now, &t);
    len = strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &t);
    cachedSecond = now;
  }
  return {buf, len};
}

}  // namespace

void Response::start(int status) {
  status_ = status;
  char code[4] = {char('0' + status / 100), char('0' + status / 10 % 10), char('0' + status % 10), ' '};
  out_.append("HTTP/1.1 ");
  out_.append(code, 4);
  out_.append(reasonPhrase(status));
  out_.append("\r\nServer: handoff\r\n");
  out_.append(dateHeader());
  out_.append(startHeaders_);
}

void Response::addStartHeader(std::string_view name, std::string_view value) {
  startHeaders_.append(name).append(": ").append(value).append("\r\n");
}

void Response::header(std::string_view name, std::string_view value) {
  out_.append(name);
  out_.append(": ");
  out_.append(value);
  out_.append("\r\n");
}

void Response::finish(std::string_view contentType, std::string_view body) {
  if (!contentType.empty()) header("Content-Type", contentType);
  if (status_ == 204) {
    // RFC 9110 §8.6: no Content-Length on a 204, which has no body.
    out_.append(close_ ? "Connection: close\r\n\r\n" : "\r\n");
    finished_ = true;
    return;
  }
  char len[24];
  auto r = std::to_chars(len, len + sizeof len, body.size());
  out_.append("Content-Length: ");
  out_.append(len, r.ptr);
  out_.append(close_ ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
  if (!head_) out_.append(body);
  finished_ = true;
}

void sendJsonError(Response& res, int status, std::string_view error, std::string_view description) {
  std::string body;
  body.reserve(64 + description.size());
  body.append("{\"error\":");
  core::appendJsonString(body, error);
  body.append(",\"error_description\":");
  core::appendJsonString(body, description);
  body.push_back('}');
  res.start(status);
  res.header("Cache-Control", "no-store");
  res.finish("application/json", body);
}

}  // namespace handoff::http
