#pragma once
// Residency policy: rules written in YAML (docs/policy.md), compiled once per configuration
// into an immutable CompiledPolicy, evaluated per request against the backends' facts.
//
// The evaluator fails closed: a rule that needs a fact a backend does not declare excludes
// that backend, and says so in the reason.

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/data_class.hpp"
#include "policy/facts.hpp"

namespace meridian::policy {

enum class Action { kRoute, kBlock, kRedact, kPseudonymize };

// "route", "block", "redact", "pseudonymize". Thread-safe.
std::string_view ActionName(Action action);

// What the policy needs to know about one request.
struct RequestFacts {
  std::string tenant;
  std::string team;
  std::string key_prefix;
  std::array<int, core::kDataClassCount> class_counts{};  // findings (or declarations) per core::DataClass
  // Classes the caller or its key declared (bit i = core::DataClass(i)). They have no spans, so
  // redaction cannot remove them: they always count for route rules.
  std::uint32_t declared_mask = 0;
  std::optional<std::string> declared_jurisdiction;        // where the data comes from, if said
};

// Something the gateway must do to the request because a block/redact/pseudonymize rule
// applied. `classes` are the request's classes the rule is about (ascending enum order).
struct Obligation {
  Action action = Action::kBlock;
  std::string rule;
  std::vector<core::DataClass> classes;
};

struct Eligibility {
  enum class Outcome {
    kAllowed,            // at least one backend is allowed
    kBlocked,            // a block rule applied; allowed is empty
    kNoEligibleBackend,  // route rules excluded every backend (or there were none)
  };
  struct Excluded {
    std::string backend;
    std::string rule;    // the first rule, in policy order, that excluded it
    std::string reason;  // e.g. "inference_jurisdiction US not in [EU]"
  };

  Outcome outcome = Outcome::kAllowed;
  std::vector<std::string> allowed;       // backend ids, in input order
  std::vector<Excluded> excluded;         // one entry per excluded backend, in input order
  std::vector<Obligation> obligations;    // in policy order
  bool blocked = false;
  std::vector<std::string> blocking_rules;
  // When outcome != kAllowed: the rules responsible (blocking rules, or the distinct rules of
  // `excluded`), in policy order. Empty when allowed.
  std::vector<std::string> denying_rules;
  // Classes that redact/pseudonymize obligations remove from the request before it leaves
  // (found, not declared): route rules were evaluated without them. Ascending enum order.
  std::vector<core::DataClass> removed_before_routing;
  // Every rule that applied to the request (scope and conditions matched), in policy order,
  // whatever it did: what `meridian explain` calls the rules fired.
  std::vector<std::string> applied_rules;
};

// Machine-readable code for the outcome: "allowed", "policy_blocked", "no_eligible_backend".
std::string_view OutcomeCode(Eligibility::Outcome outcome);

// One line for a 403 body or a log: "request blocked by policy rule(s): secrets-never-leave" or
// "no backend satisfies policy rule(s): a, b". Empty when allowed.
std::string DenialMessage(const Eligibility& e);

class CompiledPolicy {
 public:
  static constexpr std::size_t kMaxRules = 256;

  // The empty policy: every backend is allowed, nothing is blocked.
  CompiledPolicy();
  ~CompiledPolicy();
  CompiledPolicy(const CompiledPolicy&);
  CompiledPolicy(CompiledPolicy&&) noexcept;
  CompiledPolicy& operator=(const CompiledPolicy&);
  CompiledPolicy& operator=(CompiledPolicy&&) noexcept;

  // The eligible backends for `req` among `backends` (see Eligibility). Allocates only the
  // result. Thread-safe (const, no shared mutable state).
  Eligibility Evaluate(const RequestFacts& req, std::span<const BackendFacts> backends) const;

  std::size_t rule_count() const;
  // Rule names in policy order.
  std::vector<std::string> RuleNames() const;

  struct Rule;  // compiled form; defined in policy.cpp

 private:
  friend std::expected<CompiledPolicy, std::vector<config::ConfigIssue>> CompilePolicy(
      const YAML::Node&, std::string_view, std::string_view);
  std::vector<Rule> rules_;
};

// Compiles the `policies` list `node` (null/undefined = the empty policy). Every problem is
// reported ("FILE:LINE: FIELD: MESSAGE"): unknown fields, data classes, jurisdictions, tiers,
// actions, duplicate rule names, a rule whose require and deny of one fact leave no value
// (it would exclude every backend). Never throws; thread-safe.
std::expected<CompiledPolicy, std::vector<config::ConfigIssue>> CompilePolicy(
    const YAML::Node& node, std::string_view file, std::string_view path = "policies");

// Parses YAML text and compiles its top-level `policies` key (other top-level keys are
// ignored: they belong to the rest of the configuration). YAML syntax errors are issues.
std::expected<CompiledPolicy, std::vector<config::ConfigIssue>> CompilePolicyText(
    std::string_view yaml_text, std::string_view file);

// Same as policy.Evaluate(req, backends).
inline Eligibility Evaluate(const CompiledPolicy& policy, const RequestFacts& req,
                            std::span<const BackendFacts> backends) {
  return policy.Evaluate(req, backends);
}

}  // namespace meridian::policy
