// SPEC.md §3 and §7, the tenant log and the metrics of Native to Web SSO against a real handoffd:
// GET /api/v2/logs behind a read:logs management token (401, 403, 400 on a bad `q`), the events
// of a whole flow (native password login, mint, redemption, code exchange, replay, logout) with
// their client, user and details, `q` filtering, fertft for refused mints, f/s for the hosted
// login page, the `w` of an IP-binding failure with its addresses, the login page's reference to
// that event, the STT metrics and the cascade counter, and that no token, code, cookie, secret or
// password ever reaches the log (the API's answer and the JSON-lines sink file).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "n2w_helpers.h"

namespace handoff::it::n2w {
namespace {

const std::string kNotFoundText =
    "Single Sign-On failed: Session Transfer Token not found or expired. This may indicate token reuse or expiration.";
const std::string kBindingText =
    "Single Sign-On failed: Session Transfer Token device binding validation failed due to IP/ASN mismatch.";

// ── JSON of the log ─────────────────────────────────────────────────────────────────────────


std::vector<std::string> ofType(const std::vector<std::string>& events, const std::string& type) {
  std::vector<std::string> out;
  for (const std::string& e : events) {
    if (eventField(e, "type") == type) out.push_back(e);
  }
  return out;
}

std::string byLogId(const std::vector<std::string>& events, const std::string& logId) {
  for (const std::string& e : events) {
    if (eventField(e, "log_id") == logId) return e;
  }
  return "";
}

// The demo tenant (src/config/demo.cc) as a config file, plus an [events] sink.
std::string demoTenantToml(const std::string& sinkPath) {
  return "[server]\nlisten = [\"127.0.0.1:0\"]\n\n[events]\nsink = \"" + sinkPath + "\"\n\n"
         "[[clients]]\nclient_id = \"demo-native\"\nname = \"Demo Native App\"\napp_type = \"native\"\n"
         "token_endpoint_auth_method = \"none\"\ngrant_types = [\"authorization_code\", \"refresh_token\", \"password\"]\n"
         "callbacks = [\"com.example.handoff://callback\"]\nrefresh_token = { rotation_type = \"rotating\", leeway = 0 }\n"
         "[clients.session_transfer]\ncan_create_session_transfer_token = true\n\n"
         "[[clients]]\nclient_id = \"demo-web\"\nclient_secret = \"demo-web-secret\"\nname = \"Demo Web App\"\n"
         "app_type = \"regular_web\"\ngrant_types = [\"authorization_code\", \"refresh_token\"]\n"
         "callbacks = [\"http://127.0.0.1:3000/callback\", \"http://localhost:3000/callback\"]\n"
         "allowed_logout_urls = [\"http://127.0.0.1:3000/\", \"http://localhost:3000/\"]\n"
         "[clients.session_transfer]\nallowed_authentication_methods = [\"cookie\", \"query\"]\n"
         "enforce_device_binding = \"ip\"\nallow_refresh_token = true\nenforce_online_refresh_tokens = true\n\n"
         "[[clients]]\nclient_id = \"demo-m2m\"\nclient_secret = \"demo-m2m-secret\"\nname = \"Demo Management Client\"\n"
         "app_type = \"non_interactive\"\ngrant_types = [\"client_credentials\"]\n\n"
         "[[users]]\nuser_id = \"auth0|demo\"\nemail = \"demo@example.com\"\npassword = \"demo-password\"\n"
         "name = \"Demo User\"\nemail_verified = true\n";
}

// Everything secret that one whole flow handled: none of it may reach the log.
struct Flow {
  std::string rt, rotated, nativeAccess, nativeId, stt, sttId, code, session, webAccess, webRefresh, webId;
  std::string replayRef;  // the sso_ref of the replay's login page
  std::vector<std::string> secrets() const {
    return {rt, rotated, nativeAccess, nativeId, stt, sttId, code, session, webAccess, webRefresh, webId,
            "demo-web-secret", "demo-m2m-secret", "demo-password"};
  }
};

class Events : public N2wTest {
 protected:
  void startWith(const std::string& config, std::vector<std::string> extraArgs = {}) {
    server_ = std::make_unique<Server>(ServerOptions{.config = config, .extraArgs = std::move(extraArgs)});
    ASSERT_TRUE(server_->start()) << server_->failure();
  }

