#include "sim/anthropic.hpp"

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
using wire::Sv;

// "path: message", with the path also as the error's param.
std::unexpected<core::Error> Invalid(const std::string& path, std::string_view message) {
  return Fail(ErrorCode::kInvalidRequest, path + ": " + std::string(message), path);
}
std::unexpected<core::Error> Required(const std::string& path) { return Invalid(path, "Field required"); }

std::string Path(const std::string& base, std::size_t i) { return base + "." + std::to_string(i); }

// Calls f(text) for the text of a message content: a string, the text blocks, and the text of
// tool_result blocks (string content or its text blocks). Validates the blocks as it goes.
template <class F>
core::Result<void> ForEachContentText(const json::value& content, const std::string& path, F&& f) {
  if (content.is_string()) {
    f(Sv(content.get_string()));
    return {};
  }
  if (!content.is_array()) return Invalid(path, "Input should be a valid string or a valid list");
  const json::array& blocks = content.get_array();
  for (std::size_t j = 0; j < blocks.size(); ++j) {
    std::string where = Path(path, j);
    if (!blocks[j].is_object()) return Invalid(where, "Input should be a valid dictionary");
    const json::object& b = blocks[j].get_object();
    const json::value* type = b.if_contains("type");
    if (type == nullptr) return Required(where + ".type");
    if (!type->is_string()) return Invalid(where + ".type", "Input should be a valid string");
    std::string_view t = Sv(type->get_string());
    if (t == "text") {
      const json::value* text = b.if_contains("text");
      if (text == nullptr) return Required(where + ".text");
      if (!text->is_string()) return Invalid(where + ".text", "Input should be a valid string");
      f(Sv(text->get_string()));
    } else if (t == "image" || t == "document") {
      const json::value* source = b.if_contains("source");
      if (source == nullptr) return Required(where + ".source");
      if (!source->is_object()) return Invalid(where + ".source", "Input should be a valid dictionary");
    } else if (t == "tool_use") {
      for (std::string_view key : {"id", "name"}) {
        const json::value* v = b.if_contains(key);
        if (v == nullptr) return Required(where + "." + std::string(key));
        if (!v->is_string()) return Invalid(where + "." + std::string(key), "Input should be a valid string");
      }
      const json::value* input = b.if_contains("input");
      if (input == nullptr) return Required(where + ".input");
      if (!input->is_object()) return Invalid(where + ".input", "Input should be a valid dictionary");
    } else if (t == "tool_result") {
      const json::value* id = b.if_contains("tool_use_id");
      if (id == nullptr) return Required(where + ".tool_use_id");
      if (!id->is_string()) return Invalid(where + ".tool_use_id", "Input should be a valid string");
      if (const json::value* c = b.if_contains("content"); c && !c->is_null()) {
        auto inner = ForEachContentText(*c, where + ".content", f);
        if (!inner) return inner;
      }
    }
    // Other block types (thinking, redacted_thinking, search_result, server tool blocks, ...)
    // are accepted as they are and carry no text.
  }
  return {};
}

// The text of the top-level text blocks of a content (or the string content).
std::string TextOf(const json::value& content) {
  if (content.is_string()) return std::string(Sv(content.get_string()));
  std::string out;
  if (!content.is_array()) return out;
  for (const json::value& b : content.get_array()) {
    if (!b.is_object()) continue;
    const json::value* type = b.get_object().if_contains("type");
    const json::value* text = b.get_object().if_contains("text");
    if (type && type->is_string() && Sv(type->get_string()) == "text" && text && text->is_string()) {
      out.append(Sv(text->get_string()));
    }
  }
  return out;
}

// An integer >= `min`, else the Anthropic-style error for `path`.
core::Result<uint64_t> IntAtLeast(const json::value& v, const std::string& path, int64_t min) {
  if (!v.is_int64() && !v.is_uint64()) return Invalid(path, "Input should be a valid integer");
  if (v.is_int64() && v.get_int64() < min) {
    return Invalid(path, "Input should be greater than or equal to " + std::to_string(min));
  }
  return v.is_int64() ? static_cast<uint64_t>(v.get_int64()) : v.get_uint64();
}

