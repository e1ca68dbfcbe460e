// Google Gemini streams (streamGenerateContent?alt=sse): chunks → canonical events, canonical
// events → chunks.

#include "dialect/gemini.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace meridian::dialect::gemini {

namespace json = boost::json;
using detail::JsonWriter;

// gemini.cpp
void ReadUsage(const json::object& u, Usage& out, bool keep_extra);
void WriteUsageMembers(JsonWriter& w, const Usage& u, bool same_dialect);

namespace {

// Stream chunks are read leniently (both field spellings, wrong types ignored): a chunk that
// does not parse is an error, one with unexpected members is not.
const json::value* Get(const json::object& o, std::string_view camel, std::string_view snake) {
  if (const json::value* v = o.if_contains(camel); v && !v->is_null()) return v;
  if (const json::value* v = o.if_contains(snake); v && !v->is_null()) return v;
  return nullptr;
}

std::string_view Str(const json::object& o, std::string_view camel, std::string_view snake) {
  const json::value* v = Get(o, camel, snake);
  return (v != nullptr && v->is_string()) ? std::string_view(v->get_string()) : std::string_view();
}

const json::object* Obj(const json::object& o, std::string_view camel, std::string_view snake) {
  const json::value* v = Get(o, camel, snake);
  return (v != nullptr && v->is_object()) ? &v->get_object() : nullptr;
}

// A mid-stream error event ({"error": {code, message, status}}) → canonical.
ApiError StreamError(std::string_view data, const json::object& err) {
  int status = 500;
  if (const auto* c = err.if_contains("code"); c && c->is_int64()) {
    status = static_cast<int>(c->get_int64());
  }
  ApiError e = DecodeError(status, data);
  return e;
}

}  // namespace

void StreamDecoder::CloseBlock(std::vector<StreamEvent>& out) {
  if (open_block_ < 0) return;
  StreamEvent ev;
  ev.kind = StreamEventKind::kBlockStop;
  ev.index = open_block_;
  ev.block = open_kind_;
  out.push_back(ev);
  open_block_ = -1;
}

int StreamDecoder::OpenBlock(PartKind kind, std::vector<StreamEvent>& out) {
  if (open_block_ >= 0 && open_kind_ == kind) return open_block_;
  CloseBlock(out);
  StreamEvent start;
  start.kind = StreamEventKind::kBlockStart;
  start.index = open_block_ = next_block_++;
  start.block = open_kind_ = kind;
  out.push_back(start);
  return open_block_;
}

