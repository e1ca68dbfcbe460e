#include "dialect/openai_responses.hpp"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dialect/openai_chat.hpp"

namespace meridian::dialect::responses {

namespace json = boost::json;
using detail::JsonWriter;
using detail::Path;
using detail::Reader;

namespace {

constexpr Dialect kSelf = Dialect::kOpenAiResponses;

// Message::source of the user message made from an `input` string (docs/dialects.md).
constexpr int kInputString = -2;

bool IsZero(const json::value& v) {
  return (v.is_int64() && v.get_int64() == 0) || (v.is_uint64() && v.get_uint64() == 0) ||
         (v.is_double() && v.get_double() == 0.0);
}
bool IsFalse(const json::value& v) { return v.is_bool() && !v.get_bool(); }
bool IsEmpty(const json::value& v) {
  return (v.is_object() && v.get_object().empty()) || (v.is_array() && v.get_array().empty());
}
bool IsString(const json::value& v, std::string_view s) {
  return v.is_string() && v.get_string() == s;
}

}  // namespace

// ---- rule R2: what is dropped when a Responses request crosses ---------------------------

bool DroppableExtra(detail::ExtraScope scope, std::string_view key, const json::value& value) {
  using detail::ExtraScope;
  if (value.is_null()) return true;
  switch (scope) {
    case ExtraScope::kRequest:
      // Neutral values: the defaults, which ask for nothing.
      if (key == "store" || key == "background") return IsFalse(value);
      if (key == "truncation") return IsString(value, "disabled");
      if (key == "metadata") return IsEmpty(value);
      if (key == "top_logprobs") return IsZero(value);
      if (key == "text.verbosity") return IsString(value, "medium");
      if (key == "reasoning.context") return IsString(value, "auto");
      if (key == "include") {
        // Encrypted reasoning: asks for a provider-bound blob (D4); nothing else may be there.
        if (!value.is_array()) return false;
        for (const json::value& x : value.get_array()) {
          if (!IsString(x, "reasoning.encrypted_content")) return false;
        }
        return true;
      }
      // Hints that do not change the answer: caching (D2), transport, reasoning display,
      // and a limit on built-in tool calls (built-in tools cannot cross).
      if (key == "prompt_cache_key" || key == "prompt_cache_retention" ||
          key == "prompt_cache_options" || key == "stream_options" ||
          key == "reasoning.summary" || key == "reasoning.generate_summary" ||
          key == "max_tool_calls") {
        return true;
      }
      return false;
    case ExtraScope::kMessage:
      // Item ids and statuses refer to stored items; `phase` labels an assistant message.
      return key == "id" || key == "status" || key == "phase";
    case ExtraScope::kPart:
      // Output metadata replayed in history, item ids and statuses, raw reasoning arrays.
      // `type`: an assistant text part spelled input_text.
      return key == "annotations" || key == "logprobs" || key == "id" || key == "status" ||
             key == "summary" || key == "content" || key == "item" || key == "type";
    case ExtraScope::kTool:
      if (key == "defer_loading") return IsFalse(value);
      return false;
    case ExtraScope::kConfig: return false;
  }
  return false;
}

namespace {

void StripExtras(json::object& extra, detail::ExtraScope scope) {
  for (auto it = extra.begin(); it != extra.end();) {
    if (DroppableExtra(scope, it->key(), it->value())) {
      it = extra.erase(it);
    } else {
      ++it;
    }
  }
}

void StripPart(ContentPart& p) {
  StripExtras(p.extra, detail::ExtraScope::kPart);
  for (ContentPart& c : p.content) StripPart(c);
}

}  // namespace

void PrepareForeign(ChatRequest& req) {
  if (req.origin != kSelf) return;
  if (req.user.empty()) {
    if (const auto* s = req.extra.if_contains("safety_identifier"); s && s->is_string()) {
      req.user = std::string(s->get_string());
    }
  }
  req.extra.erase("safety_identifier");
  StripExtras(req.extra, detail::ExtraScope::kRequest);
  for (Message& m : req.messages) {
    StripExtras(m.extra, detail::ExtraScope::kMessage);
    std::vector<ContentPart> kept;
    kept.reserve(m.content.size());
    for (ContentPart& p : m.content) {
      // A reasoning item without encrypted_content refers to reasoning stored at OpenAI:
      // meaningless elsewhere (D4).
      if (p.kind == PartKind::kThinking && p.signature.empty()) continue;
      StripPart(p);
      kept.push_back(std::move(p));
    }
    m.content = std::move(kept);
  }
  // An assistant turn that held only such reasoning is gone with it.
  std::erase_if(req.messages, [](const Message& m) {
    return m.role == Role::kAssistant && m.content.empty();
  });
  for (Tool& t : req.tools) StripExtras(t.extra, detail::ExtraScope::kTool);
  // A Responses stream always ends with its usage (response.completed): ask for it.
  if (req.stream) req.stream_include_usage = true;
}

// ---- request decoding --------------------------------------------------------------------

namespace {

std::optional<CacheControl> ReadBreakpoint(Reader& r, const json::object& part, const Path& p) {
  const json::value* v = Reader::Get(part, "prompt_cache_breakpoint");
  if (v == nullptr) return std::nullopt;
  const Path bp = p.Member("prompt_cache_breakpoint");
  const json::object* o = r.Object(*v, bp);
  if (o == nullptr) return std::nullopt;
  auto mode = r.OptString(*o, "mode", bp);
  if (mode && *mode != "explicit") r.Fail(bp.Member("mode"), "must be 'explicit'");
  return CacheControl{};
}

// input_text / input_image / input_file (user, system, developer messages and tool outputs);
// output_text / refusal (assistant messages).
void DecodePart(Reader& r, const json::value& v, bool assistant, const Path& p,
                std::vector<ContentPart>& out) {
  const json::object* o = r.Object(v, p);
  if (o == nullptr) return;
  const std::string_view type = r.ReqString(*o, "type", p);
  if (!r.ok()) return;
  const bool known = type == "input_text" || type == "input_image" || type == "input_file" ||
                     type == "output_text" || type == "refusal";
  if (!known) {
    r.Fail(p.Member("type"), "unknown content part '" + std::string(type) + "'");
    return;
  }
  const bool allowed = assistant ? (type == "output_text" || type == "refusal" ||
                                    type == "input_text")
                                 : (type != "output_text" && type != "refusal");
  if (!allowed) {
    r.Fail(p.Member("type"), "content part '" + std::string(type) + "' is not allowed in " +
                                 (assistant ? "an assistant message" : "this message"));
    return;
  }
  ContentPart part;
  if (type == "input_text" || type == "output_text") {
    part.kind = PartKind::kText;
    part.text = r.ReqString(*o, "text", p);
    part.cache = ReadBreakpoint(r, *o, p);
    detail::CollectExtra(*o, {"type", "text", "prompt_cache_breakpoint"}, part.extra);
    if (type == "input_text" && assistant) part.extra["type"] = "input_text";
  } else if (type == "refusal") {
    part.kind = PartKind::kRefusal;
    part.text = r.ReqString(*o, "refusal", p);
    detail::CollectExtra(*o, {"type", "refusal"}, part.extra);
  } else if (type == "input_image") {
    part.kind = PartKind::kImage;
    if (auto url = r.OptString(*o, "image_url", p)) {
      if (auto d = detail::ParseDataUrl(*url)) {
        part.source = SourceKind::kBase64;
        part.media_type = d->media_type;
        part.data = d->data;
      } else {
        part.source = SourceKind::kUrl;
        part.data = *url;
      }
    } else if (auto id = r.OptString(*o, "file_id", p)) {
      part.source = SourceKind::kFileId;
      part.data = *id;
    } else if (r.ok()) {
      r.Fail(p, "needs image_url or file_id");
    }
    if (auto detail = r.OptString(*o, "detail", p)) part.detail = *detail;
    part.cache = ReadBreakpoint(r, *o, p);
    detail::CollectExtra(*o, {"type", "image_url", "file_id", "detail", "prompt_cache_breakpoint"},
                         part.extra);
  } else {  // input_file
    part.kind = PartKind::kDocument;
    if (auto id = r.OptString(*o, "file_id", p)) {
      part.source = SourceKind::kFileId;
      part.data = *id;
    } else if (auto data = r.OptString(*o, "file_data", p)) {
      part.source = SourceKind::kBase64;
      if (auto d = detail::ParseDataUrl(*data)) {
        part.media_type = d->media_type;
        part.data = d->data;
      } else {
        part.data = *data;
      }
    } else if (auto url = r.OptString(*o, "file_url", p)) {
      part.source = SourceKind::kUrl;
      part.data = *url;
    } else if (r.ok()) {
      r.Fail(p, "needs file_id, file_data or file_url");
    }
    if (auto name = r.OptString(*o, "filename", p)) part.name = *name;
    part.cache = ReadBreakpoint(r, *o, p);
    detail::CollectExtra(*o, {"type", "file_id", "file_data", "file_url", "filename",
                              "prompt_cache_breakpoint"},
                         part.extra);
  }
  out.push_back(std::move(part));
}

void DecodeContent(Reader& r, const json::value& c, bool assistant, const Path& cp,
                   std::vector<ContentPart>& out) {
  if (const auto* s = c.if_string()) {
    out.push_back(ContentPart::Text(std::string(s->data(), s->size())));
    return;
  }
  const json::array* a = r.Array(c, cp);
  if (a == nullptr) return;
  for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
    DecodePart(r, (*a)[i], assistant, cp.At(i), out);
  }
}

// Joined texts of a reasoning item's summary (or content) array: "\n\n" between parts.
std::string JoinTexts(Reader& r, const json::value* v, const Path& p) {
  std::string out;
  if (v == nullptr) return out;
  const json::array* a = r.Array(*v, p);
  if (a == nullptr) return out;
  for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
    const json::object* o = r.Object((*a)[i], p.At(i));
    if (o == nullptr) return out;
    if (i > 0) out += "\n\n";
    out += r.ReqString(*o, "text", p.At(i));
  }
  return out;
}

