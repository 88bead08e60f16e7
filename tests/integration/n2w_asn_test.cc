// Issue 5, ASN and country end to end against a real handoffd and the build's test databases
// (geo-data/: 127.0.0.0/25 → AS64500 XA, 127.0.0.128/25 → AS64501 XB; 127.0.1.0 and beyond are in
// neither). Clients connect from chosen loopback addresses, so the server sees them in one
// network or another:
//   - the demo tenant's demo-web-asn (enforce_device_binding = "asn"): an STT minted at
//     127.0.0.1 is redeemed from 127.0.0.2 (same ASN), refused from 127.0.0.200 (AS64501) and
//     from 127.0.1.1 (no ASN: fails closed), each with its `w` event; demo-web (IP binding) still
//     refuses 127.0.0.2;
//   - the mint fails closed with 503 temporarily_unavailable (+ Retry-After, a fertft event, the
//     refresh token untouched) when every STT-accepting web client binds by ASN and the caller
//     has none; with an IP-bound web client beside it, the mint succeeds with ASN 0;
//   - [policy] deny_country_change with the country database, and deny_asns for redemptions and
//     mints.
// The ASN and country seen at the mint are read back from the sertft/fertft events.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <regex>
#include <string>
#include <vector>

#include "n2w_helpers.h"

namespace handoff::it::n2w {
namespace {

const std::string kBindingText =
    "Single Sign-On failed: Session Transfer Token device binding validation failed due to IP/ASN mismatch.";

// ── the log ─────────────────────────────────────────────────────────────────────────────────


// ── config ──────────────────────────────────────────────────────────────────────────────────

std::string envPath(const char* name) {
  const char* p = std::getenv(name);
  return p != nullptr ? p : "";
}

const std::string kM2m =
    "[[clients]]\nclient_id = \"app-m2m\"\nclient_secret = \"app-m2m-secret\"\napp_type = \"non_interactive\"\n"
    "grant_types = [\"client_credentials\"]\n\n";

// A web client that takes STTs by query and binds them by `binding`.
std::string boundWeb(const std::string& id, const std::string& binding) {
  return webClient(id, "allowed_authentication_methods = [\"query\"]\nenforce_device_binding = \"" + binding + "\"\n");
}

// app-native, `webClients`, the log reader, alice and bob, then [geo] with the build's test
// databases (the country one when `country`) and `tail`.
std::string geoTenant(const std::string& webClients, bool country, const std::string& tail = "") {
  std::string geo = "\n[geo]\nasn = \"" + envPath("HANDOFF_TEST_ASN_MMDB") + "\"\n";
  if (country) geo += "country = \"" + envPath("HANDOFF_TEST_COUNTRY_MMDB") + "\"\n";
  return tenantConfig(nativeClient("app-native") + webClients + kM2m) + geo + tail;
}

// ── fixture ─────────────────────────────────────────────────────────────────────────────────

class Asn : public N2wTest {
 protected:
  void SetUp() override {
    ASSERT_FALSE(envPath("HANDOFF_TEST_ASN_MMDB").empty()) << "HANDOFF_TEST_ASN_MMDB is not set (tests/meson.build)";
    ASSERT_FALSE(envPath("HANDOFF_TEST_COUNTRY_MMDB").empty()) << "HANDOFF_TEST_COUNTRY_MMDB is not set";
  }

  // The tenant log, newest first, read with `m2m`'s read:logs token.
  std::vector<std::string> logs(const std::string& m2m, const std::string& q = "") {
    if (mgmt_.empty()) {
      HttpResponse r = token(form({{"grant_type", "client_credentials"}, {"client_id", m2m},
                                   {"client_secret", m2m + "-secret"}, {"audience", issuer() + "api/v2/"},
                                   {"scope", "read:logs"}}));
      EXPECT_EQ(r.status, 200) << r.body;
      mgmt_ = jsonField(r.body, "access_token");
    }
    Client c(port());
    auto r = c.roundTrip("GET /api/v2/logs?per_page=100" + (q.empty() ? "" : "&q=" + enc(q)) +
                             " HTTP/1.1\r\nHost: " + hostPort() + "\r\nAuthorization: Bearer " + mgmt_ + "\r\n\r\n",
                         Millis(5000));
    EXPECT_TRUE(r && r->status == 200) << (r ? r->raw : c.error());
    return r ? jsonObjects(r->body) : std::vector<std::string>{};
  }
  // The newest event of `type`; "" when none.
  std::string newest(const std::string& m2m, const std::string& type) {
    std::vector<std::string> e = logs(m2m, "type:" + type);
    return e.empty() ? "" : e.front();
  }
  // The event a login page's sso_ref names.
  std::string eventOf(const std::string& m2m, const HttpResponse& loginPage) {
    std::string ref = param(loginPage.header("location"), "sso_ref");
    EXPECT_TRUE(std::regex_match(ref, std::regex("[0-9]{25}"))) << loginPage.header("location");
    for (const std::string& e : logs(m2m)) {
      if (eventField(e, "log_id") == ref) return e;
    }
    ADD_FAILURE() << "no event with log_id " << ref;
    return "";
  }
  uint64_t metric(const std::string& series) {
    auto v = metricValue(fetchMetrics(port()), series);
    EXPECT_TRUE(v) << series << " missing from /metrics";
    return v.value_or(~0ull);
  }

