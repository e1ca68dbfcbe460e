#include "sim/openai.hpp"

#include <algorithm>
#include <charconv>

#include <boost/json.hpp>

#include "sim/content.hpp"
#include "sim/dialect.hpp"
#include "sim/json_request.hpp"

namespace meridian::sim {
namespace json = boost::json;
namespace {

using core::ErrorCode;
using core::Fail;

using wire::CodePoints;
using wire::ContainsCaseInsensitive;
using wire::KindName;
using wire::Sv;

std::unexpected<core::Error> InvalidType(std::string param, std::string_view expected,
                                         const json::value& got) {
  std::string msg = "Invalid type for '" + param + "': expected " + std::string(expected) +
                    ", but got " + std::string(KindName(got)) + ".";
  return Fail(ErrorCode::kInvalidRequest, std::move(msg), std::move(param));
}

std::unexpected<core::Error> Missing(std::string param) {
  std::string msg = "Missing required parameter: '" + param + "'.";
  return Fail(ErrorCode::kInvalidRequest, std::move(msg), std::move(param));
}

core::Result<json::value> ParseBody(std::string_view body, json::storage_ptr storage) {
  return wire::ParseObject(body, std::move(storage));
}

core::Result<std::string> RequireModel(const json::object& o) {
  const json::value* m = o.if_contains("model");
  if (m == nullptr || m->is_null()) {
    return Fail(ErrorCode::kInvalidRequest, "you must provide a model parameter", "model");
  }
  if (!m->is_string()) return InvalidType("model", "a string", *m);
  if (m->get_string().empty()) {
    return Fail(ErrorCode::kInvalidRequest, "you must provide a model parameter", "model");
  }
  return std::string(Sv(m->get_string()));
}

// Reads an optional positive integer field; nullopt when absent or null.
core::Result<std::optional<uint64_t>> OptionalPositive(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<uint64_t>();
  if (v->is_int64()) {
    int64_t i = v->get_int64();
    if (i >= 1) return std::optional<uint64_t>(static_cast<uint64_t>(i));
  } else if (v->is_uint64()) {
    return std::optional<uint64_t>(v->get_uint64());
  } else {
    return InvalidType(std::string(key), "an integer", *v);
  }
  return Fail(ErrorCode::kInvalidRequest,
              "Invalid '" + std::string(key) + "': integer below minimum value. Expected a value >= 1.",
              std::string(key));
}

core::Result<bool> OptionalBool(const json::object& o, std::string_view key, std::string param) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return false;
  if (!v->is_bool()) return InvalidType(std::move(param), "a boolean", *v);
  return v->get_bool();
}

using wire::BuildArguments;

// Text of a message's content (string, or the text of its parts); false if the type is wrong.
template <class F>
bool ForEachText(const json::value& content, F&& f) {
  if (content.is_string()) {
    f(Sv(content.get_string()));
    return true;
  }
  if (content.is_null()) return true;
  if (!content.is_array()) return false;
  for (const json::value& part : content.get_array()) {
    if (part.is_string()) {
      f(Sv(part.get_string()));
    } else if (part.is_object()) {
      if (const json::value* t = part.get_object().if_contains("text"); t && t->is_string()) {
        f(Sv(t->get_string()));
      }
    } else {
      return false;
    }
  }
  return true;
}

void AppendUsage(std::string& out, uint64_t prompt, uint64_t completion) {
  out.append("{\"prompt_tokens\":");
  AppendUint(out, prompt);
  out.append(",\"completion_tokens\":");
  AppendUint(out, completion);
  out.append(",\"total_tokens\":");
  AppendUint(out, prompt + completion);
  out.append(
      ",\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
      "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
      "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}");
}

std::string CompletionId(uint64_t hash) { return "chatcmpl-sim-" + Hex16(Mix64(hash)); }

}  // namespace

