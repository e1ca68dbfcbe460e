#include "audit/decision.hpp"

#include <fmt/format.h>

#include "core/utf8.hpp"

namespace meridian::audit {

namespace {

void AppendEscaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
}

// Writes `{"k":v,...}` with the keys in the order the caller adds them (callers add them sorted).
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ~ObjectWriter() { out_ += '}'; }
  std::string& Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += CanonicalJsonString(key);
    out_ += ':';
    return out_;
  }
  void String(std::string_view key, std::string_view value) { Key(key) += CanonicalJsonString(value); }
  void Int(std::string_view key, std::int64_t value) { Key(key) += fmt::format("{}", value); }

 private:
  std::string& out_;
  bool first_ = true;
};

void StringArray(std::string& out, const std::vector<std::string>& values) {
  out += '[';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += CanonicalJsonString(values[i]);
  }
  out += ']';
}

}  // namespace

std::string CanonicalJsonString(std::string_view text) {
  std::string out = "\"";
  while (true) {
    const auto bad = core::FirstInvalidUtf8(text);
    if (!bad) break;
    AppendEscaped(out, text.substr(0, *bad));
    out += "\xEF\xBF\xBD";  // U+FFFD
    text.remove_prefix(*bad + 1);
  }
  AppendEscaped(out, text);
  out += '"';
  return out;
}

std::string ToCanonicalJson(const DecisionRecord& r) {
  std::string out;
  out.reserve(512);
  {
    ObjectWriter o(out);  // keys in ascending byte order
    {
      std::string& a = o.Key("attempts");
      a += '[';
      for (std::size_t i = 0; i < r.attempts.size(); ++i) {
        if (i) a += ',';
        ObjectWriter at(a);
        at.String("backend", r.attempts[i].backend);
        at.Int("duration_ms", r.attempts[i].duration_ms);
        at.String("error", r.attempts[i].error);
        at.Int("status", r.attempts[i].status);
      }
      a += ']';
    }
    o.String("chosen_backend", r.chosen_backend);
    o.String("chosen_jurisdiction", r.chosen_jurisdiction);
    if (r.cost_micro_usd) {
      o.Int("cost_micro_usd", *r.cost_micro_usd);
    } else {
      o.Key("cost_micro_usd") += "null";
    }
    {
      // Sorted by name, not by enum order.
      std::map<std::string_view, std::uint64_t> by_name;
      for (const auto& [cls, count] : r.data_classes) by_name[core::DataClassName(cls)] = count;
      std::string& d = o.Key("data_classes");
      ObjectWriter dc(d);
      for (const auto& [name, count] : by_name) dc.Int(name, static_cast<std::int64_t>(count));
    }
    StringArray(o.Key("eligible"), r.eligible);
    {
      std::string& e = o.Key("excluded");
      e += '[';
      for (std::size_t i = 0; i < r.excluded.size(); ++i) {
        if (i) e += ',';
        ObjectWriter ex(e);
        ex.String("backend", r.excluded[i].backend);
        ex.String("reason", r.excluded[i].reason);
      }
      e += ']';
    }
    o.String("key_prefix", r.key_prefix);
    o.String("request_id", r.request_id);
    StringArray(o.Key("rules_fired"), r.rules_fired);
    o.Int("status", r.status);
    o.String("tenant", r.tenant);
  }
  return out;
}

std::string ToCanonicalJson(const AdminRecord& r) {
  std::string out;
  {
    ObjectWriter o(out);
    o.String("action", r.action);
    o.String("actor", r.actor);
    {
      std::string& f = o.Key("fields");
      ObjectWriter fo(f);
      for (const auto& [k, v] : r.fields) fo.String(k, v);  // std::map: ascending byte order
    }
    o.String("target", r.target);
  }
  return out;
}

}  // namespace meridian::audit
