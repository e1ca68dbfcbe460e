// OpenAI Responses streams: typed SSE events → canonical events, canonical events → typed SSE
// events (docs/dialects.md, "OpenAI Responses: streams").

#include <cstdint>
#include <utility>

#include <boost/json/serialize.hpp>

#include "dialect/openai_responses.hpp"

namespace meridian::dialect::responses {

namespace json = boost::json;
using detail::JsonWriter;

// openai_responses.cpp
void WriteUsage(JsonWriter& w, const Usage& u, bool same_dialect);
std::string ItemId(std::string_view prefix, std::string_view response_id, std::size_t n);
void WriteEchoDefaults(JsonWriter& w, const json::object* keep, const json::object* echo);

namespace {

std::string_view Str(const json::object* o, std::string_view key) {
  if (o == nullptr) return {};
  const json::value* v = o->if_contains(key);
  return (v != nullptr && v->is_string()) ? std::string_view(v->get_string()) : std::string_view();
}

const json::object* Obj(const json::object* o, std::string_view key) {
  if (o == nullptr) return nullptr;
  const json::value* v = o->if_contains(key);
  return (v != nullptr && v->is_object()) ? &v->get_object() : nullptr;
}

const json::array* Arr(const json::object* o, std::string_view key) {
  if (o == nullptr) return nullptr;
  const json::value* v = o->if_contains(key);
  return (v != nullptr && v->is_array()) ? &v->get_array() : nullptr;
}

std::optional<std::int64_t> OptInt(const json::object* o, std::string_view key) {
  if (o == nullptr) return std::nullopt;
  const json::value* v = o->if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) {
    const std::uint64_t u = v->get_uint64();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v->is_double()) {
    // Range first: converting an out-of-range double (or NaN) to an integer is undefined.
    const double d = v->get_double();
    if (!(d > -9.2e18 && d < 9.2e18)) return std::nullopt;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

std::int64_t Int(const json::object* o, std::string_view key) {
  return OptInt(o, key).value_or(-1);
}

Usage ReadUsage(const json::object& u) {
  Usage out;
  out.input_tokens = OptInt(&u, "input_tokens").value_or(0);
  out.output_tokens = OptInt(&u, "output_tokens").value_or(0);
  const json::object* id = Obj(&u, "input_tokens_details");
  out.cache_read_tokens = OptInt(id, "cached_tokens");
  out.cache_write_tokens = OptInt(id, "cache_write_tokens");
  out.reasoning_tokens = OptInt(Obj(&u, "output_tokens_details"), "reasoning_tokens");
  return out;  // other details are not carried in streams (docs/dialects.md)
}

// An `error` event ({code, message, param}, or those inside an `error` member) or a failed
// response's `error` ({code, message}).
// `read_type`: false for an `error` event itself, whose `type` is the event's ("error"): the
// published ResponseErrorEvent has only code, message and param.
ApiError StreamError(const json::object& err, bool read_type = true) {
  ApiError e;
  e.origin = Dialect::kOpenAiResponses;
  e.message = std::string(Str(&err, "message"));
  if (read_type) e.type = std::string(Str(&err, "type"));
  e.code = std::string(Str(&err, "code"));
  e.param = std::string(Str(&err, "param"));
  // No status in a stream: the mapping table's own pairs say what it would have been, as for
  // Chat streams (rule E1): (type, code), then the type alone; without a type, the code as a
  // code (invalid_api_key, not_found, timeout, ...) and then as a type (server_error, ...).
  const bool typed = !e.type.empty();
  e.cls = ErrorClass::kInternal;
  bool found = false;
  for (int pass = 0; pass < 2 && !found; ++pass) {
    for (int c = 0; c < static_cast<int>(ErrorClass::kOther); ++c) {
      const ErrorMapping& m = ErrorMappingFor(static_cast<ErrorClass>(c));
      const bool hit = typed ? m.openai_type == e.type && (pass == 1 || m.openai_code == e.code)
                       : pass == 0 ? !e.code.empty() && m.openai_code == e.code
                                   : m.openai_type == e.code;
      if (!hit) continue;
      e.cls = m.cls;
      found = true;
      // A type in the code's place (what this codec's encoder writes when there is no code)
      // is the type.
      if (!typed && pass == 1) std::swap(e.type, e.code);
      break;
    }
  }
  if (e.code == "model_not_found") {
    e.cls = ErrorClass::kNotFound;
  } else if (e.code == "rate_limit_exceeded" || e.type == "tokens") {
    e.cls = ErrorClass::kRateLimited;
  } else if (e.code == "insufficient_quota") {
    e.cls = ErrorClass::kQuotaExceeded;
  } else if (!found && (e.code == "invalid_prompt" || e.code == "context_length_exceeded" ||
                        e.code.starts_with("invalid_") || e.code.starts_with("image_"))) {
    e.cls = ErrorClass::kInvalidRequest;
  }
  if (e.type.empty()) e.type = ErrorMappingFor(e.cls).openai_type;
  e.status = ErrorMappingFor(e.cls).openai_status;
  return e;
}

StreamEvent Event(StreamEventKind kind, int index, PartKind block) {
  StreamEvent ev;
  ev.kind = kind;
  ev.index = index;
  ev.block = block;
  return ev;
}

}  // namespace

// ---- decoder -----------------------------------------------------------------------------

StreamDecoder::Block* StreamDecoder::Find(std::int64_t output, std::int64_t content) {
  for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it) {
    if (it->output == output && it->content == content) return &*it;
  }
  return nullptr;
}

void StreamDecoder::Stop(Block& b, std::vector<StreamEvent>& out) {
  if (!b.open) return;
  b.open = false;
  out.push_back(Event(StreamEventKind::kBlockStop, b.index, b.kind));
}

void StreamDecoder::StopAll(std::vector<StreamEvent>& out) {
  for (Block& b : blocks_) Stop(b, out);
}

core::Result<void> StreamDecoder::Feed(std::string_view data, std::vector<StreamEvent>& out) {
  if (done_ || data == "[DONE]") return {};  // the message ended at response.completed
  std::string problem;
  const json::object* ev = parser_.Parse(data, problem);
  if (ev == nullptr) return core::Fail(core::ErrorCode::kUpstreamError, problem);
  const std::string_view type = Str(ev, "type");
  if (type == "error") {
    const json::object* inner = Obj(ev, "error");
    error_ = inner != nullptr ? StreamError(*inner) : StreamError(*ev, false);
    StreamEvent e;
    e.kind = StreamEventKind::kError;
    e.error = &error_;
    out.push_back(e);
    done_ = true;
    return {};
  }
  const json::object* resp = Obj(ev, "response");
  if (!started_ && (type == "response.created" || type == "response.in_progress" ||
                    type.starts_with("response.output") || type.starts_with("response.content") ||
                    type.starts_with("response.function") || type.starts_with("response.reasoning") ||
                    type.starts_with("response.refusal") || type == "response.completed" ||
                    type == "response.incomplete")) {
    started_ = true;
    id_ = Str(resp, "id");
    model_ = Str(resp, "model");
    StreamEvent start;
    start.kind = StreamEventKind::kMessageStart;
    start.id = id_;
    start.model = model_;
    start.created = std::max<std::int64_t>(0, Int(resp, "created_at"));
    out.push_back(start);
  }
  const std::int64_t oi = Int(ev, "output_index");
  // Opens a block for (output_index, content_index).
  auto open = [&](std::int64_t content, PartKind kind, std::string_view id,
                  std::string_view name) -> Block& {
    Block b;
    b.output = static_cast<int>(oi);
    b.content = static_cast<int>(content);
    b.index = next_block_++;
    b.kind = kind;
    b.open = true;
    blocks_.push_back(b);
    StreamEvent s = Event(StreamEventKind::kBlockStart, b.index, kind);
    s.id = id;
    s.name = name;
    out.push_back(s);
    return blocks_.back();
  };
  auto delta = [&](Block& b, std::string_view text) {
    if (text.empty()) return;
    const StreamEventKind k = b.kind == PartKind::kToolUse    ? StreamEventKind::kToolArgsDelta
                              : b.kind == PartKind::kThinking ? StreamEventKind::kThinkingDelta
                                                              : StreamEventKind::kTextDelta;
    StreamEvent d = Event(k, b.index, b.kind);
    d.text = text;
    out.push_back(d);
    b.had_delta = true;
  };
  // The joined summary (or reasoning content) texts of a reasoning item, into scratch_.
  auto reasoning_text = [&](const json::object* item) -> std::string_view {
    scratch_.clear();
    const json::array* parts = Arr(item, "summary");
    if (parts == nullptr || parts->empty()) parts = Arr(item, "content");
    if (parts == nullptr) return {};
    for (std::size_t i = 0; i < parts->size(); ++i) {
      if (i > 0) scratch_ += "\n\n";
      scratch_ += Str((*parts)[i].if_object(), "text");
    }
    return scratch_;
  };

  if (type == "response.output_item.added") {
    const json::object* item = Obj(ev, "item");
    const std::string_view it = Str(item, "type");
    if (it == "function_call") {
      calls_ = true;
      Block& b = open(-1, PartKind::kToolUse, Str(item, "call_id"), Str(item, "name"));
      delta(b, Str(item, "arguments"));
    } else if (it == "reasoning") {
      open(-1, PartKind::kThinking, {}, {});
    }
    // message: its parts open blocks; other items are translated whole when done.
  } else if (type == "response.content_part.added") {
    const json::object* part = Obj(ev, "part");
    const std::string_view pt = Str(part, "type");
    if (pt == "output_text" || pt == "refusal") {
      Block& b = open(Int(ev, "content_index"),
                      pt == "refusal" ? PartKind::kRefusal : PartKind::kText, {}, {});
      delta(b, Str(part, pt == "refusal" ? "refusal" : "text"));
    }
  } else if (type == "response.output_text.delta" || type == "response.refusal.delta") {
    const std::int64_t ci = Int(ev, "content_index");
    Block* b = Find(oi, ci);
    if (b == nullptr || !b->open) {  // servers that skip content_part.added
      b = &open(ci, type == "response.refusal.delta" ? PartKind::kRefusal : PartKind::kText, {},
                {});
    }
    delta(*b, Str(ev, "delta"));
  } else if (type == "response.content_part.done") {
    if (Block* b = Find(oi, Int(ev, "content_index")); b != nullptr && b->open) {
      const json::object* part = Obj(ev, "part");
      if (!b->had_delta) delta(*b, Str(part, b->kind == PartKind::kRefusal ? "refusal" : "text"));
      Stop(*b, out);
    }
  } else if (type == "response.function_call_arguments.delta") {
    if (Block* b = Find(oi, -1); b != nullptr && b->kind == PartKind::kToolUse) {
      // Fragments of a call that is no longer the newest still go to its own block.
      delta(*b, Str(ev, "delta"));
    }
  } else if (type == "response.function_call_arguments.done") {
    if (Block* b = Find(oi, -1); b != nullptr && b->kind == PartKind::kToolUse && !b->had_delta) {
      delta(*b, Str(ev, "arguments"));
    }
  } else if (type == "response.reasoning_summary_part.added") {
    Block* b = Find(oi, -1);
    if (b == nullptr || !b->open) b = &open(-1, PartKind::kThinking, {}, {});
    if (b->summaries++ > 0) delta(*b, "\n\n");  // summary parts are joined like the body's
  } else if (type == "response.reasoning_summary_text.delta" ||
             type == "response.reasoning_text.delta") {
    Block* b = Find(oi, -1);
    if (b == nullptr || !b->open) b = &open(-1, PartKind::kThinking, {}, {});
    delta(*b, Str(ev, "delta"));
  } else if (type == "response.output_item.done") {
    const json::object* item = Obj(ev, "item");
    const std::string_view it = Str(item, "type");
    if (it == "function_call") {
      calls_ = true;
      Block* b = Find(oi, -1);
      if (b == nullptr) b = &open(-1, PartKind::kToolUse, Str(item, "call_id"), Str(item, "name"));
      if (!b->had_delta) delta(*b, Str(item, "arguments"));
      Stop(*b, out);
    } else if (it == "reasoning") {
      Block* b = Find(oi, -1);
      if (b == nullptr) b = &open(-1, PartKind::kThinking, {}, {});
      if (!b->had_delta) delta(*b, reasoning_text(item));
      if (const std::string_view sig = Str(item, "encrypted_content"); !sig.empty() && b->open) {
        StreamEvent s = Event(StreamEventKind::kSignatureDelta, b->index, PartKind::kThinking);
        s.text = sig;
        out.push_back(s);
      }
      Stop(*b, out);
    } else if (it == "message") {
      bool any = false;
      for (Block& b : blocks_) {
        if (b.output == oi) {
          any = true;
          Stop(b, out);
        }
      }
      if (!any) {  // servers that send the whole message only here
        if (const json::array* parts = Arr(item, "content")) {
          for (std::size_t i = 0; i < parts->size(); ++i) {
            const json::object* part = (*parts)[i].if_object();
            const std::string_view pt = Str(part, "type");
            if (pt != "output_text" && pt != "refusal") continue;
            Block& b = open(static_cast<std::int64_t>(i),
                            pt == "refusal" ? PartKind::kRefusal : PartKind::kText, {}, {});
            delta(b, Str(part, pt == "refusal" ? "refusal" : "text"));
            Stop(b, out);
          }
        }
      }
    } else if (item != nullptr) {
      // Built-in tool calls and other items: whole, for Responses clients only.
      scratch2_ = json::serialize(*item);
      Block& b = open(-1, PartKind::kOpaque, {}, {});
      out.back().text = scratch2_;
      Stop(b, out);
    }
  } else if (type == "response.completed" || type == "response.incomplete") {
    StopAll(out);
    if (const json::object* u = Obj(resp, "usage")) usage_ = ReadUsage(*u);
    const std::string_view status = type == "response.completed" ? "completed" : "incomplete";
    const std::string_view reason = Str(Obj(resp, "incomplete_details"), "reason");
    StreamEvent d;
    d.kind = StreamEventKind::kMessageDelta;
    d.finish = ParseStatus(status, reason, calls_);
    d.finish_raw = reason.empty() ? status : reason;
    d.usage = usage_;
    out.push_back(d);
    StreamEvent stop;
    stop.kind = StreamEventKind::kMessageStop;
    out.push_back(stop);
    done_ = true;
  } else if (type == "response.failed") {
    const json::object* err = Obj(resp, "error");
    error_ = err != nullptr ? StreamError(*err) : StreamError(json::object());
    if (error_.message.empty()) error_.message = "the upstream response failed";
    StreamEvent e;
    e.kind = StreamEventKind::kError;
    e.error = &error_;
    out.push_back(e);
    done_ = true;
  }
  // response.created / in_progress / queued, *.done events already covered, annotations,
  // built-in tool progress and unknown events: nothing to translate.
  return {};
}

// ---- encoder -----------------------------------------------------------------------------

template <class Body>
void StreamEncoder::Emit(std::string_view type, std::string& out, Body&& body) {
  scratch_.clear();
  JsonWriter w(scratch_);
  w.BeginObject();
  w.Str("type", type);
  body(w);
  w.Int("sequence_number", seq_++);
  w.EndObject();
  out += "event: ";
  out += type;
  out += "\ndata: ";
  out += scratch_;
  out += "\n\n";
}

StreamEncoder::Item* StreamEncoder::ItemFor(int block) {
  if (block < 0 || static_cast<std::size_t>(block) >= block_item_.size()) return nullptr;
  const int i = block_item_[static_cast<std::size_t>(block)];
  return i < 0 ? nullptr : &items_[static_cast<std::size_t>(i)];
}

void StreamEncoder::WriteItem(JsonWriter& w, const Item& item, bool final_state,
                              std::string_view status) const {
  w.BeginObject();
  w.Str("id", item.id);
  switch (item.kind) {
    case PartKind::kText:
    case PartKind::kRefusal:
      w.Str("type", "message");
      w.Str("status", status);
      w.Key("content");
      w.BeginArray();
      if (final_state) {
        w.BeginObject();
        if (item.kind == PartKind::kRefusal) {
          w.Str("type", "refusal");
          w.Str("refusal", item.text);
        } else {
          w.Str("type", "output_text");
          w.Key("annotations");
          w.Raw("[]");
          w.Key("logprobs");
          w.Raw("[]");
          w.Str("text", item.text);
        }
        w.EndObject();
      }
      w.EndArray();
      w.Str("role", "assistant");
      break;
    case PartKind::kToolUse:
      w.Str("type", "function_call");
      w.Str("status", status);
      w.Str("arguments", final_state ? std::string_view(item.text) : std::string_view());
      w.Str("call_id", item.call_id);
      w.Str("name", item.name);
      break;
    default:  // reasoning (thinking, redacted thinking)
      w.Str("type", "reasoning");
      w.Key("summary");
      w.BeginArray();
      if (final_state && !item.text.empty()) {
        w.BeginObject();
        w.Str("type", "summary_text");
        w.Str("text", item.text);
        w.EndObject();
      }
      w.EndArray();
      if (final_state && !item.signature.empty()) w.Str("encrypted_content", item.signature);
      break;
  }
  w.EndObject();
}

namespace {

// A failed response's error code (the Responses API's own list).
std::string_view FailedCode(const ApiError& e) {
  switch (e.cls) {
    case ErrorClass::kRateLimited:
    case ErrorClass::kQuotaExceeded: return "rate_limit_exceeded";
    case ErrorClass::kInvalidRequest: return "invalid_prompt";
    default: return "server_error";
  }
}

bool OpenAiFamily(Dialect d) {
  return d == Dialect::kOpenAiChat || d == Dialect::kOpenAiResponses;
}

}  // namespace

void StreamEncoder::WriteResponse(JsonWriter& w, std::string_view status, bool with_output,
                                  const ApiError* error) const {
  w.BeginObject();
  w.Str("id", id_);
  w.Str("object", "response");
  w.Int("created_at", created_);
  w.Str("status", status);
  w.Key("error");
  if (error == nullptr) {
    w.Null();
  } else {
    w.BeginObject();
    w.Str("code", FailedCode(*error));
    w.Str("message", error->message);
    w.EndObject();
  }
  w.Key("incomplete_details");
  if (status == "incomplete") {
    w.BeginObject();
    w.Str("reason", finish_ == FinishReason::kContentFilter ? "content_filter"
                                                            : "max_output_tokens");
    w.EndObject();
  } else {
    w.Null();
  }
  w.Str("model", model_);
  w.Key("output");
  w.BeginArray();
  if (with_output) {
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const bool last = i + 1 == items_.size();
      WriteItem(w, items_[i], true,
                status == "incomplete" && last ? "incomplete"
                : items_[i].done               ? "completed"
                                               : "in_progress");
    }
  }
  w.EndArray();
  // ResponseUsage is an object or absent (the schema has no null): left out until known.
  if (with_output && usage_) WriteUsage(w, *usage_, false);
  // error is written above; the other request echoes are the client's or neutral values.
  json::object keep;
  keep["error"] = nullptr;
  WriteEchoDefaults(w, &keep, options_.echo);
  w.EndObject();
}

