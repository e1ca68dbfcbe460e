#include "gateway/policy_stage.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "core/jurisdiction.hpp"

namespace meridian::gateway {

namespace json = boost::json;
using core::DataClass;
using core::kDataClassCount;

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Text of a string value worth scanning: a data: URL only up to its comma.
std::string_view ScannableText(std::string_view s) {
  if (s.size() > 5 && s.starts_with("data:")) {
    auto comma = s.find(',');
    if (comma != std::string_view::npos) return s.substr(0, comma);
  }
  return s;
}

// Field names of the request schemas of every dialect (OpenAI Chat and Responses, Anthropic
// Messages, Gemini): never data, and most keys of a body are these, so skipping them saves a
// classifier call each. Any other key (metadata, JSON-schema property names, vendor
// extensions) is scanned.
bool IsApiFieldName(std::string_view key) {
  static constexpr std::string_view kNames[] = {
      "arguments", "audio", "content", "description", "detail", "dimensions", "encoding_format",
      "frequency_penalty", "function", "image_url", "include_usage", "input", "json_schema",
      "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "messages", "metadata",
      "model", "modalities", "parallel_tool_calls", "parameters", "presence_penalty", "properties",
      "reasoning_effort", "refusal", "required", "response_format", "schema", "seed", "service_tier",
      "stop", "store", "stream", "stream_options", "strict", "temperature", "text", "tool_call_id",
      "tool_calls", "tool_choice", "tools", "top_logprobs", "top_p", "type", "user",
      // Anthropic Messages
      "budget_tokens", "cache_control", "disable_parallel_tool_use", "input_schema", "is_error",
      "media_type", "signature", "source", "stop_sequences", "system", "thinking", "tool_use_id",
      "top_k", "user_id", "name", "data", "role", "citations", "output_config", "effort",
      // OpenAI Responses
      "call_id", "include", "instructions", "max_output_tokens", "output", "previous_response_id",
      "reasoning", "summary", "format", "file_data", "file_id", "filename",
      "truncation",
      // Google Gemini (lowerCamelCase and snake_case spellings)
      "candidateCount", "contents", "fileData", "fileUri", "functionCall", "functionCallingConfig",
      "functionDeclarations", "functionResponse", "generationConfig", "includeThoughts",
      "inlineData", "maxOutputTokens", "mimeType", "parts", "response", "responseJsonSchema",
      "responseMimeType", "responseSchema", "safetySettings", "stopSequences", "systemInstruction",
      "system_instruction", "thinkingBudget", "thinkingConfig", "thinkingLevel", "thoughtSignature",
      "toolConfig", "topK", "topP", "args", "inline_data", "mime_type", "generation_config"};
  for (std::string_view name : kNames) {
    if (name == key) return true;
  }
  return false;
}

// Walks a JSON body depth first, building each node's path ("messages[0].content") in one
// reused buffer, and scans strings and keys.
class BodyScanner {
 public:
  BodyScanner(const classify::Classifier& classifier, PolicyDecision& out) : classifier_(classifier), out_(out) {}

  void Walk(json::value& v) {
    switch (v.kind()) {
      case json::kind::string: ScanValue(v.as_string()); break;
      case json::kind::array: {
        std::size_t i = 0;
        for (json::value& item : v.as_array()) {
          std::size_t mark = path_.size();
          path_ += '[';
          path_ += std::to_string(i++);
          path_ += ']';
          Walk(item);
          path_.resize(mark);
        }
        break;
      }
      case json::kind::object: WalkObject(v.as_object()); break;
      default: break;
    }
  }

  void WalkObject(json::object& o) {
    for (json::key_value_pair& kv : o) {
      std::size_t mark = path_.size();
      if (!path_.empty()) path_ += '.';
      path_.append(kv.key().data(), kv.key().size());
      ScanKey(o, kv.key());
      Walk(kv.value());
      path_.resize(mark);
    }
  }

  std::uint32_t key_mask() const { return key_mask_; }

 private:
  void Record(const classify::Classification& c, std::string path) {
    for (int i = 0; i < kDataClassCount; ++i) out_.found.counts[static_cast<std::size_t>(i)] += c.counts[static_cast<std::size_t>(i)];
    out_.found.fields.push_back(classify::FieldFindings{std::move(path), c.findings});
  }

  void ScanValue(json::string& s) {
    std::string_view text = ScannableText(std::string_view(s.data(), s.size()));
    if (text.empty()) return;
    classify::Classification c = classifier_.Scan(text);
    if (c.findings.empty()) return;
    Record(c, path_);
    out_.hits.push_back(StringHit{&s, std::move(c.findings)});
  }

  void ScanKey(json::object& o, std::string_view key) {
    if (key.size() < 4 || IsApiFieldName(key)) return;
    classify::Classification c = classifier_.Scan(key);
    if (c.findings.empty()) return;
    for (const auto& f : c.findings) key_mask_ |= 1u << static_cast<int>(f.cls);
    Record(c, path_ + " (key)");
    out_.key_hits.push_back(KeyHit{&o, std::string(key), std::move(c.findings)});
  }