core::Result<ChatRequest> ParseChatRequest(std::string_view body, bool force_tool_call, bool echo) {
  // Small requests parse without touching the heap.
  unsigned char arena[8192];
  json::monotonic_resource mr(arena, sizeof arena);
  auto parsed = ParseBody(body, &mr);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json::object& o = parsed->get_object();

  ChatRequest req;
  auto model = RequireModel(o);
  if (!model) return std::unexpected(std::move(model.error()));
  req.model = std::move(*model);

  const json::value* messages = o.if_contains("messages");
  if (messages == nullptr || messages->is_null()) return Missing("messages");
  if (!messages->is_array()) return InvalidType("messages", "an array", *messages);
  const json::array& msgs = messages->get_array();
  if (msgs.empty()) {
    return Fail(ErrorCode::kInvalidRequest,
                "Invalid 'messages': empty array. Expected an array with minimum length 1.", "messages");
  }
  uint64_t h = kFnvOffset;
  std::size_t chars = 0;
  std::size_t last_user = msgs.size();
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const json::value& m = msgs[i];
    std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return InvalidType(where, "an object", m);
    const json::object& mo = m.get_object();
    const json::value* role = mo.if_contains("role");
    if (role == nullptr) return Missing(where + ".role");
    if (!role->is_string()) return InvalidType(where + ".role", "a string", *role);
    std::string_view role_sv = Sv(role->get_string());
    if (role_sv == "user") last_user = i;
    h = Fnv1a(role_sv, h);
    h = Fnv1a("\x1f", h);
    if (const json::value* content = mo.if_contains("content")) {
      bool ok = ForEachText(*content, [&](std::string_view text) {
        h = Fnv1a(text, h);
        chars += CodePoints(text);
      });
      if (!ok) return InvalidType(where + ".content", "a string or an array of content parts", *content);
    }
    h = Fnv1a("\x1e", h);
  }
  req.hash = h;
  req.prompt_tokens = ApproxTokens(chars);
  if (echo) {
    // The last user message's string content, or its {"type":"text","text":...} parts joined.
    std::string text;
    if (last_user < msgs.size()) {
      if (const json::value* c = msgs[last_user].get_object().if_contains("content")) {
        if (c->is_string()) {
          text = Sv(c->get_string());
        } else if (c->is_array()) {
          for (const json::value& part : c->get_array()) {
            if (!part.is_object()) continue;
            const json::object& po = part.get_object();
            const json::value* type = po.if_contains("type");
            const json::value* t = po.if_contains("text");
            if (type && type->is_string() && Sv(type->get_string()) == "text" && t && t->is_string()) {
              text.append(Sv(t->get_string()));
            }
          }
        }
      }
    }
    req.echo = std::move(text);
  }

  auto max_completion = OptionalPositive(o, "max_completion_tokens");
  if (!max_completion) return std::unexpected(std::move(max_completion.error()));
  auto max_tokens = OptionalPositive(o, "max_tokens");
  if (!max_tokens) return std::unexpected(std::move(max_tokens.error()));
  req.max_tokens = *max_completion ? *max_completion : *max_tokens;

  auto stream = OptionalBool(o, "stream", "stream");
  if (!stream) return std::unexpected(std::move(stream.error()));
  req.stream = *stream;
  if (const json::value* so = o.if_contains("stream_options"); so && !so->is_null()) {
    if (!so->is_object()) return InvalidType("stream_options", "an object", *so);
    auto inc = OptionalBool(so->get_object(), "include_usage", "stream_options.include_usage");
    if (!inc) return std::unexpected(std::move(inc.error()));
    req.include_usage = *inc && req.stream;
  }

  const json::value* tools = o.if_contains("tools");
  if (tools == nullptr || tools->is_null()) return req;
  if (!tools->is_array()) return InvalidType("tools", "an array", *tools);
  const json::array& ta = tools->get_array();
  const json::object* first_function = nullptr;
  for (std::size_t i = 0; i < ta.size(); ++i) {
    std::string where = "tools[" + std::to_string(i) + "]";
    if (!ta[i].is_object()) return InvalidType(where, "an object", ta[i]);
    const json::object& t = ta[i].get_object();
    const json::value* type = t.if_contains("type");
    if (type != nullptr && type->is_string() && Sv(type->get_string()) != "function") continue;
    const json::value* fn = t.if_contains("function");
    if (fn == nullptr) return Missing(where + ".function");
    if (!fn->is_object()) return InvalidType(where + ".function", "an object", *fn);
    const json::value* name = fn->get_object().if_contains("name");
    if (name == nullptr) return Missing(where + ".function.name");
    if (!name->is_string()) return InvalidType(where + ".function.name", "a string", *name);
    if (first_function == nullptr) first_function = &fn->get_object();
  }
  if (first_function == nullptr) return req;

  // Which tool, if any, the answer calls.
  const json::object* chosen = nullptr;
  bool call = force_tool_call;
  if (!call && last_user < msgs.size()) {
    if (const json::value* c = msgs[last_user].get_object().if_contains("content")) {
      ForEachText(*c, [&](std::string_view text) { call = call || ContainsCaseInsensitive(text, "call a tool"); });
    }
  }
  chosen = first_function;
  if (const json::value* tc = o.if_contains("tool_choice"); tc && !tc->is_null()) {
    if (tc->is_string()) {
      std::string_view choice = Sv(tc->get_string());
      if (choice == "none") {
        call = false;
      } else if (choice == "required") {
        call = true;
      } else if (choice != "auto") {
        return Fail(ErrorCode::kInvalidRequest,
                    "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a named function.",
                    "tool_choice");
      }
    } else if (tc->is_object()) {
      const json::value* fn = tc->get_object().if_contains("function");
      const json::value* name = fn && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
      if (name == nullptr || !name->is_string()) return Missing("tool_choice.function.name");
      chosen = nullptr;
      for (const json::value& t : ta) {
        const json::value* f = t.get_object().if_contains("function");
        const json::value* n = f && f->is_object() ? f->get_object().if_contains("name") : nullptr;
        if (n != nullptr && *n == *name) {
          chosen = &f->get_object();
          break;
        }
      }
      if (chosen == nullptr) {
        return Fail(ErrorCode::kInvalidRequest,
                    "Invalid value for 'tool_choice': no function named '" +
                        std::string(Sv(name->get_string())) + "' in 'tools'.",
                    "tool_choice");
      }
      call = true;
    } else {
      return InvalidType("tool_choice", "a string or an object", *tc);
    }
  }
  if (!call) return req;

  ToolCall tc;
  tc.name = std::string(Sv(chosen->if_contains("name")->get_string()));
  tc.arguments = BuildArguments(chosen->if_contains("parameters"));
  tc.id = "call_sim_" + Hex16(Mix64(req.hash ^ 0x7f4a7c15ULL));
  req.tool_call = std::move(tc);
  req.echo.reset();  // a tool call answer has no text to echo into
  return req;
}

