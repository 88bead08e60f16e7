// The parameters of GET /api/v2/logs and the subset of Auth0's Lucene query syntax that `q`
// supports. Everything outside the subset is refused with a 400, never guessed at: a filter that
// silently matched more than asked would hand out the wrong users' events.
#include <charconv>
#include <string>

#include "handoff/events/event_log.h"

namespace handoff::events {

using core::Errc;
using core::Error;

namespace {

constexpr size_t kMaxQueryLength = 1024;
constexpr size_t kMaxTerms = 32;
constexpr int64_t kMaxPage = 1'000'000;

Error invalid(std::string_view property, std::string_view what) {
  std::string message = "Query validation error: '" + std::string(what) + "'";
  if (!property.empty()) message.append(" on property ").append(property);
  message.push_back('.');
  return Error(Errc::kInvalidArgument, std::move(message));
}

bool isSpace(char c) { return c == ' ' || c == '\t'; }

// An operator word stands alone: followed by whitespace or the end.
bool atWord(std::string_view q, size_t pos, std::string_view word) {
  return q.substr(pos, word.size()) == word && (pos + word.size() == q.size() || isSpace(q[pos + word.size()]));
}

// Reads `field:value` at `pos`; advances `pos` past it.
core::Result<LogFilter::Term> readTerm(std::string_view q, size_t& pos) {
  size_t colon = pos;
  while (colon < q.size() && ((q[colon] >= 'a' && q[colon] <= 'z') || q[colon] == '_')) ++colon;
  if (colon == q.size() || q[colon] != ':' || colon == pos) {
    return invalid("q", "Only field:value terms joined by AND or OR are supported");
  }
  std::string_view field = q.substr(pos, colon - pos);
  LogFilter::Term term;
  if (field == "type") term.field = LogFilter::Field::kType;
  else if (field == "user_id") term.field = LogFilter::Field::kUserId;
  else if (field == "client_id") term.field = LogFilter::Field::kClientId;
  else return invalid("q", "Unsupported search field " + std::string(field) + " (supported: type, user_id, client_id)");

  pos = colon + 1;
  if (pos < q.size() && q[pos] == '"') {
    for (++pos;; ++pos) {
      if (pos == q.size()) return invalid("q", "Unterminated quoted value");
      char c = q[pos];
      if (c == '"') break;
      if (c == '\\') {
        if (++pos == q.size()) return invalid("q", "Unterminated quoted value");
        c = q[pos];
      }
      term.value.push_back(c);
    }
    ++pos;
    if (pos < q.size() && !isSpace(q[pos])) return invalid("q", "Expected whitespace after a quoted value");
    return term;
  }
  for (; pos < q.size() && !isSpace(q[pos]); ++pos) {
    char c = q[pos];
    if (c == '\\') {
      if (++pos == q.size()) return invalid("q", "Dangling escape");
      term.value.push_back(q[pos]);
      continue;
    }
    if (c == '*' && (pos + 1 == q.size() || isSpace(q[pos + 1]))) {
      term.prefix = true;
      continue;
    }
    if (c == '*' || c == '?' || c == '(' || c == ')' || c == '"' || c == '[' || c == ']' || c == '{' || c == '}' ||
        c == '~' || c == '^') {
      return invalid("q", std::string("Unsupported syntax at '") + c + "'");
    }
    term.value.push_back(c);
  }
  if (term.value.empty() && !term.prefix) return invalid("q", "Empty value for " + std::string(field));
  return term;
}

bool termMatches(const LogFilter::Term& t, std::string_view value) {
  if (t.prefix) return value.substr(0, t.value.size()) == t.value;
  return value == t.value;
}

core::Result<size_t> readUnsigned(std::string_view property, std::string_view text, int64_t lo, int64_t hi) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return invalid(property, "Expected type integer but found type string");
  }
  if (v < lo) return invalid(property, "Value " + std::to_string(v) + " is less than minimum " + std::to_string(lo));
  if (v > hi) return invalid(property, "Value " + std::to_string(v) + " is greater than maximum " + std::to_string(hi));
  return static_cast<size_t>(v);
}

