// The one file that includes libmaxminddb: open a private copy, validate, look up.
#include "handoff/geo/geo_db.h"

#include <fcntl.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace handoff::geo {

using core::Errc;
using core::Error;

struct Database::Handle {
  MMDB_s mmdb{};
  bool open = false;
  ~Handle() {
    if (open) MMDB_close(&mmdb);
  }
};

namespace {

constexpr size_t kMaxBytes = size_t{1} << 31;  // 2 GiB: any real database is far smaller

// Copies `path` into a sealed memfd (no one can change it after) and returns its fd.
core::Result<int> privateCopy(const std::string& path, size_t* bytes) {
  // O_NONBLOCK: a FIFO (or a device) at the path must not block the opening thread forever.
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (in < 0) return Error(Errc::kIo, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(in);
    return Error(Errc::kInvalidArgument, path + " is not a regular file");
  }
  int out = ::memfd_create("handoff-geo", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (out < 0) {
    int e = errno;
    ::close(in);
    return Error(Errc::kIo, std::string("memfd_create: ") + std::strerror(e));
  }
  char buf[1 << 16];
  size_t total = 0;
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(in), ::close(out);
      return Error(Errc::kIo, "cannot read " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
    if (total > kMaxBytes) {
      ::close(in), ::close(out);
      return Error(Errc::kInvalidArgument, path + " is larger than 2 GiB");
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out, buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        int e = errno;
        ::close(in), ::close(out);
        return Error(Errc::kIo, std::string("cannot copy the database: ") + std::strerror(e));
      }
      off += w;
    }
  }
  ::close(in);
  ::fcntl(out, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  *bytes = total;
  return out;
}

bool typeMatches(std::string_view type, Kind kind) {
  if (kind == Kind::kAsn) return type.find("ASN") != std::string_view::npos;
  return type.find("Country") != std::string_view::npos || type.find("City") != std::string_view::npos;
}

// One lookup; the entry when found.
bool find(const MMDB_s& db, const net::IpBytes& ip, MMDB_entry_s* entry) {
  int err = MMDB_SUCCESS;
  MMDB_lookup_result_s r;
  if (ip.v4) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    std::memcpy(&sa.sin_addr, ip.b.data() + 12, 4);
    r = MMDB_lookup_sockaddr(&db, reinterpret_cast<const sockaddr*>(&sa), &err);
  } else {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    std::memcpy(&sa.sin6_addr, ip.b.data(), 16);
    r = MMDB_lookup_sockaddr(&db, reinterpret_cast<const sockaddr*>(&sa), &err);
  }
  if (err != MMDB_SUCCESS || !r.found_entry) return false;
  *entry = r.entry;
  return true;
}

// Probe lookups over both families: each must either miss or decode completely.
core::Status probe(const MMDB_s& db) {
  static constexpr const char* kProbes[] = {"1.1.1.1", "8.8.8.8", "127.0.0.1", "192.0.2.1", "10.0.0.1",
                                            "::1", "2001:db8::1", "2606:4700::1111", "::ffff:9.9.9.9"};
  for (const char* text : kProbes) {
    auto ip = net::IpBytes::parse(text);
    if (!ip || (!ip->v4 && db.metadata.ip_version == 4)) continue;
    MMDB_entry_s entry;
    if (!find(db, *ip, &entry)) continue;
    MMDB_entry_data_list_s* list = nullptr;
    int err = MMDB_get_entry_data_list(&entry, &list);
    MMDB_free_entry_data_list(list);
    if (err != MMDB_SUCCESS) {
      return Error(Errc::kInvalidArgument, std::string("probe lookup of ") + text + " fails: " + MMDB_strerror(err));
    }
  }
  return {};
}

}  // namespace

Database::~Database() = default;

core::Result<std::shared_ptr<const Database>> Database::open(const std::string& path, Kind kind, uint64_t minEpoch) {
  size_t bytes = 0;
  auto fd = privateCopy(path, &bytes);
  if (!fd) return fd.error();
  std::shared_ptr<Database> db(new Database());
  db->h_ = std::make_unique<Handle>();
  std::string procPath = "/proc/self/fd/" + std::to_string(*fd);
  int err = MMDB_open(procPath.c_str(), MMDB_MODE_MMAP, &db->h_->mmdb);
  ::close(*fd);  // the mapping keeps the memory file alive
  if (err != MMDB_SUCCESS) {
    return Error(Errc::kInvalidArgument, path + ": not a MaxMind database: " + MMDB_strerror(err));
  }
  db->h_->open = true;
  const MMDB_metadata_s& meta = db->h_->mmdb.metadata;
  db->type_ = meta.database_type != nullptr ? meta.database_type : "";
  db->kind_ = kind;
  db->path_ = path;
  db->buildEpoch_ = meta.build_epoch;
  db->bytes_ = bytes;
  if (!typeMatches(db->type_, kind)) {
    return Error(Errc::kInvalidArgument, path + ": database_type '" + db->type_ + "' is not " +
                                             (kind == Kind::kAsn ? "an ASN database" : "a country or city database"));
  }
  if (meta.binary_format_major_version != 2) {
    return Error(Errc::kInvalidArgument, path + ": unsupported binary format " +
                                             std::to_string(meta.binary_format_major_version));
  }
  if (meta.build_epoch < minEpoch) {
    return Error(Errc::kInvalidArgument, path + ": build_epoch " + std::to_string(meta.build_epoch) +
                                             " is older than the database in service (" + std::to_string(minEpoch) + ")");
  }
  if (auto st = probe(db->h_->mmdb); !st) return Error(st.error().code(), path + ": " + st.error().message());
  return std::shared_ptr<const Database>(std::move(db));
}

AsnAnswer Database::asn(const net::IpBytes& ip, bool withOrganization) const {
  AsnAnswer out;
  MMDB_entry_s entry;
  if (!find(h_->mmdb, ip, &entry)) return out;
  MMDB_entry_data_s data;
  if (MMDB_get_value(&entry, &data, "autonomous_system_number", nullptr) == MMDB_SUCCESS && data.has_data) {
    if (data.type == MMDB_DATA_TYPE_UINT32) out.asn = data.uint32;
    else if (data.type == MMDB_DATA_TYPE_UINT16) out.asn = data.uint16;
    else if (data.type == MMDB_DATA_TYPE_UINT64 && data.uint64 <= UINT32_MAX) out.asn = static_cast<uint32_t>(data.uint64);
  }
  if (out.asn == 0 || !withOrganization) return out;
  if (MMDB_get_value(&entry, &data, "autonomous_system_organization", nullptr) == MMDB_SUCCESS && data.has_data &&
      data.type == MMDB_DATA_TYPE_UTF8_STRING) {
    out.organization = std::string_view(data.utf8_string, data.data_size);
  }
  return out;
}

std::string_view Database::country(const net::IpBytes& ip) const {
  MMDB_entry_s entry;
  if (!find(h_->mmdb, ip, &entry)) return {};
  MMDB_entry_data_s data;
  if (MMDB_get_value(&entry, &data, "country", "iso_code", nullptr) != MMDB_SUCCESS || !data.has_data ||
      data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2) {
    return {};
  }
  return std::string_view(data.utf8_string, 2);
}

}  // namespace handoff::geo