core::Result<void> StreamDecoder::Feed(std::string_view data, std::vector<StreamEvent>& out) {
  if (done_) return {};
  texts_.clear();
  std::string problem;
  const json::object* chunk = parser_.Parse(data, problem);
  if (chunk == nullptr) return core::Fail(core::ErrorCode::kUpstreamError, problem);
  if (const json::object* err = Obj(*chunk, "error", "error")) {
    error_ = StreamError(data, *err);
    StreamEvent ev;
    ev.kind = StreamEventKind::kError;
    ev.error = &error_;
    out.push_back(ev);
    done_ = true;
    return {};
  }
  if (const json::object* u = Obj(*chunk, "usageMetadata", "usage_metadata")) {
    ReadUsage(*u, usage_, false);  // each chunk's counts are cumulative
    have_usage_ = true;
  }
  if (!started_) {
    started_ = true;
    id_ = Str(*chunk, "responseId", "response_id");
    model_ = Str(*chunk, "modelVersion", "model_version");
    StreamEvent ev;
    ev.kind = StreamEventKind::kMessageStart;
    ev.id = id_;
    ev.model = model_;
    if (have_usage_) {
      Usage prompt = usage_;  // the prompt side; generation has only begun
      prompt.output_tokens = 0;
      prompt.reasoning_tokens.reset();
      ev.usage = prompt;
    }
    out.push_back(ev);
  }
  const json::object* candidate = nullptr;
  if (const json::value* cv = Get(*chunk, "candidates", "candidates"); cv && cv->is_array()) {
    for (const json::value& c : cv->get_array()) {
      if (!c.is_object()) continue;
      const json::value* idx = c.get_object().if_contains("index");
      if (idx != nullptr && idx->is_int64() && idx->get_int64() != 0) continue;
      candidate = &c.get_object();
      break;
    }
  }
  std::string_view finish;
  if (candidate != nullptr) {
    const json::object* content = Obj(*candidate, "content", "content");
    const json::value* parts = content ? Get(*content, "parts", "parts") : nullptr;
    if (parts != nullptr && parts->is_array()) {
      for (const json::value& pv : parts->get_array()) {
        if (!pv.is_object()) continue;
        const json::object& part = pv.get_object();
        const std::string_view sig = Str(part, "thoughtSignature", "thought_signature");
        const json::value* thought = part.if_contains("thought");
        const bool is_thought = thought != nullptr && thought->is_bool() && thought->get_bool();
        if (const json::value* tv = part.if_contains("text"); tv && tv->is_string()) {
          const std::string_view text = tv->get_string();
          if (text.empty() && sig.empty()) continue;  // nothing to say
          const PartKind kind = is_thought ? PartKind::kThinking : PartKind::kText;
          const int index = OpenBlock(kind, out);
          if (!text.empty()) {
            StreamEvent ev;
            ev.kind = is_thought ? StreamEventKind::kThinkingDelta : StreamEventKind::kTextDelta;
            ev.index = index;
            ev.block = kind;
            ev.text = text;
            out.push_back(ev);
          }
          if (!sig.empty()) {
            StreamEvent ev;
            ev.kind = StreamEventKind::kSignatureDelta;
            ev.index = index;
            ev.block = kind;
            ev.text = sig;
            out.push_back(ev);
          }
          continue;
        }
        CloseBlock(out);
        StreamEvent start;
        start.kind = StreamEventKind::kBlockStart;
        start.index = next_block_++;
        if (const json::object* fc = Obj(part, "functionCall", "function_call")) {
          // A call arrives whole: start, arguments and stop at once (rule G2).
          start.block = PartKind::kToolUse;
          start.name = Str(*fc, "name", "name");
          std::string_view id = Str(*fc, "id", "id");
          if (id.empty()) {
            std::string& gen = texts_.emplace_back("call_");
            if (!id_.empty()) {
              gen += id_;
              gen += '_';
            }
            gen += std::to_string(calls_);
            id = gen;
          }
          ++calls_;
          start.id = id;
          out.push_back(start);
          StreamEvent args;
          args.kind = StreamEventKind::kToolArgsDelta;
          args.index = start.index;
          args.block = PartKind::kToolUse;
          const json::value* a = fc->if_contains("args");
          args.text = texts_.emplace_back(a != nullptr && a->is_object() ? detail::Serialize(*a)
                                                                          : std::string("{}"));
          out.push_back(args);
          if (!sig.empty()) {
            StreamEvent ev;
            ev.kind = StreamEventKind::kSignatureDelta;
            ev.index = start.index;
            ev.block = PartKind::kToolUse;
            ev.text = sig;
            out.push_back(ev);
          }
        } else {  // inlineData, executableCode, ...: relayed whole as an opaque block
          start.block = PartKind::kOpaque;
          start.text = texts_.emplace_back(detail::Serialize(pv));
          out.push_back(start);
        }
        StreamEvent stop;
        stop.kind = StreamEventKind::kBlockStop;
        stop.index = start.index;
        stop.block = start.block;
        out.push_back(stop);
      }
    }
    finish = Str(*candidate, "finishReason", "finish_reason");
  } else if (const json::object* pf = Obj(*chunk, "promptFeedback", "prompt_feedback")) {
    finish = Str(*pf, "blockReason", "block_reason");  // the prompt was blocked
  }
  if (!finish.empty()) {
    // The chunk with a finish reason is the last: the message ends here.
    CloseBlock(out);
    StreamEvent delta;
    delta.kind = StreamEventKind::kMessageDelta;
    delta.finish = candidate != nullptr ? ParseFinishReason(finish) : FinishReason::kContentFilter;
    if (delta.finish == FinishReason::kStop && calls_ > 0) delta.finish = FinishReason::kToolCalls;
    delta.finish_raw = finish;
    if (have_usage_) delta.usage = usage_;
    out.push_back(delta);
    StreamEvent stop;
    stop.kind = StreamEventKind::kMessageStop;
    out.push_back(stop);
    done_ = true;
  }
  return {};
}

