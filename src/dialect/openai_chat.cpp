#include "dialect/openai_chat.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace meridian::dialect::openai {

namespace json = boost::json;
using detail::JsonWriter;
using detail::Path;
using detail::Reader;

namespace {

// The `tool_calls` array of an assistant message, in requests and responses alike. `extras`:
// also each call's unmodelled members (only when the call came from this dialect).
void WriteToolCalls(JsonWriter& w, const std::vector<const ContentPart*>& calls, bool extras) {
  w.Key("tool_calls");
  w.BeginArray();
  for (const ContentPart* p : calls) {
    if (p->kind == PartKind::kOpaque) {
      w.Value(p->raw);
      continue;
    }
    w.BeginObject();
    w.Str("id", p->id);
    w.Str("type", "function");
    w.Key("function");
    w.BeginObject();
    w.Str("name", p->name);
    w.Str("arguments", p->arguments);
    w.EndObject();
    if (extras) w.Members(p->extra);
    w.EndObject();
  }
  w.EndArray();
}

constexpr Dialect kSelf = Dialect::kOpenAiChat;

// ---- request decoding --------------------------------------------------------------------

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

// Which part types a role may carry (OpenAI's schema): system/developer/tool: text;
// user: text, image_url, input_audio, file; assistant: text, refusal.
bool PartAllowed(Role role, std::string_view type) {
  switch (role) {
    case Role::kSystem:
    case Role::kDeveloper:
    case Role::kTool: return type == "text";
    case Role::kUser:
      return type == "text" || type == "image_url" || type == "input_audio" || type == "file";
    case Role::kAssistant: return type == "text" || type == "refusal";
  }
  return false;
}

void DecodePart(Reader& r, const json::value& v, Role role, const Path& p,
                std::vector<ContentPart>& out) {
  const json::object* o = r.Object(v, p);
  if (o == nullptr) return;
  const std::string_view type = r.ReqString(*o, "type", p);
  if (!r.ok()) return;
  if (type != "text" && type != "image_url" && type != "input_audio" && type != "file" &&
      type != "refusal") {
    r.Fail(p.Member("type"), "unknown content part '" + std::string(type) + "'");
    return;
  }
  if (!PartAllowed(role, type)) {
    r.Fail(p.Member("type"), "content part '" + std::string(type) + "' is not allowed in a " +
                                 std::string(RoleName(role)) + " message");
    return;
  }
  ContentPart part;
  if (type == "text") {
    part.kind = PartKind::kText;
    part.text = r.ReqString(*o, "text", p);
    part.cache = ReadBreakpoint(r, *o, p);
    detail::CollectExtra(*o, {"type", "text", "prompt_cache_breakpoint"}, part.extra);
  } else if (type == "refusal") {
    part.kind = PartKind::kRefusal;
    part.text = r.ReqString(*o, "refusal", p);
    detail::CollectExtra(*o, {"type", "refusal"}, part.extra);
  } else if (type == "image_url") {
    part.kind = PartKind::kImage;
    const Path ip = p.Member("image_url");
    const json::value* iv = Reader::Get(*o, "image_url");
    if (iv == nullptr) {
      r.Fail(ip, "missing");
      return;
    }
    const json::object* io = r.Object(*iv, ip);
    if (io == nullptr) return;
    const std::string_view url = r.ReqString(*io, "url", ip);
    if (auto d = detail::ParseDataUrl(url)) {
      part.source = SourceKind::kBase64;
      part.media_type = d->media_type;
      part.data = d->data;
    } else {
      part.source = SourceKind::kUrl;
      part.data = url;
    }
    if (auto detail = r.OptString(*io, "detail", ip)) part.detail = *detail;
    part.cache = ReadBreakpoint(r, *o, p);
    detail::CollectExtra(*o, {"type", "image_url", "prompt_cache_breakpoint"}, part.extra);
  } else if (type == "file") {
    part.kind = PartKind::kDocument;
    const Path fp = p.Member("file");
    const json::value* fv = Reader::Get(*o, "file");
    if (fv == nullptr) {
      r.Fail(fp, "missing");
      return;
    }
    const json::object* fo = r.Object(*fv, fp);
    if (fo == nullptr) return;
    if (auto id = r.OptString(*fo, "file_id", fp)) {
      part.source = SourceKind::kFileId;
      part.data = *id;
    } else if (auto data = r.OptString(*fo, "file_data", fp)) {
      part.source = SourceKind::kBase64;
      if (auto d = detail::ParseDataUrl(*data)) {
        part.media_type = d->media_type;
        part.data = d->data;
      } else {
        part.data = *data;
      }
    } else if (r.ok()) {
      r.Fail(fp, "needs file_id or file_data");
    }
    if (auto name = r.OptString(*fo, "filename", fp)) part.name = *name;
    part.cache = ReadBreakpoint(r, *o, p);
    detail::CollectExtra(*o, {"type", "file", "prompt_cache_breakpoint"}, part.extra);
  } else {  // input_audio: OpenAI only
    part.kind = PartKind::kOpaque;
    part.raw = detail::Copy(v);
  }
  out.push_back(std::move(part));
}

// content: a string or an array of parts (null/absent allowed where `optional`).
void DecodeContent(Reader& r, const json::object& m, Role role, const Path& mp, bool optional,
                   std::vector<ContentPart>& out) {
  const json::value* c = Reader::Get(m, "content");
  const Path cp = mp.Member("content");
  if (c == nullptr) {
    if (!optional) r.Fail(cp, "missing");
    return;
  }
  if (const auto* s = c->if_string()) {
    out.push_back(ContentPart::Text(std::string(s->data(), s->size())));
    return;
  }
  const json::array* a = r.Array(*c, cp);
  if (a == nullptr) return;
  for (std::size_t i = 0; i < a->size() && r.ok(); ++i) DecodePart(r, (*a)[i], role, cp.At(i), out);
}

void DecodeToolCalls(Reader& r, const json::value& v, const Path& p,
                     std::vector<ContentPart>& out) {
  const json::array* a = r.Array(v, p);
  if (a == nullptr) return;
  for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
    const Path tp = p.At(i);
    const json::object* o = r.Object((*a)[i], tp);
    if (o == nullptr) return;
    auto type = r.OptString(*o, "type", tp);
    if (type && *type == "custom") {
      ContentPart part;
      part.kind = PartKind::kOpaque;
      part.raw = detail::Copy((*a)[i]);
      out.push_back(std::move(part));
      continue;
    }
    if (type && *type != "function") {
      r.Fail(tp.Member("type"), "unknown tool call type '" + std::string(*type) + "'");
      return;
    }
    ContentPart part;
    part.kind = PartKind::kToolUse;
    part.id = r.ReqString(*o, "id", tp);
    const Path fp = tp.Member("function");
    const json::value* fv = Reader::Get(*o, "function");
    if (fv == nullptr) {
      r.Fail(fp, "missing");
      return;
    }
    const json::object* fo = r.Object(*fv, fp);
    if (fo == nullptr) return;
    part.name = r.ReqString(*fo, "name", fp);
    part.arguments = r.ReqString(*fo, "arguments", fp);
    detail::CollectExtra(*o, {"id", "type", "function"}, part.extra);
    out.push_back(std::move(part));
  }
}

