#include "sim/responses.hpp"

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

std::unexpected<core::Error> Missing(std::string_view param) {
  return Fail(ErrorCode::kInvalidRequest, "Missing required parameter: '" + std::string(param) + "'.",
              std::string(param));
}

std::unexpected<core::Error> InvalidType(const std::string& param, std::string_view expected, const json::value& got) {
  return Fail(ErrorCode::kInvalidRequest,
              "Invalid type for '" + param + "': expected " + std::string(expected) + ", but got " +
                  std::string(wire::KindName(got)) + " instead.",
              param);
}

std::unexpected<core::Error> InvalidValue(const std::string& param, std::string_view message) {
  return Fail(ErrorCode::kInvalidRequest, "Invalid value for '" + param + "': " + std::string(message), param);
}

std::string Index(std::string_view base, std::size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

// Calls f(text) for each text of a message content: a string, or the text of its input_text /
// output_text parts. Validates the parts' types.
template <class F>
core::Result<void> ForEachText(const json::value& content, const std::string& path, F&& f) {
  if (content.is_string()) {
    f(Sv(content.get_string()));
    return {};
  }
  if (!content.is_array()) return InvalidType(path, "a string or an array", content);
  const json::array& parts = content.get_array();
  for (std::size_t j = 0; j < parts.size(); ++j) {
    const std::string where = Index(path, j);
    if (!parts[j].is_object()) return InvalidType(where, "an object", parts[j]);
    const json::object& p = parts[j].get_object();
    const json::value* type = p.if_contains("type");
    if (type == nullptr || !type->is_string()) return Missing(where + ".type");
    const std::string_view t = Sv(type->get_string());
    if (t == "input_text" || t == "output_text") {
      const json::value* text = p.if_contains("text");
      if (text == nullptr) return Missing(where + ".text");
      if (!text->is_string()) return InvalidType(where + ".text", "a string", *text);
      f(Sv(text->get_string()));
    } else if (t != "input_image" && t != "input_file" && t != "refusal") {
      return InvalidValue(where + ".type",
                          "'" + std::string(t) +
                              "'. Supported values are: 'input_text', 'input_image', 'input_file', "
                              "'output_text' and 'refusal'.");
    }
  }
  return {};
}

std::string ResponseId(uint64_t hash) { return "resp_sim_" + Hex16(Mix64(hash)); }
std::string ItemId(std::string_view prefix, uint64_t hash) {
  return std::string(prefix) + "_sim_" + Hex16(Mix64(hash ^ 0x9e3779b97f4a7c15ULL));
}

}  // namespace