std::string AnswerText(uint64_t hash, uint64_t n) {
  std::string s;
  s.reserve(n * 9);
  AppendAnswer(s, hash, n);
  return s;
}

std::vector<std::string_view> Utf8Chunks(std::string_view text, std::size_t bytes) {
  std::vector<std::string_view> out;
  if (bytes == 0) bytes = 1;
  out.reserve(text.size() / bytes + 1);
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t end = i + std::min(bytes, text.size() - i);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    out.push_back(text.substr(i, end - i));
    i = end;
  }
  return out;
}

std::vector<std::string_view> ToolArgumentFragments(std::string_view arguments) {
  std::vector<std::string_view> out = Utf8Chunks(arguments, 4);
  if (out.empty()) out.push_back(arguments);
  return out;
}

std::string RenderChatCompletion(const ChatRequest& request, uint64_t completion_tokens,
                                 std::string_view finish_reason) {
  std::string out;
  out.reserve(640 + request.model.size() + (request.echo ? request.echo->size() : completion_tokens * 9) +
              (request.tool_call ? request.tool_call->arguments.size() * 2 : 0));
  out.append("{\"id\":\"");
  out.append(CompletionId(request.hash));
  out.append("\",\"object\":\"chat.completion\",\"created\":");
  AppendUint(out, kCreated);
  out.append(",\"model\":");
  AppendJsonString(out, request.model);
  out.append(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
  if (request.tool_call) {
    const ToolCall& tc = *request.tool_call;
    out.append("null,\"tool_calls\":[{\"id\":");
    AppendJsonString(out, tc.id);
    out.append(",\"type\":\"function\",\"function\":{\"name\":");
    AppendJsonString(out, tc.name);
    out.append(",\"arguments\":");
    AppendJsonString(out, tc.arguments);
    out.append("}}]");
  } else if (request.echo) {
    AppendJsonString(out, *request.echo);
  } else {
    out.push_back('"');
    AppendAnswer(out, request.hash, completion_tokens);
    out.push_back('"');
  }
  out.append(",\"refusal\":null,\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"");
  out.append(finish_reason);
  out.append("\"}],\"usage\":");
  AppendUsage(out, request.prompt_tokens, completion_tokens);
  out.append(",\"service_tier\":\"default\",\"system_fingerprint\":\"");
  out.append(kFingerprint);
  out.append("\"}");
  return out;
}

ChatStreamRenderer::ChatStreamRenderer(const ChatRequest& request)
    : include_usage_(request.include_usage) {
  head_.reserve(160 + request.model.size());
  head_.append("data: {\"id\":\"");
  head_.append(CompletionId(request.hash));
  head_.append("\",\"object\":\"chat.completion.chunk\",\"created\":");
  AppendUint(head_, kCreated);
  head_.append(",\"model\":");
  AppendJsonString(head_, request.model);
  head_.append(",\"service_tier\":\"default\",\"system_fingerprint\":\"");
  head_.append(kFingerprint);
  head_.append("\",");
  prefix_ = head_ + "\"choices\":[{\"index\":0,\"delta\":";
}

std::string ChatStreamRenderer::Event(std::string_view delta, std::string_view finish_reason) const {
  std::string out;
  out.reserve(prefix_.size() + delta.size() + 80);
  out.append(prefix_);
  out.append(delta);
  out.append(",\"logprobs\":null,\"finish_reason\":");
  if (finish_reason.empty()) {
    out.append("null");
  } else {
    out.push_back('"');
    out.append(finish_reason);
    out.push_back('"');
  }
  out.append("}]");
  if (include_usage_) out.append(",\"usage\":null");
  out.append("}\n\n");
  return out;
}

std::string ChatStreamRenderer::RoleEvent() const {
  return Event("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", {});
}

std::string ChatStreamRenderer::TokenEvent(uint64_t hash, uint64_t i) const {
  std::string delta = "{\"content\":\"";
  if (i != 0) delta.push_back(' ');
  delta.append(AnswerWord(hash, i));
  delta.append("\"}");
  return Event(delta, {});
}

std::string ChatStreamRenderer::ContentEvent(std::string_view text) const {
  std::string delta = "{\"content\":";
  AppendJsonString(delta, text);
  delta.push_back('}');
  return Event(delta, {});
}

std::string ChatStreamRenderer::ToolHeadEvent(const ToolCall& call) const {
  std::string delta = "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":";
  AppendJsonString(delta, call.id);
  delta.append(",\"type\":\"function\",\"function\":{\"name\":");
  AppendJsonString(delta, call.name);
  delta.append(",\"arguments\":\"\"}}],\"refusal\":null}");
  return Event(delta, {});
}

std::string ChatStreamRenderer::ToolArgumentsEvent(std::string_view fragment) const {
  std::string delta = "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":";
  AppendJsonString(delta, fragment);
  delta.append("}}]}");
  return Event(delta, {});
}

std::string ChatStreamRenderer::FinishEvent(std::string_view finish_reason) const {
  return Event("{}", finish_reason);
}

std::string ChatStreamRenderer::UsageEvent(uint64_t prompt_tokens, uint64_t completion_tokens) const {
  std::string out = head_;
  out.append("\"choices\":[],\"usage\":");
  AppendUsage(out, prompt_tokens, completion_tokens);
  out.append("}\n\n");
  return out;
}

core::Result<EmbeddingsRequest> ParseEmbeddingsRequest(std::string_view body) {
  unsigned char arena[8192];
  json::monotonic_resource mr(arena, sizeof arena);
  auto parsed = ParseBody(body, &mr);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json::object& o = parsed->get_object();

  EmbeddingsRequest req;
  auto model = RequireModel(o);
  if (!model) return std::unexpected(std::move(model.error()));
  req.model = std::move(*model);

  const json::value* input = o.if_contains("input");
  if (input == nullptr || input->is_null()) return Missing("input");
  auto bad_input = [&]() {
    return Fail(ErrorCode::kInvalidRequest,
                "Invalid 'input': expected a string, an array of strings, an array of integers "
                "(tokens) or an array of arrays of integers.",
                "input");
  };
  auto token_hash = [](const json::array& a, uint64_t& tokens) -> std::optional<uint64_t> {
    uint64_t h = Fnv1a("tokens", kFnvOffset);
    for (const json::value& t : a) {
      if (!t.is_int64() && !t.is_uint64()) return std::nullopt;
      h = Fnv1aInt(t.is_int64() ? static_cast<uint64_t>(t.get_int64()) : t.get_uint64(), h);
    }
    tokens += a.size();
    return h;
  };
  if (input->is_string()) {
    std::string_view s = Sv(input->get_string());
    req.input_hashes.push_back(Fnv1a(s));
    req.prompt_tokens = ApproxTokens(CodePoints(s));
  } else if (input->is_array()) {
    const json::array& a = input->get_array();
    if (a.empty()) {
      return Fail(ErrorCode::kInvalidRequest,
                  "Invalid 'input': empty array. Expected an array with minimum length 1.", "input");
    }
    if (a.front().is_int64() || a.front().is_uint64()) {
      auto h = token_hash(a, req.prompt_tokens);
      if (!h) return bad_input();
      req.input_hashes.push_back(*h);
    } else {
      for (const json::value& item : a) {
        if (item.is_string()) {
          std::string_view s = Sv(item.get_string());
          req.input_hashes.push_back(Fnv1a(s));
          req.prompt_tokens += ApproxTokens(CodePoints(s));
        } else if (item.is_array() && !item.get_array().empty()) {
          auto h = token_hash(item.get_array(), req.prompt_tokens);
          if (!h) return bad_input();
          req.input_hashes.push_back(*h);
        } else {
          return bad_input();
        }
      }
    }
  } else {
    return bad_input();
  }

  auto dims = OptionalPositive(o, "dimensions");
  if (!dims) return std::unexpected(std::move(dims.error()));
  if (*dims && **dims > kMaxEmbeddingDims) {
    return Fail(ErrorCode::kInvalidRequest,
                "Invalid 'dimensions': at most " + std::to_string(kMaxEmbeddingDims) + " are supported.",
                "dimensions");
  }
  req.dimensions = *dims;

  if (const json::value* f = o.if_contains("encoding_format"); f && !f->is_null()) {
    if (!f->is_string()) return InvalidType("encoding_format", "a string", *f);
    std::string_view fmt = Sv(f->get_string());
    if (fmt == "base64") {
      req.base64 = true;
    } else if (fmt != "float") {
      return Fail(ErrorCode::kInvalidRequest,
                  "Invalid value for 'encoding_format': expected 'float' or 'base64'.",
                  "encoding_format");
    }
  }
  return req;
}

std::string RenderEmbeddings(const EmbeddingsRequest& request, uint64_t dims) {
  std::string out;
  out.reserve(128 + request.model.size() + request.input_hashes.size() * (64 + dims * 12));
  out.append("{\"object\":\"list\",\"data\":[");
  char buf[32];
  for (std::size_t i = 0; i < request.input_hashes.size(); ++i) {
    if (i != 0) out.push_back(',');
    out.append("{\"object\":\"embedding\",\"index\":");
    AppendUint(out, i);
    out.append(",\"embedding\":");
    std::vector<float> v = UnitVector(request.input_hashes[i], dims);
    if (request.base64) {
      out.push_back('"');
      AppendBase64Floats(out, v);
      out.push_back('"');
    } else {
      out.push_back('[');
      for (std::size_t k = 0; k < v.size(); ++k) {
        if (k != 0) out.push_back(',');
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v[k]);
        out.append(buf, end);
      }
      out.push_back(']');
    }
    out.push_back('}');
  }
  out.append("],\"model\":");
  AppendJsonString(out, request.model);
  out.append(",\"usage\":{\"prompt_tokens\":");
  AppendUint(out, request.prompt_tokens);
  out.append(",\"total_tokens\":");
  AppendUint(out, request.prompt_tokens);
  out.append("}}");
  return out;
}

namespace {
void AppendModel(std::string& out, std::string_view id) {
  out.append("{\"id\":");
  AppendJsonString(out, id);
  out.append(",\"object\":\"model\",\"created\":");
  AppendUint(out, kCreated);
  out.append(",\"owned_by\":\"");
  out.append(kOwnedBy);
  out.append("\"}");
}
}  // namespace

std::string RenderModel(std::string_view id) {
  std::string out;
  AppendModel(out, id);
  return out;
}

std::string RenderModelList(std::span<const std::string> ids) {
  std::string out = "{\"object\":\"list\",\"data\":[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) out.push_back(',');
    AppendModel(out, ids[i]);
  }
  out.append("]}");
  return out;
}

