// The tenant log: rendering (Auth0 fields, escaping, omission), the per-shard rings, the queries
// of GET /api/v2/logs (pages newest first, totals, checkpoints, q), the sink and concurrency.
#include "handoff/events/event_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "handoff/http/json.h"

namespace handoff::events {
namespace {

std::atomic<int64_t> gNow{1'700'000'000'123};
int64_t fakeNow() { return gNow.load(); }
int64_t tickingNow() { return gNow.fetch_add(1) + 1; }

// A parsed JSON document; keeps its text and arena alive.
struct Doc {
  explicit Doc(std::string t) : text(std::move(t)) {
    ok = http::parseJson(text, arena, &root) == http::JsonError::kNone;
  }
  std::string str(std::string_view key) const {
    const std::string_view* v = root->findString(key);
    return v != nullptr ? std::string(*v) : "<absent>";
  }
  std::string text;
  core::Arena arena;
  const http::JsonValue* root = nullptr;
  bool ok = false;
};

Event event(std::string_view type, std::string userId = "", std::string clientId = "") {
  Event e;
  e.type = type;
  e.userId = std::move(userId);
  e.clientId = std::move(clientId);
  return e;
}

// The log_ids of a query's answer (an array of events), in order.
std::vector<std::string> ids(const std::string& body) {
  Doc d(body);
  EXPECT_TRUE(d.ok) << body;
  std::vector<std::string> out;
  if (!d.ok) return out;
  const http::JsonValue* arr = d.root->isObject() ? d.root->find("logs") : d.root;
  for (const http::JsonValue& v : arr->array()) out.push_back(std::string(*v.findString("log_id")));
  return out;
}

LogQuery parse(std::vector<std::pair<std::string_view, std::string_view>> params) {
  auto q = parseLogQuery(params);
  EXPECT_TRUE(q.ok()) << q.error().message();
  return q.ok() ? std::move(q).value() : LogQuery{};
}

std::string queryError(std::vector<std::pair<std::string_view, std::string_view>> params) {
  auto q = parseLogQuery(params);
  return q.ok() ? "<accepted>" : q.error().message();
}

TEST(LogId, IsFixedWidthDigitsInTimeOrder) {
  std::string a = formatLogId({1'700'000'000'123, 3, 7});
  EXPECT_EQ(a, "0017000000001230003000007");
  ASSERT_EQ(a.size(), kLogIdLength);
  EXPECT_LT(formatLogId({5, 9, 999}), formatLogId({6, 0, 0}));
  EXPECT_EQ(parseLogId(a), (LogId{1'700'000'000'123, 3, 7}));
  EXPECT_FALSE(parseLogId("001700000000123000300000"));    // 24 digits
  EXPECT_FALSE(parseLogId("00170000000012300030000x7"));
  EXPECT_FALSE(parseLogId(""));
}

TEST(EventLog, RendersAuth0FieldsAndEscapesStrings) {
  gNow = 1'700'000'000'123;  // 2023-11-14T22:13:20.123Z
  EventLog log(2, 16, "");
  log.setClockForTesting(fakeNow);
  Event e;
  e.type = "w";
  e.description = "Single Sign-On failed: \"quoted\"\nline <b>&</b> \x01";
  e.clientId = "demo-web";
  e.clientName = "Demo Web";
  e.userId = "auth0|demo";
  e.userName = "demo@example.com";
  e.ip = "203.0.113.9";
  e.userAgent = "Mozilla/5.0 (\xe2\x9c\x93)";
  e.detailsJson = R"({"reason":"expired","age_ms":61000})";
  LogId id = log.emit(1, e);
  std::optional<std::string> line = log.find(formatLogId(id));
  ASSERT_TRUE(line);
  EXPECT_EQ(line->find('\n'), std::string::npos) << *line;
  Doc d(*line);
  ASSERT_TRUE(d.ok) << *line;
  EXPECT_EQ(d.str("date"), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(d.str("type"), "w");
  EXPECT_EQ(d.str("description"), "Single Sign-On failed: \"quoted\"\nline <b>&</b> \x01");
  EXPECT_EQ(d.str("client_id"), "demo-web");
  EXPECT_EQ(d.str("client_name"), "Demo Web");
  EXPECT_EQ(d.str("user_id"), "auth0|demo");
  EXPECT_EQ(d.str("user_name"), "demo@example.com");
  EXPECT_EQ(d.str("ip"), "203.0.113.9");
  EXPECT_EQ(d.str("user_agent"), "Mozilla/5.0 (\xe2\x9c\x93)");
  EXPECT_EQ(d.str("log_id"), formatLogId(id));
  EXPECT_EQ(id.shard, 1u);
  const http::JsonValue* details = d.root->find("details");
  ASSERT_NE(details, nullptr);
  EXPECT_EQ(std::string(*details->findString("reason")), "expired");
  EXPECT_EQ(line->find('<'), std::string::npos) << "'<' is escaped for HTML safety";
}

TEST(EventLog, LeavesEmptyFieldsOut) {
  EventLog log(1, 16, "");
  LogId id = log.emit(0, event("slo"));
  std::string line = *log.find(formatLogId(id));
  Doc d(line);
  ASSERT_TRUE(d.ok) << line;
  ASSERT_TRUE(d.root->isObject());
  std::vector<std::string> keys;
  for (const http::JsonMember& m : d.root->object()) keys.push_back(std::string(m.key));
  EXPECT_EQ(keys, (std::vector<std::string>{"date", "type", "log_id"})) << line;
  EXPECT_TRUE(std::regex_match(d.str("date"), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << line;

  Event bad = event("f");
  bad.detailsJson = "not json";  // the caller's bug: left out rather than breaking every answer
  Doc d2(*log.find(formatLogId(log.emit(0, bad))));
  ASSERT_TRUE(d2.ok);
  EXPECT_EQ(d2.root->find("details"), nullptr);
}

TEST(EventLog, RingKeepsTheNewestPerShard) {
  EventLog log(2, 16, "");
  std::vector<LogId> first;
  for (int i = 0; i < 40; ++i) first.push_back(log.emit(0, event("s")));
  for (int i = 0; i < 3; ++i) log.emit(1, event("f"));
  Doc d(log.query(parse({{"include_totals", "true"}})));
  ASSERT_TRUE(d.ok);
  int64_t total = 0;
  ASSERT_TRUE(d.root->find("total")->asInt64(&total));
  EXPECT_EQ(total, 16 + 3);
  EXPECT_FALSE(log.find(formatLogId(first[0])));
  EXPECT_FALSE(log.find(formatLogId(first[23])));
  EXPECT_TRUE(log.find(formatLogId(first[24])));
  EXPECT_TRUE(log.find(formatLogId(first[39])));
  EXPECT_EQ(log.emitted("s"), 40u);
  EXPECT_EQ(log.emitted("f"), 3u);
}

// A shard renders its dates from the second it formatted last: crossing a second, a day and a
// year must still give each event its own date.
TEST(EventLog, DatesAreRightAcrossSecondsDaysAndYears) {
  EventLog log(1, 16, "");
  log.setClockForTesting(fakeNow);
  const std::pair<int64_t, std::string_view> cases[] = {
      {1'704'067'199'998, "2023-12-31T23:59:59.998Z"}, {1'704'067'199'999, "2023-12-31T23:59:59.999Z"},
      {1'704'067'200'000, "2024-01-01T00:00:00.000Z"}, {1'704'067'200'007, "2024-01-01T00:00:00.007Z"},
      {1'704'067'201'040, "2024-01-01T00:00:01.040Z"}, {1'709'251'199'500, "2024-02-29T23:59:59.500Z"},
  };
  for (const auto& [ms, date] : cases) {
    gNow = ms;
    Doc d(*log.find(formatLogId(log.emit(0, event("s")))));
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.str("date"), date);
  }
}

// A full ring overwrites its oldest entries in place: each keeps exactly the new event's line and
// the fields the filters read, whether the line is longer or shorter than the one it replaces.
TEST(EventLog, OverwrittenEntriesHoldOnlyTheNewEvent) {
  EventLog log(1, 3, "");
  std::vector<LogId> ids;
  for (int i = 0; i < 12; ++i) {
    std::string user = "auth0|" + std::string(static_cast<size_t>(i % 2 == 0 ? 40 : 1), static_cast<char>('a' + i));
    Event e = event(i % 3 == 0 ? "f" : "s", user, "client-" + std::to_string(i));
    e.description = std::string(static_cast<size_t>((i * 37) % 90), 'd');
    ids.push_back(log.emit(0, e));
  }
  for (int i = 0; i < 12; ++i) {
    std::optional<std::string> line = log.find(formatLogId(ids[static_cast<size_t>(i)]));
    ASSERT_EQ(line.has_value(), i >= 9) << i;
    if (!line) continue;
    Doc d(*line);
    ASSERT_TRUE(d.ok) << *line;
    std::string user = "auth0|" + std::string(static_cast<size_t>(i % 2 == 0 ? 40 : 1), static_cast<char>('a' + i));
    EXPECT_EQ(d.str("user_id"), user);
    EXPECT_EQ(d.str("client_id"), "client-" + std::to_string(i));
    EXPECT_EQ(d.str("type"), i % 3 == 0 ? "f" : "s");
    EXPECT_EQ(d.str("description"), std::string(static_cast<size_t>((i * 37) % 90), 'd'));
  }
  Doc byClient(log.query(parse({{"q", "client_id:\"client-10\""}, {"include_totals", "true"}})));
  ASSERT_TRUE(byClient.ok);
  int64_t total = 0;
  ASSERT_TRUE(byClient.root->find("total")->asInt64(&total));
  EXPECT_EQ(total, 1);
  Doc byType(log.query(parse({{"q", "type:f"}, {"include_totals", "true"}})));
  ASSERT_TRUE(byType.root->find("total")->asInt64(&total));
  EXPECT_EQ(total, 1);  // of 9, 10, 11 only 9 is an "f"
}

TEST(EventLog, PagesAreNewestFirstAcrossShards) {
  gNow = 1'700'000'000'000;
  EventLog log(3, 100, "");
  log.setClockForTesting(tickingNow);
  std::vector<std::string> all;  // in emission order = log_id order
  for (unsigned i = 0; i < 7; ++i) all.push_back(formatLogId(log.emit(i % 3, event("s"))));
  EXPECT_EQ(ids(log.query(LogQuery{})), (std::vector<std::string>{all.rbegin(), all.rend()}));
  EXPECT_EQ(ids(log.query(parse({{"per_page", "3"}}))), (std::vector<std::string>{all[6], all[5], all[4]}));
  EXPECT_EQ(ids(log.query(parse({{"per_page", "3"}, {"page", "1"}}))), (std::vector<std::string>{all[3], all[2], all[1]}));
  EXPECT_EQ(ids(log.query(parse({{"per_page", "3"}, {"page", "2"}}))), (std::vector<std::string>{all[0]}));
  EXPECT_EQ(ids(log.query(parse({{"per_page", "3"}, {"page", "3"}}))), std::vector<std::string>{});
  EXPECT_EQ(ids(log.query(parse({{"per_page", "2"}, {"sort", "date:1"}}))), (std::vector<std::string>{all[0], all[1]}));
}

TEST(EventLog, IncludeTotalsHasAuth0Shape) {
  EventLog log(2, 100, "");
  for (int i = 0; i < 5; ++i) log.emit(i % 2, event(i < 3 ? "s" : "f"));
  Doc d(log.query(parse({{"include_totals", "true"}, {"per_page", "2"}, {"page", "1"}, {"q", "type:s"}})));
  ASSERT_TRUE(d.ok) << d.text;
  ASSERT_TRUE(d.root->isObject());
  int64_t start = -1, limit = -1, length = -1, total = -1;
  ASSERT_TRUE(d.root->find("start")->asInt64(&start));
  ASSERT_TRUE(d.root->find("limit")->asInt64(&limit));
  ASSERT_TRUE(d.root->find("length")->asInt64(&length));
  ASSERT_TRUE(d.root->find("total")->asInt64(&total));
  EXPECT_EQ(start, 2);
  EXPECT_EQ(limit, 2);
  EXPECT_EQ(length, 1);
  EXPECT_EQ(total, 3);
  ASSERT_TRUE(d.root->find("logs")->isArray());
  EXPECT_EQ(d.root->find("logs")->array().size(), 1u);
  EXPECT_EQ(log.query(parse({{"include_totals", "false"}})).front(), '[');
}

TEST(EventLog, CheckpointReturnsLaterEventsAscending) {
  gNow = 1'700'000'000'000;
  EventLog log(2, 100, "");
  log.setClockForTesting(tickingNow);
  std::vector<std::string> all;
  for (unsigned i = 0; i < 6; ++i) all.push_back(formatLogId(log.emit(i % 2, event(i % 2 ? "f" : "s"))));
  LogPage p = log.queryPage(parse({{"from", all[1]}, {"take", "3"}}));
  EXPECT_EQ(ids(p.body), (std::vector<std::string>{all[2], all[3], all[4]}));
  EXPECT_EQ(p.lastLogId, all[4]);
  EXPECT_EQ(ids(log.query(parse({{"from", all[4]}}))), (std::vector<std::string>{all[5]}));
  EXPECT_EQ(ids(log.query(parse({{"from", all[5]}}))), std::vector<std::string>{});
  EXPECT_EQ(ids(log.query(parse({{"from", ""}, {"take", "2"}}))), (std::vector<std::string>{all[0], all[1]}));
  // With `from`, everything but take is ignored (Auth0): no totals object, no filter.
  std::string body = log.query(parse({{"from", all[0]}, {"include_totals", "true"}, {"q", "type:s"}, {"per_page", "1"}}));
  EXPECT_EQ(ids(body), (std::vector<std::string>{all[1], all[2], all[3], all[4], all[5]}));
  // An id that has left the ring still works as a checkpoint: ids compare by time.
  EXPECT_EQ(ids(log.query(parse({{"from", formatLogId({1, 0, 0})}, {"take", "1"}}))), (std::vector<std::string>{all[0]}));
}

TEST(EventLog, FiltersByTypeUserAndClient) {
  gNow = 1'700'000'000'000;
  EventLog log(2, 100, "");
  log.setClockForTesting(tickingNow);  // one millisecond each: log_id order = emission order
  std::string s1 = formatLogId(log.emit(0, event("s", "auth0|1", "web")));
  std::string f1 = formatLogId(log.emit(1, event("f", "auth0|1", "native")));
  std::string s2 = formatLogId(log.emit(1, event("s", "auth0|2", "native")));
  std::string w = formatLogId(log.emit(0, event("w", "", "web")));
  auto q = [&](std::string_view filter) { return ids(log.query(parse({{"q", filter}, {"sort", "date:1"}}))); };
  using V = std::vector<std::string>;
  EXPECT_EQ(q("type:s"), (V{s1, s2}));
  EXPECT_EQ(q("type:\"s\""), (V{s1, s2}));
  EXPECT_EQ(q("type:s OR type:f"), (V{s1, f1, s2}));
  EXPECT_EQ(q("type:s || type:w"), (V{s1, s2, w}));
  EXPECT_EQ(q("user_id:\"auth0|1\""), (V{s1, f1}));
  EXPECT_EQ(q("user_id:auth0|1"), (V{s1, f1}));
  EXPECT_EQ(q("user_id:auth0\\|2"), (V{s2}));
  EXPECT_EQ(q("user_id:auth0*"), (V{s1, f1, s2}));
  EXPECT_EQ(q("client_id:web"), (V{s1, w}));
  EXPECT_EQ(q("client_id:native AND type:s"), (V{s2}));
  EXPECT_EQ(q("type:w OR client_id:native AND user_id:\"auth0|1\""), (V{f1, w}));  // AND binds tighter
  EXPECT_EQ(q("type:S"), V{});  // case-sensitive, as Auth0's
  EXPECT_EQ(q("  "), (V{s1, f1, s2, w}));
}

TEST(LogQuery, DefaultsAndBadParametersAsAuth0) {
  LogQuery d = parse({});
  EXPECT_EQ(d.perPage, 50u);
  EXPECT_EQ(d.page, 0u);
  EXPECT_FALSE(d.includeTotals);
  EXPECT_FALSE(d.ascending);
  EXPECT_FALSE(d.checkpoint);
  EXPECT_EQ(d.take, 50u);
  EXPECT_TRUE(parse({{"fields", "type,date"}, {"include_fields", "true"}, {"per_page", "100"}}).perPage == 100);

  EXPECT_NE(queryError({{"per_page", "101"}}).find("Value 101 is greater than maximum 100' on property per_page"),
            std::string::npos);
  EXPECT_NE(queryError({{"page", "abc"}}).find("on property page"), std::string::npos);
  EXPECT_NE(queryError({{"page", "-1"}}).find("less than minimum 0"), std::string::npos);
  EXPECT_NE(queryError({{"take", "1000"}}).find("on property take"), std::string::npos);
  EXPECT_NE(queryError({{"include_totals", "yes"}}).find("include_totals"), std::string::npos);
  EXPECT_NE(queryError({{"sort", "user_id:1"}}).find("on property sort"), std::string::npos);
  EXPECT_NE(queryError({{"per_page", "100"}, {"page", "10"}}).find("first 1000"), std::string::npos);
  EXPECT_EQ(queryError({{"per_page", "100"}, {"page", "9"}}), "<accepted>");
  EXPECT_NE(queryError({{"from", "123"}}).find("on property from"), std::string::npos);
  EXPECT_NE(queryError({{"frobnicate", "1"}}).find("Additional properties not allowed: frobnicate"), std::string::npos);
  EXPECT_EQ(queryError({{"from", ""}, {"q", "NOT type:s"}}), "<accepted>");  // q ignored with from
}

TEST(LogFilter, RefusesWhatItDoesNotSupport) {
  for (std::string_view bad : {"s", "type:", "type:s type:f", "type:s AND", "OR type:s", "NOT type:s", "-type:s",
                               "(type:s OR type:f)", "ip:1.2.3.4", "description:\"x\"", "type:\"s", "type:s?",
                               "type:a*b", "type:s AND AND type:f"}) {
    auto f = parseLogFilter(bad);
    EXPECT_FALSE(f.ok()) << bad;
    if (!f.ok()) {
      EXPECT_NE(f.error().message().find("on property q"), std::string::npos) << f.error().message();
    }
  }
  EXPECT_FALSE(parseLogFilter(std::string(2000, 'a')).ok());
}

TEST(EventLog, FindAnswersOnlyItsOwnIds) {
  EventLog log(2, 16, "");
  LogId id = log.emit(1, event("s"));
  EXPECT_TRUE(log.find(formatLogId(id)));
  EXPECT_FALSE(log.find(formatLogId({id.ms, 0, id.seq})));
  EXPECT_FALSE(log.find(formatLogId({id.ms, 7, id.seq})));  // no such shard
  EXPECT_FALSE(log.find("not-an-id"));
  EXPECT_FALSE(log.find(""));
}

TEST(EventLog, ClockGoingBackwardsKeepsIdsGrowing) {
  gNow = 1'700'000'000'500;
  EventLog log(1, 16, "");
  log.setClockForTesting(fakeNow);
  LogId a = log.emit(0, event("s"));
  gNow = 1'700'000'000'100;
  LogId b = log.emit(0, event("s"));
  LogId c = log.emit(0, event("s"));
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(formatLogId(a), formatLogId(b));
  EXPECT_EQ(ids(log.query(LogQuery{})), (std::vector<std::string>{formatLogId(c), formatLogId(b), formatLogId(a)}));
}

TEST(EventLog, SinkGetsOneJsonLinePerEvent) {
  char dir[] = "/tmp/handoff-events-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/events.jsonl";
  {
    EventLog log(2, 16, path);
    ASSERT_TRUE(log.sinkStatus().ok()) << log.sinkStatus().error().message();
    for (int i = 0; i < 5; ++i) {
      Event e = event(i % 2 ? "seacft" : "feacft", "auth0|demo", "demo-web");
      e.description = "line with \"quotes\"\nand a newline";
      log.emit(i % 2, e);
    }
    EXPECT_EQ(log.sinkErrors(), 0u);
    EXPECT_EQ(log.emitted("seacft"), 2u);
    EXPECT_EQ(log.emitted("feacft"), 3u);
  }
  struct stat st{};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    Doc d(line);
    EXPECT_TRUE(d.ok && d.root->isObject()) << line;
    if (d.ok) {
      EXPECT_EQ(d.str("user_id"), "auth0|demo");
    }
    ++n;
  }
  EXPECT_EQ(n, 5);
  {
    EventLog again(1, 16, path);  // appends, never truncates
    again.emit(0, event("slo"));
  }
  std::ifstream in2(path);
  n = 0;
  while (std::getline(in2, line)) ++n;
  EXPECT_EQ(n, 6);
  unlink(path.c_str());
  rmdir(dir);
}

TEST(EventLog, UnopenableSinkIsReportedAndWriteErrorsCounted) {
  EventLog bad(1, 16, "/nonexistent-dir/events.jsonl");
  EXPECT_FALSE(bad.sinkStatus().ok());
  bad.emit(0, event("s"));  // still kept in memory
  EXPECT_EQ(ids(bad.query(LogQuery{})).size(), 1u);
  EXPECT_EQ(bad.sinkErrors(), 0u);

  EventLog full(1, 16, "/dev/full");  // every write fails with ENOSPC
  ASSERT_TRUE(full.sinkStatus().ok());
  full.emit(0, event("s"));
  full.emit(0, event("zzz"));
  EXPECT_EQ(full.sinkErrors(), 2u);
  EXPECT_EQ(full.emitted("other"), 1u);
  EXPECT_EQ(full.emitted("zzz"), 0u);
}

TEST(EventLog, ConcurrentEmittersWhileAReaderQueries) {
  constexpr unsigned kShards = 4;
  constexpr int kPerShard = 5000;
  EventLog log(kShards, 1000, "");
  std::atomic<bool> done{false};
  std::atomic<int> queries{0};
  std::thread reader([&] {
    while (!done.load()) {
      std::string body = log.query(parse({{"per_page", "100"}, {"q", "type:s OR type:f"}}));
      Doc d(body);
      ASSERT_TRUE(d.ok) << body.substr(0, 200);
      std::vector<std::string> got = ids(body);
      for (size_t i = 1; i < got.size(); ++i) ASSERT_GT(got[i - 1], got[i]);
      if (!got.empty()) (void)log.find(got.back());
      (void)log.query(parse({{"from", ""}, {"take", "100"}}));
      queries.fetch_add(1);
    }
  });
  std::vector<std::thread> writers;
  for (unsigned s = 0; s < kShards; ++s) {
    writers.emplace_back([&log, s] {
      for (int i = 0; i < kPerShard; ++i) {
        Event e = event(i % 2 ? "s" : "f", "auth0|" + std::to_string(i), "client-" + std::to_string(s));
        log.emit(s, std::move(e));
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  EXPECT_GT(queries.load(), 0);
  Doc d(log.query(parse({{"include_totals", "true"}, {"per_page", "0"}})));
  int64_t total = 0;
  ASSERT_TRUE(d.root->find("total")->asInt64(&total));
  EXPECT_EQ(total, int64_t{kShards} * 1000);
  EXPECT_EQ(log.emitted("s") + log.emitted("f"), uint64_t{kShards} * kPerShard);
  // Per client: each shard's ring still holds its own newest 1000.
  Doc c(log.query(parse({{"include_totals", "true"}, {"q", "client_id:client-2"}, {"per_page", "1"}})));
  ASSERT_TRUE(c.root->find("total")->asInt64(&total));
  EXPECT_EQ(total, 1000);
}

}  // namespace
}  // namespace handoff::events