  const classify::Classifier& classifier_;
  PolicyDecision& out_;
  std::string path_;
  std::uint32_t key_mask_ = 0;
};

json::object ClassCounts(const policy::RequestFacts& facts) {
  json::object counts;
  for (int c = 0; c < kDataClassCount; ++c) {
    int n = facts.class_counts[static_cast<std::size_t>(c)];
    if (n > 0) counts[core::DataClassName(static_cast<DataClass>(c))] = n;
  }
  return counts;
}

json::array ExcludedJson(const policy::Eligibility& e) {
  json::array out;
  for (const auto& x : e.excluded) {
    out.push_back(json::object{{"backend", x.backend}, {"rule", x.rule}, {"reason", x.reason}});
  }
  return out;
}

json::array Strings(const std::vector<std::string>& v) {
  json::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

}  // namespace

core::Result<Declared> ParseDeclared(std::string_view classes_header, std::string_view jurisdiction_header) {
  Declared out;
  std::string_view rest = classes_header;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    auto cls = core::ParseDataClass(item);
    if (!cls) {
      // A class name is at most a few dozen characters; anything else is not echoed.
      std::string shown = item.size() <= 40 ? std::string(item) : std::string(item.substr(0, 40)) + "...";
      for (char& ch : shown) {
        if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
      }
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        fmt::format("header {}: unknown data class '{}' (known: email, phone, ip_address, "
                                    "payment_card, iban, us_ssn, cn_resident_id, de_tax_id, fr_nir, in_aadhaar, "
                                    "uk_nino, es_dni_nie, it_codice_fiscale, br_cpf, secret, classification_marking)",
                                    kDataClassesHeader, shown),
                        std::string(kDataClassesHeader));
    }
    out.mask |= 1u << static_cast<int>(*cls);
  }
  std::string_view j = Trim(jurisdiction_header);
  if (!j.empty()) {
    if (!core::IsKnownJurisdiction(j)) {
      std::string shown = j.size() <= 8 ? std::string(j) : std::string(j.substr(0, 8)) + "...";
      for (char& ch : shown) {
        if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
      }
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        fmt::format("header {}: unknown jurisdiction '{}' (expected an upper-case ISO 3166-1 "
                                    "alpha-2 code such as DE, or EU)",
                                    kDataJurisdictionHeader, shown),
                        std::string(kDataJurisdictionHeader));
    }
    out.jurisdiction = std::string(j);
  }
  return out;
}

PolicyDecision DecidePolicy(const Snapshot& snapshot, const Caller& caller, const Declared& declared,
                            json::object& body, std::span<const policy::BackendFacts> candidates) {
  PolicyDecision d;
  BodyScanner scanner(snapshot.classifier(), d);
  scanner.WalkObject(body);

  policy::RequestFacts& f = d.facts;
  f.tenant = caller.tenant;
  f.team = caller.team;
  f.key_prefix = caller.key_prefix;
  f.class_counts = d.found.counts;
  std::uint32_t declared_mask = caller.declared_mask | declared.mask;
  for (int c = 0; c < kDataClassCount; ++c) {
    if ((declared_mask >> c) & 1u) {
      classify::Declare(d.found, static_cast<DataClass>(c));
      f.class_counts[static_cast<std::size_t>(c)] = std::max(f.class_counts[static_cast<std::size_t>(c)], 1);
    }
  }
  // Keys are never rewritten: what is found in them cannot be redacted away.
  f.declared_mask = declared_mask | scanner.key_mask();
  if (declared.jurisdiction) {
    f.declared_jurisdiction = declared.jurisdiction;
  } else if (!caller.jurisdiction.empty()) {
    f.declared_jurisdiction = caller.jurisdiction;
  }

  d.eligibility = snapshot.policy().Evaluate(f, candidates);
  for (const policy::Obligation& ob : d.eligibility.obligations) {
    std::uint32_t mask = 0;
    for (DataClass c : ob.classes) mask |= 1u << static_cast<int>(c);
    if (ob.action == policy::Action::kRedact) d.redact_mask |= mask;
    if (ob.action == policy::Action::kPseudonymize) d.pseudonymize_mask |= mask;
  }
  d.pseudonymize_mask &= ~d.redact_mask;
  return d;
}

