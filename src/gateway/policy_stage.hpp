#pragma once
// The residency stage of the pipeline: classify everything a request would send, add what the
// caller and its key declare, evaluate the policy against the backends that serve the model,
// and (when obligations say so) redact or pseudonymize the request body in place.
//
// Pure apart from the classifier's thread-local scratch: no I/O, so the stage is tested
// without sockets and `meridian explain` runs exactly the code the gateway runs.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include "classify/classifier.hpp"
#include "core/error.hpp"
#include "gateway/snapshot.hpp"
#include "policy/policy.hpp"
#include "redact/redact.hpp"

namespace meridian::gateway {

// Request headers through which a caller declares what its data is.
inline constexpr std::string_view kDataClassesHeader = "x-meridian-data-classes";        // "email, secret"
inline constexpr std::string_view kDataJurisdictionHeader = "x-meridian-data-jurisdiction";  // "DE"

struct Declared {
  std::uint32_t mask = 0;                   // bit per core::DataClass
  std::optional<std::string> jurisdiction;  // ISO 3166-1 alpha-2 or EU
};

// Parses the two declaration headers (empty = absent). Failure: kInvalidRequest naming the
// header and the bad item (a class name or code, never request content).
core::Result<Declared> ParseDeclared(std::string_view classes_header, std::string_view jurisdiction_header);

// One string of the body in which the classifier found something. `value` points into the
// body that was scanned and is valid while that body is neither moved nor restructured.
struct StringHit {
  boost::json::string* value = nullptr;
  std::vector<classify::Finding> findings;
};

// One object key in which the classifier found something. `object` points into the scanned
// body (same lifetime rule as StringHit); the key is found again by name when it is rewritten.
struct KeyHit {
  boost::json::object* object = nullptr;
  std::string key;
  std::vector<classify::Finding> findings;
};

struct PolicyDecision {
  classify::RequestClassification found;  // per JSON path: classes and byte spans, never values
  policy::RequestFacts facts;
  policy::Eligibility eligibility;
  std::uint32_t redact_mask = 0;        // classes the obligations say to redact
  std::uint32_t pseudonymize_mask = 0;  // ... and to pseudonymize (redact wins when both)
  std::vector<StringHit> hits;          // string values with findings, what ApplyObligations rewrites
  std::vector<KeyHit> key_hits;         // object keys with findings, in the order met (parents first)

  bool allowed() const { return eligibility.outcome == policy::Eligibility::Outcome::kAllowed; }
  bool must_transform() const { return (redact_mask | pseudonymize_mask) != 0; }
};

// Scans every string value and object key of `body` (a data: URL is scanned up to its comma:
// base64 image bytes are not text), then evaluates the snapshot's policy for `caller` with
// `declared` against `candidates`. A finding inside an object key is rewritten like a value
// (ApplyObligations) but still counts for route rules like a declared class: keys are names a
// backend's caller may depend on, so routing stays as if the value were there (fail closed).
// Thread-safe for distinct bodies.
PolicyDecision DecidePolicy(const Snapshot& snapshot, const Caller& caller, const Declared& declared,
                            boost::json::object& body, std::span<const policy::BackendFacts> candidates);

// Rewrites the scanned body as the obligations require: every string value, then every object
// key, holding a finding of a class in redact_mask / pseudonymize_mask is replaced through `p`.
// A rewritten key keeps its place in its object; if two keys would become the same text the
// later one gets a "#2", "#3"... suffix so no member is lost. Returns the number of strings and
// keys changed. Call at most once per decision, before the body is serialised.
int ApplyObligations(PolicyDecision& decision, redact::Pseudonymizer& p);

// The backends of `candidates` (index-aligned with `facts`) that the decision allows, in their
// original order. The only list Forward may try: retries and fallbacks included.
std::vector<Backend*> EligibleBackends(const PolicyDecision& decision, const std::vector<Backend*>& candidates);

// The 403 body for a denied request, in OpenAI's error format with a `policy` object:
// {"error":{"message","type":"permission_error","param":null,"code":"policy_blocked"|"no_eligible_backend",
//   "policy":{"outcome","rules":[...],"excluded":[{"backend","rule","reason"}],"data_classes":{"email":2}}}}
// Names rules, backends, facts and class counts only, never request content.
std::string DenialBody(const PolicyDecision& decision);

// The explanation `meridian explain` and POST /admin/explain show: caller, classes (counts,
// spans per field, declared or found), rules fired, outcome, eligible and excluded backends with
// reasons, obligations. Never values.
boost::json::object ExplainJson(const PolicyDecision& decision, std::string_view model,
                                std::span<const policy::BackendFacts> candidates);

}  // namespace meridian::gateway
