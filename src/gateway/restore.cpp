#include "gateway/restore.hpp"

#include <limits>

#include <boost/json.hpp>

namespace meridian::gateway {

namespace json = boost::json;

namespace {

void RestoreStrings(json::value& v, const redact::Pseudonymizer& p) {
  switch (v.kind()) {
    case json::kind::string: {
      json::string& s = v.as_string();
      if (std::string_view(s.data(), s.size()).find('[') != std::string_view::npos) {
        s = p.Restore(std::string_view(s.data(), s.size()));
      }
      break;
    }
    case json::kind::array:
      for (json::value& item : v.as_array()) RestoreStrings(item, p);
      break;
    case json::kind::object:
      for (auto& kv : v.as_object()) RestoreStrings(kv.value(), p);
      break;
    default: break;
  }
}

std::int64_t IntOr(const json::object& o, std::string_view key, std::int64_t fallback) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : v && v->is_uint64() ? static_cast<std::int64_t>(v->as_uint64()) : fallback;
}

}  // namespace

std::string RestoreJsonBody(std::string_view body, const redact::Pseudonymizer& p) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return std::string(body);
  RestoreStrings(v, p);
  return json::serialize(v);
}

redact::StreamRestorer& ChatStreamRestorer::For(Field f) {
  auto& slot = open_[f];
  if (!slot) slot = std::make_unique<redact::StreamRestorer>(p_);
  return *slot;
}

std::string ChatStreamRestorer::Event(std::string_view data) {
  boost::system::error_code ec;
  json::value v = json::parse(data, ec);
  if (ec || !v.is_object()) return std::string(data);
  json::object& event = v.as_object();
  if (const json::value* id = event.if_contains("id"); id && id->is_string()) id_ = id->as_string();
  if (const json::value* m = event.if_contains("model"); m && m->is_string()) model_ = m->as_string();
  created_ = IntOr(event, "created", created_);
  json::value* choices = event.if_contains("choices");
  if (!choices || !choices->is_array()) return std::string(data);

  std::int64_t position = 0;
  for (json::value& cv : choices->as_array()) {
    if (!cv.is_object()) continue;
    json::object& choice = cv.as_object();
    std::int64_t index = IntOr(choice, "index", position++);
    json::value* dv = choice.if_contains("delta");
    if (dv && dv->is_object()) {
      json::object& delta = dv->as_object();
      if (json::value* c = delta.if_contains("content"); c && c->is_string()) {
        *c = For({index, -1}).Feed(std::string_view(c->as_string().data(), c->as_string().size()));
      }
      if (json::value* calls = delta.if_contains("tool_calls"); calls && calls->is_array()) {
        std::int64_t call_position = 0;
        for (json::value& call : calls->as_array()) {
          if (!call.is_object()) continue;
          std::int64_t call_index = IntOr(call.as_object(), "index", call_position++);
          json::value* fn = call.as_object().if_contains("function");
          if (!fn || !fn->is_object()) continue;
          json::value* args = fn->as_object().if_contains("arguments");
          if (args && args->is_string()) {
            *args = For({index, call_index}).Feed(std::string_view(args->as_string().data(), args->as_string().size()));
          }
        }
      }
    }
    const json::value* finish = choice.if_contains("finish_reason");
    if (!finish || finish->is_null()) continue;
    // The choice ends here: release what it still holds, into this event.
    for (auto it = open_.lower_bound({index, std::numeric_limits<std::int64_t>::min()});
         it != open_.end() && it->first.first == index;) {
      std::string rest = it->second->Flush();
      std::int64_t field = it->first.second;
      it = open_.erase(it);
      if (rest.empty()) continue;
      if (!dv || !dv->is_object()) {
        choice["delta"] = json::object();
        dv = choice.if_contains("delta");
      }
      json::object& delta = dv->as_object();
      if (field < 0) {
        json::value& c = delta["content"];
        std::string merged = c.is_string() ? std::string(c.as_string()) + rest : rest;
        c = merged;
      } else {
        json::value& calls = delta["tool_calls"];
        if (!calls.is_array()) calls = json::array();
        calls.as_array().push_back(json::object{{"index", field}, {"function", json::object{{"arguments", rest}}}});
      }
    }
  }
  return json::serialize(v);
}