// A reasoning item → a thinking part (request and response alike).
ContentPart DecodeReasoning(Reader& r, const json::object& o, const Path& p) {
  ContentPart part;
  part.kind = PartKind::kThinking;
  if (auto id = r.OptString(o, "id", p)) part.id = *id;
  const json::value* summary = Reader::Get(o, "summary");
  const json::value* content = Reader::Get(o, "content");
  part.text = JoinTexts(r, summary, p.Member("summary"));
  if (summary == nullptr || IsEmpty(*summary)) {
    if (content != nullptr) part.text = JoinTexts(r, content, p.Member("content"));
  }
  if (auto enc = r.OptString(o, "encrypted_content", p)) part.signature = *enc;
  detail::CollectExtra(o, {"type", "id", "summary", "encrypted_content"}, part.extra);
  // Kept whole when the canonical text cannot give it back (docs/dialects.md).
  if (summary != nullptr && summary->is_array() && summary->get_array().size() > 1) {
    part.extra["summary"] = *summary;
  } else if ((summary == nullptr || IsEmpty(*summary)) && content != nullptr) {
    part.extra["summary"] = json::array();  // the text came from `content`
  }
  return part;
}

ContentPart DecodeFunctionCall(Reader& r, const json::object& o, const Path& p) {
  ContentPart part;
  part.kind = PartKind::kToolUse;
  part.id = r.ReqString(o, "call_id", p);
  part.name = r.ReqString(o, "name", p);
  part.arguments = r.ReqString(o, "arguments", p);
  detail::CollectExtra(o, {"type", "call_id", "name", "arguments"}, part.extra);
  return part;
}

// The assistant message the next assistant-side item joins: the last message when it is an
// assistant one (or a new one).
Message& AssistantTail(std::vector<Message>& msgs, int index) {
  if (msgs.empty() || msgs.back().role != Role::kAssistant) {
    Message m;
    m.role = Role::kAssistant;
    m.source = index;
    msgs.push_back(std::move(m));
  }
  return msgs.back();
}

bool OnlyThinking(const Message& m) {
  for (const ContentPart& p : m.content) {
    if (p.kind != PartKind::kThinking) return false;
  }
  return true;
}

void DecodeItem(Reader& r, const json::value& v, const Path& ip, int index,
                std::vector<Message>& out) {
  const json::object* o = r.Object(v, ip);
  if (o == nullptr) return;
  auto type_opt = r.OptString(*o, "type", ip);
  if (!r.ok()) return;
  const std::string_view type = type_opt.value_or("message");
  if (type == "message") {
    const std::string_view role = r.ReqString(*o, "role", ip);
    if (!r.ok()) return;
    const json::value* c = Reader::Get(*o, "content");
    if (c == nullptr) {
      r.Fail(ip.Member("content"), "missing");
      return;
    }
    if (role == "assistant") {
      // Joins a message holding only reasoning so far (reasoning, then its message).
      Message* m = nullptr;
      if (!out.empty() && out.back().role == Role::kAssistant && out.back().extra.empty() &&
          OnlyThinking(out.back())) {
        m = &out.back();
      } else {
        Message fresh;
        fresh.role = Role::kAssistant;
        fresh.source = index;
        out.push_back(std::move(fresh));
        m = &out.back();
      }
      DecodeContent(r, *c, true, ip.Member("content"), m->content);
      detail::CollectExtra(*o, {"type", "role", "content"}, m->extra);
      return;
    }
    Message msg;
    msg.source = index;
    if (role == "user") msg.role = Role::kUser;
    else if (role == "system") msg.role = Role::kSystem;
    else if (role == "developer") msg.role = Role::kDeveloper;
    else {
      r.Fail(ip.Member("role"), "unknown role '" + std::string(role) + "'");
      return;
    }
    DecodeContent(r, *c, false, ip.Member("content"), msg.content);
    detail::CollectExtra(*o, {"type", "role", "content"}, msg.extra);
    out.push_back(std::move(msg));
    return;
  }
  if (type == "function_call") {
    ContentPart part = DecodeFunctionCall(r, *o, ip);
    AssistantTail(out, index).content.push_back(std::move(part));
    return;
  }
  if (type == "reasoning") {
    ContentPart part = DecodeReasoning(r, *o, ip);
    AssistantTail(out, index).content.push_back(std::move(part));
    return;
  }
  if (type == "function_call_output") {
    Message msg;
    msg.role = Role::kTool;
    msg.source = index;
    ContentPart result;
    result.kind = PartKind::kToolResult;
    result.id = r.ReqString(*o, "call_id", ip);
    const json::value* output = Reader::Get(*o, "output");
    if (output == nullptr) {
      r.Fail(ip.Member("output"), "missing");
      return;
    }
    DecodeContent(r, *output, false, ip.Member("output"), result.content);
    detail::CollectExtra(*o, {"type", "call_id", "output"}, result.extra);
    msg.content.push_back(std::move(result));
    out.push_back(std::move(msg));
    return;
  }
  // Built-in tool calls and their outputs, item references, custom tool calls, ...: kept
  // whole for a Responses upstream (400 elsewhere).
  ContentPart part;
  part.kind = PartKind::kOpaque;
  part.raw = detail::Copy(v);
  AssistantTail(out, index).content.push_back(std::move(part));
}

