// The log frame ([u32 len][u32 CRC-32C of type+payload][u8 type][payload]), issue 6: CRC-32C,
// round trip, a log cut at every byte offset yields exactly its complete frames, a flipped bit
// anywhere in a frame stops the reading at that frame, an oversized length stops it, a refused
// record stops and is reported.
#include "store_format_support.h"

namespace handoff::store {
namespace {

using namespace formats;

std::vector<Rec> sampleRecords(size_t n) {
  std::vector<Rec> out;
  for (size_t i = 0; i < n; ++i) {
    std::string p;
    for (size_t j = 0; j < (i * 7) % 41; ++j) p.push_back(static_cast<char>((i * 31 + j * 17) & 0xFF));
    out.emplace_back(static_cast<RecordType>(1 + i % 10), p);
  }
  return out;
}

TEST(WalFrame, Crc32cAgreesWithTheTableAtEveryLengthAndAlignment) {
  std::mt19937 rng(5);
  std::string buf(300, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  EXPECT_EQ(crc32cPortable("123456789", 9), 0xE3069283u);
  for (size_t off = 0; off < 9; ++off) {
    for (size_t n = 0; n + off <= buf.size(); n += 1 + n / 16) {
      uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(crc32c(buf.data() + off, n, seed), crc32cPortable(buf.data() + off, n, seed)) << off << " " << n;
    }
  }
}

TEST(WalFrame, Crc32cIsCastagnoliAndChains) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);  // the standard check value of CRC-32C
  std::string a = "hello, ", b = "durable world";
  EXPECT_EQ(crc32c(b.data(), b.size(), crc32c(a.data(), a.size())), crc32c((a + b).data(), a.size() + b.size()));
}

TEST(WalFrame, LayoutAndRoundTrip) {
  std::string big(100'000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  std::vector<Rec> recs = {{RecordType::kFamilyIssued, "abc"}, {RecordType::kSessionEnded, ""},
                           {RecordType::kRefreshIndex, big}, {RecordType::kAccessRevoked, std::string("\0\0\xff", 3)}};
  std::string one;
  Wal::frame(one, RecordType::kFamilyIssued, "abc");
  ASSERT_EQ(one.size(), 9u + 3);
  uint32_t len, crc;
  std::memcpy(&len, one.data(), 4);
  std::memcpy(&crc, one.data() + 4, 4);
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(crc, crc32c("\x01" "abc", 4));
  EXPECT_EQ(static_cast<uint8_t>(one[8]), 1);
  EXPECT_EQ(one.substr(9), "abc");

  std::string log = framed(recs);
  size_t good = 0;
  EXPECT_EQ(readAll(log, &good), recs);
  EXPECT_EQ(good, log.size());
  EXPECT_EQ(readAll("", &good).size(), 0u);
  EXPECT_EQ(good, 0u);
}

TEST(WalFrame, ALogCutAtEveryByteYieldsExactlyItsCompleteFrames) {
  std::vector<Rec> recs = sampleRecords(24);
  std::string log;
  std::vector<size_t> ends;  // ends[i]: the end of frame i
  for (const Rec& r : recs) {
    Wal::frame(log, r.first, r.second);
    ends.push_back(log.size());
  }
  for (size_t cut = 0; cut <= log.size(); ++cut) {
    size_t complete = 0;
    while (complete < ends.size() && ends[complete] <= cut) ++complete;
    size_t good = 0;
    std::vector<Rec> got = readAll(std::string_view(log).substr(0, cut), &good);
    ASSERT_EQ(got.size(), complete) << "cut at " << cut;
    EXPECT_EQ(good, complete == 0 ? 0 : ends[complete - 1]) << "cut at " << cut;
    EXPECT_TRUE(std::equal(got.begin(), got.end(), recs.begin())) << "cut at " << cut;
  }
}

TEST(WalFrame, AFlippedBitAnywhereInAFrameStopsTheReadingAtThatFrame) {
  std::vector<Rec> recs = sampleRecords(12);
  std::string log;
  std::vector<size_t> starts;
  for (const Rec& r : recs) {
    starts.push_back(log.size());
    Wal::frame(log, r.first, r.second);
  }
  for (size_t i = 0; i < log.size(); ++i) {
    size_t frame = 0;
    while (frame + 1 < starts.size() && starts[frame + 1] <= i) ++frame;
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = log;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      size_t good = 0;
      std::vector<Rec> got = readAll(bad, &good);
      ASSERT_EQ(got.size(), frame) << "byte " << i << " bit " << bit;
      ASSERT_EQ(good, starts[frame]) << "byte " << i << " bit " << bit;
      EXPECT_TRUE(std::equal(got.begin(), got.end(), recs.begin()));
    }
  }
}

TEST(WalFrame, AnOversizedLengthStopsEvenWhenTheBytesAreThere) {
  std::string log = framed(sampleRecords(3));
  size_t before = log.size();
  // A frame header claiming 64 MiB + 1 of payload, with that many bytes behind it.
  std::string body(static_cast<size_t>(64u << 20) + 2, '\0');
  body[0] = 1;
  uint32_t len = (64u << 20) + 1, crc = crc32c(body.data(), body.size());
  Writer w(log);
  w.u32(len);
  w.u32(crc);
  log += body;
  size_t good = 0;
  EXPECT_EQ(readAll(log, &good).size(), 3u);
  EXPECT_EQ(good, before);
  for (uint32_t huge : {0xFFFFFFFFu, 0x80000000u}) {
    std::string l2 = framed(sampleRecords(2));
    size_t b2 = l2.size();
    Writer w2(l2);
    w2.u32(huge);
    w2.u32(0);
    l2.append(64, '\x01');
    EXPECT_EQ(readAll(l2, &good).size(), 2u);
    EXPECT_EQ(good, b2);
  }
}

TEST(WalFrame, ARefusedRecordStopsAndIsReported) {
  std::vector<Rec> recs = sampleRecords(5);
  std::string log = framed(recs);
  int seen = 0;
  bool refused = false;
  size_t good = readFrames(log, [&](RecordType, std::string_view) { return ++seen < 3; }, &refused);
  EXPECT_TRUE(refused);
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(good, framed(recs, 0, 2).size());
}


}  // namespace
}  // namespace handoff::store
