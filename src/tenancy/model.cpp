#include "tenancy/model.hpp"

#include <algorithm>

namespace meridian::tenancy {

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(id.front())) return false;
  return std::all_of(id.begin(), id.end(), [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

std::string TeamScopeId(std::string_view tenant, std::string_view team) {
  if (team.empty()) return {};
  std::string out;
  out.reserve(tenant.size() + 1 + team.size());
  out.append(tenant).append("/").append(team);
  return out;
}

bool SameLimits(const limits::ScopeLimits& a, const limits::ScopeLimits& b) {
  return a.usd_per_day_micro == b.usd_per_day_micro && a.usd_per_month_micro == b.usd_per_month_micro &&
         a.requests_per_minute == b.requests_per_minute && a.input_tokens_per_minute == b.input_tokens_per_minute &&
         a.output_tokens_per_minute == b.output_tokens_per_minute && a.concurrent_requests == b.concurrent_requests;
}

bool Settings::operator==(const Settings& other) const {
  return SameLimits(limits, other.limits) && models == other.models && backends == other.backends &&
         data_classes == other.data_classes;
}

void Normalize(Settings& settings) {
  auto dedupe = [](auto& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  dedupe(settings.models);
  dedupe(settings.backends);
  dedupe(settings.data_classes);
}

}  // namespace meridian::tenancy
