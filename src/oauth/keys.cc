// The key file DATA_DIR/keys.json: read strictly, written atomically. Runs on the control thread
// at start-up and on rotation, so it uses plain blocking POSIX calls.
//
// The write follows the usual crash-safe replacement: a temporary file created 0600 in the same
// directory, fsync, rename over the old file, fsync of the directory. A crash leaves either the
// old file or the new one, never a mix; a stale keys.json.tmp is simply overwritten next time.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "handoff/core/arena.h"
#include "handoff/http/json.h"
#include "handoff/oauth/jwt.h"

namespace handoff::oauth {

using core::Errc;
using core::Error;
using core::Result;
using core::Status;

namespace {

constexpr size_t kMaxKeyFileBytes = 1 << 20;
constexpr std::string_view kFileName = "keys.json";

Error ioError(const std::string& path, std::string_view what, int err) {
  return Error(Errc::kIo, path + ": " + std::string(what) + ": " + std::strerror(err));
}

Error badFile(const std::string& path, std::string_view what) {
  return Error(Errc::kInvalidArgument, path + ": " + std::string(what));
}

int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Reads the whole file into `out`; sets `missing` (and succeeds) when it does not exist.
Status readFile(const std::string& path, std::string& out, bool& missing) {
  missing = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      missing = true;
      return {};
    }
    return ioError(path, "open", errno);
  }
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return ioError(path, "read", err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxKeyFileBytes) {
      ::close(fd);
      return badFile(path, "larger than 1 MiB");
    }
  }
  ::close(fd);
  return {};
}

// Parses the key file text. Every entry must be well-formed and its kid must be the thumbprint
// of its key: a file edited by hand or damaged on disk is refused, not half-used.
Result<std::vector<KeySet::Entry>> parseKeyFile(const std::string& path, std::string_view text) {
  core::Arena arena;
  const http::JsonValue* root = nullptr;
  if (http::parseJson(text, arena, &root, 4) != http::JsonError::kNone || !root->isArray()) {
    return badFile(path, "not a JSON array");
  }
  std::vector<KeySet::Entry> entries;
  for (const http::JsonValue& item : root->array()) {
    const std::string_view* kid = item.findString("kid");
    const std::string_view* algName = item.findString("alg");
    const std::string_view* priv = item.findString("private");
    const http::JsonValue* created = item.find("created_at");
    int64_t createdAt = 0;
    if (kid == nullptr || algName == nullptr || priv == nullptr || created == nullptr ||
        !created->asInt64(&createdAt)) {
      return badFile(path, "an entry lacks kid, alg, created_at or private");
    }
    std::optional<JwtAlg> alg = parseJwtAlg(*algName);
    if (!alg) return badFile(path, "unknown alg " + std::string(*algName));
    Result<std::unique_ptr<SigningKey>> key = SigningKey::fromPrivate(*alg, *priv);
    if (!key) return badFile(path, "kid " + std::string(*kid) + ": " + key.error().message());
    if ((*key)->kid() != *kid) {
      return badFile(path, "kid " + std::string(*kid) + " does not match its key");
    }
    entries.push_back({std::shared_ptr<const SigningKey>(std::move(*key)), createdAt});
  }
  if (entries.empty()) return badFile(path, "no keys");
  return entries;
}

std::string formatKeyFile(const KeySet& keys) {
  std::string out = "[\n";
  bool first = true;
  for (const KeySet::Entry& e : keys.entries()) {
    if (!first) out.append(",\n");
    first = false;
    out.append(R"(  {"kid":)");
    core::appendJsonString(out, e.key->kid());
    out.append(R"(,"alg":)");
    core::appendJsonString(out, jwtAlgName(e.key->alg()));
    out.append(R"(,"created_at":)").append(std::to_string(e.createdAt));
    out.append(R"(,"private":")");
    e.key->appendPrivate(out);  // base64url: nothing to escape
    out.append("\"}");
  }
  out.append("\n]\n");
  return out;
}