std::string RenderErrorBody(std::string_view message, std::string_view type, std::string_view param,
                            std::string_view code) {
  std::string out;
  out.reserve(96 + message.size());
  out.append("{\"error\":{\"message\":");
  AppendJsonString(out, message);
  out.append(",\"type\":");
  AppendJsonString(out, type);
  out.append(",\"param\":");
  if (param.empty()) {
    out.append("null");
  } else {
    AppendJsonString(out, param);
  }
  out.append(",\"code\":");
  if (code.empty()) {
    out.append("null");
  } else {
    AppendJsonString(out, code);
  }
  out.append("}}");
  return out;
}

// --- The OpenAI dialect ------------------------------------------------------------------------

namespace {

constexpr std::string_view kOpenAiEventStream = "text/event-stream; charset=utf-8";

std::string_view FinishReason(Finish finish) {
  switch (finish) {
    case Finish::kStop: return "stop";
    case Finish::kLength: return "length";
    case Finish::kToolCall: return "tool_calls";
  }
  return "stop";
}

constexpr std::string_view kOverloadedMessage =
    "That model is currently overloaded with other requests (simulated by meridian-sim). "
    "Please try again later.";

// role (or tool head) | tokens, argument fragments or echo chunks | finish, [usage], [DONE]
class OpenAiScript final : public StreamScript {
 public:
  OpenAiScript(const ChatRequest& request, uint64_t tokens, Finish finish, std::size_t chunk_bytes)
      : request_(request), render_(request), tokens_(tokens), finish_(FinishReason(finish)) {
    tool_ = request.tool_call.has_value();
    echo_ = !tool_ && request.echo.has_value();
    if (tool_) fragments_ = ToolArgumentFragments(request.tool_call->arguments);
    if (echo_) fragments_ = Utf8Chunks(*request.echo, chunk_bytes);
  }

