#include "handoff/core/log.h"

#include "handoff/core/text.h"

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