void DecodeMessage(Reader& r, const json::value& v, const Path& mp, int index,
                   std::vector<Message>& out) {
  const json::object* m = r.Object(v, mp);
  if (m == nullptr) return;
  const std::string_view role = r.ReqString(*m, "role", mp);
  if (!r.ok()) return;
  Message msg;
  msg.source = index;
  if (role == "system" || role == "developer" || role == "user") {
    msg.role = role == "system" ? Role::kSystem : role == "developer" ? Role::kDeveloper
                                                                        : Role::kUser;
    DecodeContent(r, *m, msg.role, mp, false, msg.content);
    detail::CollectExtra(*m, {"role", "content"}, msg.extra);
  } else if (role == "assistant") {
    msg.role = Role::kAssistant;
    DecodeContent(r, *m, msg.role, mp, true, msg.content);
    if (auto refusal = r.OptString(*m, "refusal", mp)) {
      ContentPart part;
      part.kind = PartKind::kRefusal;
      part.text = *refusal;
      msg.content.push_back(std::move(part));
    }
    if (const json::value* tc = Reader::Get(*m, "tool_calls")) {
      DecodeToolCalls(r, *tc, mp.Member("tool_calls"), msg.content);
    }
    detail::CollectExtra(*m, {"role", "content", "refusal", "tool_calls"}, msg.extra);
  } else if (role == "tool") {
    msg.role = Role::kTool;
    ContentPart result;
    result.kind = PartKind::kToolResult;
    result.id = r.ReqString(*m, "tool_call_id", mp);
    DecodeContent(r, *m, Role::kTool, mp, false, result.content);
    msg.content.push_back(std::move(result));
    detail::CollectExtra(*m, {"role", "content", "tool_call_id"}, msg.extra);
  } else if (role == "function") {
    r.Fail(mp.Member("role"),
           "'function' messages (deprecated function calling) are not supported; use tools");
    return;
  } else {
    r.Fail(mp.Member("role"), "unknown role '" + std::string(role) + "'");
    return;
  }
  out.push_back(std::move(msg));
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
    if (type == "custom") {
      tool.raw = detail::Copy((*a)[i]);
      out.push_back(std::move(tool));
      continue;
    }
    if (type != "function") {
      r.Fail(tp.Member("type"), "unknown tool type '" + std::string(type) + "'");
      return;
    }
    const Path fp = tp.Member("function");
    const json::value* fv = Reader::Get(*o, "function");
    if (fv == nullptr) {
      r.Fail(fp, "missing");
      return;
    }
    const json::object* fo = r.Object(*fv, fp);
    if (fo == nullptr) return;
    tool.name = r.ReqString(*fo, "name", fp);
    if (auto d = r.OptString(*fo, "description", fp)) tool.description = *d;
    if (const json::value* params = Reader::Get(*fo, "parameters")) {
      if (r.Object(*params, fp.Member("parameters")) != nullptr) {
        tool.parameters.emplace(*params, json::storage_ptr());
      }
    }
    tool.strict = r.OptBool(*fo, "strict", fp);
    detail::CollectExtra(*fo, {"name", "description", "parameters", "strict"}, tool.extra);
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
  if (type == "function") {
    const json::value* fv = Reader::Get(*o, "function");
    if (fv == nullptr) {
      r.Fail(p.Member("function"), "missing");
      return;
    }
    const json::object* fo = r.Object(*fv, p.Member("function"));
    if (fo == nullptr) return;
    out.mode = ToolChoice::Mode::kTool;
    out.name = r.ReqString(*fo, "name", p.Member("function"));
  } else if (type == "allowed_tools" || type == "custom") {
    out.raw = detail::Copy(v);
  } else if (r.ok()) {
    r.Fail(p.Member("type"), "unknown tool_choice type '" + std::string(type) + "'");
  }
}

