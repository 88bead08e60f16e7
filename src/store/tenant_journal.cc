#include "handoff/store/tenant_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "handoff/store/recovery.h"
#include "handoff/store/wal.h"

namespace handoff::store {

using core::Errc;
using core::Error;

namespace {

Error ioError(const std::string& what, const std::string& path) {
  return Error(Errc::kIo, what + " " + path + ": " + std::strerror(errno));
}

std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : slash == 0 ? std::string("/") : path.substr(0, slash);
}

}  // namespace

TenantJournal::~TenantJournal() {
  if (fd_ >= 0) ::close(fd_);
}

core::Result<std::unique_ptr<TenantJournal>> TenantJournal::open(
    const std::string& path, const std::function<bool(RecordType, std::string_view)>& onRecord) {
  struct stat st;
  bool existed = ::lstat(path.c_str(), &st) == 0;
  if (existed && !S_ISREG(st.st_mode)) return Error(Errc::kIo, path + " is not a regular file");
  std::unique_ptr<TenantJournal> j(new TenantJournal());
  j->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (j->fd_ < 0) return ioError("cannot open", path);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(j->fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ioError("cannot read", path);
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  bool refused = false;
  size_t good = readFrames(
      data,
      [&](RecordType t, std::string_view p) {
        if (!onRecord(t, p)) return false;
        ++j->records_;
        return true;
      },
      &refused);
  if (refused)
    return Error(Errc::kInvalidArgument, path + ": a record cannot be applied (offset " + std::to_string(good) + ")");
  if (good < data.size()) {
    j->torn_ = data.size() - good;
    if (::ftruncate(j->fd_, static_cast<off_t>(good)) != 0 || ::fdatasync(j->fd_) != 0) {
      return ioError("cannot cut the torn tail of", path);
    }
  }
  j->size_ = good;
  if (::lseek(j->fd_, static_cast<off_t>(good), SEEK_SET) < 0) return ioError("cannot seek", path);
  if (!existed) {
    int dfd = ::open(dirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return ioError("cannot open the directory of", path);
    int rc = ::fsync(dfd);
    ::close(dfd);
    if (rc != 0) return ioError("cannot fsync the directory of", path);
  }
  return j;
}

core::Status TenantJournal::append(const std::vector<std::pair<RecordType, std::string>>& records) {
  std::string frame;
  for (const auto& [type, payload] : records) Wal::frame(frame, type, payload);
  size_t off = 0;
  while (off < frame.size()) {
    ssize_t n = ::pwrite(fd_, frame.data() + off, frame.size() - off, static_cast<off_t>(size_ + off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int saved = errno;
      (void)::ftruncate(fd_, static_cast<off_t>(size_));
      return Error(Errc::kIo, std::string("tenant journal: cannot write: ") + std::strerror(saved));
    }
    off += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) {
    int saved = errno;
    (void)::ftruncate(fd_, static_cast<off_t>(size_));
    return Error(Errc::kIo, std::string("tenant journal: cannot sync: ") + std::strerror(saved));
  }
  size_ += frame.size();
  records_ += records.size();
  return {};
}

}  // namespace handoff::store