std::string MessageId(uint64_t hash) { return "msg_sim_" + Hex16(Mix64(hash)); }

}  // namespace

std::optional<core::Error> CheckAnthropicHeaders(std::optional<std::string_view> api_key,
                                                 std::optional<std::string_view> version) {
  core::Error e;
  if (!api_key || api_key->empty()) {
    e.code = ErrorCode::kUnauthorized;
    e.message = "x-api-key header is required";
    return e;
  }
  e.code = ErrorCode::kInvalidRequest;
  if (!version) {
    e.message = "anthropic-version: header is required";
    return e;
  }
  if (std::find(std::begin(kAnthropicVersions), std::end(kAnthropicVersions), *version) ==
      std::end(kAnthropicVersions)) {
    e.message = "anthropic-version: \"" + std::string(*version) + "\" is not a valid version";
    return e;
  }
  return std::nullopt;
}

core::Result<ChatRequest> ParseMessagesRequest(std::string_view body, bool force_tool_call, bool echo,
                                               bool count_tokens) {
  unsigned char arena[8192];
  json::monotonic_resource mr(arena, sizeof arena);
  auto parsed = wire::ParseObject(body, &mr);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json::object& o = parsed->get_object();

  ChatRequest req;
  const json::value* model = o.if_contains("model");
  if (model == nullptr || model->is_null()) return Required("model");
  if (!model->is_string()) return Invalid("model", "Input should be a valid string");
  if (model->get_string().empty()) return Invalid("model", "String should have at least 1 character");
  req.model = std::string(Sv(model->get_string()));

  if (!count_tokens) {
    const json::value* mt = o.if_contains("max_tokens");
    if (mt == nullptr || mt->is_null()) return Required("max_tokens");
    auto max_tokens = IntAtLeast(*mt, "max_tokens", 1);
    if (!max_tokens) return std::unexpected(std::move(max_tokens.error()));
    req.max_tokens = *max_tokens;
  }

  uint64_t h = kFnvOffset;
  std::size_t chars = 0;
  auto add_text = [&](std::string_view text) {
    h = Fnv1a(text, h);
    chars += CodePoints(text);
  };
  // The system prompt counts as a leading "system" message (as OpenAI's system message does).
  if (const json::value* system = o.if_contains("system"); system && !system->is_null()) {
    h = Fnv1a("system", h);
    h = Fnv1a("\x1f", h);
    if (system->is_array()) {
      const json::array& blocks = system->get_array();
      for (std::size_t j = 0; j < blocks.size(); ++j) {
        std::string where = Path("system", j);
        const json::value* type = blocks[j].is_object() ? blocks[j].get_object().if_contains("type") : nullptr;
        const json::value* text = blocks[j].is_object() ? blocks[j].get_object().if_contains("text") : nullptr;
        if (!blocks[j].is_object()) return Invalid(where, "Input should be a valid dictionary");
        if (type == nullptr || !type->is_string() || Sv(type->get_string()) != "text") {
          return Invalid(where + ".type", "Input should be 'text'");
        }
        if (text == nullptr) return Required(where + ".text");
        if (!text->is_string()) return Invalid(where + ".text", "Input should be a valid string");
        add_text(Sv(text->get_string()));
      }
    } else if (system->is_string()) {
      add_text(Sv(system->get_string()));
    } else {
      return Invalid("system", "Input should be a valid string or a valid list");
    }
    h = Fnv1a("\x1e", h);
  }

  const json::value* messages = o.if_contains("messages");
  if (messages == nullptr || messages->is_null()) return Required("messages");
  if (!messages->is_array()) return Invalid("messages", "Input should be a valid list");
  const json::array& msgs = messages->get_array();
  if (msgs.empty()) return Invalid("messages", "at least one message is required");
  std::size_t last_user = msgs.size();
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    std::string where = Path("messages", i);
    if (!msgs[i].is_object()) return Invalid(where, "Input should be a valid dictionary");
    const json::object& m = msgs[i].get_object();
    const json::value* role = m.if_contains("role");
    if (role == nullptr) return Required(where + ".role");
    if (!role->is_string() || (Sv(role->get_string()) != "user" && Sv(role->get_string()) != "assistant")) {
      return Invalid(where + ".role", "Input should be 'user' or 'assistant'");
    }
    std::string_view role_sv = Sv(role->get_string());
    if (role_sv == "user") last_user = i;
    const json::value* content = m.if_contains("content");
    if (content == nullptr) return Required(where + ".content");
    h = Fnv1a(role_sv, h);
    h = Fnv1a("\x1f", h);
    auto ok = ForEachContentText(*content, where + ".content", add_text);
    if (!ok) return std::unexpected(std::move(ok.error()));
    h = Fnv1a("\x1e", h);
  }
  req.hash = h;
  req.prompt_tokens = ApproxTokens(chars);
  std::string last_user_text;
  if (last_user < msgs.size()) last_user_text = TextOf(*msgs[last_user].get_object().if_contains("content"));

  if (const json::value* stream = o.if_contains("stream"); stream && !stream->is_null()) {
    if (!stream->is_bool()) return Invalid("stream", "Input should be a valid boolean");
    req.stream = stream->get_bool() && !count_tokens;
  }
  if (const json::value* stop = o.if_contains("stop_sequences"); stop && !stop->is_null()) {
    if (!stop->is_array()) return Invalid("stop_sequences", "Input should be a valid list");
    for (std::size_t i = 0; i < stop->get_array().size(); ++i) {
      if (!stop->get_array()[i].is_string()) return Invalid(Path("stop_sequences", i), "Input should be a valid string");
    }
  }
  if (const json::value* thinking = o.if_contains("thinking"); thinking && !thinking->is_null()) {
    if (!thinking->is_object()) return Invalid("thinking", "Input should be a valid dictionary");
    const json::value* type = thinking->get_object().if_contains("type");
    if (type == nullptr) return Required("thinking.type");
    std::string_view t = type->is_string() ? Sv(type->get_string()) : std::string_view();
    if (t == "enabled") {
      const json::value* budget = thinking->get_object().if_contains("budget_tokens");
      if (budget == nullptr) return Required("thinking.enabled.budget_tokens");
      auto b = IntAtLeast(*budget, "thinking.enabled.budget_tokens", 1024);
      if (!b) return std::unexpected(std::move(b.error()));
      if (req.max_tokens && *b >= *req.max_tokens) {
        return Fail(ErrorCode::kInvalidRequest, "`max_tokens` must be greater than `thinking.budget_tokens`.",
                    "max_tokens");
      }
    } else if (t != "disabled" && t != "adaptive") {
      return Invalid("thinking.type",
                     "Input tag found using 'type' does not match any of the expected tags: 'enabled', "
                     "'disabled', 'adaptive'");
    }
  }

  // Tools: custom tools (no type, or type "custom") need a name and an input_schema; other
  // types are Anthropic's server tools, accepted and never called.
  const json::object* first_tool = nullptr;
  const json::array* tools = nullptr;
  if (const json::value* tv = o.if_contains("tools"); tv && !tv->is_null()) {
    if (!tv->is_array()) return Invalid("tools", "Input should be a valid list");
    tools = &tv->get_array();
    for (std::size_t i = 0; i < tools->size(); ++i) {
      std::string where = Path("tools", i);
      if (!(*tools)[i].is_object()) return Invalid(where, "Input should be a valid dictionary");
      const json::object& t = (*tools)[i].get_object();
      const json::value* type = t.if_contains("type");
      if (type != nullptr && !type->is_null() && !(type->is_string() && Sv(type->get_string()) == "custom")) {
        if (!type->is_string()) return Invalid(where + ".type", "Input should be a valid string");
        continue;
      }
      const json::value* name = t.if_contains("name");
      if (name == nullptr) return Required(where + ".name");
      if (!name->is_string() || name->get_string().empty()) return Invalid(where + ".name", "Input should be a valid string");
      const json::value* schema = t.if_contains("input_schema");
      if (schema == nullptr) return Required(where + ".input_schema");
      if (!schema->is_object()) return Invalid(where + ".input_schema", "Input should be a valid dictionary");
      if (first_tool == nullptr) first_tool = &t;
    }
  }

  bool call = force_tool_call || wire::ContainsCaseInsensitive(last_user_text, "call a tool");
  const json::object* chosen = first_tool;
  if (const json::value* tc = o.if_contains("tool_choice"); tc && !tc->is_null()) {
    if (tools == nullptr || tools->empty()) {
      return Fail(ErrorCode::kInvalidRequest, "tool_choice may only be specified while providing tools.",
                  "tool_choice");
    }
    if (!tc->is_object()) return Invalid("tool_choice", "Input should be a valid dictionary");
    const json::value* type = tc->get_object().if_contains("type");
    if (type == nullptr) return Required("tool_choice.type");
    std::string_view t = type->is_string() ? Sv(type->get_string()) : std::string_view();
    if (t == "none") {
      call = false;
    } else if (t == "any") {
      call = true;
    } else if (t == "tool") {
      const json::value* name = tc->get_object().if_contains("name");
      if (name == nullptr) return Required("tool_choice.tool.name");
      if (!name->is_string()) return Invalid("tool_choice.tool.name", "Input should be a valid string");
      chosen = nullptr;
      for (const json::value& tv : *tools) {
        const json::value* n = tv.get_object().if_contains("name");
        const json::value* ty = tv.get_object().if_contains("type");
        bool custom = ty == nullptr || ty->is_null() || (ty->is_string() && Sv(ty->get_string()) == "custom");
        if (custom && n != nullptr && *n == *name) {
          chosen = &tv.get_object();
          break;
        }
      }
      if (chosen == nullptr) {
        return Fail(ErrorCode::kInvalidRequest,
                    "tool_choice.tool.name: Tool '" + std::string(Sv(name->get_string())) +
                        "' not found in 'tools'.",
                    "tool_choice.tool.name");
      }
      call = true;
    } else if (t != "auto") {
      return Invalid("tool_choice.type",
                     "Input tag found using 'type' does not match any of the expected tags: 'auto', "
                     "'any', 'tool', 'none'");
    }
  }
  if (call && chosen != nullptr) {
    ToolCall tc;
    tc.name = std::string(Sv(chosen->if_contains("name")->get_string()));
    tc.arguments = wire::BuildArguments(chosen->if_contains("input_schema"));
    tc.id = "toolu_sim_" + Hex16(Mix64(req.hash ^ 0x7f4a7c15ULL));
    req.tool_call = std::move(tc);
  } else if (echo) {
    req.echo = std::move(last_user_text);
  }
  return req;
}