core::Result<void> StreamEncoder::Encode(const StreamEvent& ev, std::string& out) {
  switch (ev.kind) {
    case StreamEventKind::kMessageStart:
      started_ = true;
      id_ = ev.id;
      model_ = ev.model;
      created_ = ev.created != 0 ? ev.created : options_.created;
      if (ev.usage) usage_ = ev.usage;
      Emit("response.created", out, [&](JsonWriter& w) {
        w.Key("response");
        WriteResponse(w, "in_progress", false, nullptr);
      });
      Emit("response.in_progress", out, [&](JsonWriter& w) {
        w.Key("response");
        WriteResponse(w, "in_progress", false, nullptr);
      });
      return {};
    case StreamEventKind::kBlockStart: {
      if (ev.index < 0 || ev.index > 4096) {
        return core::Fail(core::ErrorCode::kUpstreamError, "content block index out of range");
      }
      const auto bi = static_cast<std::size_t>(ev.index);
      if (block_item_.size() <= bi) block_item_.resize(bi + 1, -1);
      Item item;
      item.kind = ev.block;
      const std::size_t n = items_.size();
      switch (ev.block) {
        case PartKind::kText:
        case PartKind::kRefusal: item.id = ItemId("msg", id_, n); break;
        case PartKind::kToolUse:
          item.id = ItemId("fc", id_, n);
          item.call_id = ev.id;
          item.name = ev.name;
          break;
        case PartKind::kThinking: item.id = ItemId("rs", id_, n); break;
        case PartKind::kRedactedThinking:
          item.id = ItemId("rs", id_, n);
          item.signature = ev.text;  // the redacted data goes back as encrypted content
          break;
        default:
          return core::Fail(core::ErrorCode::kUpstreamError,
                            "the upstream stream holds a content block OpenAI Responses cannot "
                            "carry");
      }
      block_item_[bi] = static_cast<int>(n);
      items_.push_back(std::move(item));
      const Item& it = items_.back();
      const auto oi = static_cast<std::int64_t>(n);
      Emit("response.output_item.added", out, [&](JsonWriter& w) {
        w.Int("output_index", oi);
        w.Key("item");
        WriteItem(w, it, false, "in_progress");
      });
      if (it.kind == PartKind::kText || it.kind == PartKind::kRefusal) {
        Emit("response.content_part.added", out, [&](JsonWriter& w) {
          w.Str("item_id", it.id);
          w.Int("output_index", oi);
          w.Int("content_index", 0);
          w.Key("part");
          w.BeginObject();
          if (it.kind == PartKind::kRefusal) {
            w.Str("type", "refusal");
            w.Str("refusal", "");
          } else {
            w.Str("type", "output_text");
            w.Key("annotations");
            w.Raw("[]");
            w.Key("logprobs");
            w.Raw("[]");
            w.Str("text", "");
          }
          w.EndObject();
        });
      }
      if (!ev.text.empty() && ev.block != PartKind::kRedactedThinking &&
          ev.block != PartKind::kToolUse) {
        StreamEvent d = ev;
        d.kind = ev.block == PartKind::kThinking ? StreamEventKind::kThinkingDelta
                                                 : StreamEventKind::kTextDelta;
        return Encode(d, out);
      }
      return {};
    }
    case StreamEventKind::kTextDelta:
    case StreamEventKind::kToolArgsDelta:
    case StreamEventKind::kThinkingDelta: {
      if (ev.text.empty()) return {};
      Item* it = ItemFor(ev.index);
      if (it == nullptr) {
        return core::Fail(core::ErrorCode::kUpstreamError, "a delta for no content block");
      }
      const auto oi = static_cast<std::int64_t>(block_item_[static_cast<std::size_t>(ev.index)]);
      it->text += ev.text;
      switch (it->kind) {
        case PartKind::kText:
        case PartKind::kRefusal: {
          const bool refusal = it->kind == PartKind::kRefusal;
          Emit(refusal ? "response.refusal.delta" : "response.output_text.delta", out,
               [&](JsonWriter& w) {
                 w.Str("item_id", it->id);
                 w.Int("output_index", oi);
                 w.Int("content_index", 0);
                 w.Str("delta", ev.text);
                 if (!refusal) {
                   w.Key("logprobs");
                   w.Raw("[]");
                 }
               });
          return {};
        }
        case PartKind::kToolUse:
          Emit("response.function_call_arguments.delta", out, [&](JsonWriter& w) {
            w.Str("item_id", it->id);
            w.Int("output_index", oi);
            w.Str("delta", ev.text);
          });
          return {};
        case PartKind::kThinking:
          if (!it->summary_open) {
            it->summary_open = true;
            Emit("response.reasoning_summary_part.added", out, [&](JsonWriter& w) {
              w.Str("item_id", it->id);
              w.Int("output_index", oi);
              w.Int("summary_index", 0);
              w.Key("part");
              w.Raw(R"({"type":"summary_text","text":""})");
            });
          }
          Emit("response.reasoning_summary_text.delta", out, [&](JsonWriter& w) {
            w.Str("item_id", it->id);
            w.Int("output_index", oi);
            w.Int("summary_index", 0);
            w.Str("delta", ev.text);
          });
          return {};
        default: return {};
      }
    }
    case StreamEventKind::kSignatureDelta:
      // A thinking block's signature travels as the reasoning item's encrypted_content;
      // signatures on other blocks (Gemini) have no Responses form (D4).
      if (Item* it = ItemFor(ev.index); it != nullptr && it->kind == PartKind::kThinking) {
        it->signature += ev.text;
      }
      return {};
    case StreamEventKind::kBlockStop: {
      Item* it = ItemFor(ev.index);
      if (it == nullptr || it->done) return {};
      it->done = true;
      const auto oi = static_cast<std::int64_t>(block_item_[static_cast<std::size_t>(ev.index)]);
      switch (it->kind) {
        case PartKind::kText:
          Emit("response.output_text.done", out, [&](JsonWriter& w) {
            w.Str("item_id", it->id);
            w.Int("output_index", oi);
            w.Int("content_index", 0);
            w.Str("text", it->text);
            w.Key("logprobs");
            w.Raw("[]");
          });
          Emit("response.content_part.done", out, [&](JsonWriter& w) {
            w.Str("item_id", it->id);
            w.Int("output_index", oi);
            w.Int("content_index", 0);
            w.Key("part");
            w.BeginObject();
            w.Str("type", "output_text");
            w.Key("annotations");
            w.Raw("[]");
            w.Key("logprobs");
            w.Raw("[]");
            w.Str("text", it->text);
            w.EndObject();
          });
          break;
        case PartKind::kRefusal:
          Emit("response.refusal.done", out, [&](JsonWriter& w) {
            w.Str("item_id", it->id);
            w.Int("output_index", oi);
            w.Int("content_index", 0);
            w.Str("refusal", it->text);
          });
          Emit("response.content_part.done", out, [&](JsonWriter& w) {
            w.Str("item_id", it->id);
            w.Int("output_index", oi);
            w.Int("content_index", 0);
            w.Key("part");
            w.BeginObject();
            w.Str("type", "refusal");
            w.Str("refusal", it->text);
            w.EndObject();
          });
          break;
        case PartKind::kToolUse:
          Emit("response.function_call_arguments.done", out, [&](JsonWriter& w) {
            w.Str("item_id", it->id);
            w.Int("output_index", oi);
            w.Str("name", it->name);
            w.Str("arguments", it->text);
          });
          break;
        case PartKind::kThinking:
          if (it->summary_open) {
            Emit("response.reasoning_summary_text.done", out, [&](JsonWriter& w) {
              w.Str("item_id", it->id);
              w.Int("output_index", oi);
              w.Int("summary_index", 0);
              w.Str("text", it->text);
            });
            Emit("response.reasoning_summary_part.done", out, [&](JsonWriter& w) {
              w.Str("item_id", it->id);
              w.Int("output_index", oi);
              w.Int("summary_index", 0);
              w.Key("part");
              w.BeginObject();
              w.Str("type", "summary_text");
              w.Str("text", it->text);
              w.EndObject();
            });
          }
          break;
        default: break;
      }
      Emit("response.output_item.done", out, [&](JsonWriter& w) {
        w.Int("output_index", oi);
        w.Key("item");
        WriteItem(w, *it, true, "completed");
      });
      return {};
    }
    case StreamEventKind::kMessageDelta:
      // Kept for the final response event (the Responses API has no separate finish event).
      finish_ = ev.finish;
      if (ev.usage) usage_ = ev.usage;
      return {};
    case StreamEventKind::kMessageStop: {
      const bool incomplete = finish_ == FinishReason::kLength ||
                              finish_ == FinishReason::kContextExhausted ||
                              finish_ == FinishReason::kContentFilter;
      const std::string_view status = incomplete ? "incomplete" : "completed";
      Emit(incomplete ? "response.incomplete" : "response.completed", out, [&](JsonWriter& w) {
        w.Key("response");
        WriteResponse(w, status, true, nullptr);
      });
      return {};
    }
    case StreamEventKind::kPing: out += ": ping\n\n"; return {};
    case StreamEventKind::kError: {
      if (ev.error == nullptr) return {};
      const ApiError& e = *ev.error;
      const ErrorMapping& m = ErrorMappingFor(e.cls);
      std::string_view code = OpenAiFamily(e.origin) && !e.code.empty() ? std::string_view(e.code)
                              : !m.openai_code.empty()                   ? m.openai_code
                                                                         : m.openai_type;
      Emit("error", out, [&](JsonWriter& w) {
        w.Str("code", code);
        w.Str("message", e.message);
        w.Key("param");
        if (e.param.empty()) w.Null();
        else w.String(e.param);
      });
      if (started_) {
        Emit("response.failed", out, [&](JsonWriter& w) {
          w.Key("response");
          WriteResponse(w, "failed", true, &e);
        });
      }
      return {};
    }
  }
  return {};
}

}  // namespace meridian::dialect::responses
