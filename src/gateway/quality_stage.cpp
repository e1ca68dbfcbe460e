// The learned quality router in the request path (docs/quality_router.md): for an alias with a
// `quality` section, the prompt of the request's last user turn is scored and the request goes
// to the alias's weak model when the score is below the alias's threshold, else to its target.

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/gateway.hpp"

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

core::Result<ModelRoute> Gateway::ResolveModel(RequestContext& ctx, const json::object& body) {
  const QualityRoute* quality = ctx.snapshot->QualityFor(ctx.model);
  if (!quality) return ctx.snapshot->Resolve(ctx.model);
  auto strong = ctx.snapshot->Resolve(ctx.model);
  if (!strong) return strong;
  const double score = quality->model->Score(LastUserText(ctx.api, body));
  ctx.quality_score = score;
  if (score >= quality->threshold) {
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