  std::string_view content_type() const override { return kOpenAiEventStream; }
  std::size_t prelude_size() const override { return 1; }
  std::size_t body_size() const override { return tool_ || echo_ ? fragments_.size() : tokens_; }
  std::size_t trailer_size() const override { return request_.include_usage ? 3 : 2; }

  std::string Event(std::size_t k) override {
    if (k == 0) return tool_ ? render_.ToolHeadEvent(*request_.tool_call) : render_.RoleEvent();
    std::size_t i = k - 1;
    if (i < body_size()) {
      if (tool_) return render_.ToolArgumentsEvent(fragments_[i]);
      if (echo_) return render_.ContentEvent(fragments_[i]);
      return render_.TokenEvent(request_.hash, i);
    }
    i -= body_size();
    if (i == 0) return render_.FinishEvent(finish_);
    if (i == 1 && request_.include_usage) return render_.UsageEvent(request_.prompt_tokens, tokens_);
    return std::string(ChatStreamRenderer::kDoneEvent);
  }

  std::vector<std::string> MalformedEvents() override {
    return {"data: {not json\n\n", std::string(ChatStreamRenderer::kDoneEvent)};
  }

  std::string ErrorEvent() override {
    return "data: " + RenderErrorBody(kOverloadedMessage, "server_error", {}, "overloaded") + "\n\n";
  }