void DecodeResponseFormat(Reader& r, const json::value& v, const Path& p,
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
    const Path sp = p.Member("json_schema");
    const json::value* sv = Reader::Get(*o, "json_schema");
    if (sv == nullptr) {
      r.Fail(sp, "missing");
      return;
    }
    const json::object* so = r.Object(*sv, sp);
    if (so == nullptr) return;
    f.name = r.ReqString(*so, "name", sp);
    if (auto d = r.OptString(*so, "description", sp)) f.description = *d;
    if (const json::value* schema = Reader::Get(*so, "schema")) f.schema = *schema;
    f.strict = r.OptBool(*so, "strict", sp);
  } else {
    r.Fail(p.Member("type"), "unknown response format '" + std::string(type) + "'");
    return;
  }
  out = std::move(f);
}

// ---- request encoding ----------------------------------------------------------------------

// Paths in the origin's body, for 400s about fields the origin wrote.
std::string TopField(Dialect origin, std::string_view canonical) {
  if (origin == Dialect::kAnthropicMessages) {
    if (canonical == "stop") return "stop_sequences";
    if (canonical == "user") return "metadata.user_id";
    if (canonical == "response_format") return "output_config.format";
    if (canonical == "reasoning") return "thinking";
  }
  if (origin == Dialect::kGemini) return detail::GeminiField(canonical);
  return std::string(canonical);
}

// Where part `j` of canonical message `m` came from in an Anthropic body.
std::string AnthropicPartPath(const Message& m, std::size_t j) {
  if (m.source < 0) return "system[" + std::to_string(j) + "]";
  return "messages[" + std::to_string(m.source) + "].content[" +
         std::to_string(m.source_offset + static_cast<int>(j)) + "]";
}

std::string MessagePath(Dialect origin, const Message& m, std::size_t canonical_index) {
  if (origin == Dialect::kGemini) return detail::GeminiMessagePath(m);
  if (m.source < 0) {
    if (origin == Dialect::kAnthropicMessages) return "system";
    return "messages[" + std::to_string(canonical_index) + "]";
  }
  return "messages[" + std::to_string(m.source) + "]";
}