  // A refused redemption of `sttText` by `web` from `ip`: the login page and its `w` event
  // with `reason`; returns the event.
  std::string expectRefused(const std::string& m2m, const std::string& sttText, const std::string& web,
                            const std::string& ip, const std::string& reason) {
    Browser b(port(), ip);
    HttpResponse r = redeemQuery(b, sttText, web);
    expectLoginPage(r, sttText, web);
    EXPECT_TRUE(b.jar().find("handoff_session") == b.jar().end()) << "a session was made: " << r.raw;
    std::string w = eventOf(m2m, r);
    EXPECT_EQ(eventField(w, "type"), "w") << w;
    EXPECT_EQ(eventField(w, "client_id"), web) << w;
    EXPECT_EQ(eventField(w, "ip"), ip) << w;
    EXPECT_EQ(eventDetail(w, "reason"), reason) << w;
    EXPECT_EQ(eventDetail(w, "redeem_ip"), ip) << w;
    return w;
  }

  std::string mgmt_;
};

// ── ASN binding on the demo tenant ──────────────────────────────────────────────────────────

TEST_F(Asn, DemoMintRecordsTheCallersAsnAndCountry) {
  start();
  std::string s = stt(nativeRt());
  std::string sertft = newest("demo-m2m", "sertft");
  EXPECT_EQ(eventField(sertft, "ip"), "127.0.0.1") << sertft;
  EXPECT_EQ(eventDetail(sertft, "asn"), "64500") << sertft;
  EXPECT_EQ(eventDetail(sertft, "country"), "XA") << sertft;
  EXPECT_FALSE(s.empty());
}

TEST_F(Asn, SameAsnFromAnotherAddressRedeems) {
  start();
  std::string s = stt(nativeRt());  // minted at 127.0.0.1: AS64500
  Browser b(port(), "127.0.0.2");   // 127.0.0.0/25 too: AS64500
  HttpResponse r = redeemQuery(b, s, "demo-web-asn");
  std::string code = codeOf(r);
  ASSERT_FALSE(code.empty()) << r.raw;
  HttpResponse t = exchange(code, "demo-web-asn");
  EXPECT_EQ(t.status, 200) << t.body;
  EXPECT_NE(jsonField(t.body, "id_token"), "") << t.body;
  std::string login = newest("demo-m2m", "s");
  EXPECT_EQ(eventField(login, "client_id"), "demo-web-asn") << login;
  EXPECT_EQ(eventField(login, "ip"), "127.0.0.2") << login;
  EXPECT_EQ(eventDetail(login, "triggered_by_session_transfer_token"), "true") << login;
  EXPECT_EQ(metric("handoff_stt_redeemed_total"), 1u);
  EXPECT_EQ(metric("handoff_stt_rejected_total{reason=\"asn_mismatch\"}"), 0u);
}

TEST_F(Asn, OtherAsnGetsTheLoginPageAndAWarning) {
  start();
  std::string s = stt(nativeRt());
  std::string w = expectRefused("demo-m2m", s, "demo-web-asn", "127.0.0.200", "asn_mismatch");
  EXPECT_EQ(eventField(w, "description"), kBindingText) << w;
  EXPECT_EQ(eventField(w, "user_id"), "auth0|demo") << w;
  EXPECT_EQ(eventDetail(w, "device_binding"), "asn") << w;
  EXPECT_EQ(eventDetail(w, "mint_asn"), "64500") << w;
  EXPECT_EQ(eventDetail(w, "redeem_asn"), "64501") << w;
  EXPECT_EQ(eventDetail(w, "mint_ip"), "127.0.0.1") << w;
  EXPECT_EQ(eventDetail(w, "minting_client_id"), "demo-native") << w;
  EXPECT_EQ(metric("handoff_stt_rejected_total{reason=\"asn_mismatch\"}"), 1u);
  EXPECT_EQ(metric("handoff_stt_redeemed_total"), 0u);
  EXPECT_EQ(metric("handoff_stt_born_sessions_total"), 0u);
}

// A redeeming address the database does not know (127.0.1.1): no ASN, and ASN binding fails
// closed rather than compare 64500 with "unknown".
TEST_F(Asn, UnknownAsnAtRedemptionFailsClosed) {
  start();
  std::string s = stt(nativeRt());
  std::string w = expectRefused("demo-m2m", s, "demo-web-asn", "127.0.1.1", "asn_mismatch");
  EXPECT_EQ(eventDetail(w, "mint_asn"), "64500") << w;
  EXPECT_EQ(eventDetail(w, "redeem_asn"), "0") << w;
}

// IP binding is not loosened by the ASN: demo-web refuses 127.0.0.2, same ASN or not.
TEST_F(Asn, IpBindingStillComparesAddresses) {
  start();
  std::string s = stt(nativeRt());
  std::string w = expectRefused("demo-m2m", s, "demo-web", "127.0.0.2", "ip_mismatch");
  EXPECT_EQ(eventDetail(w, "device_binding"), "ip") << w;
  EXPECT_EQ(eventDetail(w, "mint_ip"), "127.0.0.1") << w;
  EXPECT_EQ(eventDetail(w, "mint_asn"), "64500") << w;
  EXPECT_EQ(eventDetail(w, "redeem_asn"), "64500") << w;
  EXPECT_EQ(metric("handoff_stt_rejected_total{reason=\"ip_mismatch\"}"), 1u);
}

// ── the mint fails closed without an ASN ────────────────────────────────────────────────────

// The only web client that accepts STTs binds by ASN, and the caller (127.0.1.1) is in no range
// of the database: 503 temporarily_unavailable with Retry-After and a fertft event; the refresh
// token (rotating, no leeway) was not used, so the same token then mints from 127.0.0.1.
TEST_F(Asn, MintWithoutAsnIs503WhenEveryClientBindsByAsn) {
  start(geoTenant(boundWeb("app-web-asn", "asn"), false));
  std::string rt = nativeRt("app-native", "alice@example.com", "alice-password");
  HttpResponse r = mint(rt, "app-native", "127.0.1.1");
  expectOAuthError(r, 503, "temporarily_unavailable");
  EXPECT_FALSE(r.header("retry-after").empty()) << r.raw;
  EXPECT_EQ(jsonField(r.body, "refresh_token"), "") << r.body;

  std::string fertft = newest("app-m2m", "fertft");
  ASSERT_FALSE(fertft.empty()) << "no fertft event";
  EXPECT_EQ(eventField(fertft, "client_id"), "app-native") << fertft;
  EXPECT_EQ(eventField(fertft, "ip"), "127.0.1.1") << fertft;
  EXPECT_EQ(eventDetail(fertft, "error"), "temporarily_unavailable") << fertft;
  EXPECT_EQ(eventDetail(fertft, "asn"), "0") << fertft;
  EXPECT_EQ(newest("app-m2m", "sertft"), "");
  EXPECT_EQ(metric("handoff_stt_mint_refused_total"), 1u);

  // The token is intact: from a known network it mints, and the STT redeems in the same ASN.
  std::string s = stt(rt, "app-native", "127.0.0.1");
  EXPECT_EQ(eventDetail(newest("app-m2m", "sertft"), "asn"), "64500");
  Browser b(port(), "127.0.0.3");
  EXPECT_FALSE(codeOf(redeemQuery(b, s, "app-web-asn")).empty());
}

// With no ASN database at all, such a tenant cannot tell anyone's ASN: every mint is 503.
TEST_F(Asn, MintWithoutAnyAsnDatabaseIs503WhenEveryClientBindsByAsn) {
  start(tenantConfig(nativeClient("app-native") + boundWeb("app-web-asn", "asn") + kM2m));
  std::string rt = nativeRt("app-native", "alice@example.com", "alice-password");
  expectOAuthError(mint(rt, "app-native"), 503, "temporarily_unavailable");
}

// An IP-bound web client beside the ASN-bound one: the mint cannot know who will redeem, so it
// succeeds with ASN 0. The ASN-bound client then refuses it (fails closed), the IP-bound one
// takes it from the same address.
TEST_F(Asn, MintWithoutAsnSucceedsWhenSomeClientBindsByIp) {
  start(geoTenant(boundWeb("app-web-asn", "asn") + boundWeb("app-web-ip", "ip"), false));
  std::string rt = nativeRt("app-native", "alice@example.com", "alice-password");
  std::string rotated;
  std::string s = stt(rt, "app-native", "127.0.1.1", &rotated);
  std::string sertft = newest("app-m2m", "sertft");
  EXPECT_EQ(eventField(sertft, "ip"), "127.0.1.1") << sertft;
  EXPECT_EQ(eventDetail(sertft, "asn"), "0") << sertft;
  EXPECT_EQ(newest("app-m2m", "fertft"), "");

  std::string w = expectRefused("app-m2m", s, "app-web-asn", "127.0.1.1", "asn_mismatch");
  EXPECT_EQ(eventDetail(w, "mint_asn"), "0") << w;
  EXPECT_EQ(eventDetail(w, "redeem_asn"), "0") << w;

  std::string s2 = stt(rotated, "app-native", "127.0.1.1");
  Browser b(port(), "127.0.1.1");
  EXPECT_FALSE(codeOf(redeemQuery(b, s2, "app-web-ip")).empty());
}

// ── policy: country change and denied ASNs ──────────────────────────────────────────────────

TEST_F(Asn, CountryChangeIsRefusedWhenPolicyDeniesIt) {
  start(geoTenant(boundWeb("app-web", "none"), true, "\n[policy]\ndeny_country_change = true\n"));
  std::string rt = nativeRt("app-native", "alice@example.com", "alice-password");
  std::string rotated;
  std::string s = stt(rt, "app-native", "127.0.0.1", &rotated);  // XA
  EXPECT_EQ(eventDetail(newest("app-m2m", "sertft"), "country"), "XA");
  std::string w = expectRefused("app-m2m", s, "app-web", "127.0.0.200", "country_mismatch");  // XB
  EXPECT_EQ(eventDetail(w, "device_binding"), "none") << w;
  EXPECT_EQ(eventDetail(w, "mint_asn"), "64500") << w;
  EXPECT_EQ(eventDetail(w, "redeem_asn"), "64501") << w;
  EXPECT_EQ(metric("handoff_stt_rejected_total{reason=\"country_mismatch\"}"), 1u);

  // Same country from another address (binding none): the code.
  std::string s2 = stt(rotated, "app-native", "127.0.0.1");
  Browser b(port(), "127.0.0.2");
  EXPECT_FALSE(codeOf(redeemQuery(b, s2, "app-web")).empty());
}

// Without the policy the same move is fine (binding none).
TEST_F(Asn, CountryChangeIsAllowedWithoutThePolicy) {
  start(geoTenant(boundWeb("app-web", "none"), true));
  std::string s = stt(nativeRt("app-native", "alice@example.com", "alice-password"), "app-native", "127.0.0.1");
  Browser b(port(), "127.0.0.200");
  EXPECT_FALSE(codeOf(redeemQuery(b, s, "app-web")).empty());
}

TEST_F(Asn, DeniedAsnCannotRedeemNorMint) {
  start(geoTenant(boundWeb("app-web", "none"), false, "\n[policy]\ndeny_asns = [64501]\n"));
  std::string rt = nativeRt("app-native", "alice@example.com", "alice-password");
  std::string rotated;
  std::string s = stt(rt, "app-native", "127.0.0.1", &rotated);
  std::string w = expectRefused("app-m2m", s, "app-web", "127.0.0.200", "asn_denied");
  EXPECT_EQ(eventDetail(w, "redeem_asn"), "64501") << w;
  EXPECT_EQ(metric("handoff_stt_rejected_total{reason=\"asn_denied\"}"), 1u);

  // A mint from the denied network: 403 access_denied, logged; the token is not used up.
  expectOAuthError(mint(rotated, "app-native", "127.0.0.200"), 403, "access_denied");
  std::string fertft = newest("app-m2m", "fertft");
  EXPECT_EQ(eventField(fertft, "ip"), "127.0.0.200") << fertft;
  EXPECT_EQ(eventDetail(fertft, "asn"), "64501") << fertft;
  EXPECT_EQ(eventDetail(fertft, "error"), "access_denied") << fertft;
  std::string s2 = stt(rotated, "app-native", "127.0.0.1");
  Browser b(port(), "127.0.0.2");
  EXPECT_FALSE(codeOf(redeemQuery(b, s2, "app-web")).empty());
}

}  // namespace
}  // namespace handoff::it::n2w
