#include "tenancy/codec.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "tenancy/money.hpp"

namespace meridian::tenancy::codec {

namespace json = boost::json;

namespace {

std::unexpected<FieldError> Bad(std::string message, std::string param) {
  return std::unexpected<FieldError>(FieldError{std::move(message), std::move(param)});
}

json::value Opt(const std::optional<std::int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); }
json::value OptUsd(const std::optional<std::int64_t>& v) {
  return v ? json::value(FormatUsdMicro(*v)) : json::value(nullptr);
}

json::array Strings(const std::vector<std::string>& items) {
  json::array a;
  for (const auto& s : items) a.emplace_back(s);
  return a;
}

void PutSettings(json::object& o, const Settings& s) {
  json::object l;
  l["usd_per_day"] = OptUsd(s.limits.usd_per_day_micro);
  l["usd_per_month"] = OptUsd(s.limits.usd_per_month_micro);
  l["requests_per_minute"] = Opt(s.limits.requests_per_minute);
  l["input_tokens_per_minute"] = Opt(s.limits.input_tokens_per_minute);
  l["output_tokens_per_minute"] = Opt(s.limits.output_tokens_per_minute);
  l["concurrent_requests"] = Opt(s.limits.concurrent_requests);
  o["limits"] = std::move(l);
  o["models"] = Strings(s.models);
  o["backends"] = Strings(s.backends);
  json::array classes;
  for (core::DataClass c : s.data_classes) classes.emplace_back(core::DataClassName(c));
  o["data_classes"] = std::move(classes);
}

// A non-negative integer member; doubles are refused (5.0 is not a count).
std::expected<std::int64_t, FieldError> NonNegativeInt(const json::value& v, const std::string& param) {
  if (v.is_int64() && v.get_int64() >= 0) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  return Bad(fmt::format("'{}' must be a non-negative integer or null", param), param);
}

std::expected<std::int64_t, FieldError> Usd(const json::value& v, const std::string& param) {
  std::optional<std::int64_t> micro;
  const std::string what = fmt::format(
      "'{}' must be a non-negative amount of US dollars with at most 6 decimals, as a string (\"12.50\") or a "
      "number, or null",
      param);
  if (v.is_string()) {
    micro = ParseUsdMicro(v.get_string());
  } else if (v.is_int64() || v.is_uint64()) {
    auto whole = NonNegativeInt(v, param);
    if (!whole) return Bad(what, param);
    if (*whole <= std::numeric_limits<std::int64_t>::max() / 1'000'000) micro = *whole * 1'000'000;
  } else if (v.is_double()) {
    // The DOM holds a double: its shortest round-trip text is what the client most likely wrote
    // (12.5, 0.000001); strings avoid even that step.
    if (auto text = PlainDecimal(v.get_double())) micro = ParseUsdMicro(*text);
  }
  if (!micro) return Bad(what, param);
  return *micro;
}

std::expected<std::vector<std::string>, FieldError> StringList(const json::value& v, const std::string& field) {
  if (!v.is_array()) return Bad(fmt::format("'{}' must be an array of strings ([] = all)", field), field);
  const json::array& a = v.get_array();
  if (a.size() > kMaxListEntries) {
    return Bad(fmt::format("'{}' has {} entries; at most {} are allowed", field, a.size(), kMaxListEntries), field);
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string param = fmt::format("{}[{}]", field, i);
    if (!a[i].is_string() || a[i].get_string().empty() || a[i].get_string().size() > kMaxNameBytes) {
      return Bad(fmt::format("'{}' must be a non-empty string of at most {} bytes", param, kMaxNameBytes), param);
    }
    out.emplace_back(a[i].get_string());
  }
  return out;
}

std::string Text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

}  // namespace

json::object ToJson(const Tenant& t) {
  json::object o;
  o["id"] = t.id;
  o["name"] = t.name;
  o["disabled"] = t.disabled;
  o["created_ms"] = t.created_ms;
  PutSettings(o, t.settings);
  return o;
}

json::object ToJson(const Team& t) {
  json::object o;
  o["tenant"] = t.tenant;
  o["id"] = t.id;
  o["name"] = t.name;
  o["disabled"] = t.disabled;
  o["created_ms"] = t.created_ms;
  PutSettings(o, t.settings);
  return o;
}

json::object ToJson(const Key& k) {
  json::object o;
  o["id"] = k.id;
  o["tenant"] = k.tenant;
  o["team"] = k.team.empty() ? json::value(nullptr) : json::value(k.team);
  o["name"] = k.name;
  o["created_ms"] = k.created_ms;
  o["revoked_ms"] = Opt(k.revoked_ms);
  o["expires_ms"] = Opt(k.expires_ms);
  PutSettings(o, k.settings);
  return o;
}

FieldResult CheckFields(const json::object& body, std::initializer_list<std::string_view> allowed,
                        std::initializer_list<std::string_view> immutable) {
  for (const auto& member : body) {
    const std::string_view name = member.key();
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    if (std::find(immutable.begin(), immutable.end(), name) != immutable.end()) {
      return Bad(fmt::format("'{}' cannot be changed", name), std::string(name));
    }
    if (allowed.size() == 0) {
      return Bad(fmt::format("unknown field '{}'; this route takes no fields", name), std::string(name));
    }
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    return Bad(fmt::format("unknown field '{}'; allowed: {}", name, list), std::string(name));
  }
  return {};
}