core::Result<ChatRequest> ParseResponsesRequest(std::string_view body, bool force_tool_call, bool echo) {
  unsigned char arena[8192];
  json::monotonic_resource mr(arena, sizeof arena);
  auto parsed = wire::ParseObject(body, &mr);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json::object& o = parsed->get_object();

  ChatRequest req;
  const json::value* model = o.if_contains("model");
  if (model == nullptr || model->is_null()) return Missing("model");
  if (!model->is_string()) return InvalidType("model", "a string", *model);
  req.model = std::string(Sv(model->get_string()));

  uint64_t h = kFnvOffset;
  std::size_t chars = 0;
  auto message = [&](std::string_view role, auto&& texts) -> core::Result<void> {
    h = Fnv1a(role, h);
    h = Fnv1a("\x1f", h);
    auto ok = texts([&](std::string_view text) {
      h = Fnv1a(text, h);
      chars += CodePoints(text);
    });
    h = Fnv1a("\x1e", h);
    return ok;
  };
  // `instructions` counts as a leading "system" message.
  if (const json::value* ins = o.if_contains("instructions"); ins && !ins->is_null()) {
    if (!ins->is_string()) return InvalidType("instructions", "a string", *ins);
    auto ok = message("system", [&](auto&& add) -> core::Result<void> {
      add(Sv(ins->get_string()));
      return {};
    });
    if (!ok) return std::unexpected(std::move(ok.error()));
  }
  const json::value* input = o.if_contains("input");
  if (input == nullptr || input->is_null()) return Missing("input");
  std::string last_user_text;
  if (input->is_string()) {
    last_user_text = std::string(Sv(input->get_string()));
    auto ok = message("user", [&](auto&& add) -> core::Result<void> {
      add(Sv(input->get_string()));
      return {};
    });
    if (!ok) return std::unexpected(std::move(ok.error()));
  } else if (input->is_array()) {
    const json::array& items = input->get_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string where = Index("input", i);
      if (!items[i].is_object()) return InvalidType(where, "an object", items[i]);
      const json::object& it = items[i].get_object();
      const json::value* type = it.if_contains("type");
      if (type != nullptr && !type->is_null() && !type->is_string()) {
        return InvalidType(where + ".type", "a string", *type);
      }
      const std::string_view t = type && type->is_string() ? Sv(type->get_string()) : std::string_view("message");
      if (t == "message") {
        const json::value* role = it.if_contains("role");
        if (role == nullptr || role->is_null()) return Missing(where + ".role");
        const std::string_view r = role->is_string() ? Sv(role->get_string()) : std::string_view();
        if (r != "user" && r != "assistant" && r != "system" && r != "developer") {
          return InvalidValue(where + ".role",
                              "Supported values are: 'user', 'assistant', 'system' and 'developer'.");
        }
        const json::value* content = it.if_contains("content");
        if (content == nullptr || content->is_null()) return Missing(where + ".content");
        std::string text;
        auto ok = message(r, [&](auto&& add) {
          return ForEachText(*content, where + ".content", [&](std::string_view s) {
            add(s);
            if (r == "user") text.append(s);
          });
        });
        if (!ok) return std::unexpected(std::move(ok.error()));
        if (r == "user") last_user_text = std::move(text);
      } else if (t == "function_call_output") {
        const json::value* call_id = it.if_contains("call_id");
        if (call_id == nullptr || call_id->is_null()) return Missing(where + ".call_id");
        const json::value* output = it.if_contains("output");
        if (output == nullptr || output->is_null()) return Missing(where + ".output");
        auto ok = message("tool", [&](auto&& add) { return ForEachText(*output, where + ".output", add); });
        if (!ok) return std::unexpected(std::move(ok.error()));
      } else if (t == "function_call") {
        for (std::string_view key : {"call_id", "name", "arguments"}) {
          const json::value* v = it.if_contains(key);
          if (v == nullptr || v->is_null()) return Missing(where + "." + std::string(key));
          if (!v->is_string()) return InvalidType(where + "." + std::string(key), "a string", *v);
        }
      }
      // reasoning, item_reference and built-in tool items carry no prompt text here.
    }
  } else {
    return InvalidType("input", "a string or an array", *input);
  }
  req.hash = h;
  req.prompt_tokens = ApproxTokens(chars);

  if (const json::value* mt = o.if_contains("max_output_tokens"); mt && !mt->is_null()) {
    if (!mt->is_int64() && !mt->is_uint64()) return InvalidType("max_output_tokens", "an integer", *mt);
    if (mt->is_int64() && mt->get_int64() < 16) {
      return Fail(ErrorCode::kInvalidRequest,
                  "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got " +
                      std::to_string(mt->get_int64()) + " instead.",
                  "max_output_tokens");
    }
    req.max_tokens = mt->is_int64() ? static_cast<uint64_t>(mt->get_int64()) : mt->get_uint64();
  }
  if (const json::value* stream = o.if_contains("stream"); stream && !stream->is_null()) {
    if (!stream->is_bool()) return InvalidType("stream", "a boolean", *stream);
    req.stream = stream->get_bool();
  }

  // Function tools (flat: name, parameters at the top level); other types are built-in tools.
  const json::object* first_fn = nullptr;
  const json::array* tools = nullptr;
  if (const json::value* tv = o.if_contains("tools"); tv && !tv->is_null()) {
    if (!tv->is_array()) return InvalidType("tools", "an array", *tv);
    tools = &tv->get_array();
    for (std::size_t i = 0; i < tools->size(); ++i) {
      const std::string where = Index("tools", i);
      if (!(*tools)[i].is_object()) return InvalidType(where, "an object", (*tools)[i]);
      const json::object& t = (*tools)[i].get_object();
      const json::value* type = t.if_contains("type");
      if (type == nullptr || !type->is_string()) return Missing(where + ".type");
      if (Sv(type->get_string()) != "function") continue;
      const json::value* name = t.if_contains("name");
      if (name == nullptr || name->is_null()) return Missing(where + ".name");
      if (!name->is_string()) return InvalidType(where + ".name", "a string", *name);
      if (first_fn == nullptr) first_fn = &t;
    }
  }
  bool call = force_tool_call || wire::ContainsCaseInsensitive(last_user_text, "call a tool");
  const json::object* chosen = first_fn;
  if (const json::value* tc = o.if_contains("tool_choice"); tc && !tc->is_null()) {
    if (tc->is_string()) {
      const std::string_view c = Sv(tc->get_string());
      if (c == "none") call = false;
      else if (c == "required") call = true;
      else if (c != "auto") {
        return InvalidValue("tool_choice", "Supported values are: 'none', 'auto' and 'required'.");
      }
    } else if (tc->is_object()) {
      const json::value* type = tc->get_object().if_contains("type");
      const json::value* name = tc->get_object().if_contains("name");
      if (type && type->is_string() && Sv(type->get_string()) == "function") {
        if (name == nullptr || !name->is_string()) return Missing("tool_choice.name");
        chosen = nullptr;
        for (std::size_t i = 0; tools != nullptr && i < tools->size(); ++i) {
          const json::object& t = (*tools)[i].get_object();
          const json::value* ty = t.if_contains("type");
          const json::value* n = t.if_contains("name");
          if (ty && ty->is_string() && Sv(ty->get_string()) == "function" && n && *n == *name) {
            chosen = &t;
            break;
          }
        }
        if (chosen == nullptr) {
          return Fail(ErrorCode::kInvalidRequest,
                      "Tool choice '" + std::string(Sv(name->get_string())) + "' not found in 'tools' parameter.",
                      "tool_choice");
        }
        call = true;
      }
      // allowed_tools and built-in tool choices: the model may answer with text.
    } else {
      return InvalidType("tool_choice", "a string or an object", *tc);
    }
  }
  if (call && chosen != nullptr) {
    ToolCall tc;
    tc.name = std::string(Sv(chosen->if_contains("name")->get_string()));
    tc.arguments = wire::BuildArguments(chosen->if_contains("parameters"));
    tc.id = "call_sim_" + Hex16(Mix64(req.hash ^ 0x7f4a7c15ULL));
    req.tool_call = std::move(tc);
  } else if (echo) {
    req.echo = std::move(last_user_text);
  }
  return req;
}