 private:
  const ChatRequest& request_;
  ChatStreamRenderer render_;
  uint64_t tokens_;
  std::string_view finish_;
  bool tool_ = false;
  bool echo_ = false;
  std::vector<std::string_view> fragments_;
};

class OpenAi final : public Dialect {
 public:
  std::string Response(const ChatRequest& request, uint64_t completion_tokens, Finish finish) const override {
    return RenderChatCompletion(request, completion_tokens, FinishReason(finish));
  }

  std::unique_ptr<StreamScript> Stream(const ChatRequest& request, uint64_t completion_tokens, Finish finish,
                                       std::size_t chunk_bytes) const override {
    return std::make_unique<OpenAiScript>(request, completion_tokens, finish, chunk_bytes);
  }

  ErrorReply Error(ErrorKind kind, std::string_view message, std::string_view param,
                   std::string_view code) const override {
    switch (kind) {
      case ErrorKind::kInvalidRequest: return {400, RenderErrorBody(message, "invalid_request_error", param, code), {}};
      case ErrorKind::kAuthentication:
        return {401, RenderErrorBody(message, "invalid_request_error", param, code.empty() ? "invalid_api_key" : code), {}};
      case ErrorKind::kNotFound: return {404, RenderErrorBody(message, "invalid_request_error", param, code), {}};
      case ErrorKind::kMethodNotAllowed:
        return {405, RenderErrorBody(message, "invalid_request_error", param, code.empty() ? "method_not_allowed" : code), {}};
    }
    return {500, RenderErrorBody(message, "server_error"), {}};
  }

