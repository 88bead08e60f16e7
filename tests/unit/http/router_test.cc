#include "handoff/http/router.h"

#include <gtest/gtest.h>

namespace handoff::http {
namespace {

void nop(void*, Exchange&) {}

TEST(Router, ExactPathsBeatPrefixes) {
  Router r;
  uint16_t api = r.add({.path = "/api/v2/", .name = "api", .methods = kGet, .fn = nop, .prefix = true});
  uint16_t users = r.add({.path = "/api/v2/users", .name = "users", .methods = kGet, .fn = nop});
  uint16_t longer = r.add({.path = "/api/v2/users/", .name = "user", .methods = kGet, .fn = nop, .prefix = true});
  EXPECT_EQ(r.match("/api/v2/users")->id, users);
  EXPECT_EQ(r.match("/api/v2/users/abc")->id, longer);
  EXPECT_EQ(r.match("/api/v2/clients")->id, api);
  EXPECT_EQ(r.match("/api/v1/users"), nullptr);
  EXPECT_EQ(r.match("/api/v2/users2")->id, api);
}

TEST(Router, HeadIsAllowedWhereGetIs) {
  Router r;
  r.add({.path = "/x", .name = "x", .methods = kGet, .fn = nop});
  const Route* x = r.match("/x");
  EXPECT_TRUE(Router::allows(*x, Method::kHead));
  EXPECT_FALSE(Router::allows(*x, Method::kPost));
}

TEST(Router, AllowHeaderListsMethods) {
  EXPECT_EQ(Router::allowHeader(kGet | kPost), "GET, HEAD, POST");
  EXPECT_EQ(Router::allowHeader(kPost), "POST");
  EXPECT_EQ(Router::allowHeader(kDelete | kPatch), "PATCH, DELETE");
}

TEST(Router, IdsAreOneBasedAndStable) {
  Router a, b;
  for (Router* r : {&a, &b}) {
    r->add({.path = "/a", .name = "a", .methods = kGet, .fn = nop});
    r->add({.path = "/b", .name = "b", .methods = kGet, .fn = nop});
  }
  EXPECT_EQ(a.match("/a")->id, 1);
  EXPECT_EQ(a.match("/b")->id, b.match("/b")->id);
}

}  // namespace
}  // namespace handoff::http
