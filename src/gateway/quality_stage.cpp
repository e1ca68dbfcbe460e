// The learned quality router in the request path (docs/quality_router.md): for an alias with a
// `quality` section, the prompt of the request's last user turn is scored and the request goes
// to the alias's weak model when the score is below the alias's threshold, else to its target.

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/gateway.hpp"
#include "gateway/quality_decision.hpp"
#include "route/affinity.hpp"

namespace meridian::gateway {

namespace json = boost::json;

namespace {

// Appends the text of one message's content: a string, or parts/blocks carrying "text".
void AppendContentText(const json::value& content, std::string& out) {
  if (content.is_string()) {
    out.append(content.as_string());
    return;
  }
  if (!content.is_array()) return;
  for (const json::value& part : content.as_array()) {
    if (!part.is_object()) continue;
    if (const json::value* t = part.as_object().if_contains("text"); t && t->is_string()) {
      if (!out.empty()) out.push_back('\n');
      out.append(t->as_string());
    }
  }
}

bool IsRole(const json::object& turn, std::string_view role) {
  const json::value* r = turn.if_contains("role");
  return r && r->is_string() && r->as_string() == role;
}

}  // namespace

std::string LastUserText(Api api, const json::object& body) {
  std::string text;
  // OpenAI Chat and Anthropic: messages[]; Responses: input (a string, or items); Gemini:
  // contents[] with parts[].text.
  const bool gemini = api == Api::kGenerateContent;
  const json::value* turns = body.if_contains(gemini ? "contents" : api == Api::kResponses ? "input" : "messages");
  if (!turns) return text;
  if (turns->is_string()) {
    text.assign(turns->as_string());
    return text;
  }
  if (!turns->is_array()) return text;
  const json::array& list = turns->as_array();
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    if (!it->is_object()) continue;
    const json::object& turn = it->as_object();
    if (!IsRole(turn, "user")) continue;
    if (const json::value* c = turn.if_contains(gemini ? "parts" : "content")) AppendContentText(*c, text);
    break;
  }
  return text;
}

std::uint64_t PrefixKey(Api api, const json::object& body, std::string_view model) {
  route::PrefixKeyBuilder key;
  key.Add(model);
  std::string text;
  // The system prompt, wherever the dialect keeps it.
  if (api == Api::kMessages) {
    if (const json::value* s = body.if_contains("system")) AppendContentText(*s, text);
  } else if (api == Api::kResponses) {
    if (const json::value* s = body.if_contains("instructions")) AppendContentText(*s, text);
  } else if (api == Api::kGenerateContent) {
    if (const json::value* s = body.if_contains("systemInstruction"); s && s->is_object()) {
      if (const json::value* p = s->as_object().if_contains("parts")) AppendContentText(*p, text);
    }
  }
  const bool gemini = api == Api::kGenerateContent;
  const json::value* turns = body.if_contains(gemini ? "contents" : api == Api::kResponses ? "input" : "messages");
  std::string first_user;
  if (turns && turns->is_string()) first_user.assign(turns->as_string());
  if (turns && turns->is_array()) {
    for (const json::value& t : turns->as_array()) {
      if (!t.is_object()) continue;
      const json::object& turn = t.as_object();
      const json::value* c = turn.if_contains(gemini ? "parts" : "content");
      if (!c) continue;
      if (IsRole(turn, "system") || IsRole(turn, "developer")) {
        AppendContentText(*c, text);  // OpenAI Chat: system messages lead the conversation
      } else if (IsRole(turn, "user")) {
        AppendContentText(*c, first_user);
        break;
      }
    }
  }
  key.Add("system").Add(text).Add("user").Add(first_user);
  return key.key();
}

QualityDecision DecideQuality(const QualityRoute& quality, Api api, const json::object& body) {
  QualityDecision d;
  d.score = quality.model->Score(LastUserText(api, body));
  d.strong = d.score >= quality.threshold;
  return d;
}

core::Result<ModelRoute> Gateway::ResolveModel(RequestContext& ctx, const json::object& body) {
  auto resolved = ResolveByQuality(ctx, body);
  if (resolved && resolved->ring && resolved->routing && resolved->routing->prefix_affinity) {
    ctx.prefix_key = PrefixKey(ctx.api, body, resolved->upstream_model);
  }
  return resolved;
}

core::Result<ModelRoute> Gateway::ResolveByQuality(RequestContext& ctx, const json::object& body) {
  const QualityRoute* quality = ctx.snapshot->QualityFor(ctx.model);
  if (!quality) return ctx.snapshot->Resolve(ctx.model);
  auto strong = ctx.snapshot->Resolve(ctx.model);
  if (!strong) return strong;
  const QualityDecision decision = DecideQuality(*quality, ctx.api, body);
  ctx.quality_score = decision.score;
  if (decision.strong) {
    ctx.quality_choice = "strong";
    return strong;
  }
  ctx.quality_choice = "weak";
  auto weak = ctx.snapshot->Resolve(quality->weak);
  if (!weak) return weak;
  weak->routing = strong->routing;  // the alias's routing policy, whichever model serves
  return weak;
}

}  // namespace meridian::gateway