void DecodeTools(Reader& r, const json::value& v, const Path& p, std::vector<Tool>& out) {
  const json::array* a = r.Array(v, p);
  if (a == nullptr) return;
  for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
    const Path tp = p.At(i);
    const json::object* o = r.Object((*a)[i], tp);
    if (o == nullptr) return;
    const std::string_view type = r.ReqString(*o, "type", tp);
    if (!r.ok()) return;
    Tool tool;
    if (type != "function") {  // web_search, file_search, mcp, custom, ...: Responses only
      tool.raw = detail::Copy((*a)[i]);
      out.push_back(std::move(tool));
      continue;
    }
    tool.name = r.ReqString(*o, "name", tp);
    if (auto d = r.OptString(*o, "description", tp)) tool.description = *d;
    if (const json::value* params = Reader::Get(*o, "parameters")) {
      if (r.Object(*params, tp.Member("parameters")) != nullptr) {
        tool.parameters.emplace(*params, json::storage_ptr());
      }
    }
    tool.strict = r.OptBool(*o, "strict", tp);
    detail::CollectExtra(*o, {"type", "name", "description", "parameters", "strict"}, tool.extra);
    out.push_back(std::move(tool));
  }
}

void DecodeToolChoice(Reader& r, const json::value& v, const Path& p, ToolChoice& out) {
  if (const auto* s = v.if_string()) {
    if (*s == "auto") out.mode = ToolChoice::Mode::kAuto;
    else if (*s == "none") out.mode = ToolChoice::Mode::kNone;
    else if (*s == "required") out.mode = ToolChoice::Mode::kRequired;
    else r.Fail(p, "unknown value '" + std::string(s->data(), s->size()) + "'");
    return;
  }
  const json::object* o = r.Object(v, p);
  if (o == nullptr) return;
  const std::string_view type = r.ReqString(*o, "type", p);
  if (!r.ok()) return;
  if (type == "function") {
    out.mode = ToolChoice::Mode::kTool;
    out.name = r.ReqString(*o, "name", p);
    return;
  }
  out.raw = detail::Copy(v);  // allowed_tools, built-in tool types, mcp, custom
}

void DecodeFormat(Reader& r, const json::value& v, const Path& p,
                  std::optional<ResponseFormat>& out) {
  const json::object* o = r.Object(v, p);
  if (o == nullptr) return;
  const std::string_view type = r.ReqString(*o, "type", p);
  if (!r.ok()) return;
  ResponseFormat f;
  if (type == "text") {
    f.type = ResponseFormat::Type::kText;
  } else if (type == "json_object") {
    f.type = ResponseFormat::Type::kJsonObject;
  } else if (type == "json_schema") {
    f.type = ResponseFormat::Type::kJsonSchema;
    f.name = r.ReqString(*o, "name", p);
    if (auto d = r.OptString(*o, "description", p)) f.description = *d;
    if (const json::value* schema = Reader::Get(*o, "schema")) {
      f.schema = detail::Copy(*schema);
    } else if (r.ok()) {
      r.Fail(p.Member("schema"), "missing");
    }
    f.strict = r.OptBool(*o, "strict", p);
  } else {
    r.Fail(p.Member("type"), "unknown format '" + std::string(type) + "'");
    return;
  }
  out = std::move(f);
}

// Members of a nested request object other than `known`, kept as "<prefix>.<member>".
void CollectNested(const json::object& o, std::string_view prefix,
                   std::initializer_list<std::string_view> known, json::object& extra) {
  json::object rest;
  detail::CollectExtra(o, known, rest);
  for (auto& kv : rest) {
    extra[std::string(prefix) + "." + std::string(kv.key())] = std::move(kv.value());
  }
}

}  // namespace

core::Result<ChatRequest> DecodeRequest(const json::object& body) {
  Reader r;
  ChatRequest req;
  req.origin = kSelf;
  const Path root;
  req.model = r.ReqString(body, "model", root);
  if (auto instructions = r.OptString(body, "instructions", root)) {
    Message m;
    m.role = Role::kSystem;
    m.source = -1;
    m.content.push_back(ContentPart::Text(std::string(*instructions)));
    req.messages.push_back(std::move(m));
  }
  const json::value* input = Reader::Get(body, "input");
  if (input == nullptr) {
    r.Fail(root.Member("input"), "missing");
  } else if (const auto* s = input->if_string()) {
    Message m;
    m.role = Role::kUser;
    m.source = kInputString;
    m.content.push_back(ContentPart::Text(std::string(s->data(), s->size())));
    req.messages.push_back(std::move(m));
  } else if (const json::array* a = r.Array(*input, root.Member("input"))) {
    req.messages.reserve(req.messages.size() + a->size());
    const Path ip = root.Member("input");
    for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
      DecodeItem(r, (*a)[i], ip.At(i), static_cast<int>(i), req.messages);
    }
  }
  if (const json::value* v = Reader::Get(body, "tools")) {
    DecodeTools(r, *v, root.Member("tools"), req.tools);
  }
  if (const json::value* v = Reader::Get(body, "tool_choice")) {
    DecodeToolChoice(r, *v, root.Member("tool_choice"), req.tool_choice);
  }
  req.parallel_tool_calls = r.OptBool(body, "parallel_tool_calls", root);
  if (const json::value* v = Reader::Get(body, "text")) {
    const Path tp = root.Member("text");
    if (const json::object* t = r.Object(*v, tp)) {
      if (const json::value* f = Reader::Get(*t, "format")) {
        DecodeFormat(r, *f, tp.Member("format"), req.response_format);
      }
      CollectNested(*t, "text", {"format"}, req.extra);
    }
  }
  req.temperature = r.OptNumber(body, "temperature", root);
  req.top_p = r.OptNumber(body, "top_p", root);
  req.max_tokens = r.OptInt(body, "max_output_tokens", root);
  if (const json::value* v = Reader::Get(body, "reasoning")) {
    const Path rp = root.Member("reasoning");
    if (const json::object* o = r.Object(*v, rp)) {
      if (auto e = r.OptString(*o, "effort", rp)) req.reasoning.effort = *e;
      CollectNested(*o, "reasoning", {"effort"}, req.extra);
    }
  }
  req.stream = r.OptBool(body, "stream", root).value_or(false);
  if (auto u = r.OptString(body, "user", root)) req.user = *u;
  if (auto t = r.OptString(body, "service_tier", root)) req.service_tier = *t;
  detail::CollectExtra(body,
                       {"model", "instructions", "input", "tools", "tool_choice",
                        "parallel_tool_calls", "text", "temperature", "top_p",
                        "max_output_tokens", "reasoning", "stream", "user", "service_tier"},
                       req.extra);
  if (!r.ok()) return std::unexpected(r.TakeError());
  return req;
}

core::Result<ChatRequest> DecodeRequest(std::string_view body) {
  detail::ScratchObject scratch;
  auto obj = scratch.Parse(body, core::ErrorCode::kInvalidRequest);
  if (!obj) return std::unexpected(std::move(obj.error()));
  return DecodeRequest(**obj);
}

// ---- request encoding ----------------------------------------------------------------------

