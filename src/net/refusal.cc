// A refused connection: the canned 503, then read-and-discard until the client leaves.
#include "handoff/net/refusal.h"

namespace handoff::net {
namespace {

// The canned answer's Content-Length must match its body.
constexpr bool contentLengthMatches(std::string_view r) {
  size_t body = r.find("\r\n\r\n") + 4;
  size_t at = r.find("Content-Length: ") + 16;
  size_t n = 0;
  while (r[at] >= '0' && r[at] <= '9') n = n * 10 + static_cast<size_t>(r[at++] - '0');
  return n == r.size() - body;
}
static_assert(contentLengthMatches(kOverloadedResponse));

thread_local size_t t_lingering = 0;  // one shard per thread: a per-shard count

class Refusal final : public StreamHandler {
 public:
  Refusal(Transport& below, bool answer) : t_(below) {
    if (!answer || t_lingering >= kMaxLingeringRefusals) {
      t_.close();
      return;
    }
    ++t_lingering;
    counted_ = true;
    t_.out().append(kOverloadedResponse);
    t_.flush();
    t_.armTimer(kRefusalLingerMs);
  }
  ~Refusal() override {
    if (counted_) --t_lingering;
  }

  std::span<char> readSpace() override {
    thread_local char discard[4096];
    return {discard, sizeof discard};
  }
  void onRead(size_t n) override {
    read_ += n;
    if (read_ > 64 * 1024) t_.close();  // not a request any more: stop paying for it
  }
  void onEof() override { t_.close(); }
  void onWritten() override {}
  void onTimeout() override { t_.close(); }
  void onDrain() override { t_.close(); }

 private:
  Transport& t_;
  size_t read_ = 0;
  bool counted_ = false;
};

}  // namespace

std::unique_ptr<StreamHandler> refusalHandler(Transport& below, bool answer) {
  return std::make_unique<Refusal>(below, answer);
}

size_t lingeringRefusals() { return t_lingering; }

}  // namespace handoff::net