  ErrorReply ModelNotFound(std::string_view model) const override {
    return {404,
            RenderErrorBody("The model `" + std::string(model) + "` does not exist or you do not have access to it.",
                            "invalid_request_error", "model", "model_not_found"),
            {}};
  }

  ErrorReply FaultError(Fault fault, uint64_t retry_after_s) const override {
    std::string retry_after = std::to_string(retry_after_s);
    switch (fault) {
      case Fault::kRateLimit:
        return {429,
                RenderErrorBody("Rate limit reached for requests (simulated by meridian-sim). Please try again later.",
                                "requests", {}, "rate_limit_exceeded"),
                {{"retry-after", retry_after}}};
      case Fault::kUnavailable:
        return {503,
                RenderErrorBody("The server is overloaded or not ready yet (simulated by meridian-sim).",
                                "server_error", {}, "service_unavailable"),
                {{"retry-after", retry_after}}};
      case Fault::kOverloaded:
      case Fault::kErrorDuring:
        return {503, RenderErrorBody(kOverloadedMessage, "server_error", {}, "overloaded"), {{"retry-after", retry_after}}};
      default:
        return {500,
                RenderErrorBody("The server had an error while processing your request (simulated by meridian-sim).",
                                "server_error"),
                {}};
    }
  }
};

}  // namespace

const Dialect& OpenAiDialect() {
  static const OpenAi dialect;
  return dialect;
}

}  // namespace meridian::sim
