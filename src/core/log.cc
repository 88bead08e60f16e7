#include "handoff/core/log.h"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <ctime>

namespace handoff::core {
namespace {

std::atomic<LogLevel> gLevel{LogLevel::kInfo};

std::string_view levelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

template <class Int>
void appendInt(std::string& out, Int v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

bool parseLogLevel(std::string_view name, LogLevel* out) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (levelName(l) == name) {
      *out = l;
      return true;
    }
  }
  return false;
}

void setLogLevel(LogLevel level) { gLevel.store(level, std::memory_order_relaxed); }

bool logEnabled(LogLevel level) { return level >= gLevel.load(std::memory_order_relaxed); }

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    const char* esc = nullptr;
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      default:
        if (c >= 0x20 && c != '<' && c != '>' && c != '&') continue;
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    if (esc) {
      out.append(esc);
    } else {
      char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out.append(u, 6);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void appendRfc3339Now(std::string& out) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  char buf[32];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  out.append(buf, n);
  int ms = static_cast<int>(ts.tv_nsec / 1000000);
  char frac[6] = {'.', char('0' + ms / 100), char('0' + ms / 10 % 10), char('0' + ms % 10), 'Z', 0};
  out.append(frac, 5);
}

void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!logEnabled(level)) return;
  std::string line;
  line.reserve(128);
  line.append("{\"ts\":\"");
  appendRfc3339Now(line);
  line.append("\",\"level\":\"");
  line.append(levelName(level));
  line.append("\",\"msg\":");
  appendJsonString(line, msg);
  for (const LogField& f : fields) {
    line.push_back(',');
    appendJsonString(line, f.key);
    line.push_back(':');
    switch (f.kind) {
      case LogField::Kind::kString: appendJsonString(line, f.str); break;
      case LogField::Kind::kInt: appendInt(line, f.i); break;
      case LogField::Kind::kUint: appendInt(line, f.u); break;
      case LogField::Kind::kBool: line.append(f.b ? "true" : "false"); break;
    }
  }
  line.append("}\n");
  // One write per line; a short write to a pipe of this size does not happen in practice, and a
  // failed log write is not worth failing a request over.
  ssize_t r = ::write(STDERR_FILENO, line.data(), line.size());
  (void)r;
}

}  // namespace handoff::core