// ---- encoder -----------------------------------------------------------------------------

void StreamEncoder::Chunk(std::string& out, std::string_view parts_json, std::string_view finish,
                          const Usage* usage) {
  scratch_.clear();
  JsonWriter w(scratch_);
  w.BeginObject();
  w.Key("candidates");
  w.BeginArray();
  w.BeginObject();
  w.Key("content");
  w.BeginObject();
  w.Key("parts");
  w.Raw(parts_json);
  w.Str("role", "model");
  w.EndObject();
  if (!finish.empty()) w.Str("finishReason", finish);
  w.Int("index", 0);
  w.EndObject();
  w.EndArray();
  if (usage != nullptr && (usage->input_tokens != 0 || usage->output_tokens != 0)) {
    // Only Gemini's own tool-use count is kept from the usage's extras (the other dialects'
    // extras mean nothing here).
    Usage u = *usage;
    json::object extra;
    if (const auto* t = u.extra.if_contains("toolUsePromptTokenCount"); t && t->is_int64()) {
      extra["toolUsePromptTokenCount"] = t->get_int64();
    }
    u.extra = std::move(extra);
    w.Key("usageMetadata");
    w.BeginObject();
    WriteUsageMembers(w, u, true);
    w.EndObject();
  }
  if (!model_.empty()) w.Str("modelVersion", model_);
  if (!id_.empty()) w.Str("responseId", id_);
  w.EndObject();
  out += "data: ";
  out += scratch_;
  out += "\n\n";
}

StreamEncoder::PendingCall* StreamEncoder::Pending(int index) {
  for (auto& c : calls_) {
    if (c.index == index) return &c;
  }
  return nullptr;
}

core::Result<bool> StreamEncoder::FlushCall(PendingCall& call, bool force, std::string& out) {
  boost::system::error_code ec;
  json::value args = call.args.empty() ? json::value(json::object())
                                       : json::parse(call.args, ec);
  if (ec || !args.is_object()) {
    if (!force) return false;  // not complete yet (fragments of an interleaved call)
    return core::Fail(core::ErrorCode::kUpstreamError,
                      "the upstream tool call '" + call.name +
                          "' has arguments that are not a JSON object");
  }
  parts_.clear();
  JsonWriter p(parts_);
  p.BeginArray();
  p.BeginObject();
  p.Key("functionCall");
  p.BeginObject();
  p.Str("name", call.name);
  p.Key("args");
  p.Value(args);
  p.EndObject();
  if (!call.signature.empty()) p.Str("thoughtSignature", call.signature);
  p.EndObject();
  p.EndArray();
  Chunk(out, parts_, {}, nullptr);
  const int index = call.index;
  calls_.erase(std::remove_if(calls_.begin(), calls_.end(),
                              [&](const PendingCall& c) { return c.index == index; }),
               calls_.end());
  return true;
}

