// Test helpers for the browser-facing endpoints: a cookie-jar "browser" over the fixture's raw
// Client, URL and form encoding, and the few parsers the tests need (query parameters, hidden
// inputs, JSON string fields, JWT claims). Header-only; no dependency beyond the fixture.
#pragma once

#include <strings.h>

#include <cctype>
#include <cstring>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "server_fixture.h"

namespace handoff::it {

inline std::string enc(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

inline std::string dec(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out.push_back(' ');
    else if (s[i] == '%' && i + 2 < s.size()) out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16))), i += 2;
    else out.push_back(s[i]);
  }
  return out;
}

inline std::string form(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string out;
  for (const auto& [k, v] : kv) out += (out.empty() ? "" : "&") + enc(k) + "=" + enc(v);
  return out;
}

// The decoded value of query parameter `name` in a URL or query string; "" when absent.
inline std::string param(const std::string& url, const std::string& name) {
  size_t q = url.find('?');
  std::string query = q == std::string::npos ? url : url.substr(q + 1);
  std::smatch m;
  std::regex re("(?:^|&)" + name + "=([^&]*)");
  return std::regex_search(query, m, re) ? dec(m[1].str()) : "";
}

inline std::string jsonField(const std::string& json, const std::string& name) {
  std::smatch m;
  std::regex re("\"" + name + "\":(\"([^\"]*)\"|[0-9]+|true|false)");
  if (!std::regex_search(json, m, re)) return "";
  return m[2].matched ? m[2].str() : m[1].str();
}

// The value of a hidden input, with the page's character references undone.
inline std::string hidden(const std::string& html, const std::string& name) {
  std::smatch m;
  std::regex re("name=\"" + name + "\" value=\"([^\"]*)\"");
  if (!std::regex_search(html, m, re)) return "";
  std::string v = m[1].str();
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}}) {
    for (size_t at; (at = v.find(from)) != std::string::npos;) v.replace(at, from.size(), to);
  }
  return v;
}

inline std::string base64UrlDecode(std::string in) {
  for (char& c : in) c = c == '-' ? '+' : c == '_' ? '/' : c;
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char* p = strchr(table, c);
    if (p == nullptr || c == 0) break;
    val = (val << 6) + static_cast<int>(p - table);
    bits += 6;
    if (bits >= 0) out.push_back(static_cast<char>((val >> bits) & 0xFF)), bits -= 8;
  }
  return out;
}

inline std::string jwtClaims(const std::string& jwt) {
  size_t a = jwt.find('.'), b = jwt.find('.', a + 1);
  return base64UrlDecode(jwt.substr(a + 1, b - a - 1));
}

// The outermost JSON objects in `json`, in order (the events of a GET /api/v2/logs answer).
inline std::vector<std::string> jsonObjects(const std::string& json) {
  std::vector<std::string> out;
  int depth = 0;
  bool inString = false;
  size_t start = 0;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (inString) {
      if (c == '\\') ++i;
      else if (c == '"') inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '{' && depth++ == 0) {
      start = i;
    } else if (c == '}' && --depth == 0) {
      out.push_back(json.substr(start, i - start + 1));
    }
  }
  return out;
}

// A tenant log event's `details` object; "" when it has none.
inline std::string eventDetails(const std::string& event) {
  size_t at = event.find("\"details\":{");
  if (at == std::string::npos) return "";
  std::vector<std::string> objs = jsonObjects(event.substr(at + 10));
  return objs.empty() ? "" : objs.front();
}

// An event without its `details`; one top-level field of it; one field of its details.
inline std::string eventTopLevel(const std::string& event) {
  std::string d = eventDetails(event);
  if (d.empty()) return event;
  std::string out = event;
  out.erase(out.find("\"details\":{"), 10 + d.size());
  return out;
}
inline std::string eventField(const std::string& event, const std::string& name) {
  return jsonField(eventTopLevel(event), name);
}
inline std::string eventDetail(const std::string& event, const std::string& name) {
  return jsonField(eventDetails(event), name);
}

inline std::vector<std::string> setCookies(const HttpResponse& r) {
  std::vector<std::string> out;
  for (const auto& [n, v] : r.headers) {
    if (strcasecmp(n.c_str(), "set-cookie") == 0) out.push_back(v);
  }
  return out;
}

inline std::string setCookie(const HttpResponse& r, const std::string& name) {
  for (const std::string& c : setCookies(r)) {
    if (c.rfind(name + "=", 0) == 0) return c;
  }
  return "";
}

// A browser: a cookie jar (paths ignored) in front of one-shot connections.
class Browser {
 public:
  explicit Browser(uint16_t port) : port_(port) {}
  // Connects from `sourceIp` (see Client(port, sourceIp)): a browser at another client IP.
  Browser(uint16_t port, std::string sourceIp) : port_(port), sourceIp_(std::move(sourceIp)) {}
  // Each request on a connection made by `connect` (a TLS one, say).
  explicit Browser(std::function<Client()> connect) : connect_(std::move(connect)) {}

  HttpResponse get(const std::string& target, const std::string& extra = "") {
    return send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + cookieHeader() + extra + "\r\n");
  }
  HttpResponse post(const std::string& target, const std::string& body, const std::string& extra = "") {
    return send("POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + cookieHeader() + extra +
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n\r\n" + body);
  }
  std::map<std::string, std::string>& jar() { return jar_; }

 private:
  std::string cookieHeader() const {
    std::string h;
    for (const auto& [k, v] : jar_) h += (h.empty() ? "" : "; ") + k + "=" + v;
    return h.empty() ? "" : "Cookie: " + h + "\r\n";
  }
  HttpResponse send(const std::string& request) {
    Client c = connect_ ? connect_() : Client(port_, sourceIp_);
    auto r = c.roundTrip(request, Millis(15000));
    EXPECT_TRUE(r) << c.error();
    if (!r) return {};
    for (const std::string& sc : setCookies(*r)) {
      std::string pair = sc.substr(0, sc.find(';'));
      std::string name = pair.substr(0, pair.find('=')), value = pair.substr(pair.find('=') + 1);
      if (sc.find("Max-Age=0") != std::string::npos) jar_.erase(name);
      else jar_[name] = value;
    }
    return *r;
  }
  uint16_t port_ = 0;
  std::string sourceIp_;
  std::function<Client()> connect_;
  std::map<std::string, std::string> jar_;
};

}  // namespace handoff::it
