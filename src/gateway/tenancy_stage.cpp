// Virtual keys and their limits in the request path (docs/tenancy.md, docs/limits.md): the
// key's model and backend restrictions narrow the eligible set, the request's upper-bound cost
// and tokens are reserved at its tenant, team and key before it is forwarded, and the
// reservation is settled with the actual usage when it ends. Also the tenancy admin routes.

#include <algorithm>
#include <map>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "catalog/cost.hpp"
#include "limits/errors.hpp"
#include "gateway/gateway.hpp"
#include "tenancy/admin_api.hpp"
#include "tokenize/tokenize.hpp"

namespace meridian::gateway {

namespace json = boost::json;
using core::ErrorCode;

namespace {

// A positive integer member, or nullopt (absent, not an integer, or not positive).
std::optional<std::int64_t> PositiveInt(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64() && v->as_int64() > 0) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() > 0 && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->as_uint64());
  }
  return std::nullopt;
}

// The client's own output limit, in its dialect's field: OpenAI Chat max_completion_tokens
// (or the older max_tokens), Responses max_output_tokens, Anthropic max_tokens, Gemini
// generationConfig.maxOutputTokens. nullopt = none set.
std::optional<std::int64_t> ClientMaxOutput(Api api, const json::object& body) {
  switch (api) {
    case Api::kChatCompletions: {
      auto v = PositiveInt(body, "max_completion_tokens");
      return v ? v : PositiveInt(body, "max_tokens");
    }
    case Api::kResponses: return PositiveInt(body, "max_output_tokens");
    case Api::kMessages: return PositiveInt(body, "max_tokens");
    case Api::kGenerateContent:
      if (const json::value* g = body.if_contains("generationConfig"); g && g->is_object()) {
        return PositiveInt(g->as_object(), "maxOutputTokens");
      }
      return std::nullopt;
    default: return std::nullopt;
  }
}

limits::TimePoint Now() { return std::chrono::system_clock::now(); }

}  // namespace