core::Result<bool> readBool(std::string_view property, std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return invalid(property, "Expected type boolean but found type string");
}

}  // namespace

bool LogFilter::matches(std::string_view type, std::string_view userId, std::string_view clientId) const {
  if (anyOf.empty()) return true;
  for (const std::vector<Term>& group : anyOf) {
    bool all = true;
    for (const Term& t : group) {
      std::string_view v = t.field == Field::kType ? type : t.field == Field::kUserId ? userId : clientId;
      if (!termMatches(t, v)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

core::Result<LogFilter> parseLogFilter(std::string_view q) {
  if (q.size() > kMaxQueryLength) return invalid("q", "String is too long");
  LogFilter f;
  std::vector<LogFilter::Term> group;
  size_t terms = 0;
  bool expectTerm = true;
  size_t pos = 0;
  for (;;) {
    while (pos < q.size() && isSpace(q[pos])) ++pos;
    if (pos == q.size()) break;
    bool isAnd = atWord(q, pos, "AND") || atWord(q, pos, "&&");
    bool isOr = atWord(q, pos, "OR") || atWord(q, pos, "||");
    if (isAnd || isOr) {
      if (expectTerm) return invalid("q", "An operator must stand between two terms");
      pos += isAnd && q[pos] == 'A' ? 3 : 2;
      if (isOr) {
        f.anyOf.push_back(std::move(group));
        group.clear();
      }
      expectTerm = true;
      continue;
    }
    if (atWord(q, pos, "NOT") || q[pos] == '-' || q[pos] == '+' || q[pos] == '(' || q[pos] == '!') {
      return invalid("q", "NOT, required/prohibited markers and parentheses are not supported");
    }
    if (!expectTerm) return invalid("q", "Terms must be joined by AND or OR");
    if (++terms > kMaxTerms) return invalid("q", "Too many terms");
    auto term = readTerm(q, pos);
    if (!term) return term.error();
    group.push_back(std::move(term).value());
    expectTerm = false;
  }
  if (terms != 0 && expectTerm) return invalid("q", "An operator must stand between two terms");
  if (!group.empty()) f.anyOf.push_back(std::move(group));
  return f;
}

core::Result<LogQuery> parseLogQuery(std::span<const std::pair<std::string_view, std::string_view>> params) {
  LogQuery query;
  std::string_view q;
  for (const auto& [name, value] : params) {
    if (name == "page") {
      auto v = readUnsigned(name, value, 0, kMaxPage);
      if (!v) return v.error();
      query.page = *v;
    } else if (name == "per_page") {
      auto v = readUnsigned(name, value, 0, LogQuery::kMaxPerPage);
      if (!v) return v.error();
      query.perPage = *v;
    } else if (name == "take") {
      auto v = readUnsigned(name, value, 0, LogQuery::kMaxPerPage);
      if (!v) return v.error();
      query.take = *v;
    } else if (name == "include_totals") {
      auto v = readBool(name, value);
      if (!v) return v.error();
      query.includeTotals = *v;
    } else if (name == "include_fields") {
      auto v = readBool(name, value);
      if (!v) return v.error();
    } else if (name == "fields") {
      // Accepted and ignored: every field is returned.
    } else if (name == "sort") {
      if (value == "date:1") query.ascending = true;
      else if (value == "date:-1") query.ascending = false;
      else return invalid(name, "Only date:1 and date:-1 are supported");
    } else if (name == "q") {
      q = value;
    } else if (name == "from") {
      query.checkpoint = true;
      if (!value.empty()) {
        query.from = parseLogId(value);
        if (!query.from) return invalid(name, "Not a log_id of this tenant");
      }
    } else {
      return invalid("", "Additional properties not allowed: " + std::string(name));
    }
  }
  // With `from`, every parameter but `take` is ignored, q included (Auth0's documented rule).
  if (!query.checkpoint) {
    auto f = parseLogFilter(q);
    if (!f) return f.error();
    query.filter = std::move(f).value();
    if (query.perPage != 0 && query.page * query.perPage >= LogQuery::kMaxSearchResults) {
      return invalid("page", "Only the first 1000 results can be paged through; refine the search or use from/take");
    }
  }
  return query;
}

}  // namespace handoff::events