namespace {

// Where a canonical element came from in the origin's body, for 400s (the origin's client
// reads its own field names).
std::string TopField(Dialect origin, std::string_view canonical) {
  if (origin == Dialect::kOpenAiChat) {
    if (canonical == "reasoning") return "reasoning_effort";
    if (canonical == "max_tokens") return "max_completion_tokens";
  }
  if (origin == Dialect::kAnthropicMessages) {
    if (canonical == "stop") return "stop_sequences";
    if (canonical == "user") return "metadata.user_id";
    if (canonical == "response_format") return "output_config.format";
    if (canonical == "reasoning") return "thinking";
  }
  if (origin == Dialect::kGemini) return detail::GeminiField(canonical);
  return std::string(canonical);
}

std::string MessagePath(Dialect origin, const Message& m, std::size_t i) {
  if (origin == Dialect::kGemini) return detail::GeminiMessagePath(m);
  if (m.source < 0) {
    if (origin == Dialect::kAnthropicMessages) return "system";
    return "messages[" + std::to_string(i) + "]";
  }
  return "messages[" + std::to_string(m.source) + "]";
}

std::string PartPath(Dialect origin, const Message& m, std::size_t i, std::size_t j) {
  if (origin == Dialect::kGemini) return detail::GeminiPartPath(m, j);
  if (origin == Dialect::kOpenAiChat) {
    const ContentPart& p = m.content[j];
    if (m.role == Role::kAssistant && p.kind == PartKind::kToolUse) {
      std::size_t k = 0;
      for (std::size_t x = 0; x < j; ++x) k += m.content[x].kind == PartKind::kToolUse;
      return MessagePath(origin, m, i) + ".tool_calls[" + std::to_string(k) + "]";
    }
    if (m.role == Role::kTool) return MessagePath(origin, m, i) + ".content";
  }
  if (origin == Dialect::kAnthropicMessages && m.source < 0) {
    return "system[" + std::to_string(j) + "]";
  }
  return MessagePath(origin, m, i) + ".content[" + std::to_string(m.source_offset + j) + "]";
}

// Request members with another name in the Responses API, passed on from Chat Completions
// (both are OpenAI's: same meaning).
bool ChatPassThrough(std::string_view key) {
  return key == "safety_identifier" || key == "prompt_cache_key" ||
         key == "prompt_cache_retention";
}

struct Encoder {
  Encoder(const ChatRequest& request, const EncodeOptions& options)
      : req(request), opt(options) {}
  const ChatRequest& req;
  const EncodeOptions& opt;
  Reader r;
  std::string out;
  JsonWriter w{out};

  bool foreign() const { return req.origin != kSelf; }
  void FailAt(std::string path, std::string_view problem) { r.FailAt(std::move(path), problem); }

  void Breakpoint(const std::optional<CacheControl>& cache) {
    if (!cache || !opt.cache_breakpoints) return;
    w.Key("prompt_cache_breakpoint");
    w.BeginObject();
    w.Str("mode", "explicit");
    w.EndObject();
  }

  // Same dialect: writes the members (`skip`: one not to write); else fails at the first one
  // the Responses API cannot carry.
  void Extras(const json::object& extra, detail::ExtraScope scope, const std::string& path,
              std::string_view skip = {}) {
    if (extra.empty()) return;
    if (!foreign()) {
      for (const auto& kv : extra) {
        if (!skip.empty() && kv.key() == skip) continue;
        w.Key(kv.key());
        w.Value(kv.value());
      }
      return;
    }
    Path root;
    Path p{&root, path};
    detail::RejectExtras(r, extra, req.origin, kSelf, scope, p);
  }

  static bool PlainText(const std::vector<ContentPart>& parts) {
    return parts.size() == 1 && parts[0].kind == PartKind::kText && !parts[0].cache &&
           parts[0].extra.empty();
  }

  std::string SourceProblem(const ContentPart& p, std::string_view what) {
    return std::string(p.source == SourceKind::kUrl    ? "URL "
                       : p.source == SourceKind::kText ? "plain-text "
                                                       : "file references as ") +
           std::string(what) + " are " + detail::Unsupported(kSelf);
  }

  // An input part (user/system/developer content, tool output).
  void InputPart(const ContentPart& p, const std::string& path) {
    const std::string source_path = req.origin == Dialect::kGemini ? path : path + ".source";
    switch (p.kind) {
      case PartKind::kText:
        w.BeginObject();
        w.Str("type", "input_text");
        w.Str("text", p.text);
        Breakpoint(p.cache);
        Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      case PartKind::kImage:
        w.BeginObject();
        w.Str("type", "input_image");
        if (p.source == SourceKind::kUrl) {
          w.Str("image_url", p.data);
        } else if (p.source == SourceKind::kBase64) {
          w.Key("image_url");
          w.String("data:" + p.media_type + ";base64," + p.data);
        } else if (p.source == SourceKind::kFileId && !foreign()) {
          w.Str("file_id", p.data);
        } else {
          FailAt(source_path, "file references are " + detail::Unsupported(kSelf));
        }
        if (!p.detail.empty()) w.Str("detail", p.detail);
        Breakpoint(p.cache);
        Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      case PartKind::kDocument:
        w.BeginObject();
        w.Str("type", "input_file");
        if (p.source == SourceKind::kBase64) {
          w.Key("file_data");
          if (p.media_type.empty()) w.String(p.data);
          else w.String("data:" + p.media_type + ";base64," + p.data);
        } else if (p.source == SourceKind::kUrl) {
          w.Str("file_url", p.data);
        } else if (p.source == SourceKind::kFileId && !foreign()) {
          w.Str("file_id", p.data);
        } else {
          FailAt(source_path, SourceProblem(p, "documents"));
        }
        if (!p.name.empty()) w.Str("filename", p.name);
        Breakpoint(p.cache);
        Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      case PartKind::kOpaque:
        if (foreign()) {
          FailAt(path, detail::OpaquePartLabel(p.raw) + " is " + detail::Unsupported(kSelf));
          return;
        }
        w.Value(p.raw);
        return;
      default:
        FailAt(path, std::string(PartKindName(p.kind)) + " content in this message is " +
                         detail::Unsupported(kSelf));
    }
  }

  void InputMessage(const Message& m, std::size_t i) {
    w.BeginObject();
    w.Str("type", "message");
    w.Str("role", RoleName(m.role));
    if (PlainText(m.content)) {
      w.Str("content", m.content[0].text);
    } else {
      w.Key("content");
      w.BeginArray();
      for (std::size_t j = 0; j < m.content.size() && r.ok(); ++j) {
        InputPart(m.content[j], PartPath(req.origin, m, i, j));
      }
      w.EndArray();
    }
    Extras(m.extra, detail::ExtraScope::kMessage, MessagePath(req.origin, m, i));
    w.EndObject();
  }

  // One assistant message item for the text/refusal parts [b, e) of `m`.
  void AssistantText(const Message& m, std::size_t i, std::size_t b, std::size_t e,
                     bool with_extras) {
    w.BeginObject();
    w.Str("type", "message");
    w.Str("role", "assistant");
    if (e - b == 1 && m.content[b].kind == PartKind::kText && !m.content[b].cache &&
        m.content[b].extra.empty()) {
      w.Str("content", m.content[b].text);
    } else {
      w.Key("content");
      w.BeginArray();
      for (std::size_t j = b; j < e; ++j) {
        const ContentPart& p = m.content[j];
        const std::string path = PartPath(req.origin, m, i, j);
        w.BeginObject();
        if (p.kind == PartKind::kRefusal) {
          w.Str("type", "refusal");
          w.Str("refusal", p.text);
        } else {
          const json::value* t = foreign() ? nullptr : p.extra.if_contains("type");
          w.Str("type", t != nullptr && t->is_string() ? std::string_view(t->get_string())
                                                       : std::string_view("output_text"));
          w.Str("text", p.text);
          // A cache marker on assistant output text has no Responses form: dropped (D2).
        }
        Extras(p.extra, detail::ExtraScope::kPart, path, "type");
        w.EndObject();
      }
      w.EndArray();
    }
    if (with_extras) Extras(m.extra, detail::ExtraScope::kMessage, MessagePath(req.origin, m, i));
    w.EndObject();
  }