  // A client_credentials token of demo-m2m for the management API with `scope`.
  std::string managementToken(const std::string& scope = "read:logs") {
    HttpResponse r = token(form({{"grant_type", "client_credentials"}, {"client_id", "demo-m2m"},
                                 {"client_secret", "demo-m2m-secret"}, {"audience", issuer() + "api/v2/"},
                                 {"scope", scope}}));
    EXPECT_EQ(r.status, 200) << r.body;
    return jsonField(r.body, "access_token");
  }
  // GET /api/v2/logs?query with `authorization` (a whole header line, or "").
  HttpResponse getLogs(const std::string& query, const std::string& authorization) {
    Client c(port());
    auto r = c.roundTrip("GET /api/v2/logs" + (query.empty() ? "" : "?" + query) + " HTTP/1.1\r\nHost: " + hostPort() +
                             "\r\n" + authorization + "\r\n",
                         Millis(5000));
    EXPECT_TRUE(r) << c.error();
    return r ? *r : HttpResponse{};
  }
  // The log's answer to `query` (per_page=100 unless given), read with a read:logs token.
  std::string logsBody(const std::string& query = "per_page=100") {
    if (mgmt_.empty()) mgmt_ = managementToken();
    HttpResponse r = getLogs(query, "Authorization: Bearer " + mgmt_ + "\r\n");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("cache-control"), "no-store");
    return r.body;
  }
  std::vector<std::string> logs(const std::string& query = "per_page=100") { return jsonObjects(logsBody(query)); }

  // The one event of `type` in `events` (a failure when there is not exactly one).
  static std::string only(const std::vector<std::string>& events, const std::string& type) {
    std::vector<std::string> found = ofType(events, type);
    EXPECT_EQ(found.size(), 1u) << "events of type " << type;
    return found.empty() ? std::string() : found.front();
  }

  uint64_t metric(const std::string& series) {
    auto v = metricValue(fetchMetrics(port()), series);
    EXPECT_TRUE(v) << series << " missing from /metrics";
    return v.value_or(~0ull);
  }

  // Native password login, mint, redemption by query, code exchange as demo-web, a replay of the
  // STT from another browser (the login page, with its sso_ref) and /v2/logout with the cookie.
  void fullFlow(Flow& f) {
    std::string login = nativeLogin();
    f.rt = jsonField(login, "refresh_token");
    f.nativeAccess = jsonField(login, "access_token");
    f.nativeId = jsonField(login, "id_token");
    HttpResponse m = mint(f.rt);
    ASSERT_EQ(m.status, 200) << m.body;
    f.stt = jsonField(m.body, "access_token");
    f.rotated = jsonField(m.body, "refresh_token");
    f.sttId = jsonField(m.body, "id_token");
    ASSERT_FALSE(f.stt.empty() || f.rotated.empty() || f.sttId.empty()) << m.body;

    Browser b(port());
    HttpResponse r = redeemQuery(b, f.stt);
    f.code = codeOf(r);
    ASSERT_FALSE(f.code.empty()) << r.raw;
    f.session = b.jar()["handoff_session"];
    ASSERT_FALSE(f.session.empty()) << r.raw;
    HttpResponse t = exchange(f.code);
    ASSERT_EQ(t.status, 200) << t.body;
    f.webAccess = jsonField(t.body, "access_token");
    f.webRefresh = jsonField(t.body, "refresh_token");
    f.webId = jsonField(t.body, "id_token");
    ASSERT_FALSE(f.webRefresh.empty()) << t.body;

    Browser other(port());
    HttpResponse replay = redeemQuery(other, f.stt);
    expectLoginPage(replay, f.stt);
    f.replayRef = param(replay.header("location"), "sso_ref");
    EXPECT_TRUE(std::regex_match(f.replayRef, std::regex("[0-9]{25}"))) << replay.header("location");

    HttpResponse out = b.get("/v2/logout?client_id=demo-web&returnTo=" + enc("http://127.0.0.1:3000/"));
    EXPECT_EQ(out.status, 302) << out.raw;
    EXPECT_EQ(out.header("location"), "http://127.0.0.1:3000/");
  }

