// The key file: created once, loaded back, rotated, refused when damaged. Each test works in
// its own fresh directory under $TMPDIR.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "handoff/core/base64.h"
#include "handoff/oauth/jwt.h"

namespace handoff::oauth {
namespace {

constexpr std::string_view kClaims = R"({"sub":"user-1","aud":"demo-web"})";

class KeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "handoff-keys-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path() const { return dir_ + "/keys.json"; }
  std::string read() const {
    std::ifstream in(path());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void write(std::string_view text) const { std::ofstream(path()) << text; }

  std::shared_ptr<const KeySet> load(JwtAlg alg) {
    auto set = loadOrCreateKeys(dir_, alg);
    EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message());
    return set.ok() ? *set : nullptr;
  }
  std::shared_ptr<const KeySet> rotate(JwtAlg alg, size_t keepOld = kDefaultKeepOld) {
    auto set = rotateKeys(dir_, alg, keepOld);
    EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message());
    return set.ok() ? *set : nullptr;
  }

  std::string dir_;
};

TEST_F(KeyFile, FirstLoadCreatesAPrivateFile) {
  auto set = load(JwtAlg::kES256);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->entries().size(), 1u);
  EXPECT_EQ(set->current().alg(), JwtAlg::kES256);
  struct stat st {};
  ASSERT_EQ(stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path() + ".tmp"));
  std::string text = read();
  EXPECT_NE(text.find("\"kid\":\"" + set->current().kid() + "\""), std::string::npos);
  EXPECT_NE(text.find("\"alg\":\"ES256\""), std::string::npos);
  EXPECT_GT(set->entries()[0].createdAt, 1600000000);
}

TEST_F(KeyFile, SecondLoadReturnsTheSameKey) {
  auto first = load(JwtAlg::kRS256);
  ASSERT_TRUE(first);
  std::string before = read();
  auto second = load(JwtAlg::kRS256);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->current().kid(), first->current().kid());
  EXPECT_EQ(second->entries()[0].createdAt, first->entries()[0].createdAt);
  EXPECT_EQ(read(), before);  // loading does not rewrite
  // A token signed before the restart verifies after it.
  std::string jwt, claims;
  ASSERT_TRUE(signJwt(first->current(), kClaims, jwt).ok());
  EXPECT_TRUE(verifyJwt(*second, jwt, claims).ok());
}

TEST_F(KeyFile, RotationSignsWithTheNewKeyAndStillPublishesOldOnes) {
  auto original = load(JwtAlg::kEdDSA);
  ASSERT_TRUE(original);
  std::string oldJwt;
  ASSERT_TRUE(signJwt(original->current(), kClaims, oldJwt).ok());

  auto rotated = rotate(JwtAlg::kEdDSA);
  ASSERT_TRUE(rotated);
  const std::string& oldKid = original->current().kid();
  EXPECT_NE(rotated->current().kid(), oldKid);
  ASSERT_EQ(rotated->entries().size(), 2u);
  EXPECT_NE(rotated->find(oldKid), nullptr);
  std::string jwks;
  rotated->appendJwks(jwks);
  EXPECT_NE(jwks.find(oldKid), std::string::npos);
  EXPECT_NE(jwks.find(rotated->current().kid()), std::string::npos);

  std::string claims;
  EXPECT_TRUE(verifyJwt(*rotated, oldJwt, claims).ok());
  std::string newJwt;
  ASSERT_TRUE(signJwt(rotated->current(), kClaims, newJwt).ok());
  std::string header;
  ASSERT_TRUE(core::decodeBase64Url(newJwt.substr(0, newJwt.find('.')), header));
  EXPECT_NE(header.find(rotated->current().kid()), std::string::npos);

  // The rotation is on disk: a restart comes back with the same current key.
  auto reloaded = load(JwtAlg::kEdDSA);
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->current().kid(), rotated->current().kid());
  EXPECT_EQ(reloaded->entries().size(), 2u);
}

TEST_F(KeyFile, RotationKeepsOnlyTheNewestOldKeys) {
  std::vector<std::string> kids;
  for (int i = 0; i < 4; ++i) {
    auto set = i == 0 ? load(JwtAlg::kEdDSA) : rotate(JwtAlg::kEdDSA, 2);
    ASSERT_TRUE(set);
    kids.push_back(set->current().kid());
  }
  auto set = load(JwtAlg::kEdDSA);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->entries().size(), 3u);
  EXPECT_EQ(set->entries()[0].key->kid(), kids[3]);
  EXPECT_EQ(set->entries()[1].key->kid(), kids[2]);
  EXPECT_EQ(set->entries()[2].key->kid(), kids[1]);
  EXPECT_EQ(set->find(kids[0]), nullptr);
  auto none = rotate(JwtAlg::kEdDSA, 0);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->entries().size(), 1u);
}

TEST_F(KeyFile, AnAlgorithmChangeRotates) {
  auto es = load(JwtAlg::kES256);
  ASSERT_TRUE(es);
  auto ed = load(JwtAlg::kEdDSA);
  ASSERT_TRUE(ed);
  EXPECT_EQ(ed->current().alg(), JwtAlg::kEdDSA);
  ASSERT_EQ(ed->entries().size(), 2u);
  EXPECT_EQ(ed->entries()[1].key->kid(), es->current().kid());
  auto again = load(JwtAlg::kEdDSA);  // stable once rotated
  ASSERT_TRUE(again);
  EXPECT_EQ(again->current().kid(), ed->current().kid());
  EXPECT_EQ(again->entries().size(), 2u);
}

TEST_F(KeyFile, DamagedFilesAreRefusedAndKept) {
  auto set = load(JwtAlg::kES256);
  ASSERT_TRUE(set);
  std::string good = read();
  std::string otherKid = good;
  otherKid.replace(otherKid.find(set->current().kid()), 3, "AAA");
  std::string otherAlg = good;
  otherAlg.replace(otherAlg.find("ES256"), 5, "RS256");
  for (const std::string& bad :
       {std::string("not json"), std::string("[]"), std::string("{}"), otherKid, otherAlg,
        good.substr(0, good.size() / 2), std::string(R"([{"kid":"x","alg":"ES256"}])")}) {
    write(bad);
    auto loaded = loadOrCreateKeys(dir_, JwtAlg::kES256);
    EXPECT_FALSE(loaded.ok()) << bad;
    EXPECT_FALSE(rotateKeys(dir_, JwtAlg::kES256).ok()) << bad;
    EXPECT_EQ(read(), bad);  // never overwritten
  }
}

TEST_F(KeyFile, AMissingDirectoryIsAnError) {
  auto set = loadOrCreateKeys(dir_ + "/absent", JwtAlg::kEdDSA);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().code(), core::Errc::kIo);
}

}  // namespace
}  // namespace handoff::oauth