  void Assistant(const Message& m, std::size_t i) {
    bool extras_written = false;
    for (std::size_t j = 0; j < m.content.size() && r.ok();) {
      const ContentPart& p = m.content[j];
      const std::string path = PartPath(req.origin, m, i, j);
      switch (p.kind) {
        case PartKind::kText:
        case PartKind::kRefusal: {
          std::size_t e = j + 1;
          while (e < m.content.size() && (m.content[e].kind == PartKind::kText ||
                                          m.content[e].kind == PartKind::kRefusal)) {
            ++e;
          }
          AssistantText(m, i, j, e, !extras_written);
          extras_written = true;
          j = e;
          continue;
        }
        case PartKind::kToolUse:
          w.BeginObject();
          w.Str("type", "function_call");
          w.Str("call_id", p.id);
          w.Str("name", p.name);
          w.Str("arguments", p.arguments);
          if (!foreign()) w.Members(p.extra);
          // Another dialect's call members (Gemini thought signatures, ...) were refused or
          // dropped by their own rules when decoded; the call itself is what matters here.
          w.EndObject();
          break;
        case PartKind::kThinking:
          // Reasoning is signed for the provider that wrote it (D4): only a Responses body's
          // own reasoning items go back.
          if (foreign()) break;
          w.BeginObject();
          w.Str("type", "reasoning");
          if (!p.id.empty()) w.Str("id", p.id);
          if (const json::value* s = p.extra.if_contains("summary")) {
            w.Key("summary");
            w.Value(*s);
          } else {
            w.Key("summary");
            w.BeginArray();
            if (!p.text.empty()) {
              w.BeginObject();
              w.Str("type", "summary_text");
              w.Str("text", p.text);
              w.EndObject();
            }
            w.EndArray();
          }
          if (!p.signature.empty()) w.Str("encrypted_content", p.signature);
          for (const auto& kv : p.extra) {
            if (kv.key() == "summary") continue;
            w.Key(kv.key());
            w.Value(kv.value());
          }
          w.EndObject();
          break;
        case PartKind::kRedactedThinking: break;  // D4
        case PartKind::kOpaque:
          if (foreign()) {
            FailAt(path, detail::OpaquePartLabel(p.raw) + " is " + detail::Unsupported(kSelf));
            return;
          }
          w.Value(p.raw);
          break;
        default:
          FailAt(path, std::string(PartKindName(p.kind)) + " content in an assistant message is " +
                           detail::Unsupported(kSelf));
          return;
      }
      ++j;
    }
    if (!extras_written) Extras(m.extra, detail::ExtraScope::kMessage, MessagePath(req.origin, m, i));
  }

  void ToolOutput(const Message& m, std::size_t i, const ContentPart& result, std::size_t j) {
    const std::string path = PartPath(req.origin, m, i, j);
    if (result.kind != PartKind::kToolResult) {
      FailAt(path, "a tool message holds one tool result");
      return;
    }
    w.BeginObject();
    w.Str("type", "function_call_output");
    w.Str("call_id", result.id);
    // is_error has no Responses field: the output says so (rule M6).
    std::vector<ContentPart> parts;
    const std::vector<ContentPart>* content = &result.content;
    if (result.is_error || (result.cache && opt.cache_breakpoints)) {
      parts = result.content;
      if (result.is_error) {
        if (!parts.empty() && parts[0].kind == PartKind::kText) {
          parts[0].text.insert(0, "Error: ");
        } else {
          parts.insert(parts.begin(), ContentPart::Text("Error"));
        }
      }
      if (result.cache && opt.cache_breakpoints) {
        if (parts.empty()) parts.push_back(ContentPart::Text(""));
        parts.back().cache = result.cache;
      }
      content = &parts;
    }
    if (content->empty()) {
      w.Str("output", "");
    } else if (PlainText(*content)) {
      w.Str("output", (*content)[0].text);
    } else {
      w.Key("output");
      w.BeginArray();
      for (std::size_t k = 0; k < content->size() && r.ok(); ++k) {
        const std::string inner = req.origin == Dialect::kOpenAiChat
                                      ? path
                                      : path + ".content[" + std::to_string(k) + "]";
        InputPart((*content)[k], inner);
      }
      w.EndArray();
    }
    Extras(result.extra, detail::ExtraScope::kPart, path);
    Extras(m.extra, detail::ExtraScope::kMessage, MessagePath(req.origin, m, i));
    w.EndObject();
  }

  void Input() {
    const auto& msgs = req.messages;
    std::size_t first = 0;
    if (!foreign() && !msgs.empty() && msgs[0].source == -1 && msgs[0].role == Role::kSystem &&
        PlainText(msgs[0].content)) {
      w.Str("instructions", msgs[0].content[0].text);
      first = 1;
    }
    if (foreign() && !msgs.empty() && msgs.back().role == Role::kAssistant) {
      FailAt(MessagePath(req.origin, msgs.back(), msgs.size() - 1),
             "a final assistant message (prefill) is " + detail::Unsupported(kSelf));
      return;
    }
    if (!foreign() && msgs.size() == first + 1 && msgs[first].source == kInputString &&
        msgs[first].role == Role::kUser && PlainText(msgs[first].content)) {
      w.Str("input", msgs[first].content[0].text);
      return;
    }
    w.Key("input");
    w.BeginArray();
    for (std::size_t i = first; i < msgs.size() && r.ok(); ++i) {
      const Message& m = msgs[i];
      switch (m.role) {
        case Role::kSystem:
        case Role::kDeveloper:
        case Role::kUser: InputMessage(m, i); break;
        case Role::kAssistant: Assistant(m, i); break;
        case Role::kTool:
          for (std::size_t j = 0; j < m.content.size() && r.ok(); ++j) {
            ToolOutput(m, i, m.content[j], j);
          }
          break;
      }
    }
    w.EndArray();
  }

  void Tools() {
    if (req.tools.empty()) return;
    w.Key("tools");
    w.BeginArray();
    for (std::size_t i = 0; i < req.tools.size() && r.ok(); ++i) {
      const Tool& t = req.tools[i];
      const std::string path = req.origin == Dialect::kGemini ? detail::GeminiToolPath(t, i)
                                                              : "tools[" + std::to_string(i) + "]";
      if (!t.raw.is_null()) {
        if (!foreign()) {
          w.Value(t.raw);
          continue;
        }
        if (req.origin == Dialect::kGemini) {
          FailAt(path, "this tool is " + detail::Unsupported(kSelf));
          return;
        }
        std::string type;
        if (t.raw.is_object()) {
          if (const auto* ty = t.raw.get_object().if_contains("type"); ty && ty->is_string()) {
            type = std::string(ty->get_string());
          }
        }
        FailAt(path + ".type", "tool type '" + type + "' is " + detail::Unsupported(kSelf));
        return;
      }
      w.BeginObject();
      w.Str("type", "function");
      w.Str("name", t.name);
      if (!t.description.empty()) w.Str("description", t.description);
      if (t.parameters) {
        w.Key("parameters");
        w.Value(*t.parameters);
      } else if (foreign()) {
        w.Key("parameters");  // required by the Responses API
        w.Raw(R"({"type":"object","properties":{}})");
      }
      if (t.strict) {
        w.Key("strict");
        w.Bool(*t.strict);
      } else if (foreign()) {
        // The Responses API enforces schemas unless told not to; the other dialects do not.
        w.Key("strict");
        w.Bool(false);
      }
      Extras(t.extra, detail::ExtraScope::kTool, path);
      w.EndObject();
    }
    w.EndArray();
  }

  void ToolChoiceField() {
    const ToolChoice& c = req.tool_choice;
    if (!c.raw.is_null()) {
      if (foreign()) {
        FailAt(TopField(req.origin, "tool_choice"), detail::Unsupported(kSelf));
        return;
      }
      w.Key("tool_choice");
      w.Value(c.raw);
      return;
    }
    switch (c.mode) {
      case ToolChoice::Mode::kUnset: break;
      case ToolChoice::Mode::kAuto: w.Str("tool_choice", "auto"); break;
      case ToolChoice::Mode::kNone: w.Str("tool_choice", "none"); break;
      case ToolChoice::Mode::kRequired: w.Str("tool_choice", "required"); break;
      case ToolChoice::Mode::kTool:
        w.Key("tool_choice");
        w.BeginObject();
        w.Str("type", "function");
        w.Str("name", c.name);
        w.EndObject();
        break;
    }
  }