  // The events of fullFlow(), one by one.
  void expectFlowEvents(const Flow& f, const std::vector<std::string>& events) {
    std::string sepft = only(events, "sepft");
    EXPECT_EQ(eventField(sepft, "client_id"), "demo-native") << sepft;
    EXPECT_EQ(eventField(sepft, "user_id"), "auth0|demo") << sepft;

    std::string sertft = only(events, "sertft");
    EXPECT_EQ(eventField(sertft, "client_id"), "demo-native") << sertft;
    EXPECT_EQ(eventField(sertft, "user_id"), "auth0|demo") << sertft;
    EXPECT_EQ(eventField(sertft, "ip"), "127.0.0.1") << sertft;
    EXPECT_EQ(eventDetail(sertft, "requested_audience"), "urn:" + hostPort() + ":session_transfer") << sertft;
    std::string hash = eventDetail(sertft, "session_transfer_token_hash");
    EXPECT_FALSE(hash.empty()) << sertft;

    std::vector<std::string> logins = ofType(events, "s");
    ASSERT_EQ(logins.size(), 1u);
    EXPECT_EQ(eventField(logins[0], "client_id"), "demo-web") << logins[0];
    EXPECT_EQ(eventField(logins[0], "user_id"), "auth0|demo") << logins[0];
    EXPECT_EQ(eventDetail(logins[0], "triggered_by_session_transfer_token"), "true") << logins[0];
    EXPECT_EQ(eventDetail(logins[0], "session_transfer_token_hash"), hash) << logins[0];

    std::string seacft = only(events, "seacft");
    EXPECT_EQ(eventField(seacft, "client_id"), "demo-web") << seacft;
    EXPECT_EQ(eventField(seacft, "user_id"), "auth0|demo") << seacft;

    std::string w = only(events, "w");
    EXPECT_EQ(eventField(w, "description"), kNotFoundText) << w;
    EXPECT_EQ(eventField(w, "client_id"), "demo-web") << w;
    EXPECT_EQ(eventField(w, "user_id"), "auth0|demo") << w;
    EXPECT_EQ(eventDetail(w, "reason"), "already_used") << w;
    EXPECT_EQ(eventDetail(w, "session_transfer_token_hash"), hash) << w;
    EXPECT_EQ(eventField(w, "log_id"), f.replayRef) << "the login page's sso_ref names the w event";

    std::string slo = only(events, "slo");
    EXPECT_EQ(eventField(slo, "client_id"), "demo-web") << slo;
    EXPECT_EQ(eventField(slo, "user_id"), "auth0|demo") << slo;
    EXPECT_EQ(eventDetail(slo, "session_born_from_session_transfer_token"), "true") << slo;
  }

  static void expectNoSecret(const Flow& f, const std::string& text, const std::string& where) {
    for (const std::string& s : f.secrets()) {
      ASSERT_FALSE(s.empty());
      EXPECT_EQ(text.find(s), std::string::npos) << where << " holds a secret: " << s;
    }
  }

