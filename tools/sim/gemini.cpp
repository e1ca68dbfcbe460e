#include "sim/gemini.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "sim/content.hpp"
#include "sim/json_request.hpp"

namespace meridian::sim {
namespace json = boost::json;
namespace {

using core::ErrorCode;
using core::Fail;
using wire::CodePoints;
using wire::Member;
using wire::Sv;

std::unexpected<core::Error> InvalidValue(const std::string& path, std::string_view expected) {
  return Fail(ErrorCode::kInvalidRequest,
              "Invalid value at '" + path + "': expected " + std::string(expected) + ".", path);
}

std::string Index(const std::string& base, std::size_t i) { return base + "[" + std::to_string(i) + "]"; }

// The data members a Part may hold (its `data` oneof), camelCase and snake_case.
constexpr std::pair<std::string_view, std::string_view> kPartData[] = {
    {"text", "text"},
    {"inlineData", "inline_data"},
    {"fileData", "file_data"},
    {"functionCall", "function_call"},
    {"functionResponse", "function_response"},
    {"executableCode", "executable_code"},
    {"codeExecutionResult", "code_execution_result"},
};

// Validates a Content's parts and calls f(text) for each text part.
template <class F>
core::Result<void> ForEachPartText(const json::object& content, const std::string& path, F&& f) {
  const json::value* parts = Member(content, "parts");
  if (parts == nullptr || parts->is_null() || (parts->is_array() && parts->get_array().empty())) {
    return Fail(ErrorCode::kInvalidRequest,
                "* GenerateContentRequest." + path + ".parts: contents.parts must not be empty.", path + ".parts");
  }
  if (!parts->is_array()) return InvalidValue(path + ".parts", "an array of Part objects");
  const json::array& pa = parts->get_array();
  for (std::size_t j = 0; j < pa.size(); ++j) {
    std::string where = Index(path + ".parts", j);
    if (!pa[j].is_object()) return InvalidValue(where, "a Part object");
    const json::object& part = pa[j].get_object();
    bool has_data = false;
    for (auto [camel, snake] : kPartData) has_data = has_data || Member(part, camel, snake) != nullptr;
    if (!has_data) {
      return Fail(ErrorCode::kInvalidRequest,
                  "* GenerateContentRequest." + where + ".data: required oneof field 'data' must have one "
                  "initialized field",
                  where);
    }
    if (const json::value* text = part.if_contains("text")) {
      if (!text->is_string()) return InvalidValue(where + ".text", "a string (TYPE_STRING)");
      f(Sv(text->get_string()));
    }
    if (const json::value* inline_data = Member(part, "inlineData", "inline_data")) {
      if (!inline_data->is_object()) return InvalidValue(where + ".inlineData", "a Blob object");
      const json::value* mime = Member(inline_data->get_object(), "mimeType", "mime_type");
      const json::value* data = inline_data->get_object().if_contains("data");
      if (mime == nullptr || !mime->is_string()) return InvalidValue(where + ".inlineData.mimeType", "a string");
      if (data == nullptr || !data->is_string()) return InvalidValue(where + ".inlineData.data", "a base64 string");
    }
    for (auto [camel, snake] : {std::pair<std::string_view, std::string_view>{"functionCall", "function_call"},
                                {"functionResponse", "function_response"}}) {
      if (const json::value* fc = Member(part, camel, snake)) {
        std::string at = where + "." + std::string(camel);
        if (!fc->is_object()) return InvalidValue(at, "an object");
        const json::value* name = fc->get_object().if_contains("name");
        if (name == nullptr || !name->is_string() || name->get_string().empty()) {
          return InvalidValue(at + ".name", "a non-empty string");
        }
      }
    }
  }
  return {};
}

// The text parts of a Content, joined.
std::string TextOf(const json::object& content) {
  std::string out;
  const json::value* parts = content.if_contains("parts");
  if (parts == nullptr || !parts->is_array()) return out;
  for (const json::value& p : parts->get_array()) {
    if (!p.is_object()) continue;
    if (const json::value* t = p.get_object().if_contains("text"); t && t->is_string()) out.append(Sv(t->get_string()));
  }
  return out;
}

struct ParsedContents {
  uint64_t hash = kFnvOffset;
  uint64_t prompt_tokens = 1;
  std::string last_user_text;
};

// systemInstruction and contents: hash, prompt tokens, the last user content's text.
core::Result<ParsedContents> ParseContents(const json::object& o) {
  ParsedContents out;
  uint64_t h = kFnvOffset;
  std::size_t chars = 0;
  auto add_text = [&](std::string_view text) {
    h = Fnv1a(text, h);
    chars += CodePoints(text);
  };
  if (const json::value* si = Member(o, "systemInstruction", "system_instruction"); si && !si->is_null()) {
    if (!si->is_object()) return InvalidValue("system_instruction", "a Content object");
    h = Fnv1a("system", h);
    h = Fnv1a("\x1f", h);
    auto ok = ForEachPartText(si->get_object(), "system_instruction", add_text);
    if (!ok) return std::unexpected(std::move(ok.error()));
    h = Fnv1a("\x1e", h);
  }
  const json::value* contents = Member(o, "contents");
  if (contents == nullptr || contents->is_null() || (contents->is_array() && contents->get_array().empty())) {
    return Fail(ErrorCode::kInvalidRequest, "* GenerateContentRequest.contents: contents is not specified",
                "contents");
  }
  if (!contents->is_array()) return InvalidValue("contents", "an array of Content objects");
  const json::array& ca = contents->get_array();
  std::size_t last_user = ca.size();
  for (std::size_t i = 0; i < ca.size(); ++i) {
    std::string where = Index("contents", i);
    if (!ca[i].is_object()) return InvalidValue(where, "a Content object");
    const json::object& c = ca[i].get_object();
    std::string_view role = "user";
    if (const json::value* r = c.if_contains("role"); r && !r->is_null()) {
      if (!r->is_string() || (Sv(r->get_string()) != "user" && Sv(r->get_string()) != "model" &&
                              !r->get_string().empty())) {
        return Fail(ErrorCode::kInvalidRequest, "Please use a valid role: user, model.", where + ".role");
      }
      if (Sv(r->get_string()) == "model") role = "assistant";
    }
    if (role == "user") last_user = i;
    h = Fnv1a(role, h);
    h = Fnv1a("\x1f", h);
    auto ok = ForEachPartText(c, where, add_text);
    if (!ok) return std::unexpected(std::move(ok.error()));
    h = Fnv1a("\x1e", h);
  }
  out.hash = h;
  out.prompt_tokens = ApproxTokens(chars);
  if (last_user < ca.size()) out.last_user_text = TextOf(ca[last_user].get_object());
  return out;
}

std::string ResponseId(uint64_t hash) { return Hex16(Mix64(hash)); }

}  // namespace

std::optional<GeminiRoute> ParseGeminiPath(std::string_view path) {
  std::string_view rest;
  if (path.starts_with("/v1beta/models/")) {
    rest = path.substr(15);
  } else if (path.starts_with("/v1/models/")) {
    rest = path.substr(11);
  } else {
    return std::nullopt;
  }
  std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == rest.size()) return std::nullopt;
  return GeminiRoute{rest.substr(0, colon), rest.substr(colon + 1)};
}

