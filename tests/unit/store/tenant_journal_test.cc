// The tenant journal's file (store/tenant_journal.h): records read back in
// order after a reopen, a torn tail (a crash mid-append) cut at every byte
// offset, a flipped bit ending the good records at its frame, a refused record
// refusing the open, and a fresh file created 0600.
#include "handoff/store/tenant_journal.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace handoff::store {
namespace {

namespace fs = std::filesystem;
using Records = std::vector<std::pair<RecordType, std::string>>;

class TenantJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "handoff-tj-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    path_ = dir_ + "/tenant.journal";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Opens the journal, collecting what it replays.
  std::unique_ptr<TenantJournal> open(Records& seen) {
    auto j = TenantJournal::open(path_, [&](RecordType t, std::string_view p) {
      seen.emplace_back(t, std::string(p));
      return true;
    });
    EXPECT_TRUE(j) << (j ? "" : j.error().message());
    return j ? std::move(j).value() : nullptr;
  }
  std::string readFile() {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void writeFile(const std::string& bytes) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  std::string dir_, path_;
};

const Records kSample = {{RecordType::kTenantClientPut, "{\"client_id\":\"a\"}"},
                         {RecordType::kTenantUserPut, "{\"user_id\":\"auth0|u\"}"},
                         {RecordType::kTenantClientDeleted, "a"},
                         {RecordType::kTenantUserDeleted, "auth0|u"}};

TEST_F(TenantJournalTest, RecordsReadBackInOrderAfterReopen) {
  Records none;
  {
    auto j = open(none);
    ASSERT_TRUE(j);
    EXPECT_TRUE(none.empty());
    ASSERT_TRUE(j->append({kSample[0], kSample[1]}));
    ASSERT_TRUE(j->append({kSample[2]}));
    ASSERT_TRUE(j->append({kSample[3]}));
    EXPECT_EQ(j->records(), 4u);
  }
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Records seen;
  auto j = open(seen);
  EXPECT_EQ(seen, kSample);
  EXPECT_EQ(j->tornBytes(), 0u);
  // Appends after a reopen follow the old records.
  ASSERT_TRUE(j->append({kSample[0]}));
  j.reset();
  Records again;
  open(again);
  ASSERT_EQ(again.size(), 5u);
  EXPECT_EQ(again.back(), kSample[0]);
}

TEST_F(TenantJournalTest, TornTailIsCutAtEveryOffset) {
  Records none;
  {
    auto j = open(none);
    for (const auto& r : kSample) ASSERT_TRUE(j->append({r}));
  }
  const std::string whole = readFile();
  std::vector<size_t> ends;  // the byte offset after each frame
  for (size_t off = 0, i = 0; i < kSample.size(); ++i) {
    off += 9 + kSample[i].second.size();
    ends.push_back(off);
  }
  ASSERT_EQ(ends.back(), whole.size());
  for (size_t cut = 0; cut <= whole.size(); ++cut) {
    writeFile(whole.substr(0, cut));
    Records seen;
    auto j = open(seen);
    size_t complete = 0;
    while (complete < ends.size() && ends[complete] <= cut) ++complete;
    ASSERT_EQ(seen.size(), complete) << "cut at " << cut;
    size_t good = complete == 0 ? 0 : ends[complete - 1];
    EXPECT_EQ(j->tornBytes(), cut - good);
    j.reset();
    EXPECT_EQ(fs::file_size(path_), good) << "the torn bytes were not removed";
  }
}

TEST_F(TenantJournalTest, FlippedBitEndsTheGoodRecordsAtItsFrame) {
  Records none;
  {
    auto j = open(none);
    for (const auto& r : kSample) ASSERT_TRUE(j->append({r}));
  }
  std::string bytes = readFile();
  size_t second = 9 + kSample[0].second.size();
  bytes[second + 10] ^= 0x04;  // inside the second frame's payload
  writeFile(bytes);
  Records seen;
  open(seen);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], kSample[0]);
}

TEST_F(TenantJournalTest, ARefusedRecordRefusesTheOpen) {
  Records none;
  {
    auto j = open(none);
    ASSERT_TRUE(j->append(kSample));
  }
  auto j = TenantJournal::open(path_, [](RecordType t, std::string_view) { return t != RecordType::kTenantUserPut; });
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message().find("cannot be applied"), std::string::npos) << j.error().message();
  EXPECT_EQ(readFile().size(), fs::file_size(path_));  // left as it was
}

}  // namespace
}  // namespace handoff::store