std::string RenderAnthropicError(std::string_view type, std::string_view message) {
  std::string out;
  out.reserve(96 + message.size());
  out.append("{\"type\":\"error\",\"error\":{\"type\":");
  AppendJsonString(out, type);
  out.append(",\"message\":");
  AppendJsonString(out, message);
  out.append("},\"request_id\":\"req_sim_");
  out.append(Hex16(Mix64(Fnv1a(message, Fnv1a(type)))));
  out.append("\"}");
  return out;
}

std::string RenderCountTokens(uint64_t input_tokens) {
  std::string out = "{\"input_tokens\":";
  AppendUint(out, input_tokens);
  out.push_back('}');
  return out;
}

// --- The Anthropic dialect ---------------------------------------------------------------------

namespace {

constexpr std::string_view kEventStream = "text/event-stream; charset=utf-8";
constexpr std::string_view kOverloaded = "Overloaded (simulated by meridian-sim).";

std::string_view StopReason(Finish finish) {
  switch (finish) {
    case Finish::kStop: return "end_turn";
    case Finish::kLength: return "max_tokens";
    case Finish::kToolCall: return "tool_use";
  }
  return "end_turn";
}

void AppendUsage(std::string& out, uint64_t input, uint64_t output) {
  out.append("{\"input_tokens\":");
  AppendUint(out, input);
  out.append(",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":");
  AppendUint(out, output);
  out.push_back('}');
}

// `"id":…,"type":"message","role":"assistant","model":…,"content":` of a message object.
void AppendMessageHead(std::string& out, const ChatRequest& request) {
  out.append("{\"id\":\"");
  out.append(MessageId(request.hash));
  out.append("\",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
  AppendJsonString(out, request.model);
  out.append(",\"content\":");
}

std::string SseEvent(std::string_view name, std::string_view data) {
  std::string out;
  out.reserve(name.size() + data.size() + 16);
  out.append("event: ");
  out.append(name);
  out.append("\ndata: ");
  out.append(data);
  out.append("\n\n");
  return out;
}

// message_start, content_block_start, ping | text_delta or input_json_delta events |
// content_block_stop, message_delta, message_stop
class AnthropicScript final : public StreamScript {
 public:
  AnthropicScript(const ChatRequest& request, uint64_t tokens, Finish finish, std::size_t chunk_bytes)
      : request_(request), tokens_(tokens), stop_reason_(StopReason(finish)) {
    tool_ = request.tool_call.has_value();
    echo_ = !tool_ && request.echo.has_value();
    if (tool_) fragments_ = ToolArgumentFragments(request.tool_call->arguments);
    if (echo_) fragments_ = Utf8Chunks(*request.echo, chunk_bytes);
  }

  std::string_view content_type() const override { return kEventStream; }
  std::size_t prelude_size() const override { return 3; }
  std::size_t body_size() const override { return tool_ || echo_ ? fragments_.size() : tokens_; }
  std::size_t trailer_size() const override { return 3; }

  std::string Event(std::size_t k) override {
    if (k == 0) {
      std::string d = "{\"type\":\"message_start\",\"message\":";
      AppendMessageHead(d, request_);
      d.append("[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":");
      AppendUsage(d, request_.prompt_tokens, std::min<uint64_t>(tokens_, 1));
      d.append("}}");
      return SseEvent("message_start", d);
    }
    if (k == 1) {
      std::string d = "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":";
      if (tool_) {
        d.append("{\"type\":\"tool_use\",\"id\":");
        AppendJsonString(d, request_.tool_call->id);
        d.append(",\"name\":");
        AppendJsonString(d, request_.tool_call->name);
        d.append(",\"input\":{}}}");
      } else {
        d.append("{\"type\":\"text\",\"text\":\"\"}}");
      }
      return SseEvent("content_block_start", d);
    }
    if (k == 2) return SseEvent("ping", "{\"type\":\"ping\"}");
    std::size_t i = k - 3;
    if (i < body_size()) {
      std::string d = "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":";
      if (tool_) {
        d.append("{\"type\":\"input_json_delta\",\"partial_json\":");
        AppendJsonString(d, fragments_[i]);
      } else {
        d.append("{\"type\":\"text_delta\",\"text\":");
        if (echo_) {
          AppendJsonString(d, fragments_[i]);
        } else {
          d.push_back('"');
          if (i != 0) d.push_back(' ');
          d.append(AnswerWord(request_.hash, i));
          d.push_back('"');
        }
      }
      d.append("}}");
      return SseEvent("content_block_delta", d);
    }
    i -= body_size();
    if (i == 0) return SseEvent("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}");
    if (i == 1) {
      std::string d = "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"";
      d.append(stop_reason_);
      d.append("\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":");
      AppendUint(d, tokens_);
      d.append("}}");
      return SseEvent("message_delta", d);
    }
    return SseEvent("message_stop", "{\"type\":\"message_stop\"}");
  }

  std::vector<std::string> MalformedEvents() override {
    return {SseEvent("message_start", "{not json"), SseEvent("message_stop", "{\"type\":\"message_stop\"}")};
  }

  std::string ErrorEvent() override {
    std::string d = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":";
    AppendJsonString(d, kOverloaded);
    d.append("}}");
    return SseEvent("error", d);
  }

 private:
  const ChatRequest& request_;
  uint64_t tokens_;
  std::string_view stop_reason_;
  bool tool_ = false;
  bool echo_ = false;
  std::vector<std::string_view> fragments_;
};

class Anthropic final : public Dialect {
 public:
  std::string Response(const ChatRequest& request, uint64_t completion_tokens, Finish finish) const override {
    std::string out;
    out.reserve(320 + request.model.size() + (request.echo ? request.echo->size() : completion_tokens * 9) +
                (request.tool_call ? request.tool_call->arguments.size() + 64 : 0));
    AppendMessageHead(out, request);
    if (request.tool_call) {
      out.append("[{\"type\":\"tool_use\",\"id\":");
      AppendJsonString(out, request.tool_call->id);
      out.append(",\"name\":");
      AppendJsonString(out, request.tool_call->name);
      out.append(",\"input\":");
      out.append(request.tool_call->arguments);  // already JSON object text
      out.append("}]");
    } else {
      out.append("[{\"type\":\"text\",\"text\":");
      if (request.echo) {
        AppendJsonString(out, *request.echo);
      } else {
        out.push_back('"');
        AppendAnswer(out, request.hash, completion_tokens);
        out.push_back('"');
      }
      out.append("}]");
    }
    out.append(",\"stop_reason\":\"");
    out.append(StopReason(finish));
    out.append("\",\"stop_sequence\":null,\"usage\":");
    AppendUsage(out, request.prompt_tokens, completion_tokens);
    out.push_back('}');
    return out;
  }

  std::unique_ptr<StreamScript> Stream(const ChatRequest& request, uint64_t completion_tokens, Finish finish,
                                       std::size_t chunk_bytes) const override {
    return std::make_unique<AnthropicScript>(request, completion_tokens, finish, chunk_bytes);
  }

  ErrorReply Error(ErrorKind kind, std::string_view message, std::string_view, std::string_view) const override {
    switch (kind) {
      case ErrorKind::kInvalidRequest: return {400, RenderAnthropicError("invalid_request_error", message), {}};
      case ErrorKind::kAuthentication: return {401, RenderAnthropicError("authentication_error", message), {}};
      case ErrorKind::kNotFound: return {404, RenderAnthropicError("not_found_error", message), {}};
      case ErrorKind::kMethodNotAllowed: return {405, RenderAnthropicError("invalid_request_error", message), {}};
    }
    return {500, RenderAnthropicError("api_error", message), {}};
  }

  ErrorReply ModelNotFound(std::string_view model) const override {
    return {404, RenderAnthropicError("not_found_error", "model: " + std::string(model)), {}};
  }

  ErrorReply FaultError(Fault fault, uint64_t retry_after_s) const override {
    std::string retry_after = std::to_string(retry_after_s);
    switch (fault) {
      case Fault::kRateLimit:
        return {429,
                RenderAnthropicError("rate_limit_error",
                                     "Number of requests has exceeded your rate limit (simulated by meridian-sim). "
                                     "Please try again later."),
                {{"retry-after", retry_after}}};
      case Fault::kUnavailable:
        return {503, RenderAnthropicError("api_error", "Service unavailable (simulated by meridian-sim)."),
                {{"retry-after", retry_after}}};
      case Fault::kOverloaded:
      case Fault::kErrorDuring:
        return {529, RenderAnthropicError("overloaded_error", kOverloaded), {{"retry-after", retry_after}}};
      default:
        return {500, RenderAnthropicError("api_error", "Internal server error (simulated by meridian-sim)."), {}};
    }
  }
};

}  // namespace

const Dialect& AnthropicDialect() {
  static const Anthropic dialect;
  return dialect;
}

}  // namespace meridian::sim