core::Result<void> StreamEncoder::Encode(const StreamEvent& ev, std::string& out) {
  auto kind_of = [&](int index) {
    return index >= 0 && static_cast<std::size_t>(index) < block_kind_.size()
               ? block_kind_[static_cast<std::size_t>(index)]
               : PartKind::kText;
  };
  // One part: {"text": t[, "thought": true][, "thoughtSignature": s]}.
  auto text_chunk = [&](std::string_view text, bool thought, std::string_view signature) {
    parts_.clear();
    JsonWriter p(parts_);
    p.BeginArray();
    p.BeginObject();
    p.Str("text", text);
    if (thought) {
      p.Key("thought");
      p.Bool(true);
    }
    if (!signature.empty()) p.Str("thoughtSignature", signature);
    p.EndObject();
    p.EndArray();
    Chunk(out, parts_, {}, nullptr);
  };
  switch (ev.kind) {
    case StreamEventKind::kMessageStart:
      id_ = ev.id;
      model_ = ev.model;
      start_usage_ = ev.usage.value_or(Usage{});
      return {};  // Gemini has no start event: the first content chunk starts the message
    case StreamEventKind::kBlockStart: {
      if (ev.index < 0 || ev.index > 4096) {
        return core::Fail(core::ErrorCode::kUpstreamError, "content block index out of range");
      }
      const auto i = static_cast<std::size_t>(ev.index);
      if (block_kind_.size() <= i) block_kind_.resize(i + 1, PartKind::kText);
      block_kind_[i] = ev.block;
      switch (ev.block) {
        case PartKind::kRefusal:
          refusal_ = true;
          [[fallthrough]];
        case PartKind::kText:
          if (!ev.text.empty()) text_chunk(ev.text, false, {});
          return {};
        case PartKind::kThinking:
          if (!ev.text.empty()) text_chunk(ev.text, true, {});
          return {};
        case PartKind::kRedactedThinking: return {};  // no Gemini form (rule D4)
        case PartKind::kToolUse: {
          PendingCall call;
          call.index = ev.index;
          call.name = ev.name;
          calls_.push_back(std::move(call));
          return {};
        }
        case PartKind::kOpaque: {
          // A Gemini part relayed whole; another dialect's block (it has a "type") cannot be.
          boost::system::error_code ec;
          json::value raw = json::parse(ev.text, ec);
          if (ec || !raw.is_object() || raw.get_object().contains("type")) break;
          parts_.clear();
          parts_ += '[';
          parts_ += ev.text;
          parts_ += ']';
          Chunk(out, parts_, {}, nullptr);
          return {};
        }
        default: break;
      }
      return core::Fail(core::ErrorCode::kUpstreamError,
                        "the upstream stream holds a content block Google Gemini cannot carry");
    }
    case StreamEventKind::kTextDelta:
      if (ev.text.empty()) return {};
      text_chunk(ev.text, kind_of(ev.index) == PartKind::kThinking, {});
      return {};
    case StreamEventKind::kThinkingDelta:
      if (ev.text.empty()) return {};
      text_chunk(ev.text, true, {});
      return {};
    case StreamEventKind::kSignatureDelta: {
      if (ev.text.empty()) return {};
      const PartKind kind = kind_of(ev.index);
      if (kind == PartKind::kToolUse) {
        if (PendingCall* call = Pending(ev.index)) call->signature = ev.text;
        return {};
      }
      text_chunk({}, kind == PartKind::kThinking, ev.text);
      return {};
    }
    case StreamEventKind::kToolArgsDelta: {
      PendingCall* call = Pending(ev.index);
      if (call == nullptr) {
        return core::Fail(core::ErrorCode::kUpstreamError, "arguments for no tool call");
      }
      call->args.append(ev.text);  // held: Gemini carries the arguments as one object
      if (call->stopped) {
        auto r = FlushCall(*call, false, out);
        if (!r) return std::unexpected(r.error());
      }
      return {};
    }
    case StreamEventKind::kBlockStop: {
      PendingCall* call = Pending(ev.index);
      if (call == nullptr) return {};
      call->stopped = true;
      auto r = FlushCall(*call, false, out);
      if (!r) return std::unexpected(r.error());
      return {};
    }
    case StreamEventKind::kMessageDelta: {
      while (!calls_.empty()) {  // calls whose arguments never completed
        auto r = FlushCall(calls_.front(), true, out);
        if (!r) return std::unexpected(r.error());
      }
      FinishReason fr = ev.finish;
      if (refusal_ && (fr == FinishReason::kStop || fr == FinishReason::kNone)) {
        fr = FinishReason::kContentFilter;
      }
      const Usage usage = ev.usage ? *ev.usage : start_usage_;
      Chunk(out, R"([{"text":""}])", FinishReasonString(fr, ev.finish_raw), &usage);
      return {};
    }
    case StreamEventKind::kMessageStop:  // Gemini streams just end
    case StreamEventKind::kPing: return {};  // Gemini clients expect data lines only
    case StreamEventKind::kError:
      if (ev.error != nullptr) {
        out += "data: ";
        out += ErrorBody(*ev.error);
        out += "\n\n";
      }
      return {};
  }
  return {};
}

}  // namespace meridian::dialect::gemini