int ApplyObligations(PolicyDecision& d, redact::Pseudonymizer& p) {
  int changed = 0;
  // Values first: rewriting a key rebuilds its object, which moves the values' storage.
  for (StringHit& hit : d.hits) {
    std::string_view text(hit.value->data(), hit.value->size());
    std::string rewritten = p.Apply(text, hit.findings, d.redact_mask, d.pseudonymize_mask);
    if (rewritten != text) {
      *hit.value = rewritten;
      ++changed;
    }
  }
  // Keys deepest first (they were met parents first), so a parent's rebuild never invalidates a
  // child object still to be rewritten.
  for (auto it = d.key_hits.rbegin(); it != d.key_hits.rend(); ++it) {
    std::string rewritten = p.Apply(it->key, it->findings, d.redact_mask, d.pseudonymize_mask);
    if (rewritten == it->key) continue;
    json::object& o = *it->object;
    if (!o.contains(it->key)) continue;
    std::string target = rewritten;
    for (int n = 2; o.contains(target); ++n) target = rewritten + "#" + std::to_string(n);
    json::object rebuilt(o.storage());
    rebuilt.reserve(o.size());
    for (json::key_value_pair& kv : o) {
      if (kv.key() == it->key) rebuilt.emplace(target, std::move(kv.value()));
      else rebuilt.emplace(kv.key(), std::move(kv.value()));
    }
    o = std::move(rebuilt);
    ++changed;
  }
  return changed;
}

std::vector<Backend*> EligibleBackends(const PolicyDecision& decision, const std::vector<Backend*>& candidates) {
  std::vector<Backend*> out;
  if (!decision.allowed()) return out;
  out.reserve(decision.eligibility.allowed.size());
  for (Backend* b : candidates) {
    const auto& allowed = decision.eligibility.allowed;
    if (std::find(allowed.begin(), allowed.end(), b->id()) != allowed.end()) out.push_back(b);
  }
  return out;
}

std::string DenialBody(const PolicyDecision& d) {
  const policy::Eligibility& e = d.eligibility;
  json::object policy;
  policy["outcome"] = policy::OutcomeCode(e.outcome);
  policy["rules"] = Strings(e.denying_rules);
  policy["excluded"] = ExcludedJson(e);
  policy["data_classes"] = ClassCounts(d.facts);
  json::object inner;
  std::string message = policy::DenialMessage(e);
  if (message.empty()) message = "no backend serves this model";  // no candidates at all
  inner["message"] = message;
  inner["type"] = "permission_error";
  inner["param"] = nullptr;
  inner["code"] = policy::OutcomeCode(e.outcome);
  inner["policy"] = std::move(policy);
  return json::serialize(json::object{{"error", std::move(inner)}});
}

json::object ExplainJson(const PolicyDecision& d, std::string_view model,
                         std::span<const policy::BackendFacts> candidates) {
  const policy::Eligibility& e = d.eligibility;
  json::object caller;
  caller["tenant"] = d.facts.tenant;
  caller["team"] = d.facts.team;
  caller["key_prefix"] = d.facts.key_prefix;
  if (d.facts.declared_jurisdiction) caller["declared_jurisdiction"] = *d.facts.declared_jurisdiction;
  else caller["declared_jurisdiction"] = nullptr;

  json::array classes;
  for (int c = 0; c < kDataClassCount; ++c) {
    int n = d.facts.class_counts[static_cast<std::size_t>(c)];
    if (n == 0) continue;
    json::object entry;
    entry["class"] = core::DataClassName(static_cast<DataClass>(c));
    entry["count"] = d.found.counts[static_cast<std::size_t>(c)];
    entry["declared"] = ((d.facts.declared_mask >> c) & 1u) != 0;
    json::array spans;
    for (const auto& field : d.found.fields) {
      for (const auto& f : field.findings) {
        if (static_cast<int>(f.cls) != c) continue;
        spans.push_back(json::object{{"field", field.path}, {"begin", f.begin}, {"end", f.end}});
      }
    }
    entry["spans"] = std::move(spans);
    classes.push_back(std::move(entry));
  }

  json::array obligations;
  for (const auto& ob : e.obligations) {
    json::array cls;
    for (DataClass c : ob.classes) cls.emplace_back(core::DataClassName(c));
    obligations.push_back(
        json::object{{"rule", ob.rule}, {"action", policy::ActionName(ob.action)}, {"classes", std::move(cls)}});
  }
  json::array removed;
  for (DataClass c : e.removed_before_routing) removed.emplace_back(core::DataClassName(c));

  json::array candidate_ids;
  for (const auto& b : candidates) candidate_ids.emplace_back(b.id);

  json::object out;
  out["model"] = model;
  out["caller"] = std::move(caller);
  out["classes"] = std::move(classes);
  out["rules_fired"] = Strings(e.applied_rules);
  out["outcome"] = policy::OutcomeCode(e.outcome);
  out["denying_rules"] = Strings(e.denying_rules);
  out["candidates"] = std::move(candidate_ids);
  out["eligible"] = Strings(e.allowed);
  out["excluded"] = ExcludedJson(e);
  out["obligations"] = std::move(obligations);
  out["removed_before_routing"] = std::move(removed);
  return out;
}

}  // namespace meridian::gateway