  // Same-dialect members kept as "<prefix>.<member>" in the request's extra.
  bool HasNested(std::string_view prefix) const {
    if (foreign()) return false;
    for (const auto& kv : req.extra) {
      const std::string_view k = kv.key();
      if (k.size() > prefix.size() && k.substr(0, prefix.size()) == prefix &&
          k[prefix.size()] == '.') {
        return true;
      }
    }
    return false;
  }
  void WriteNested(std::string_view prefix) {
    if (foreign()) return;
    for (const auto& kv : req.extra) {
      const std::string_view k = kv.key();
      if (k.size() > prefix.size() && k.substr(0, prefix.size()) == prefix &&
          k[prefix.size()] == '.') {
        w.Key(k.substr(prefix.size() + 1));
        w.Value(kv.value());
      }
    }
  }

  void TextField() {
    std::string_view verbosity;
    if (req.origin == Dialect::kOpenAiChat) {
      if (const auto* v = req.extra.if_contains("verbosity"); v && v->is_string()) {
        verbosity = v->get_string();
      }
    }
    if (!req.response_format && !HasNested("text") && verbosity.empty()) return;
    w.Key("text");
    w.BeginObject();
    if (req.response_format) {
      const ResponseFormat& f = *req.response_format;
      w.Key("format");
      w.BeginObject();
      switch (f.type) {
        case ResponseFormat::Type::kText: w.Str("type", "text"); break;
        case ResponseFormat::Type::kJsonObject: w.Str("type", "json_object"); break;
        case ResponseFormat::Type::kJsonSchema:
          w.Str("type", "json_schema");
          // Anthropic's and Gemini's formats have no name: one is required here.
          w.Str("name", f.name.empty() ? std::string_view("response") : std::string_view(f.name));
          if (!f.description.empty()) w.Str("description", f.description);
          w.Key("schema");
          if (f.schema.is_null()) w.Raw("{}");
          else w.Value(f.schema);
          if (f.strict) {
            w.Key("strict");
            w.Bool(*f.strict);
          }
          break;
      }
      w.EndObject();
    }
    if (!verbosity.empty()) w.Str("verbosity", verbosity);
    WriteNested("text");
    w.EndObject();
  }

  void ReasoningField() {
    const Reasoning& rs = req.reasoning;
    std::string_view effort = rs.effort;
    if (foreign() && effort.empty() && rs.thinking == Reasoning::Thinking::kEnabled &&
        rs.budget_tokens) {
      // An Anthropic / Gemini budget → the nearest effort (rule M2).
      const std::int64_t b = *rs.budget_tokens;
      effort = b < 4096 ? "low" : b < 16384 ? "medium" : "high";
    }
    // Clients that show reasoning (Anthropic thinking, Gemini includeThoughts) get a summary.
    bool summary = false;
    if (foreign()) {
      const bool on = rs.thinking == Reasoning::Thinking::kEnabled ||
                      rs.thinking == Reasoning::Thinking::kAdaptive;
      summary = rs.display == "summarized" ||
                (req.origin == Dialect::kAnthropicMessages && on && rs.display.empty());
    }
    if (effort.empty() && !summary && !HasNested("reasoning")) return;
    w.Key("reasoning");
    w.BeginObject();
    if (!effort.empty()) w.Str("effort", effort);
    if (summary) w.Str("summary", "auto");
    WriteNested("reasoning");
    w.EndObject();
  }

  void Run() {
    w.BeginObject();
    w.Str("model", req.model);
    Input();
    if (!r.ok()) return;
    Tools();
    ToolChoiceField();
    if (req.parallel_tool_calls && (!foreign() || !req.tools.empty())) {
      w.Key("parallel_tool_calls");
      w.Bool(*req.parallel_tool_calls);
    }
    TextField();
    if (req.temperature) {
      w.Key("temperature");
      w.Double(*req.temperature);
    }
    if (req.top_p) {
      w.Key("top_p");
      w.Double(*req.top_p);
    }
    if (req.top_k) FailAt(TopField(req.origin, "top_k"), detail::Unsupported(kSelf));
    if (req.max_tokens) w.Int("max_output_tokens", *req.max_tokens);
    if (!req.stop.empty()) FailAt(TopField(req.origin, "stop"), detail::Unsupported(kSelf));
    if (req.seed) FailAt(TopField(req.origin, "seed"), detail::Unsupported(kSelf));
    ReasoningField();
    if (req.stream) {
      w.Key("stream");
      w.Bool(true);
    }
    if (!req.user.empty()) w.Str("user", req.user);
    if (!req.service_tier.empty()) {
      const std::string& t = req.service_tier;
      if (!foreign() || req.origin == Dialect::kOpenAiChat) {
        w.Str("service_tier", t);  // OpenAI's own tiers
      } else if (t == "auto") {
        w.Str("service_tier", "auto");
      } else if (t == "standard_only") {
        w.Str("service_tier", "default");
      } else {
        FailAt("service_tier", "'" + t + "' is " + detail::Unsupported(kSelf));
      }
    }
    if (!foreign()) {
      for (const auto& kv : req.extra) {
        if (kv.key().find('.') != std::string_view::npos) continue;  // written nested
        w.Key(kv.key());
        w.Value(kv.value());
      }
    } else {
      // Nothing is stored upstream for a client of another dialect (as in Chat Completions,
      // whose `store` defaults to false).
      w.Key("store");
      w.Bool(false);
      if (req.origin == Dialect::kOpenAiChat) {
        json::object rest;
        for (const auto& kv : req.extra) {
          if (ChatPassThrough(kv.key())) {
            w.Key(kv.key());
            w.Value(kv.value());
          } else if (kv.key() != "verbosity") {
            rest[kv.key()] = kv.value();
          }
        }
        Extras(rest, detail::ExtraScope::kRequest, "");
      } else {
        Extras(req.extra, detail::ExtraScope::kRequest, "");
      }
    }
    w.EndObject();
  }
};

}  // namespace

core::Result<std::string> EncodeRequest(const ChatRequest& request, const EncodeOptions& options) {
  Encoder e{request, options};
  e.out.reserve(1024);
  e.Run();
  if (!e.r.ok()) return std::unexpected(e.r.TakeError());
  return std::move(e.out);
}

// ---- finish reasons ----------------------------------------------------------------------

FinishReason ParseStatus(std::string_view status, std::string_view incomplete_reason,
                         bool has_calls) {
  if (status == "completed") return has_calls ? FinishReason::kToolCalls : FinishReason::kStop;
  if (status == "incomplete") {
    if (incomplete_reason == "max_output_tokens") return FinishReason::kLength;
    if (incomplete_reason == "content_filter") return FinishReason::kContentFilter;
  }
  return FinishReason::kOther;
}

// ---- responses ---------------------------------------------------------------------------

namespace {

void DecodeUsage(Reader& r, const json::object& u, const Path& p, Usage& out) {
  out.input_tokens = r.OptInt(u, "input_tokens", p).value_or(0);
  out.output_tokens = r.OptInt(u, "output_tokens", p).value_or(0);
  if (const json::value* d = Reader::Get(u, "input_tokens_details")) {
    const Path dp = p.Member("input_tokens_details");
    if (const json::object* o = r.Object(*d, dp)) {
      out.cache_read_tokens = r.OptInt(*o, "cached_tokens", dp);
      out.cache_write_tokens = r.OptInt(*o, "cache_write_tokens", dp);
      json::object rest;
      detail::CollectExtra(*o, {"cached_tokens", "cache_write_tokens"}, rest);
      if (!rest.empty()) out.extra["input_tokens_details"] = std::move(rest);
    }
  }
  if (const json::value* d = Reader::Get(u, "output_tokens_details")) {
    const Path dp = p.Member("output_tokens_details");
    if (const json::object* o = r.Object(*d, dp)) {
      out.reasoning_tokens = r.OptInt(*o, "reasoning_tokens", dp);
      json::object rest;
      detail::CollectExtra(*o, {"reasoning_tokens"}, rest);
      if (!rest.empty()) out.extra["output_tokens_details"] = std::move(rest);
    }
  }
  json::object rest;
  detail::CollectExtra(u, {"input_tokens", "output_tokens", "total_tokens",
                           "input_tokens_details", "output_tokens_details"},
                       rest);
  for (auto& kv : rest) out.extra[kv.key()] = kv.value();
}

}  // namespace