Status writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(Errc::kIo, std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status writeKeyFile(const std::string& dataDir, const KeySet& keys) {
  const std::string path = dataDir + "/" + std::string(kFileName);
  const std::string tmp = path + ".tmp";
  std::string text = formatKeyFile(keys);

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ioError(tmp, "open", errno);
  // A stale temporary file keeps its old mode through O_TRUNC; set ours before any key lands.
  Status s = ::fchmod(fd, 0600) == 0 ? writeAll(fd, text) : Error(Errc::kIo, std::strerror(errno));
  if (s && ::fsync(fd) != 0) s = Error(Errc::kIo, std::strerror(errno));
  ::close(fd);
  if (!s) {
    ::unlink(tmp.c_str());
    return Error(Errc::kIo, tmp + ": " + s.error().message());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ioError(path, "rename", err);
  }
  // The rename is durable only once the directory entry is.
  int dirFd = ::open(dataDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd < 0) return ioError(dataDir, "open", errno);
  int rc = ::fsync(dirFd);
  int err = errno;
  ::close(dirFd);
  if (rc != 0) return ioError(dataDir, "fsync", err);
  return {};
}

// Builds {new key of alg} + the newest keepOld of `old`, writes it and returns it.
Result<std::shared_ptr<const KeySet>> rotateAndStore(const std::string& dataDir, JwtAlg alg,
                                                     std::vector<KeySet::Entry> old,
                                                     size_t keepOld) {
  Result<std::unique_ptr<SigningKey>> fresh = SigningKey::generate(alg);
  if (!fresh) return fresh.error();
  std::vector<KeySet::Entry> entries;
  entries.push_back({std::shared_ptr<const SigningKey>(std::move(*fresh)), nowSeconds()});
  for (size_t i = 0; i < old.size() && i < keepOld; ++i) entries.push_back(std::move(old[i]));
  Result<std::shared_ptr<const KeySet>> set = KeySet::create(std::move(entries));
  if (!set) return set.error();
  if (Status s = writeKeyFile(dataDir, **set); !s) return s.error();
  return set;
}

// Reads the current entries; `missing` says the file does not exist (entries then empty).
Result<std::vector<KeySet::Entry>> readEntries(const std::string& dataDir, bool& missing) {
  const std::string path = dataDir + "/" + std::string(kFileName);
  std::string text;
  if (Status s = readFile(path, text, missing); !s) return s.error();
  if (missing) return std::vector<KeySet::Entry>();
  return parseKeyFile(path, text);
}

}  // namespace

Result<std::shared_ptr<const KeySet>> loadOrCreateKeys(const std::string& dataDir, JwtAlg alg,
                                                       size_t keepOld) {
  bool missing = false;
  Result<std::vector<KeySet::Entry>> entries = readEntries(dataDir, missing);
  if (!entries) return entries.error();
  if (missing || entries->front().key->alg() != alg) {
    return rotateAndStore(dataDir, alg, std::move(*entries), keepOld);
  }
  Result<std::shared_ptr<const KeySet>> set = KeySet::create(std::move(*entries));
  if (!set) return badFile(dataDir + "/" + std::string(kFileName), set.error().message());
  return set;
}

std::string formatKeys(const KeySet& keys) { return formatKeyFile(keys); }

Result<std::shared_ptr<const KeySet>> adoptKeys(const std::string& dataDir, std::string_view text) {
  Result<std::vector<KeySet::Entry>> entries = parseKeyFile("the shared signing keys", text);
  if (!entries) return entries.error();
  Result<std::shared_ptr<const KeySet>> set = KeySet::create(std::move(*entries));
  if (!set) return set.error();
  if (Status s = writeKeyFile(dataDir, **set); !s) return s.error();
  return set;
}

Result<std::shared_ptr<const KeySet>> rotateKeys(const std::string& dataDir, JwtAlg alg,
                                                 size_t keepOld) {
  bool missing = false;
  Result<std::vector<KeySet::Entry>> entries = readEntries(dataDir, missing);
  if (!entries) return entries.error();
  return rotateAndStore(dataDir, alg, std::move(*entries), keepOld);
}

}  // namespace handoff::oauth
