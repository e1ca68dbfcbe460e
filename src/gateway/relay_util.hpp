#pragma once
// Small pieces the relays (proxy.cpp: OpenAI Chat as received; relay_translated.cpp: every
// other dialect pair) share. Internal to the gateway module.

#include <string_view>

#include <boost/beast/core/string.hpp>
#include <fmt/format.h>

#include "gateway/gateway.hpp"
#include "gateway/json_scan.hpp"
#include "gateway/pricing.hpp"

namespace meridian::gateway {

// Headers of an upstream error answer that a client needs to back off correctly.
inline bool IsRelayedErrorHeader(std::string_view name) {
  return boost::beast::iequals(name, "retry-after") || boost::beast::iequals(name, "retry-after-ms") ||
         (name.size() > 12 && boost::beast::iequals(name.substr(0, 12), "x-ratelimit-"));
}

inline bool IsEventStream(std::string_view content_type) {
  return content_type.size() >= 17 && boost::beast::iequals(content_type.substr(0, 17), "text/event-stream");
}

// Keeps the token counts of an OpenAI `usage` object, when the scan found one.
inline void TakeUsage(const JsonScan& scan, RequestContext& ctx) {
  if (scan.prompt_tokens >= 0) ctx.prompt_tokens = scan.prompt_tokens;
  if (scan.completion_tokens >= 0) ctx.completion_tokens = scan.completion_tokens;
  if (scan.cached_tokens >= 0) ctx.cached_tokens = scan.cached_tokens;
  if (scan.reasoning_tokens >= 0) ctx.reasoning_tokens = scan.reasoning_tokens;
}

template <class Fields>
void AddMeridianHeaders(Fields& res, const RequestContext& ctx) {
  res.set("x-meridian-backend", ctx.backend->id());
  res.set("x-meridian-provider", ctx.backend->config().provider);
  res.set("x-meridian-attempts", std::to_string(ctx.attempts));
  // An alias with a quality router says which of its models it chose ("weak" or "strong").
  if (!ctx.quality_choice.empty()) res.set("x-meridian-quality", ctx.quality_choice);
  // How many values the policy stage replaced before the request left (counts, never values).
  if (ctx.redacted > 0) res.set("x-meridian-redacted", std::to_string(ctx.redacted));
  if (ctx.pseudonymized > 0) res.set("x-meridian-pseudonymized", std::to_string(ctx.pseudonymized));
  // Known once usage is: non-streamed answers (a stream's cost is in the ledger and metrics).
  if (auto cost = RequestCost(ctx)) res.set("x-meridian-cost-usd", FormatUsd(*cost));
}

// The gateway's error for an upstream's error answer: its status kept.
inline core::Error UpstreamStatusError(const RequestContext& ctx, int status) {
  core::Error e;
  e.code = core::ErrorCode::kUpstreamStatus;
  e.upstream_status = status;
  e.message = fmt::format("backend '{}' answered HTTP {}", ctx.backend->id(), status);
  return e;
}

// The client went away before its answer was complete: logged and counted as 499 (nginx's
// convention), whatever status had already been sent.
inline void ClientLeft(RequestContext& ctx) {
  ctx.status = 499;
  ctx.error_code = "client_closed";
}

}  // namespace meridian::gateway