// `same_dialect`: also the unmodelled members kept from a Responses usage object. Shared with
// responses_stream.cpp.
void WriteUsage(JsonWriter& w, const Usage& u, bool same_dialect) {
  const json::object* id = nullptr;
  const json::object* od = nullptr;
  if (same_dialect) {
    if (const auto* v = u.extra.if_contains("input_tokens_details"); v && v->is_object()) {
      id = &v->get_object();
    }
    if (const auto* v = u.extra.if_contains("output_tokens_details"); v && v->is_object()) {
      od = &v->get_object();
    }
  }
  w.Key("usage");
  w.BeginObject();
  w.Int("input_tokens", u.input_tokens);
  w.Key("input_tokens_details");
  w.BeginObject();
  w.Int("cached_tokens", u.cache_read_tokens.value_or(0));
  // ResponseUsage requires cache_write_tokens; an answer from a dialect that does not report
  // cache writes (OpenAI Chat, Gemini: no separate write) states 0 (rule U1).
  if (u.cache_write_tokens) {
    w.Int("cache_write_tokens", *u.cache_write_tokens);
  } else if (!same_dialect) {
    w.Int("cache_write_tokens", 0);
  }
  if (id != nullptr) w.Members(*id);
  w.EndObject();
  w.Int("output_tokens", u.output_tokens);
  w.Key("output_tokens_details");
  w.BeginObject();
  w.Int("reasoning_tokens", u.reasoning_tokens.value_or(0));
  if (od != nullptr) w.Members(*od);
  w.EndObject();
  w.Int("total_tokens", u.input_tokens + u.output_tokens);
  if (same_dialect) {
    for (const auto& kv : u.extra) {
      if (kv.key() == "input_tokens_details" || kv.key() == "output_tokens_details") continue;
      w.Key(kv.key());
      w.Value(kv.value());
    }
  }
  w.EndObject();
}

// The id of output item `n` of a response from another dialect (shared with the stream
// encoder, so a streamed and a whole response name their items alike).
std::string ItemId(std::string_view prefix, std::string_view response_id, std::size_t n) {
  std::string out(prefix);
  out += '_';
  out += response_id;
  out += '_';
  out += std::to_string(n);
  return out;
}

// Request members a response echoes, written with neutral values when the canonical response
// does not carry them (shared with the stream encoder).
void WriteEchoDefaults(JsonWriter& w, const json::object* keep, const json::object* echo) {
  static constexpr std::pair<std::string_view, std::string_view> kEcho[] = {
      {"error", "null"},         {"instructions", "null"}, {"metadata", "{}"},
      {"parallel_tool_calls", "true"}, {"temperature", "null"}, {"tool_choice", "\"auto\""},
      {"tools", "[]"},           {"top_p", "null"},
  };
  for (const auto& [key, value] : kEcho) {
    if (keep != nullptr && keep->contains(key)) continue;
    w.Key(key);
    const json::value* echoed = echo != nullptr && key != "error" ? echo->if_contains(key) : nullptr;
    if (echoed != nullptr) {
      w.Value(*echoed);
    } else {
      w.Raw(value);
    }
  }
}

core::Result<ChatResponse> DecodeResponse(std::string_view body) {
  detail::ScratchObject scratch;
  auto parsed = scratch.Parse(body, core::ErrorCode::kUpstreamError);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json::object& o = **parsed;
  Reader r(core::ErrorCode::kUpstreamError);
  const Path root;
  ChatResponse resp;
  resp.origin = kSelf;
  if (auto id = r.OptString(o, "id", root)) resp.id = *id;
  if (auto model = r.OptString(o, "model", root)) resp.model = *model;
  if (auto created = r.OptNumber(o, "created_at", root)) {
    // In range only: converting a larger double (or an infinity) is undefined.
    if (*created > -9.2e18 && *created < 9.2e18) resp.created = static_cast<std::int64_t>(*created);
  }
  const std::string_view status = r.OptString(o, "status", root).value_or("completed");
  if (status == "failed") {
    std::string message = "the upstream response failed";
    if (const json::value* e = Reader::Get(o, "error"); e && e->is_object()) {
      if (const auto* m = e->get_object().if_contains("message"); m && m->is_string()) {
        message += ": " + std::string(m->get_string());
      }
    }
    return core::Fail(core::ErrorCode::kUpstreamError, message);
  }
  std::string_view reason;
  if (const json::value* d = Reader::Get(o, "incomplete_details")) {
    if (const json::object* dobj = r.Object(*d, root.Member("incomplete_details"))) {
      reason = r.OptString(*dobj, "reason", root.Member("incomplete_details")).value_or("");
    }
  }
  bool has_calls = false;
  const json::value* output = Reader::Get(o, "output");
  const json::array* items = output ? r.Array(*output, root.Member("output")) : nullptr;
  if (r.ok() && items == nullptr) r.Fail(root.Member("output"), "missing");
  for (std::size_t i = 0; items != nullptr && i < items->size() && r.ok(); ++i) {
    const Path output_path = root.Member("output");  // named: a Path refers to its parent
    const Path ip = output_path.At(i);
    const json::object* item = r.Object((*items)[i], ip);
    if (item == nullptr) break;
    const std::string_view type = r.ReqString(*item, "type", ip);
    if (!r.ok()) break;
    if (type == "message") {
      const std::string_view item_id = r.OptString(*item, "id", ip).value_or("");
      const json::value* c = Reader::Get(*item, "content");
      const json::array* parts = c ? r.Array(*c, ip.Member("content")) : nullptr;
      if (parts == nullptr) {
        if (r.ok()) r.Fail(ip.Member("content"), "missing");
        break;
      }
      json::object item_rest;
      detail::CollectExtra(*item, {"type", "id", "role", "content", "status"}, item_rest);
      const std::size_t first = resp.content.size();
      for (std::size_t j = 0; j < parts->size() && r.ok(); ++j) {
        const Path content_path = ip.Member("content");
        const Path pp = content_path.At(j);
        const json::object* po = r.Object((*parts)[j], pp);
        if (po == nullptr) break;
        const std::string_view pt = r.ReqString(*po, "type", pp);
        ContentPart part;
        part.id = item_id;
        if (pt == "output_text") {
          part.kind = PartKind::kText;
          part.text = r.ReqString(*po, "text", pp);
          detail::CollectExtra(*po, {"type", "text"}, part.extra);
        } else if (pt == "refusal") {
          part.kind = PartKind::kRefusal;
          part.text = r.ReqString(*po, "refusal", pp);
          detail::CollectExtra(*po, {"type", "refusal"}, part.extra);
        } else {
          // An output message holds output_text and refusal parts only (the published
          // OutputMessage schema). A part of another type cannot be told apart from a whole
          // opaque output item when it is written back, so it is refused (found by fuzzing).
          r.Fail(pp.Member("type"), "unknown output message content part '" + std::string(pt) + "'");
          break;
        }
        resp.content.push_back(std::move(part));
      }
      if (!item_rest.empty() && resp.content.size() > first) {
        resp.content[first].extra["item"] = std::move(item_rest);
      }
    } else if (type == "function_call") {
      has_calls = true;
      resp.content.push_back(DecodeFunctionCall(r, *item, ip));
    } else if (type == "reasoning") {
      resp.content.push_back(DecodeReasoning(r, *item, ip));
    } else {
      ContentPart part;
      part.kind = PartKind::kOpaque;
      part.raw = detail::Copy((*items)[i]);
      resp.content.push_back(std::move(part));
    }
  }
  resp.finish_reason = ParseStatus(status, reason, has_calls);
  resp.finish_raw = reason.empty() ? std::string(status) : std::string(reason);
  if (const json::value* u = Reader::Get(o, "usage")) {
    if (const json::object* uo = r.Object(*u, root.Member("usage"))) {
      Usage usage;
      DecodeUsage(r, *uo, root.Member("usage"), usage);
      resp.usage = usage;
    }
  }
  if (auto t = r.OptString(o, "service_tier", root)) resp.service_tier = *t;
  // Nulls are kept too: a response writes its unset request echoes as null.
  for (const auto& kv : o) {
    static constexpr std::string_view kModelled[] = {
        "id", "object", "created_at", "model", "status", "incomplete_details", "output", "usage",
        "service_tier"};
    if (std::find(std::begin(kModelled), std::end(kModelled), kv.key()) != std::end(kModelled)) {
      continue;
    }
    resp.extra[kv.key()] = detail::Copy(kv.value());
  }
  if (!r.ok()) return std::unexpected(r.TakeError());
  return resp;
}