void Gateway::SyncLimits() {
  if (!store_.keys) return;
  const std::uint64_t generation = store_.keys->generation();
  if (generation == applied_generation_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(scopes_mu_);
  std::shared_ptr<const tenancy::ScopeTable> now = store_.keys->scopes();
  if (applied_scopes_ && now->generation == applied_scopes_->generation) return;
  const tenancy::ScopeDiff diff = tenancy::DiffScopes(applied_scopes_.get(), *now);
  for (const auto& entry : diff.configure) limiter_.Configure(entry.level, entry.id, entry.limits);
  for (const auto& [level, id] : diff.remove) limiter_.Remove(level, id);
  applied_scopes_ = std::move(now);
  applied_generation_.store(applied_scopes_->generation, std::memory_order_release);
}

bool Gateway::VirtualKeysExist() {
  if (!store_.keys) return false;
  std::shared_ptr<const tenancy::ScopeTable> scopes = store_.keys->scopes();
  return std::any_of(scopes->entries.begin(), scopes->entries.end(),
                     [](const tenancy::ScopeEntry& e) { return e.level == limits::Level::kKey; });
}

std::optional<core::Error> Gateway::ApplyKeyRestrictions(RequestContext& ctx, std::vector<Backend*>& eligible) {
  if (!ctx.virtual_key) return std::nullopt;
  const tenancy::EffectiveRestrictions& r = ctx.virtual_key->restrictions;
  const std::string_view alias = ctx.model != ctx.upstream_model ? std::string_view(ctx.model) : std::string_view();
  if (!r.AllowsModel(ctx.upstream_model, alias)) {
    return core::Fail(ErrorCode::kForbidden, fmt::format("The model '{}' is not allowed for this key.", ctx.model),
                      "model")
        .error();
  }
  auto denied = std::stable_partition(eligible.begin(), eligible.end(),
                                      [&](const Backend* b) { return r.AllowsBackend(b->id()); });
  for (auto it = denied; it != eligible.end(); ++it) {
    if (ctx.policy) {
      ctx.policy->excluded.push_back({(*it)->id(), "key-restriction", "backend not allowed for this key"});
      std::erase(ctx.policy->eligible, (*it)->id());
    }
  }
  eligible.erase(denied, eligible.end());
  if (eligible.empty()) {
    return core::Fail(ErrorCode::kForbidden,
                      fmt::format("No backend this key may use serves the model '{}'.", ctx.model), "model")
        .error();
  }
  return std::nullopt;
}

std::optional<core::Error> Gateway::ReserveLimits(RequestContext& ctx, const std::vector<Backend*>& eligible,
                                                  const json::object& body) {
  ctx.max_output_tokens = ClientMaxOutput(ctx.api, body);
  // Counting tokens costs nothing and uses no model capacity: not metered.
  if (!ctx.virtual_key || ctx.api == Api::kMessagesCountTokens || ctx.api == Api::kGeminiCountTokens) {
    return std::nullopt;
  }
  // Input tokens: the fast estimate over the request as sent (its JSON syntax included, which
  // errs on the high side, as a reservation should).
  const std::int64_t input = static_cast<std::int64_t>(tokenize::ApproximateCount(ctx.request->body()));
  ctx.estimated_input_tokens = input;
  limits::Demand demand;
  demand.input_tokens = input;
  demand.max_output_tokens = ctx.max_output_tokens;
  const std::int64_t output = limiter_.MaxOutputTokens(ctx.max_output_tokens);
  // The request may be served by any eligible backend: reserve the dearest. An unpriced model
  // costs nothing here or at settlement (its ledger cost is null): docs/limits.md.
  for (const Backend* b : eligible) {
    if (const catalog::Entry* price = b->price(ctx.upstream_model)) {
      if (auto bound = catalog::UpperBoundCost(*price, input, output)) {
        demand.cost_upper_micro_usd = std::max(demand.cost_upper_micro_usd, *bound);
      }
    }
  }
  limits::ReserveResult reserved = limiter_.Reserve(ctx.virtual_key->scopes(), demand, Now());
  if (!reserved) return limits::ToError(reserved.error());
  ctx.reservation = std::move(*reserved);
  return std::nullopt;
}

void Gateway::SettleLimits(RequestContext& ctx) {
  if (!ctx.reservation.active()) return;
  if (ctx.prompt_tokens < 0 && ctx.completion_tokens < 0) {
    // No usage reported (failed before an answer, or the client left): nothing to charge
    // beyond what was charged mid-stream; the request still counts against requests/min.
    limiter_.Release(std::move(ctx.reservation));
    return;
  }
  limits::Actual actual;
  actual.input_tokens = std::max<std::int64_t>(ctx.prompt_tokens, 0);
  actual.output_tokens = std::max<std::int64_t>(ctx.completion_tokens, 0);
  actual.cost_micro_usd = RequestCost(ctx).value_or(0);
  limiter_.Settle(std::move(ctx.reservation), actual, Now());
}

std::optional<core::Error> Gateway::ChargeStream(RequestContext& ctx, std::int64_t text_bytes) {
  if (!ctx.reservation.active() || text_bytes <= 0) return std::nullopt;
  ctx.stream_text_bytes += text_bytes;
  // About four bytes of text per token (the same scale as tokenize::ApproximateCount), rounded
  // up: the charge runs ahead of the true count rather than behind it.
  const std::int64_t tokens = (ctx.stream_text_bytes + 3) / 4;
  const std::int64_t extra = tokens - ctx.stream_tokens_charged;
  if (extra <= 0) return std::nullopt;
  ctx.stream_tokens_charged = tokens;
  std::int64_t extra_cost = 0;
  if (const catalog::Entry* price = ctx.backend ? ctx.backend->price(ctx.upstream_model) : nullptr) {
    // A prompt above a long-context threshold pays that tier's output price.
    const catalog::PriceTier* tier = catalog::TierFor(price->prices, ctx.estimated_input_tokens);
    const auto output = tier && tier->output ? tier->output : price->prices.output;
    if (output) {
      const std::int64_t pico = extra * *output;
      extra_cost = (pico + 999'999) / 1'000'000;  // micro-USD, rounded up
    }
  }
  if (limiter_.Charge(ctx.reservation, extra, extra_cost, Now())) return std::nullopt;
  return limits::ToError(*ctx.reservation.cut());
}

core::Result<std::size_t> Gateway::SeedLimitsFromLedger() {
  if (!store_.usage) return std::size_t{0};
  const limits::TimePoint now = Now();
  const std::string today =
      store::UtcDay(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  const std::string month_start = today.substr(0, 8) + "01";
  // Per level: the group keys that name its scope, and how the scope id is made of them.
  struct LevelQuery {
    limits::Level level;
    std::vector<store::GroupKey> keys;
  };
  const LevelQuery levels[] = {
      {limits::Level::kTenant, {store::GroupKey::kTenant}},
      {limits::Level::kTeam, {store::GroupKey::kTenant, store::GroupKey::kTeam}},
      {limits::Level::kKey, {store::GroupKey::kKey}},
  };
  std::size_t seeded = 0;
  for (const LevelQuery& lq : levels) {
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> spent;  // scope id -> (today, month)
    for (bool month : {false, true}) {
      store::UsageQuery query;
      query.from = month ? month_start : today;
      query.to = today;
      query.group_by = lq.keys;
      auto result = store_.usage->Query(query);
      if (!result) return std::unexpected(std::move(result.error()));
      for (const store::UsageTotals& row : result->totals) {
        if (!row.cost_micro_usd || *row.cost_micro_usd <= 0) continue;
        std::string id = row.keys[0];
        if (lq.level == limits::Level::kTeam) {
          if (row.keys[1].empty()) continue;  // no team
          id += "/" + row.keys[1];
        }
        if (id.empty()) continue;
        (month ? spent[id].second : spent[id].first) = *row.cost_micro_usd;
      }
    }
    for (const auto& [id, amounts] : spent) {
      limiter_.SeedSpent(lq.level, id, amounts.first, amounts.second, now);
      ++seeded;
    }
  }
  return seeded;
}

asio::awaitable<void> Gateway::AdminTenancy(net::Request& request, net::Responder& out, RequestContext& ctx,
                                            std::string_view actor) {
  ctx.route = "admin_tenancy";
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
  tenancy::AdminRequest admin{request.method_string(), path, query, request.body(), actor};
  tenancy::AdminResult result = tenancy::HandleAdminRequest(*store_.tenancy, admin);
  // Each change goes to the audit chain, like the gateway's own start and stop.
  if (store_.sink) {
    for (auto& record : result.audit) {
      auto pending = std::make_unique<store::PendingRecord>();
      pending->admin = std::move(record);
      store_.sink->Submit(std::move(pending));
    }
  }
  net::Response res = MakeResponse(ctx, static_cast<http::status>(result.status), std::move(result.body));
  if (!result.allow.empty()) res.set(http::field::allow, result.allow);
  // The one answer holding a new key: never cached anywhere on the way.
  if (result.contains_secret) res.set(http::field::cache_control, "no-store");
  co_await Reply(out, ctx, std::move(res));
}

}  // namespace meridian::gateway