std::string ChatStreamRestorer::Finish() {
  json::array choices;
  for (auto& [field, restorer] : open_) {
    std::string rest = restorer->Flush();
    if (rest.empty()) continue;
    json::object delta;
    if (field.second < 0) {
      delta["content"] = rest;
    } else {
      delta["tool_calls"] =
          json::array{json::object{{"index", field.second}, {"function", json::object{{"arguments", rest}}}}};
    }
    choices.push_back(json::object{{"index", field.first}, {"delta", std::move(delta)}, {"finish_reason", nullptr}});
  }
  open_.clear();
  if (choices.empty()) return {};
  return json::serialize(json::object{{"id", id_},
                                      {"object", "chat.completion.chunk"},
                                      {"created", created_},
                                      {"model", model_},
                                      {"choices", std::move(choices)}});
}

EventRestorer::Block* EventRestorer::Find(int index) {
  for (Block& b : blocks_) {
    if (b.index == index) return &b;
  }
  return nullptr;
}

void EventRestorer::Release(Block& block, std::vector<dialect::StreamEvent>& out) {
  std::string rest = block.restorer->Flush();
  if (rest.empty()) return;
  dialect::StreamEvent delta;
  delta.kind = block.delta_kind;
  delta.index = block.index;
  delta.text = texts_.emplace_back(std::move(rest));
  out.push_back(delta);
}

void EventRestorer::Process(std::vector<dialect::StreamEvent>& events) {
  using dialect::StreamEventKind;
  texts_.clear();
  out_.clear();
  for (dialect::StreamEvent& ev : events) {
    switch (ev.kind) {
      case StreamEventKind::kBlockStart: {
        StreamEventKind delta = StreamEventKind::kTextDelta;
        if (ev.block == dialect::PartKind::kToolUse) delta = StreamEventKind::kToolArgsDelta;
        if (ev.block == dialect::PartKind::kThinking) delta = StreamEventKind::kThinkingDelta;
        blocks_.push_back(Block{ev.index, delta, std::make_unique<redact::StreamRestorer>(p_)});
        // An initial text arrives whole: restore it at once.
        if (!ev.text.empty() && ev.block != dialect::PartKind::kOpaque &&
            ev.block != dialect::PartKind::kRedactedThinking) {
          ev.text = texts_.emplace_back(p_.Restore(ev.text));
        }
        out_.push_back(ev);
        break;
      }
      case StreamEventKind::kTextDelta:
      case StreamEventKind::kToolArgsDelta:
      case StreamEventKind::kThinkingDelta: {
        Block* b = Find(ev.index);
        if (!b) {
          out_.push_back(ev);
          break;
        }
        std::string restored = b->restorer->Feed(ev.text);
        if (restored.empty()) break;  // all held back: nothing to send yet
        ev.text = texts_.emplace_back(std::move(restored));
        out_.push_back(ev);
        break;
      }
      case StreamEventKind::kBlockStop: {
        if (Block* b = Find(ev.index)) {
          Release(*b, out_);
          blocks_.erase(blocks_.begin() + (b - blocks_.data()));
        }
        out_.push_back(ev);
        break;
      }
      case StreamEventKind::kMessageDelta:
      case StreamEventKind::kMessageStop:
      case StreamEventKind::kError:
        // Whatever a block still holds is the client's text: it goes out before the end.
        for (Block& b : blocks_) Release(b, out_);
        if (ev.kind != StreamEventKind::kMessageDelta) blocks_.clear();
        out_.push_back(ev);
        break;
      default: out_.push_back(ev); break;
    }
  }
  events.swap(out_);
}

}  // namespace meridian::gateway