namespace {

// status and incomplete_details for a finish reason.
struct Status {
  std::string_view status;
  std::string_view reason;  // "" = incomplete_details null
};

Status StatusFor(const ChatResponse& resp, bool foreign) {
  switch (resp.finish_reason) {
    case FinishReason::kLength:
    case FinishReason::kContextExhausted: return {"incomplete", "max_output_tokens"};
    case FinishReason::kContentFilter: return {"incomplete", "content_filter"};
    case FinishReason::kOther:
      if (!foreign && !resp.finish_raw.empty() && resp.finish_raw != "completed") {
        return {resp.finish_raw, {}};
      }
      return {"completed", {}};
    default: return {"completed", {}};
  }
}

}  // namespace

core::Result<std::string> EncodeResponse(const ChatResponse& resp, const ResponseOptions& options) {
  const bool foreign = resp.origin != kSelf;
  const Status st = StatusFor(resp, foreign);
  std::string out;
  out.reserve(768);
  JsonWriter w(out);
  w.BeginObject();
  w.Str("id", resp.id);
  w.Str("object", "response");
  w.Int("created_at", resp.created != 0 ? resp.created : options.created);
  w.Str("status", st.status);
  w.Key("incomplete_details");
  if (st.reason.empty()) {
    w.Null();
  } else {
    w.BeginObject();
    w.Str("reason", st.reason);
    w.EndObject();
  }
  w.Str("model", resp.model);
  w.Key("output");
  w.BeginArray();
  std::size_t n = 0;  // output items written
  const std::size_t last = resp.content.size();
  auto item_status = [&](std::size_t end) {
    return st.status == "incomplete" && end == last ? "incomplete" : "completed";
  };
  for (std::size_t j = 0; j < resp.content.size();) {
    const ContentPart& p = resp.content[j];
    switch (p.kind) {
      case PartKind::kText:
      case PartKind::kRefusal: {
        // A Responses message's parts (same id) stay one item; another dialect's text blocks
        // are one item each.
        std::size_t e = j + 1;
        if (!foreign && !p.id.empty()) {
          while (e < resp.content.size() && resp.content[e].id == p.id &&
                 (resp.content[e].kind == PartKind::kText ||
                  resp.content[e].kind == PartKind::kRefusal)) {
            ++e;
          }
        }
        const json::object* item_rest = nullptr;
        if (!foreign) {
          if (const auto* v = p.extra.if_contains("item"); v && v->is_object()) {
            item_rest = &v->get_object();
          }
        }
        w.BeginObject();
        w.Str("id", !p.id.empty() ? p.id : ItemId("msg", resp.id, n));
        w.Str("type", "message");
        w.Str("status", item_status(e));
        w.Key("content");
        w.BeginArray();
        for (std::size_t k = j; k < e; ++k) {
          const ContentPart& q = resp.content[k];
          w.BeginObject();
          if (q.kind == PartKind::kRefusal) {
            w.Str("type", "refusal");
            w.Str("refusal", q.text);
          } else {
            w.Str("type", "output_text");
            if (foreign) {
              w.Key("annotations");
              w.Raw("[]");
              w.Key("logprobs");
              w.Raw("[]");
            }
            w.Str("text", q.text);
          }
          if (!foreign) {
            for (const auto& kv : q.extra) {
              if (kv.key() == "item") continue;
              w.Key(kv.key());
              w.Value(kv.value());
            }
          }
          w.EndObject();
        }
        w.EndArray();
        w.Str("role", "assistant");
        if (item_rest != nullptr) w.Members(*item_rest);
        w.EndObject();
        ++n;
        j = e;
        continue;
      }
      case PartKind::kToolUse: {
        w.BeginObject();
        const json::value* id = foreign ? nullptr : p.extra.if_contains("id");
        if (id == nullptr) w.Str("id", ItemId("fc", resp.id, n));
        w.Str("type", "function_call");
        if (foreign || !p.extra.contains("status")) w.Str("status", item_status(j + 1));
        w.Str("arguments", p.arguments);
        w.Str("call_id", p.id);
        w.Str("name", p.name);
        if (!foreign) w.Members(p.extra);
        w.EndObject();
        ++n;
        break;
      }
      case PartKind::kThinking:
      case PartKind::kRedactedThinking: {
        // Thinking → a reasoning item: its text as the summary, its signature (a redacted
        // block's data) as encrypted_content, so it can come back on the next turn.
        w.BeginObject();
        w.Str("id", !p.id.empty() ? p.id : ItemId("rs", resp.id, n));
        w.Str("type", "reasoning");
        if (!foreign && p.extra.contains("summary")) {
          w.Key("summary");
          w.Value(p.extra.at("summary"));
        } else {
          w.Key("summary");
          w.BeginArray();
          if (p.kind == PartKind::kThinking && !p.text.empty()) {
            w.BeginObject();
            w.Str("type", "summary_text");
            w.Str("text", p.text);
            w.EndObject();
          }
          w.EndArray();
        }
        if (!p.signature.empty()) w.Str("encrypted_content", p.signature);
        if (!foreign) {
          for (const auto& kv : p.extra) {
            if (kv.key() == "summary") continue;
            w.Key(kv.key());
            w.Value(kv.value());
          }
        }
        w.EndObject();
        ++n;
        break;
      }
      case PartKind::kOpaque:
        if (!foreign) {
          w.Value(p.raw);
          ++n;
          break;
        }
        [[fallthrough]];
      default:
        return core::Fail(core::ErrorCode::kUpstreamError,
                          "the upstream response holds " + std::string(PartKindName(p.kind)) +
                              " content that OpenAI Responses cannot carry");
    }
    ++j;
  }
  w.EndArray();
  if (resp.usage) WriteUsage(w, *resp.usage, !foreign);
  if (!resp.service_tier.empty() && !foreign) w.Str("service_tier", resp.service_tier);
  if (!foreign) {
    w.Members(resp.extra);
    WriteEchoDefaults(w, &resp.extra, options.echo);
  } else {
    WriteEchoDefaults(w, nullptr, options.echo);
  }
  w.EndObject();
  return out;
}

// ---- errors ------------------------------------------------------------------------------

namespace {

// Both OpenAI APIs share one error vocabulary: an error from either is the client's own.
ApiError AsOpenAi(const ApiError& error) {
  ApiError e = error;
  if (e.origin == kSelf) e.origin = Dialect::kOpenAiChat;
  return e;
}

}  // namespace

ApiError DecodeError(int status, std::string_view body, const ErrorHeaders& headers) {
  ApiError e = openai::DecodeError(status, body, headers);
  e.origin = kSelf;
  return e;
}

HttpError EncodeError(const ApiError& error) { return openai::EncodeError(AsOpenAi(error)); }

std::string ErrorBody(const ApiError& error) { return openai::ErrorBody(AsOpenAi(error)); }

}  // namespace meridian::dialect::responses
