#include "gateway/reasoning_store.hpp"

namespace meridian::gateway {

using dialect::ContentPart;
using dialect::PartKind;

namespace {

std::string Key(std::string_view scope, std::string_view id) {
  std::string key(scope);
  key += '\n';
  key += id;
  return key;
}

bool IsThinking(const ContentPart& p) {
  return p.kind == PartKind::kThinking || p.kind == PartKind::kRedactedThinking;
}

}  // namespace

void ReasoningStore::Remember(std::string_view scope, const std::vector<ContentPart>& content,
                              Clock::time_point now) {
  auto blocks = std::make_shared<std::vector<ContentPart>>();
  std::vector<std::string_view> ids;
  for (const ContentPart& p : content) {
    if (IsThinking(p)) {
      ContentPart copy;
      copy.kind = p.kind;
      copy.text = p.text;
      copy.signature = p.signature;
      blocks->push_back(std::move(copy));
    } else if (p.kind == PartKind::kToolUse && !p.id.empty()) {
      ids.push_back(p.id);
    }
  }
  if (blocks->empty() || ids.empty()) return;
  std::lock_guard lock(mu_);
  for (std::string_view id : ids) {
    std::string key = Key(scope, id);
    auto [it, inserted] = by_key_.insert_or_assign(key, Entry{blocks, now + ttl_});
    if (inserted) order_.push_back(std::move(key));
  }
  while (order_.size() > capacity_) {
    by_key_.erase(order_.front());
    order_.pop_front();
  }
}

int ReasoningStore::Restore(std::string_view scope, dialect::ChatRequest& request, Clock::time_point now) {
  int restored = 0;
  for (dialect::Message& m : request.messages) {
    if (m.role != dialect::Role::kAssistant) continue;
    const ContentPart* first_call = nullptr;
    bool has_thinking = false;
    for (const ContentPart& p : m.content) {
      if (IsThinking(p)) has_thinking = true;
      if (p.kind == PartKind::kToolUse && !first_call) first_call = &p;
    }
    if (!first_call || has_thinking) continue;
    std::shared_ptr<const std::vector<ContentPart>> blocks;
    {
      std::lock_guard lock(mu_);
      auto it = by_key_.find(Key(scope, first_call->id));
      if (it == by_key_.end() || it->second.expires < now) continue;
      blocks = it->second.blocks;
    }
    m.content.insert(m.content.begin(), blocks->begin(), blocks->end());
    ++restored;
  }
  return restored;
}

std::size_t ReasoningStore::size() const {
  std::lock_guard lock(mu_);
  return by_key_.size();
}

void ReasoningCollector::Add(const dialect::StreamEvent& ev) {
  using dialect::StreamEventKind;
  auto find = [this](int index) -> ContentPart* {
    for (const auto& [i, pos] : open_) {
      if (i == index) return &parts_[pos];
    }
    return nullptr;
  };
  switch (ev.kind) {
    case StreamEventKind::kBlockStart:
      if (ev.block == PartKind::kThinking || ev.block == PartKind::kRedactedThinking ||
          ev.block == PartKind::kToolUse) {
        ContentPart p;
        p.kind = ev.block;
        if (ev.block == PartKind::kThinking) p.text = std::string(ev.text);
        if (ev.block == PartKind::kRedactedThinking) p.signature = std::string(ev.text);
        if (ev.block == PartKind::kToolUse) p.id = std::string(ev.id);
        if (ev.block != PartKind::kToolUse) thinking_ = true;
        open_.emplace_back(ev.index, parts_.size());
        parts_.push_back(std::move(p));
      }
      break;
    case StreamEventKind::kThinkingDelta:
      if (ContentPart* p = find(ev.index)) p->text += ev.text;
      break;
    case StreamEventKind::kSignatureDelta:
      if (ContentPart* p = find(ev.index)) p->signature += ev.text;
      break;
    default: break;
  }
}

}  // namespace meridian::gateway