// --- The Responses dialect ---------------------------------------------------------------------

namespace {

constexpr std::string_view kEventStream = "text/event-stream; charset=utf-8";
constexpr std::string_view kOverloaded =
    "That model is currently overloaded with other requests (simulated by meridian-sim). "
    "Please try again later.";

// The answer's text: the echo, or `tokens` words.
std::string AnswerOf(const ChatRequest& request, uint64_t tokens) {
  if (request.echo) return *request.echo;
  std::string s;
  AppendAnswer(s, request.hash, tokens);
  return s;
}

// The output item: a message with one output_text part, or the function call. `text` is the
// final text (ignored for calls); `final_state` false writes the item as first added.
void AppendItem(std::string& out, const ChatRequest& request, std::string_view text, bool final_state,
                std::string_view status) {
  if (request.tool_call) {
    out.append("{\"id\":\"");
    out.append(ItemId("fc", request.hash));
    out.append("\",\"type\":\"function_call\",\"status\":\"");
    out.append(status);
    out.append("\",\"arguments\":");
    AppendJsonString(out, final_state ? std::string_view(request.tool_call->arguments) : std::string_view());
    out.append(",\"call_id\":");
    AppendJsonString(out, request.tool_call->id);
    out.append(",\"name\":");
    AppendJsonString(out, request.tool_call->name);
    out.push_back('}');
    return;
  }
  out.append("{\"id\":\"");
  out.append(ItemId("msg", request.hash));
  out.append("\",\"type\":\"message\",\"status\":\"");
  out.append(status);
  out.append("\",\"content\":[");
  if (final_state) {
    out.append("{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":");
    AppendJsonString(out, text);
    out.push_back('}');
  }
  out.append("],\"role\":\"assistant\"}");
}

// A whole `response` object. `tokens` < 0: in progress (no output, no usage).
void AppendResponse(std::string& out, const ChatRequest& request, std::string_view status, bool incomplete,
                    const std::string* text, uint64_t tokens) {
  out.append("{\"id\":\"");
  out.append(ResponseId(request.hash));
  out.append("\",\"object\":\"response\",\"created_at\":");
  AppendUint(out, kCreated);
  out.append(",\"status\":\"");
  out.append(status);
  out.append("\",\"error\":null,\"incomplete_details\":");
  out.append(incomplete ? "{\"reason\":\"max_output_tokens\"}" : "null");
  out.append(",\"instructions\":null,\"max_output_tokens\":");
  if (request.max_tokens) AppendUint(out, *request.max_tokens);
  else out.append("null");
  out.append(",\"model\":");
  AppendJsonString(out, request.model);
  out.append(",\"output\":[");
  if (text != nullptr) AppendItem(out, request, *text, true, incomplete ? "incomplete" : "completed");
  out.append("],\"parallel_tool_calls\":true,\"previous_response_id\":null,"
             "\"reasoning\":{\"effort\":null,\"summary\":null},\"store\":false,\"temperature\":1.0,"
             "\"text\":{\"format\":{\"type\":\"text\"}},\"tool_choice\":\"auto\",\"tools\":[],\"top_p\":1.0,"
             "\"truncation\":\"disabled\",\"usage\":");
  if (text == nullptr) {
    out.append("null");
  } else {
    out.append("{\"input_tokens\":");
    AppendUint(out, request.prompt_tokens);
    out.append(",\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":");
    AppendUint(out, tokens);
    out.append(",\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":");
    AppendUint(out, request.prompt_tokens + tokens);
    out.push_back('}');
  }
  out.append(",\"user\":null,\"metadata\":{}}");
}

std::string SseEvent(std::string_view type, std::string_view data) {
  std::string out;
  out.reserve(type.size() + data.size() + 16);
  out.append("event: ");
  out.append(type);
  out.append("\ndata: ");
  out.append(data);
  out.append("\n\n");
  return out;
}

// response.created, response.in_progress, output_item.added, [content_part.added] |
// output_text.delta or function_call_arguments.delta events |
// [output_text.done, content_part.done] or function_call_arguments.done, output_item.done,
// response.completed (response.incomplete at the length limit)
class ResponsesScript final : public StreamScript {
 public:
  ResponsesScript(const ChatRequest& request, uint64_t tokens, Finish finish, std::size_t chunk_bytes)
      : request_(request), tokens_(tokens), incomplete_(finish == Finish::kLength) {
    tool_ = request.tool_call.has_value();
    echo_ = !tool_ && request.echo.has_value();
    if (tool_) fragments_ = ToolArgumentFragments(request.tool_call->arguments);
    if (echo_) fragments_ = Utf8Chunks(*request.echo, chunk_bytes);
    text_ = tool_ ? request.tool_call->arguments : AnswerOf(request, tokens);
    item_id_ = ItemId(tool_ ? "fc" : "msg", request.hash);
  }

  std::string_view content_type() const override { return kEventStream; }
  std::size_t prelude_size() const override { return tool_ ? 3 : 4; }
  std::size_t body_size() const override { return tool_ || echo_ ? fragments_.size() : tokens_; }
  std::size_t trailer_size() const override { return tool_ ? 3 : 4; }

  std::string Event(std::size_t k) override {
    seq_ = k + 1;
    auto head = [&](std::string_view type) {
      std::string d = "{\"type\":\"";
      d.append(type);
      d.append("\",\"sequence_number\":");
      AppendUint(d, k);
      return d;
    };
    auto item_ref = [&](std::string& d, bool content) {
      d.append(",\"item_id\":\"");
      d.append(item_id_);
      d.append("\",\"output_index\":0");
      if (content) d.append(",\"content_index\":0");
    };
    if (k < 2) {
      std::string_view type = k == 0 ? "response.created" : "response.in_progress";
      std::string d = head(type);
      d.append(",\"response\":");
      AppendResponse(d, request_, "in_progress", false, nullptr, 0);
      d.push_back('}');
      return SseEvent(type, d);
    }
    if (k == 2) {
      std::string d = head("response.output_item.added");
      d.append(",\"output_index\":0,\"item\":");
      AppendItem(d, request_, {}, false, "in_progress");
      d.push_back('}');
      return SseEvent("response.output_item.added", d);
    }
    if (k == 3 && !tool_) {
      std::string d = head("response.content_part.added");
      item_ref(d, true);
      d.append(",\"part\":{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":\"\"}}");
      return SseEvent("response.content_part.added", d);
    }
    std::size_t i = k - prelude_size();
    if (i < body_size()) {
      const std::string_view type = tool_ ? "response.function_call_arguments.delta" : "response.output_text.delta";
      std::string d = head(type);
      item_ref(d, !tool_);
      d.append(",\"delta\":");
      if (tool_ || echo_) {
        AppendJsonString(d, fragments_[i]);
      } else {
        d.push_back('"');
        if (i != 0) d.push_back(' ');
        d.append(AnswerWord(request_.hash, i));
        d.push_back('"');
      }
      if (!tool_) d.append(",\"logprobs\":[]");
      d.push_back('}');
      return SseEvent(type, d);
    }
    i -= body_size();
    if (tool_) {
      if (i == 0) {
        std::string d = head("response.function_call_arguments.done");
        item_ref(d, false);
        d.append(",\"name\":");
        AppendJsonString(d, request_.tool_call->name);
        d.append(",\"arguments\":");
        AppendJsonString(d, text_);
        d.push_back('}');
        return SseEvent("response.function_call_arguments.done", d);
      }
      i += 1;  // the same trailer from here on
    } else {
      if (i == 0) {
        std::string d = head("response.output_text.done");
        item_ref(d, true);
        d.append(",\"text\":");
        AppendJsonString(d, text_);
        d.append(",\"logprobs\":[]}");
        return SseEvent("response.output_text.done", d);
      }
      if (i == 1) {
        std::string d = head("response.content_part.done");
        item_ref(d, true);
        d.append(",\"part\":{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":");
        AppendJsonString(d, text_);
        d.append("}}");
        return SseEvent("response.content_part.done", d);
      }
    }
    if (i == 2) {
      std::string d = head("response.output_item.done");
      d.append(",\"output_index\":0,\"item\":");
      AppendItem(d, request_, text_, true, incomplete_ ? "incomplete" : "completed");
      d.push_back('}');
      return SseEvent("response.output_item.done", d);
    }
    const std::string_view type = incomplete_ ? "response.incomplete" : "response.completed";
    std::string d = head(type);
    d.append(",\"response\":");
    AppendResponse(d, request_, incomplete_ ? "incomplete" : "completed", incomplete_, &text_, tokens_);
    d.push_back('}');
    return SseEvent(type, d);
  }

  std::vector<std::string> MalformedEvents() override {
    return {SseEvent("response.created", "{not json")};  // the Responses API has no end marker
  }

  std::string ErrorEvent() override {
    std::string d = "{\"type\":\"error\",\"sequence_number\":";
    AppendUint(d, seq_);
    d.append(",\"code\":\"overloaded\",\"message\":");
    AppendJsonString(d, kOverloaded);
    d.append(",\"param\":null}");
    return SseEvent("error", d);
  }

 private:
  const ChatRequest& request_;
  uint64_t tokens_;
  bool incomplete_;
  bool tool_ = false;
  bool echo_ = false;
  std::vector<std::string_view> fragments_;
  std::string text_;
  std::string item_id_;
  std::size_t seq_ = 0;
};

class Responses final : public Dialect {
 public:
  std::string Response(const ChatRequest& request, uint64_t completion_tokens, Finish finish) const override {
    const std::string text = request.tool_call ? request.tool_call->arguments : AnswerOf(request, completion_tokens);
    const bool incomplete = finish == Finish::kLength;
    std::string out;
    out.reserve(900 + request.model.size() + text.size());
    AppendResponse(out, request, incomplete ? "incomplete" : "completed", incomplete, &text, completion_tokens);
    return out;
  }

  std::unique_ptr<StreamScript> Stream(const ChatRequest& request, uint64_t completion_tokens, Finish finish,
                                       std::size_t chunk_bytes) const override {
    return std::make_unique<ResponsesScript>(request, completion_tokens, finish, chunk_bytes);
  }

  // Errors are OpenAI's, whichever OpenAI API is called.
  ErrorReply Error(ErrorKind kind, std::string_view message, std::string_view param,
                   std::string_view code) const override {
    return OpenAiDialect().Error(kind, message, param, code);
  }
  ErrorReply ModelNotFound(std::string_view model) const override { return OpenAiDialect().ModelNotFound(model); }
  ErrorReply FaultError(Fault fault, uint64_t retry_after_s) const override {
    return OpenAiDialect().FaultError(fault, retry_after_s);
  }
};

}  // namespace

const Dialect& ResponsesDialect() {
  static const Responses dialect;
  return dialect;
}

}  // namespace meridian::sim