FieldResult ReadName(const json::object& body, std::string& name) {
  const json::value* v = body.if_contains("name");
  if (v == nullptr) return {};
  if (!v->is_string() || v->get_string().size() > kMaxNameBytes) {
    return Bad(fmt::format("'name' must be a string of at most {} bytes", kMaxNameBytes), "name");
  }
  name = std::string(v->get_string());
  return {};
}

FieldResult ReadBool(const json::object& body, std::string_view field, bool& out) {
  const json::value* v = body.if_contains(field);
  if (v == nullptr) return {};
  if (!v->is_bool()) return Bad(fmt::format("'{}' must be true or false", field), std::string(field));
  out = v->get_bool();
  return {};
}

FieldResult ReadOptionalInt(const json::object& body, std::string_view field, std::optional<std::int64_t>& out) {
  const json::value* v = body.if_contains(field);
  if (v == nullptr) return {};
  if (v->is_null()) {
    out.reset();
    return {};
  }
  auto n = NonNegativeInt(*v, std::string(field));
  if (!n) return std::unexpected(n.error());
  out = *n;
  return {};
}

FieldResult ReadId(const json::object& body, std::string_view field, bool required, std::string& out) {
  const json::value* v = body.if_contains(field);
  if (v == nullptr || (!required && v->is_null())) {
    if (required) return Bad(fmt::format("'{}' is required", field), std::string(field));
    return {};
  }
  if (!v->is_string() || !IsValidId(v->get_string())) {
    return Bad(fmt::format("'{}' must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit", field),
               std::string(field));
  }
  out = std::string(v->get_string());
  return {};
}

FieldResult ReadSettings(const json::object& body, Settings& s) {
  if (const json::value* v = body.if_contains("limits")) {
    if (!v->is_object()) return Bad("'limits' must be an object", "limits");
    const json::object& l = v->get_object();
    if (auto ok = CheckFields(l, {"usd_per_day", "usd_per_month", "requests_per_minute", "input_tokens_per_minute",
                                  "output_tokens_per_minute", "concurrent_requests"});
        !ok) {
      return Bad(fmt::format("'limits': {}", ok.error().message), "limits." + ok.error().param);
    }
    struct {
      std::string_view name;
      std::optional<std::int64_t>* target;
      bool money;
      bool per_minute;
    } const fields[] = {
        {"usd_per_day", &s.limits.usd_per_day_micro, true, false},
        {"usd_per_month", &s.limits.usd_per_month_micro, true, false},
        {"requests_per_minute", &s.limits.requests_per_minute, false, true},
        {"input_tokens_per_minute", &s.limits.input_tokens_per_minute, false, true},
        {"output_tokens_per_minute", &s.limits.output_tokens_per_minute, false, true},
        {"concurrent_requests", &s.limits.concurrent_requests, false, false},
    };
    for (const auto& f : fields) {
      const json::value* x = l.if_contains(f.name);
      if (x == nullptr) continue;
      if (x->is_null()) {
        f.target->reset();
        continue;
      }
      const std::string param = fmt::format("limits.{}", f.name);
      auto n = f.money ? Usd(*x, param) : NonNegativeInt(*x, param);
      if (!n) return std::unexpected(n.error());
      if (f.per_minute && *n > limits::kMaxPerMinute) {
        return Bad(fmt::format("'{}' must be at most {}", param, limits::kMaxPerMinute), param);
      }
      *f.target = *n;
    }
  }
  if (const json::value* v = body.if_contains("models")) {
    auto list = StringList(*v, "models");
    if (!list) return std::unexpected(list.error());
    s.models = std::move(*list);
  }
  if (const json::value* v = body.if_contains("backends")) {
    auto list = StringList(*v, "backends");
    if (!list) return std::unexpected(list.error());
    s.backends = std::move(*list);
  }
  if (const json::value* v = body.if_contains("data_classes")) {
    if (!v->is_array()) return Bad("'data_classes' must be an array of data class names", "data_classes");
    std::vector<core::DataClass> classes;
    const json::array& a = v->get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string param = fmt::format("data_classes[{}]", i);
      std::optional<core::DataClass> c;
      if (a[i].is_string()) c = core::ParseDataClass(a[i].get_string());
      if (!c) return Bad(fmt::format("'{}' is not a data class name (email, iban, secret, ...)", param), param);
      classes.push_back(*c);
    }
    s.data_classes = std::move(classes);
  }
  Normalize(s);
  return {};
}

std::map<std::string, std::string> ChangedFields(const json::object& before, const json::object& after,
                                                 std::initializer_list<std::string_view> skip) {
  std::map<std::string, std::string> out;
  for (const auto& member : after) {
    const std::string_view name = member.key();
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    const json::value* old = before.if_contains(name);
    if (member.value().is_object() && old != nullptr && old->is_object()) {
      for (const auto& sub : member.value().get_object()) {
        const json::value* old_sub = old->get_object().if_contains(sub.key());
        if (old_sub == nullptr || *old_sub != sub.value()) {
          out[fmt::format("{}.{}", name, std::string_view(sub.key()))] = Text(sub.value());
        }
      }
      continue;
    }
    if (old == nullptr || *old != member.value()) out[std::string(name)] = Text(member.value());
  }
  return out;
}

}  // namespace meridian::tenancy::codec