std::optional<std::string_view> QueryParam(std::string_view target, std::string_view name) {
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

core::Result<ChatRequest> ParseGenerateContentRequest(std::string_view body, std::string_view model,
                                                      bool force_tool_call, bool echo) {
  unsigned char arena[8192];
  json::monotonic_resource mr(arena, sizeof arena);
  auto parsed = wire::ParseObject(body, &mr);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json::object& o = parsed->get_object();

  ChatRequest req;
  req.model = std::string(model);
  auto contents = ParseContents(o);
  if (!contents) return std::unexpected(std::move(contents.error()));
  req.hash = contents->hash;
  req.prompt_tokens = contents->prompt_tokens;

  if (const json::value* gc = Member(o, "generationConfig", "generation_config"); gc && !gc->is_null()) {
    if (!gc->is_object()) return InvalidValue("generation_config", "a GenerationConfig object");
    const json::value* mt = Member(gc->get_object(), "maxOutputTokens", "max_output_tokens");
    if (mt != nullptr && !mt->is_null()) {
      bool ok = (mt->is_int64() && mt->get_int64() >= 1) || mt->is_uint64();
      if (!ok) return InvalidValue("generation_config.max_output_tokens", "a positive integer (TYPE_INT32)");
      req.max_tokens = mt->is_int64() ? static_cast<uint64_t>(mt->get_int64()) : mt->get_uint64();
    }
  }

  // Function declarations, in order, across all tools.
  std::vector<const json::object*> functions;
  if (const json::value* tools = Member(o, "tools"); tools && !tools->is_null()) {
    if (!tools->is_array()) return InvalidValue("tools", "an array of Tool objects");
    const json::array& ta = tools->get_array();
    for (std::size_t i = 0; i < ta.size(); ++i) {
      std::string where = Index("tools", i);
      if (!ta[i].is_object()) return InvalidValue(where, "a Tool object");
      const json::value* decls = Member(ta[i].get_object(), "functionDeclarations", "function_declarations");
      if (decls == nullptr || decls->is_null()) continue;  // googleSearch, codeExecution, ...
      if (!decls->is_array()) return InvalidValue(where + ".function_declarations", "an array");
      const json::array& da = decls->get_array();
      for (std::size_t j = 0; j < da.size(); ++j) {
        std::string at = Index(where + ".function_declarations", j);
        if (!da[j].is_object()) return InvalidValue(at, "a FunctionDeclaration object");
        const json::value* name = da[j].get_object().if_contains("name");
        if (name == nullptr || !name->is_string() || name->get_string().empty()) {
          return InvalidValue(at + ".name", "a non-empty string");
        }
        functions.push_back(&da[j].get_object());
      }
    }
  }

  bool call = force_tool_call || wire::ContainsCaseInsensitive(contents->last_user_text, "call a tool");
  const json::object* chosen = functions.empty() ? nullptr : functions.front();
  if (const json::value* tc = Member(o, "toolConfig", "tool_config"); tc && !tc->is_null()) {
    if (!tc->is_object()) return InvalidValue("tool_config", "a ToolConfig object");
    const json::value* fcc = Member(tc->get_object(), "functionCallingConfig", "function_calling_config");
    if (fcc != nullptr && !fcc->is_null()) {
      if (!fcc->is_object()) return InvalidValue("tool_config.function_calling_config", "an object");
      const json::object& f = fcc->get_object();
      if (const json::value* mode = f.if_contains("mode"); mode && !mode->is_null()) {
        std::string_view m = mode->is_string() ? Sv(mode->get_string()) : std::string_view();
        if (m == "NONE") {
          call = false;
        } else if (m == "ANY") {
          call = true;
        } else if (m != "AUTO" && m != "VALIDATED" && m != "MODE_UNSPECIFIED") {
          return Fail(ErrorCode::kInvalidRequest,
                      "Invalid value at 'tool_config.function_calling_config.mode': expected one of "
                      "MODE_UNSPECIFIED, AUTO, ANY, NONE, VALIDATED.",
                      "tool_config.function_calling_config.mode");
        }
      }
      if (const json::value* allowed = Member(f, "allowedFunctionNames", "allowed_function_names");
          allowed && !allowed->is_null()) {
        if (!allowed->is_array()) {
          return InvalidValue("tool_config.function_calling_config.allowed_function_names", "an array of strings");
        }
        const json::object* first_allowed = nullptr;
        for (const json::value& n : allowed->get_array()) {
          const json::object* found = nullptr;
          for (const json::object* fn : functions) {
            if (n.is_string() && *fn->if_contains("name") == n) found = fn;
          }
          if (found == nullptr) {
            return Fail(ErrorCode::kInvalidRequest,
                        "Invalid value at 'tool_config.function_calling_config.allowed_function_names': "
                        "every name must be declared in function_declarations.",
                        "tool_config.function_calling_config.allowed_function_names");
          }
          if (first_allowed == nullptr) first_allowed = found;
        }
        if (first_allowed != nullptr) chosen = first_allowed;
      }
    }
  }
  if (call && chosen != nullptr) {
    ToolCall tc;
    tc.name = std::string(Sv(chosen->if_contains("name")->get_string()));
    const json::value* params = Member(*chosen, "parametersJsonSchema", "parameters_json_schema");
    if (params == nullptr || params->is_null()) params = chosen->if_contains("parameters");
    tc.arguments = wire::BuildArguments(params);
    req.tool_call = std::move(tc);
  } else if (echo) {
    req.echo = std::move(contents->last_user_text);
  }
  return req;
}

core::Result<uint64_t> ParseGeminiCountTokens(std::string_view body, std::string_view model) {
  unsigned char arena[8192];
  json::monotonic_resource mr(arena, sizeof arena);
  auto parsed = wire::ParseObject(body, &mr);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json::object* o = &parsed->get_object();
  if (const json::value* inner = Member(*o, "generateContentRequest", "generate_content_request");
      inner && !inner->is_null()) {
    if (!inner->is_object()) return InvalidValue("generate_content_request", "a GenerateContentRequest object");
    o = &inner->get_object();
  }
  auto contents = ParseContents(*o);
  if (!contents) return std::unexpected(std::move(contents.error()));
  return contents->prompt_tokens;
}

std::string RenderGeminiError(unsigned code, std::string_view status, std::string_view message,
                              std::optional<uint64_t> retry_delay_s) {
  std::string out;
  out.reserve(96 + message.size());
  out.append("{\"error\":{\"code\":");
  AppendUint(out, code);
  out.append(",\"message\":");
  AppendJsonString(out, message);
  out.append(",\"status\":");
  AppendJsonString(out, status);
  if (retry_delay_s) {
    out.append(",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"");
    AppendUint(out, *retry_delay_s);
    out.append("s\"}]");
  }
  out.append("}}");
  return out;
}

std::string RenderGeminiCountTokens(uint64_t total_tokens) {
  std::string out = "{\"totalTokens\":";
  AppendUint(out, total_tokens);
  out.push_back('}');
  return out;
}

// --- The Gemini dialect ------------------------------------------------------------------------

namespace {

constexpr std::string_view kOverloaded = "The model is overloaded. Please try again later. (simulated by meridian-sim)";

std::string_view FinishReason(Finish finish) { return finish == Finish::kLength ? "MAX_TOKENS" : "STOP"; }

// Appends one GenerateContentResponse: a candidate with `parts` (JSON array text), an optional
// finishReason, usage (candidatesTokenCount only when `completion` is set), model, id.
void AppendResponse(std::string& out, const ChatRequest& request, std::string_view parts,
                    std::string_view finish_reason, std::optional<uint64_t> completion) {
  out.append("{\"candidates\":[{\"content\":{\"parts\":");
  out.append(parts);
  out.append(",\"role\":\"model\"}");
  if (!finish_reason.empty()) {
    out.append(",\"finishReason\":\"");
    out.append(finish_reason);
    out.push_back('"');
  }
  out.append(",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":");
  AppendUint(out, request.prompt_tokens);
  if (completion) {
    out.append(",\"candidatesTokenCount\":");
    AppendUint(out, *completion);
  }
  out.append(",\"totalTokenCount\":");
  AppendUint(out, request.prompt_tokens + completion.value_or(0));
  out.append("},\"modelVersion\":");
  AppendJsonString(out, request.model);
  out.append(",\"responseId\":\"");
  out.append(ResponseId(request.hash));
  out.append("\"}");
}

std::string FunctionCallParts(const ToolCall& call) {
  std::string parts = "[{\"functionCall\":{\"name\":";
  AppendJsonString(parts, call.name);
  parts.append(",\"args\":");
  parts.append(call.arguments);  // already JSON object text
  parts.append("}}]");
  return parts;
}

std::string TextParts(std::string_view text_json) {
  std::string parts = "[{\"text\":";
  parts.append(text_json);
  parts.append("}]");
  return parts;
}

// Text: one chunk per token (or echo chunk), then a final chunk with empty text, the
// finishReason and the full usage. Tool call: a single chunk with the functionCall, the
// finishReason and the full usage. SSE framing `data: …\r\n\r\n`, or one JSON array.
class GeminiScript final : public StreamScript {
 public:
  GeminiScript(const ChatRequest& request, uint64_t tokens, Finish finish, std::size_t chunk_bytes, bool sse)
      : request_(request), tokens_(tokens), finish_(FinishReason(finish)), sse_(sse) {
    tool_ = request.tool_call.has_value();
    echo_ = !tool_ && request.echo.has_value();
    if (echo_) fragments_ = Utf8Chunks(*request.echo, chunk_bytes);
  }

  std::string_view content_type() const override { return sse_ ? "text/event-stream" : "application/json"; }
  std::size_t prelude_size() const override { return 0; }
  std::size_t body_size() const override { return tool_ ? 1 : echo_ ? fragments_.size() : tokens_; }
  std::size_t trailer_size() const override { return tool_ ? 0 : 1; }

  std::string Event(std::size_t k) override {
    std::string json;
    json.reserve(256 + request_.model.size());
    if (tool_) {
      AppendResponse(json, request_, FunctionCallParts(*request_.tool_call), finish_, tokens_);
    } else if (k < body_size()) {
      std::string text = "\"";
      if (echo_) {
        text.clear();
        AppendJsonString(text, fragments_[k]);
      } else {
        if (k != 0) text.push_back(' ');
        text.append(AnswerWord(request_.hash, k));
        text.push_back('"');
      }
      AppendResponse(json, request_, TextParts(text), {}, std::nullopt);
    } else {
      AppendResponse(json, request_, TextParts("\"\""), finish_, tokens_);
    }
    bool last = k + 1 == body_size() + trailer_size();
    return Frame(json, last);
  }

  std::vector<std::string> MalformedEvents() override {
    if (sse_) return {"data: {not json\r\n\r\n"};
    return {"[{not json", "]"};
  }

  std::string ErrorEvent() override { return Frame(RenderGeminiError(503, "UNAVAILABLE", kOverloaded), true); }

 private:
  std::string Frame(std::string_view json, bool last) {
    std::string out;
    out.reserve(json.size() + 8);
    if (sse_) {
      out.append("data: ");
      out.append(json);
      out.append("\r\n\r\n");
    } else {
      out.append(written_ == 0 ? "[" : ",\r\n");
      out.append(json);
      if (last) out.push_back(']');
    }
    ++written_;
    return out;
  }

  const ChatRequest& request_;
  uint64_t tokens_;
  std::string_view finish_;
  bool sse_;
  bool tool_ = false;
  bool echo_ = false;
  std::size_t written_ = 0;
  std::vector<std::string_view> fragments_;
};

class Gemini final : public Dialect {
 public:
  explicit Gemini(bool sse) : sse_(sse) {}

  std::string Response(const ChatRequest& request, uint64_t completion_tokens, Finish finish) const override {
    std::string out;
    out.reserve(320 + request.model.size() + (request.echo ? request.echo->size() : completion_tokens * 9) +
                (request.tool_call ? request.tool_call->arguments.size() + 64 : 0));
    std::string parts;
    if (request.tool_call) {
      parts = FunctionCallParts(*request.tool_call);
    } else {
      std::string text;
      if (request.echo) {
        AppendJsonString(text, *request.echo);
      } else {
        text.push_back('"');
        AppendAnswer(text, request.hash, completion_tokens);
        text.push_back('"');
      }
      parts = TextParts(text);
    }
    AppendResponse(out, request, parts, FinishReason(finish), completion_tokens);
    return out;
  }

  std::unique_ptr<StreamScript> Stream(const ChatRequest& request, uint64_t completion_tokens, Finish finish,
                                       std::size_t chunk_bytes) const override {
    return std::make_unique<GeminiScript>(request, completion_tokens, finish, chunk_bytes, sse_);
  }

  ErrorReply Error(ErrorKind kind, std::string_view message, std::string_view, std::string_view) const override {
    switch (kind) {
      case ErrorKind::kInvalidRequest: return {400, RenderGeminiError(400, "INVALID_ARGUMENT", message), {}};
      case ErrorKind::kAuthentication: return {403, RenderGeminiError(403, "PERMISSION_DENIED", message), {}};
      case ErrorKind::kNotFound: return {404, RenderGeminiError(404, "NOT_FOUND", message), {}};
      case ErrorKind::kMethodNotAllowed: return {405, RenderGeminiError(405, "UNIMPLEMENTED", message), {}};
    }
    return {500, RenderGeminiError(500, "INTERNAL", message), {}};
  }

  ErrorReply ModelNotFound(std::string_view model) const override {
    return {404,
            RenderGeminiError(404, "NOT_FOUND",
                              "models/" + std::string(model) +
                                  " is not found for API version v1beta, or is not supported for generateContent. "
                                  "Call ListModels to see the list of available models and their supported methods."),
            {}};
  }

  ErrorReply FaultError(Fault fault, uint64_t retry_after_s) const override {
    std::string retry_after = std::to_string(retry_after_s);
    switch (fault) {
      case Fault::kRateLimit:
        return {429,
                RenderGeminiError(429, "RESOURCE_EXHAUSTED",
                                  "Resource has been exhausted (e.g. check quota). (simulated by meridian-sim)",
                                  retry_after_s),
                {{"retry-after", retry_after}}};
      case Fault::kUnavailable:
        return {503,
                RenderGeminiError(503, "UNAVAILABLE", "The service is currently unavailable. (simulated by meridian-sim)"),
                {{"retry-after", retry_after}}};
      case Fault::kOverloaded:
      case Fault::kErrorDuring:
        return {503, RenderGeminiError(503, "UNAVAILABLE", kOverloaded), {{"retry-after", retry_after}}};
      default:
        return {500,
                RenderGeminiError(500, "INTERNAL", "An internal error has occurred. (simulated by meridian-sim)"), {}};
    }
  }

 private:
  bool sse_;
};

}  // namespace

const Dialect& GeminiDialect(bool sse) {
  static const Gemini sse_dialect(true);
  static const Gemini array_dialect(false);
  return sse ? sse_dialect : array_dialect;
}

}  // namespace meridian::sim