std::string PartPath(Dialect origin, const Message& m, std::size_t mi, std::size_t j) {
  if (origin == Dialect::kAnthropicMessages) return AnthropicPartPath(m, j);
  if (origin == Dialect::kGemini) return detail::GeminiPartPath(m, j);
  return MessagePath(origin, m, mi) + ".content[" + std::to_string(j) + "]";
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

  // The member of a media part that names its source in the origin's body.
  std::string_view SourceField() const {
    return req.origin == Dialect::kGemini ? std::string_view() : std::string_view(".source");
  }

  void Breakpoint(const std::optional<CacheControl>& cache) {
    if (!cache || !opt.cache_breakpoints) return;
    w.Key("prompt_cache_breakpoint");
    w.BeginObject();
    w.Str("mode", "explicit");
    w.EndObject();
  }

  void Extras(const json::object& extra, detail::ExtraScope scope, const std::string& path) {
    if (extra.empty()) return;
    if (!foreign()) {
      w.Members(extra);
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

  void TextPart(const ContentPart& p, const std::string& path) {
    w.BeginObject();
    w.Str("type", "text");
    w.Str("text", p.text);
    Breakpoint(p.cache);
    Extras(p.extra, detail::ExtraScope::kPart, path);
    w.EndObject();
  }

  // A user/system part (text, image, document, opaque).
  void Part(const ContentPart& p, const std::string& path) {
    switch (p.kind) {
      case PartKind::kText: TextPart(p, path); return;
      case PartKind::kImage: {
        w.BeginObject();
        w.Str("type", "image_url");
        w.Key("image_url");
        w.BeginObject();
        if (p.source == SourceKind::kUrl) {
          w.Str("url", p.data);
        } else if (p.source == SourceKind::kBase64) {
          w.Key("url");
          w.String("data:" + p.media_type + ";base64," + p.data);
        } else {
          FailAt(path + std::string(SourceField()), "file references are " + detail::Unsupported(kSelf));
        }
        if (!p.detail.empty()) w.Str("detail", p.detail);
        w.EndObject();
        Breakpoint(p.cache);
        Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      }
      case PartKind::kDocument: {
        w.BeginObject();
        w.Str("type", "file");
        w.Key("file");
        w.BeginObject();
        if (p.source == SourceKind::kBase64) {
          w.Key("file_data");
          if (p.media_type.empty()) {
            w.String(p.data);
          } else {
            w.String("data:" + p.media_type + ";base64," + p.data);
          }
        } else if (p.source == SourceKind::kFileId && !foreign()) {
          w.Str("file_id", p.data);
        } else {
          FailAt(path + std::string(SourceField()), (p.source == SourceKind::kUrl ? "URL documents are "
                                    : p.source == SourceKind::kText ? "plain-text documents are "
                                                                    : "file references are ") +
                                       detail::Unsupported(kSelf));
        }
        if (!p.name.empty()) w.Str("filename", p.name);
        w.EndObject();
        Breakpoint(p.cache);
        Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      }
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

  void ContentArray(const std::vector<ContentPart>& parts, const Message& m, std::size_t mi) {
    if (PlainText(parts)) {
      w.Str("content", parts[0].text);
      return;
    }
    w.Key("content");
    w.BeginArray();
    for (std::size_t j = 0; j < parts.size() && r.ok(); ++j) {
      Part(parts[j], PartPath(req.origin, m, mi, j));
    }
    w.EndArray();
  }

  void Assistant(const Message& m, std::size_t mi) {
    std::vector<const ContentPart*> texts, refusals, calls;
    for (std::size_t j = 0; j < m.content.size(); ++j) {
      const ContentPart& p = m.content[j];
      switch (p.kind) {
        case PartKind::kText: texts.push_back(&p); break;
        case PartKind::kRefusal: refusals.push_back(&p); break;
        case PartKind::kToolUse: calls.push_back(&p); break;
        case PartKind::kOpaque:
          if (foreign()) {
            FailAt(PartPath(req.origin, m, mi, j), "this content is " + detail::Unsupported(kSelf));
            return;
          }
          calls.push_back(&p);
          break;
        case PartKind::kThinking:
        case PartKind::kRedactedThinking:
          break;  // provider-bound reasoning: not sent to OpenAI (docs/dialects.md)
        default:
          FailAt(PartPath(req.origin, m, mi, j),
                 std::string(PartKindName(p.kind)) + " content in an assistant message is " +
                     detail::Unsupported(kSelf));
          return;
      }
    }
    w.BeginObject();
    w.Str("role", "assistant");
    const bool refusal_inline = refusals.size() > 1;
    if (texts.empty() && !refusal_inline) {
      w.Key("content");
      w.Null();
    } else if (texts.size() == 1 && !refusal_inline && !texts[0]->cache &&
               texts[0]->extra.empty()) {
      w.Str("content", texts[0]->text);
    } else {
      w.Key("content");
      w.BeginArray();
      for (std::size_t j = 0; j < m.content.size(); ++j) {
        const ContentPart& p = m.content[j];
        if (p.kind == PartKind::kText) {
          TextPart(p, PartPath(req.origin, m, mi, j));
        } else if (p.kind == PartKind::kRefusal && refusal_inline) {
          w.BeginObject();
          w.Str("type", "refusal");
          w.Str("refusal", p.text);
          w.EndObject();
        }
      }
      w.EndArray();
    }
    if (refusals.size() == 1) w.Str("refusal", refusals[0]->text);
    if (!calls.empty()) {
      WriteToolCalls(w, calls, /*extras=*/!foreign());
    }
    Extras(m.extra, detail::ExtraScope::kMessage, MessagePath(req.origin, m, mi));
    w.EndObject();
  }

  void ToolMessage(const Message& m, std::size_t mi, const ContentPart& result, std::size_t j) {
    const std::string path = PartPath(req.origin, m, mi, j);
    if (result.kind != PartKind::kToolResult) {
      FailAt(path, "a tool message holds one tool result");
      return;
    }
    w.BeginObject();
    w.Str("role", "tool");
    w.Str("tool_call_id", result.id);
    // is_error has no OpenAI field: the content says so (docs/dialects.md).
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
      w.Str("content", "");
    } else if (PlainText(*content)) {
      w.Str("content", (*content)[0].text);
    } else {
      w.Key("content");
      w.BeginArray();
      for (std::size_t k = 0; k < content->size() && r.ok(); ++k) {
        const ContentPart& p = (*content)[k];
        const std::string inner = path + ".content[" + std::to_string(k) + "]";
        if (p.kind != PartKind::kText) {
          FailAt(inner, std::string(PartKindName(p.kind)) + " content in a tool result is " +
                            detail::Unsupported(kSelf));
          break;
        }
        TextPart(p, inner);
      }
      w.EndArray();
    }
    if (!foreign()) w.Members(result.extra);
    else if (!result.extra.empty()) Extras(result.extra, detail::ExtraScope::kPart, path);
    Extras(m.extra, detail::ExtraScope::kMessage, MessagePath(req.origin, m, mi));
    w.EndObject();
  }

  void Messages() {
    const auto& msgs = req.messages;
    if (foreign() && !msgs.empty() && msgs.back().role == Role::kAssistant) {
      FailAt(MessagePath(req.origin, msgs.back(), msgs.size() - 1),
             "a final assistant message (prefill) is " + detail::Unsupported(kSelf));
      return;
    }
    w.Key("messages");
    w.BeginArray();
    for (std::size_t i = 0; i < msgs.size() && r.ok(); ++i) {
      const Message& m = msgs[i];
      switch (m.role) {
        case Role::kSystem:
        case Role::kDeveloper:
        case Role::kUser:
          w.BeginObject();
          w.Str("role", RoleName(m.role));
          ContentArray(m.content, m, i);
          Extras(m.extra, detail::ExtraScope::kMessage, MessagePath(req.origin, m, i));
          w.EndObject();
          break;
        case Role::kAssistant: Assistant(m, i); break;
        case Role::kTool:
          for (std::size_t j = 0; j < m.content.size() && r.ok(); ++j) {
            ToolMessage(m, i, m.content[j], j);
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
        if (req.origin == Dialect::kGemini) {
          FailAt(path, "this tool is " + detail::Unsupported(kSelf));
          return;
        }
        if (foreign()) {
          std::string type;
          if (t.raw.is_object()) {
            if (const auto* ty = t.raw.get_object().if_contains("type"); ty && ty->is_string()) {
              type = std::string(ty->get_string());
            }
          }
          FailAt(path + ".type", "tool type '" + type + "' is " + detail::Unsupported(kSelf));
          return;
        }
        w.Value(t.raw);
        continue;
      }
      w.BeginObject();
      w.Str("type", "function");
      w.Key("function");
      w.BeginObject();
      w.Str("name", t.name);
      if (!t.description.empty()) w.Str("description", t.description);
      if (t.parameters) {
        w.Key("parameters");
        w.Value(*t.parameters);
      }
      if (t.strict) {
        w.Key("strict");
        w.Bool(*t.strict);
      }
      // A breakpoint on a tool definition has no OpenAI form: dropped (docs/dialects.md).
      Extras(t.extra, detail::ExtraScope::kTool, path);
      w.EndObject();
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
        w.Key("function");
        w.BeginObject();
        w.Str("name", c.name);
        w.EndObject();
        w.EndObject();
        break;
    }
  }

  void ResponseFormatField() {
    if (!req.response_format) return;
    const ResponseFormat& f = *req.response_format;
    w.Key("response_format");
    w.BeginObject();
    switch (f.type) {
      case ResponseFormat::Type::kText: w.Str("type", "text"); break;
      case ResponseFormat::Type::kJsonObject: w.Str("type", "json_object"); break;
      case ResponseFormat::Type::kJsonSchema:
        w.Str("type", "json_schema");
        w.Key("json_schema");
        w.BeginObject();
        // Anthropic's format has no name: OpenAI requires one (docs/dialects.md).
        w.Str("name", f.name.empty() ? std::string_view("response") : std::string_view(f.name));
        if (!f.description.empty()) w.Str("description", f.description);
        if (!f.schema.is_null()) {
          w.Key("schema");
          w.Value(f.schema);
        }
        if (f.strict) {
          w.Key("strict");
          w.Bool(*f.strict);
        }
        w.EndObject();
        break;
    }
    w.EndObject();
  }

  void ReasoningField() {
    const Reasoning& rs = req.reasoning;
    if (!rs.effort.empty()) {
      w.Str("reasoning_effort", rs.effort);
      return;
    }
    if (rs.thinking == Reasoning::Thinking::kEnabled && rs.budget_tokens) {
      // Anthropic budget → the nearest effort (docs/dialects.md, "Reasoning").
      const std::int64_t b = *rs.budget_tokens;
      w.Str("reasoning_effort", b < 4096 ? "low" : b < 16384 ? "medium" : "high");
    }
    // disabled / adaptive without effort: OpenAI's default applies.
  }

  void Run() {
    w.BeginObject();
    w.Str("model", req.model);
    Messages();
    if (!r.ok()) return;
    Tools();
    ToolChoiceField();
    if (req.parallel_tool_calls && (!foreign() || !req.tools.empty())) {
      w.Key("parallel_tool_calls");
      w.Bool(*req.parallel_tool_calls);
    }
    ResponseFormatField();
    if (req.temperature) {
      w.Key("temperature");
      w.Double(*req.temperature);
    }
    if (req.top_p) {
      w.Key("top_p");
      w.Double(*req.top_p);
    }
    if (req.top_k) FailAt(TopField(req.origin, "top_k"), detail::Unsupported(kSelf));
    if (req.max_tokens) {
      w.Int(opt.legacy_max_tokens ? "max_tokens" : "max_completion_tokens", *req.max_tokens);
    }
    if (!req.stop.empty()) {
      if (req.stop.size() > 4) {
        FailAt(TopField(req.origin, "stop"),
               "more than 4 stop sequences are " + detail::Unsupported(kSelf));
      }
      w.Key("stop");
      w.BeginArray();
      for (const auto& s : req.stop) w.String(s);
      w.EndArray();
    }
    if (req.seed) w.Int("seed", *req.seed);
    ReasoningField();
    if (req.stream) {
      w.Key("stream");
      w.Bool(true);
      const json::value* leftover = foreign() ? nullptr : req.extra.if_contains("stream_options");
      if (req.stream_include_usage || leftover != nullptr) {
        w.Key("stream_options");
        w.BeginObject();
        if (req.stream_include_usage) {
          w.Key("include_usage");
          w.Bool(*req.stream_include_usage);
        }
        if (leftover != nullptr && leftover->is_object()) w.Members(leftover->get_object());
        w.EndObject();
      }
    }
    if (!req.user.empty()) w.Str("user", req.user);
    if (!req.service_tier.empty()) {
      if (!foreign()) {
        w.Str("service_tier", req.service_tier);
      } else if (req.service_tier == "auto") {
        w.Str("service_tier", "auto");
      } else if (req.service_tier == "standard_only") {
        w.Str("service_tier", "default");
      } else {
        FailAt("service_tier", "'" + req.service_tier + "' is " + detail::Unsupported(kSelf));
      }
    }
    if (!foreign()) {
      for (const auto& kv : req.extra) {
        if (kv.key() == "stream_options") continue;
        w.Key(kv.key());
        w.Value(kv.value());
      }
    } else {
      Extras(req.extra, detail::ExtraScope::kRequest, "");
    }
    w.EndObject();
  }
};

}  // namespace

core::Result<ChatRequest> DecodeRequest(const json::object& body) {
  Reader r;
  ChatRequest req;
  req.origin = kSelf;
  const Path root;
  req.model = r.ReqString(body, "model", root);
  const json::value* msgs = Reader::Get(body, "messages");
  if (msgs == nullptr) {
    r.Fail(root.Member("messages"), "missing");
  } else if (const json::array* a = r.Array(*msgs, root.Member("messages"))) {
    req.messages.reserve(a->size());
    const Path mp = root.Member("messages");
    for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
      DecodeMessage(r, (*a)[i], mp.At(i), static_cast<int>(i), req.messages);
    }
  }
  if (const json::value* v = Reader::Get(body, "tools")) {
    DecodeTools(r, *v, root.Member("tools"), req.tools);
  }
  if (const json::value* v = Reader::Get(body, "tool_choice")) {
    DecodeToolChoice(r, *v, root.Member("tool_choice"), req.tool_choice);
  }
  req.parallel_tool_calls = r.OptBool(body, "parallel_tool_calls", root);
  if (const json::value* v = Reader::Get(body, "response_format")) {
    DecodeResponseFormat(r, *v, root.Member("response_format"), req.response_format);
  }
  req.temperature = r.OptNumber(body, "temperature", root);
  req.top_p = r.OptNumber(body, "top_p", root);
  auto mct = r.OptInt(body, "max_completion_tokens", root);
  auto mt = r.OptInt(body, "max_tokens", root);
  if (mct && mt && *mct != *mt) {
    r.Fail(root.Member("max_tokens"), "conflicts with max_completion_tokens");
  }
  req.max_tokens = mct ? mct : mt;
  if (const json::value* v = Reader::Get(body, "stop")) {
    if (const auto* s = v->if_string()) {
      req.stop.emplace_back(s->data(), s->size());
    } else if (const json::array* a = r.Array(*v, root.Member("stop"))) {
      for (std::size_t i = 0; i < a->size(); ++i) {
        req.stop.emplace_back(r.String((*a)[i], root.Member("stop").At(i)));
      }
    }
  }
  req.seed = r.OptInt(body, "seed", root);
  if (auto e = r.OptString(body, "reasoning_effort", root)) req.reasoning.effort = *e;
  req.stream = r.OptBool(body, "stream", root).value_or(false);
  if (const json::value* v = Reader::Get(body, "stream_options")) {
    if (const json::object* so = r.Object(*v, root.Member("stream_options"))) {
      req.stream_include_usage = r.OptBool(*so, "include_usage", root.Member("stream_options"));
      json::object leftover;
      detail::CollectExtra(*so, {"include_usage"}, leftover);
      if (!leftover.empty()) req.extra["stream_options"] = std::move(leftover);
    }
  }
  if (auto u = r.OptString(body, "user", root)) req.user = *u;
  if (auto t = r.OptString(body, "service_tier", root)) req.service_tier = *t;
  detail::CollectExtra(body,
                       {"model", "messages", "tools", "tool_choice", "parallel_tool_calls",
                        "response_format", "temperature", "top_p", "max_completion_tokens",
                        "max_tokens", "stop", "seed", "reasoning_effort", "stream",
                        "stream_options", "user", "service_tier"},
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

core::Result<std::string> EncodeRequest(const ChatRequest& request, const EncodeOptions& options) {
  Encoder e{request, options};
  e.out.reserve(1024);
  e.Run();
  if (!e.r.ok()) return std::unexpected(e.r.TakeError());
  return std::move(e.out);
}

// ---- finish reasons ----------------------------------------------------------------------

std::string_view FinishReasonString(FinishReason reason, std::string_view raw) {
  switch (reason) {
    case FinishReason::kStop:
    case FinishReason::kStopSequence:
    case FinishReason::kPauseTurn: return "stop";
    case FinishReason::kLength:
    case FinishReason::kContextExhausted: return "length";
    case FinishReason::kToolCalls: return "tool_calls";
    case FinishReason::kContentFilter: return "content_filter";
    case FinishReason::kOther: return raw.empty() ? std::string_view("stop") : raw;
    case FinishReason::kNone: break;
  }
  return "stop";
}

FinishReason ParseFinishReason(std::string_view s) {
  if (s == "stop") return FinishReason::kStop;
  if (s == "length") return FinishReason::kLength;
  if (s == "tool_calls" || s == "function_call") return FinishReason::kToolCalls;
  if (s == "content_filter") return FinishReason::kContentFilter;
  return FinishReason::kOther;
}

// ---- responses ---------------------------------------------------------------------------

namespace {

void DecodeUsage(Reader& r, const json::object& u, const Path& p, Usage& out) {
  out.input_tokens = r.OptInt(u, "prompt_tokens", p).value_or(0);
  out.output_tokens = r.OptInt(u, "completion_tokens", p).value_or(0);
  if (const json::value* d = Reader::Get(u, "prompt_tokens_details")) {
    if (const json::object* o = r.Object(*d, p.Member("prompt_tokens_details"))) {
      out.cache_read_tokens = r.OptInt(*o, "cached_tokens", p.Member("prompt_tokens_details"));
      out.cache_write_tokens =
          r.OptInt(*o, "cache_write_tokens", p.Member("prompt_tokens_details"));
      json::object rest;
      detail::CollectExtra(*o, {"cached_tokens", "cache_write_tokens"}, rest);
      if (!rest.empty()) out.extra["prompt_tokens_details"] = std::move(rest);
    }
  }
  if (const json::value* d = Reader::Get(u, "completion_tokens_details")) {
    if (const json::object* o = r.Object(*d, p.Member("completion_tokens_details"))) {
      out.reasoning_tokens =
          r.OptInt(*o, "reasoning_tokens", p.Member("completion_tokens_details"));
      json::object rest;
      detail::CollectExtra(*o, {"reasoning_tokens"}, rest);
      if (!rest.empty()) out.extra["completion_tokens_details"] = std::move(rest);
    }
  }
  json::object rest;
  detail::CollectExtra(u, {"prompt_tokens", "completion_tokens", "total_tokens",
                           "prompt_tokens_details", "completion_tokens_details"},
                       rest);
  for (auto& kv : rest) out.extra[kv.key()] = kv.value();
}

}  // namespace

void WriteUsage(JsonWriter& w, const Usage& u, bool same_dialect);

// `same_dialect`: also write the unmodelled members kept from an OpenAI usage object.
void WriteUsage(JsonWriter& w, const Usage& u, bool same_dialect) {
  const json::object* pd = nullptr;
  const json::object* cd = nullptr;
  if (same_dialect) {
    if (const auto* v = u.extra.if_contains("prompt_tokens_details"); v && v->is_object()) {
      pd = &v->get_object();
    }
    if (const auto* v = u.extra.if_contains("completion_tokens_details"); v && v->is_object()) {
      cd = &v->get_object();
    }
  }
  w.Key("usage");
  w.BeginObject();
  w.Int("prompt_tokens", u.input_tokens);
  w.Int("completion_tokens", u.output_tokens);
  w.Int("total_tokens", u.input_tokens + u.output_tokens);
  w.Key("prompt_tokens_details");
  w.BeginObject();
  w.Int("cached_tokens", u.cache_read_tokens.value_or(0));
  // A zero cache write from Anthropic (always reported there) is not news to an OpenAI client.
  if (u.cache_write_tokens && (*u.cache_write_tokens != 0 || same_dialect)) {
    w.Int("cache_write_tokens", *u.cache_write_tokens);
  }
  if (pd != nullptr) w.Members(*pd);
  w.EndObject();
  if (u.reasoning_tokens || cd != nullptr) {
    w.Key("completion_tokens_details");
    w.BeginObject();
    if (u.reasoning_tokens) w.Int("reasoning_tokens", *u.reasoning_tokens);
    if (cd != nullptr) w.Members(*cd);
    w.EndObject();
  }
  if (same_dialect) {
    for (const auto& kv : u.extra) {
      if (kv.key() == "prompt_tokens_details" || kv.key() == "completion_tokens_details") continue;
      w.Key(kv.key());
      w.Value(kv.value());
    }
  }
  w.EndObject();
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
  resp.created = r.OptInt(o, "created", root).value_or(0);
  const json::value* choices = Reader::Get(o, "choices");
  const json::array* ca = choices ? r.Array(*choices, root.Member("choices")) : nullptr;
  if (r.ok() && (ca == nullptr || ca->size() != 1)) {
    r.Fail(root.Member("choices"), "expected exactly one choice");
  }
  if (r.ok()) {
    const Path choices_path = root.Member("choices");  // cp's parent: must outlive cp
    const Path cp = choices_path.At(0);
    const json::object* choice = r.Object((*ca)[0], cp);
    if (choice != nullptr) {
      if (auto fr = r.OptString(*choice, "finish_reason", cp)) {
        resp.finish_reason = ParseFinishReason(*fr);
        resp.finish_raw = *fr;
      }
      const json::value* mv = Reader::Get(*choice, "message");
      const json::object* m = mv ? r.Object(*mv, cp.Member("message")) : nullptr;
      if (m != nullptr) {
        const Path mp = cp.Member("message");
        if (auto c = r.OptString(*m, "content", mp)) {
          resp.content.push_back(ContentPart::Text(std::string(*c)));
        }
        if (auto refusal = r.OptString(*m, "refusal", mp)) {
          ContentPart part;
          part.kind = PartKind::kRefusal;
          part.text = *refusal;
          resp.content.push_back(std::move(part));
        }
        if (const json::value* tc = Reader::Get(*m, "tool_calls")) {
          Reader inner(core::ErrorCode::kUpstreamError);
          DecodeToolCalls(inner, *tc, mp.Member("tool_calls"), resp.content);
          if (!inner.ok()) return std::unexpected(inner.TakeError());
        }
      } else if (r.ok()) {
        r.Fail(cp.Member("message"), "missing");
      }
    }
  }
  if (const json::value* u = Reader::Get(o, "usage")) {
    if (const json::object* uo = r.Object(*u, root.Member("usage"))) {
      Usage usage;
      DecodeUsage(r, *uo, root.Member("usage"), usage);
      resp.usage = usage;
    }
  }
  if (auto t = r.OptString(o, "service_tier", root)) resp.service_tier = *t;
  detail::CollectExtra(o, {"id", "object", "created", "model", "choices", "usage", "service_tier"},
                       resp.extra);
  if (!r.ok()) return std::unexpected(r.TakeError());
  return resp;
}

core::Result<std::string> EncodeResponse(const ChatResponse& resp, const ResponseOptions& options) {
  const bool foreign = resp.origin != kSelf;
  std::string out;
  out.reserve(512);
  JsonWriter w(out);
  w.BeginObject();
  w.Str("id", resp.id);
  w.Str("object", "chat.completion");
  w.Int("created", resp.created != 0 ? resp.created : options.created);
  w.Str("model", resp.model);
  w.Key("choices");
  w.BeginArray();
  w.BeginObject();
  w.Int("index", 0);
  w.Key("message");
  w.BeginObject();
  w.Str("role", "assistant");
  std::string text;
  std::string refusal;
  bool have_text = false, have_refusal = false;
  std::vector<const ContentPart*> calls;
  for (const ContentPart& p : resp.content) {
    switch (p.kind) {
      case PartKind::kText:
        text += p.text;  // text blocks are joined (docs/dialects.md)
        have_text = true;
        break;
      case PartKind::kRefusal:
        refusal += p.text;
        have_refusal = true;
        break;
      case PartKind::kToolUse: calls.push_back(&p); break;
      case PartKind::kThinking:
      case PartKind::kRedactedThinking: break;  // no OpenAI field (docs/dialects.md)
      case PartKind::kOpaque:
        if (!foreign) {
          calls.push_back(&p);
          break;
        }
        [[fallthrough]];
      default:
        return core::Fail(core::ErrorCode::kUpstreamError,
                          "the upstream response holds " + std::string(PartKindName(p.kind)) +
                              " content that OpenAI Chat Completions cannot carry");
    }
  }
  if (have_text) {
    w.Str("content", text);
  } else {
    w.Key("content");
    w.Null();
  }
  if (have_refusal) {
    w.Str("refusal", refusal);
  } else {
    w.Key("refusal");
    w.Null();
  }
  if (!calls.empty()) {
    WriteToolCalls(w, calls, /*extras=*/false);
  }
  w.EndObject();  // message
  w.Key("logprobs");
  w.Null();
  w.Str("finish_reason", FinishReasonString(resp.finish_reason, foreign ? "" : resp.finish_raw));
  w.EndObject();
  w.EndArray();
  if (resp.usage) WriteUsage(w, *resp.usage, !foreign);
  if (!resp.service_tier.empty() && !foreign) w.Str("service_tier", resp.service_tier);
  if (!foreign) w.Members(resp.extra);
  w.EndObject();
  return out;
}

// ---- errors ------------------------------------------------------------------------------

ApiError DecodeError(int status, std::string_view body, const ErrorHeaders& headers) {
  ApiError e;
  e.origin = kSelf;
  e.status = status;
  e.cls = ErrorClassForStatus(status);
  e.retry_after = headers.retry_after;
  e.retry_after_ms = headers.retry_after_ms;
  if (headers.should_retry == "true") e.should_retry = true;
  if (headers.should_retry == "false") e.should_retry = false;
  e.request_id = headers.request_id;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  const json::object* err = nullptr;
  if (!ec && v.is_object()) {
    if (const auto* inner = v.get_object().if_contains("error"); inner && inner->is_object()) {
      err = &inner->get_object();
    }
  }
  if (err == nullptr) {
    e.message = "upstream error (HTTP " + std::to_string(status) + ")";
    return e;
  }
  auto str = [&](std::string_view k) -> std::string {
    const auto* x = err->if_contains(k);
    return (x && x->is_string()) ? std::string(x->get_string()) : std::string();
  };
  e.message = str("message");
  e.type = str("type");
  e.code = str("code");
  e.param = str("param");
  if (status == 429 && (e.type == "insufficient_quota" || e.code == "insufficient_quota")) {
    e.cls = ErrorClass::kQuotaExceeded;
  }
  if (status == 503 && (e.code == "overloaded" || e.type == "overloaded_error")) {
    e.cls = ErrorClass::kOverloaded;
  }
  return e;
}

// Errors of the Responses API share Chat's error object: either origin keeps its own strings.
bool SameFamily(Dialect origin) { return origin == kSelf || origin == Dialect::kOpenAiResponses; }

std::string ErrorBody(const ApiError& error) {
  const ErrorMapping& m = ErrorMappingFor(error.cls);
  const bool same = SameFamily(error.origin);
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("error");
  w.BeginObject();
  w.Str("message", error.message);
  w.Str("type", same && !error.type.empty() ? std::string_view(error.type) : m.openai_type);
  w.Key("param");
  if (error.param.empty()) w.Null();
  else w.String(error.param);
  w.Key("code");
  const std::string_view code =
      same ? std::string_view(error.code)
           : (!error.code.empty() && error.origin == Dialect::kNone ? std::string_view(error.code)
                                                                     : m.openai_code);
  if (code.empty()) w.Null();
  else w.String(code);
  w.EndObject();
  w.EndObject();
  return out;
}

HttpError EncodeError(const ApiError& error) {
  const ErrorMapping& m = ErrorMappingFor(error.cls);
  HttpError out;
  out.status = (error.cls == ErrorClass::kOther || SameFamily(error.origin)) ? error.status
                                                                                : m.openai_status;
  if (out.status < 400 || out.status > 599) out.status = 502;
  out.body = ErrorBody(error);
  if (!error.retry_after.empty()) out.headers.emplace_back("retry-after", error.retry_after);
  if (!error.retry_after_ms.empty()) {
    out.headers.emplace_back("retry-after-ms", error.retry_after_ms);
  }
  std::optional<bool> retry = error.should_retry;
  if (!retry && !SameFamily(error.origin) && out.status == 429 && !m.retryable) retry = false;
  if (retry) out.headers.emplace_back("x-should-retry", *retry ? "true" : "false");
  return out;
}

}  // namespace meridian::dialect::openai