  std::string mgmt_;
};

// ── GET /api/v2/logs: authentication and the query ─────────────────────────────────────────

TEST_F(Events, LogsNeedAManagementTokenWithReadLogs) {
  start();
  HttpResponse none = getLogs("", "");
  EXPECT_EQ(none.status, 401) << none.raw;
  EXPECT_EQ(jsonField(none.body, "statusCode"), "401") << none.body;
  EXPECT_TRUE(none.hasHeader("www-authenticate")) << none.raw;

  HttpResponse garbage = getLogs("", "Authorization: Bearer not.a-token.at-all\r\n");
  EXPECT_EQ(garbage.status, 401) << garbage.raw;

  // A well-signed token for the management API, without read:logs.
  HttpResponse narrow = getLogs("", "Authorization: Bearer " + managementToken("read:users") + "\r\n");
  EXPECT_EQ(narrow.status, 403) << narrow.raw;
  EXPECT_EQ(jsonField(narrow.body, "errorCode"), "insufficient_scope") << narrow.body;

  // A user's access token is no management token either.
  std::string userToken = jsonField(nativeLogin(), "access_token");
  HttpResponse user = getLogs("", "Authorization: Bearer " + userToken + "\r\n");
  EXPECT_EQ(user.status, 401) << user.raw;

  std::string good = "Authorization: Bearer " + managementToken() + "\r\n";
  EXPECT_EQ(getLogs("", good).status, 200);
  for (const std::string& q : {"q=" + enc("nope:1"), "q=" + enc("type:(w)"), "q=" + enc("type:w AND"),
                               "q=" + enc("NOT type:w"), "q=" + enc("type:w OR OR type:s")}) {
    HttpResponse bad = getLogs(q, good);
    EXPECT_EQ(bad.status, 400) << q << "\n" << bad.raw;
    EXPECT_EQ(jsonField(bad.body, "errorCode"), "invalid_query_string") << q << "\n" << bad.body;
  }
  EXPECT_EQ(getLogs("per_page=101", good).status, 400);
  EXPECT_EQ(getLogs("colour=blue", good).status, 400);
}

// ── one whole flow ──────────────────────────────────────────────────────────────────────────

TEST_F(Events, WholeFlowIsLoggedWithoutSecretsAndCounted) {
  start();
  Flow f;
  ASSERT_NO_FATAL_FAILURE(fullFlow(f));
  std::string body = logsBody();
  std::vector<std::string> events = jsonObjects(body);
  expectFlowEvents(f, events);
  expectNoSecret(f, body, "GET /api/v2/logs");
  EXPECT_EQ(body.find(mgmt_), std::string::npos) << "the management token is in the log";

  // q=type:w: the warning alone; a two-type filter both.
  std::vector<std::string> warnings = logs("q=" + enc("type:w"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(eventField(warnings[0], "log_id"), f.replayRef);
  std::vector<std::string> mints = logs("q=" + enc("type:sertft OR type:w"));
  EXPECT_EQ(mints.size(), 2u);
  EXPECT_EQ(logs("q=" + enc("type:w AND client_id:demo-native")).size(), 0u);
  EXPECT_EQ(logs("q=" + enc("user_id:\"auth0|demo\" AND type:slo")).size(), 1u);

  std::string m = fetchMetrics(port());
  EXPECT_EQ(metricValue(m, "handoff_stt_minted_total"), 1u) << m;
  EXPECT_EQ(metricValue(m, "handoff_stt_redeemed_total"), 1u) << m;
  EXPECT_EQ(metricValue(m, "handoff_stt_rejected_total{reason=\"already_used\"}"), 1u) << m;
  EXPECT_EQ(metricValue(m, "handoff_stt_rejected_total{reason=\"ip_mismatch\"}"), 0u) << m;
  EXPECT_EQ(metricValue(m, "handoff_stt_born_sessions_total"), 1u) << m;
  EXPECT_EQ(metricValue(m, "handoff_stt_redemption_age_seconds_count"), 1u) << m;
  EXPECT_EQ(metricValue(m, "handoff_events_total{type=\"w\"}"), 1u) << m;
  EXPECT_EQ(metricValue(m, "handoff_events_total{type=\"sertft\"}"), 1u) << m;
  EXPECT_EQ(metricValue(m, "handoff_events_total{type=\"slo\"}"), 1u) << m;
  EXPECT_EQ(metricValue(m, "handoff_cascades_total"), 0u) << m;

  // The logout ended the first born session; a second one is cascaded away with the native RT.
  std::string current;
  std::string second = stt(f.rotated, "demo-native", "", &current);
  Browser b(port());
  ASSERT_FALSE(codeOf(redeemQuery(b, second)).empty());
  EXPECT_EQ(metric("handoff_stt_born_sessions_total"), 2u);
  EXPECT_EQ(metric("handoff_cascades_total"), 0u);
  revoke(current, "demo-native");
  EXPECT_EQ(metric("handoff_cascades_total"), 1u);
  expectLoginRequired(promptNone(b));
}

// The same flow on a config-file tenant whose events also go to a JSON-lines sink.
TEST_F(Events, SinkFileHoldsTheEventsAndNoSecret) {
  std::string dir = ::testing::TempDir() + "n2w-events-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::string sink = dir + "/events.jsonl";
  startWith(demoTenantToml(sink));
  Flow f;
  ASSERT_NO_FATAL_FAILURE(fullFlow(f));
  std::string body = logsBody();
  expectFlowEvents(f, jsonObjects(body));
  expectNoSecret(f, body, "GET /api/v2/logs");

  // The sink is the tenant's log: readable by the server's user alone.
  EXPECT_EQ(std::filesystem::status(sink).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::stringstream text;
  text << std::ifstream(sink).rdbuf();
  std::string lines = text.str();
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(lines.empty()) << "nothing in the sink " << sink;
  expectNoSecret(f, lines, "the sink file");
  // One object per line, the same events as the API's.
  std::vector<std::string> sinkEvents;
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> objs = jsonObjects(line);
    ASSERT_EQ(objs.size(), 1u) << line;
    EXPECT_EQ(objs[0], line);
    sinkEvents.push_back(line);
  }
  EXPECT_EQ(lines.back(), '\n');
  expectFlowEvents(f, sinkEvents);
  for (const std::string& e : sinkEvents) {
    EXPECT_NE(body.find(e), std::string::npos) << "in the sink, not in the API's answer: " << e;
  }
}

// ── single events ───────────────────────────────────────────────────────────────────────────

TEST_F(Events, RefusedMintsGiveFertft) {
  start();
  std::string bogus = "rt_0000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  expectOAuthError(mint(bogus), 403, "invalid_grant");
  std::string rt = nativeRt();
  // A host that is not the tenant's: access_denied, logged with the audience asked for.
  std::string body = "{\"client_id\":\"demo-native\",\"grant_type\":\"refresh_token\",\"audience\":"
                     "\"urn:evil.example:session_transfer\",\"refresh_token\":\"" + rt + "\"}";
  expectOAuthError(token(body, "application/json", "evil.example"), 403, "access_denied");

  std::string logBody = logsBody();
  std::vector<std::string> refused = ofType(jsonObjects(logBody), "fertft");
  ASSERT_EQ(refused.size(), 2u) << logBody;
  // Newest first: the foreign host, then the bad refresh token.
  EXPECT_EQ(eventField(refused[1], "client_id"), "demo-native") << refused[1];
  EXPECT_EQ(eventDetail(refused[1], "requested_audience"), "urn:" + hostPort() + ":session_transfer") << refused[1];
  EXPECT_EQ(eventDetail(refused[1], "error"), "invalid_grant") << refused[1];
  EXPECT_EQ(eventDetail(refused[1], "session_transfer_token_hash"), "") << refused[1];
  EXPECT_EQ(eventDetail(refused[0], "requested_audience"), "urn:evil.example:session_transfer") << refused[0];
  EXPECT_EQ(eventDetail(refused[0], "error"), "access_denied") << refused[0];
  EXPECT_EQ(logBody.find(bogus), std::string::npos);
  EXPECT_EQ(logBody.find(rt), std::string::npos);
  EXPECT_EQ(ofType(jsonObjects(logBody), "sertft").size(), 0u);
  EXPECT_EQ(metric("handoff_stt_mint_refused_total"), 2u);
  EXPECT_EQ(metric("handoff_events_total{type=\"fertft\"}"), 2u);
  EXPECT_EQ(metric("handoff_stt_minted_total"), 0u);
}

TEST_F(Events, HostedLoginPageGivesFThenS) {
  start();
  Browser b(port());
  std::string query = webQuery();
  HttpResponse page = b.get("/u/login?" + query);
  ASSERT_EQ(page.status, 200);
  HttpResponse bad = b.post("/u/login", form({{"csrf", hidden(page.body, "csrf")}, {"q", hidden(page.body, "q")},
                                              {"email", "demo@example.com"}, {"password", "not-the-password-42"}}));
  EXPECT_EQ(bad.status, 401);
  page = b.get("/u/login?" + query);
  HttpResponse good = b.post("/u/login", form({{"csrf", hidden(page.body, "csrf")}, {"q", hidden(page.body, "q")},
                                               {"email", "demo@example.com"}, {"password", "demo-password"}}));
  EXPECT_EQ(good.status, 302) << good.raw;

  std::string body = logsBody();
  std::vector<std::string> events = jsonObjects(body);
  std::string f = only(events, "f");
  EXPECT_EQ(eventField(f, "client_id"), "demo-web") << f;
  EXPECT_EQ(eventField(f, "user_name"), "demo@example.com") << f;
  EXPECT_EQ(eventDetail(f, "triggered_by_session_transfer_token"), "false") << f;
  std::string s = only(events, "s");
  EXPECT_EQ(eventField(s, "client_id"), "demo-web") << s;
  EXPECT_EQ(eventField(s, "user_id"), "auth0|demo") << s;
  EXPECT_EQ(eventDetail(s, "triggered_by_session_transfer_token"), "false") << s;
  EXPECT_EQ(body.find("not-the-password-42"), std::string::npos);
  EXPECT_EQ(body.find("demo-password"), std::string::npos);
  EXPECT_EQ(body.find(b.jar()["handoff_session"]), std::string::npos);
  EXPECT_EQ(body.find(hidden(page.body, "csrf")), std::string::npos);
  EXPECT_EQ(metric("handoff_events_total{type=\"f\"}"), 1u);
  EXPECT_EQ(metric("handoff_events_total{type=\"s\"}"), 1u);
}

// Minted at 127.0.0.1, presented from 127.0.0.2: the warning says so, and the login page the
// browser lands on names it.
TEST_F(Events, IpMismatchWarningIsFoundFromTheLoginPage) {
  start();
  std::string s = stt(nativeRt());
  Browser b(port(), "127.0.0.2");
  HttpResponse r = redeemQuery(b, s);
  expectLoginPage(r, s);
  std::string location = r.header("location");
  std::string ref = param(location, "sso_ref");
  ASSERT_TRUE(std::regex_match(ref, std::regex("[0-9]{25}"))) << location;

  HttpResponse page = b.get(location);
  ASSERT_EQ(page.status, 200) << page.raw;
  EXPECT_NE(page.body.find("id=\"sso-ref\">" + ref + "<"), std::string::npos) << page.body;
  std::string q = hidden(page.body, "q");
  EXPECT_FALSE(q.empty()) << page.body;
  EXPECT_EQ(q.find("sso_ref"), std::string::npos) << q;
  EXPECT_EQ(q.find(ref), std::string::npos) << q;
  EXPECT_EQ(q.find(s), std::string::npos) << q;
  EXPECT_EQ(q.find("session_transfer_token"), std::string::npos) << q;
  EXPECT_EQ(page.body.find(s), std::string::npos) << page.body;

  // A reference that is not a log id is not shown.
  HttpResponse forged = b.get("/u/login?" + webQuery() + "&sso_ref=" + enc("<b>12</b>"));
  EXPECT_EQ(forged.status, 200);
  EXPECT_EQ(forged.body.find("sso-ref"), std::string::npos) << forged.body;

  std::string body = logsBody();
  std::string w = byLogId(jsonObjects(body), ref);
  ASSERT_FALSE(w.empty()) << "no event with log_id " << ref << " in " << body;
  EXPECT_EQ(eventField(w, "type"), "w") << w;
  EXPECT_EQ(eventField(w, "description"), kBindingText) << w;
  EXPECT_EQ(eventField(w, "client_id"), "demo-web") << w;
  EXPECT_EQ(eventField(w, "user_id"), "auth0|demo") << w;
  EXPECT_EQ(eventField(w, "ip"), "127.0.0.2") << w;
  EXPECT_EQ(eventDetail(w, "reason"), "ip_mismatch") << w;
  EXPECT_EQ(eventDetail(w, "mint_ip"), "127.0.0.1") << w;
  EXPECT_EQ(eventDetail(w, "redeem_ip"), "127.0.0.2") << w;
  EXPECT_EQ(eventDetail(w, "mint_ip_family"), "ipv4") << w;
  EXPECT_EQ(eventDetail(w, "redeem_ip_family"), "ipv4") << w;
  EXPECT_EQ(eventDetail(w, "minting_client_id"), "demo-native") << w;
  std::string age = eventDetail(w, "age_ms");
  EXPECT_TRUE(std::regex_match(age, std::regex("[0-9]+"))) << w;
  EXPECT_LT(std::stoll(age.empty() ? "-1" : age), 60000) << w;
  EXPECT_EQ(body.find(s), std::string::npos);
  EXPECT_EQ(metric("handoff_stt_rejected_total{reason=\"ip_mismatch\"}"), 1u);
  EXPECT_EQ(metric("handoff_stt_redeemed_total"), 0u);
  EXPECT_EQ(metric("handoff_stt_born_sessions_total"), 0u);
}

}  // namespace
}  // namespace handoff::it::n2w
