// `meridian explain REQUEST.json`: the policy stage's decision for one request, as JSON.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "app/commands.hpp"
#include "config/config.hpp"
#include "gateway/gateway.hpp"
#include "gateway/policy_stage.hpp"
#include "gateway/snapshot.hpp"

namespace meridian::app {

namespace json = boost::json;

namespace {

int Fail(std::string_view message) {
  fmt::print(stderr, "meridian explain: {}\n", message);
  return 2;
}

// Pretty JSON, two-space indent, for a human reading the explanation.
void Pretty(std::string& out, const json::value& v, int indent) {
  auto pad = [&](int n) { out.append(static_cast<std::size_t>(n) * 2, ' '); };
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.as_object();
      if (o.empty()) { out += "{}"; return; }
      out += "{\n";
      std::size_t i = 0;
      for (const auto& kv : o) {
        pad(indent + 1);
        out += json::serialize(json::string(kv.key()));
        out += ": ";
        Pretty(out, kv.value(), indent + 1);
        out += ++i < o.size() ? ",\n" : "\n";
      }
      pad(indent);
      out += '}';
      return;
    }
    case json::kind::array: {
      const auto& a = v.as_array();
      if (a.empty()) { out += "[]"; return; }
      out += "[\n";
      for (std::size_t i = 0; i < a.size(); ++i) {
        pad(indent + 1);
        Pretty(out, a[i], indent + 1);
        out += i + 1 < a.size() ? ",\n" : "\n";
      }
      pad(indent);
      out += ']';
      return;
    }
    default: out += json::serialize(v);
  }
}

}  // namespace

int Explain(const ExplainArgs& args) {
  auto loaded = config::LoadConfigFile(args.config_path);
  if (!loaded) {
    for (const auto& issue : loaded.error()) fmt::print(stderr, "{}\n", issue.ToString());
    return 2;
  }
  auto snapshot = gateway::Snapshot::Build(std::move(*loaded));
  if (!snapshot) return Fail(fmt::format("{}: {}", args.config_path, snapshot.error().message));

  std::string text;
  if (args.request_path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(args.request_path, std::ios::binary);
    if (!in) return Fail(fmt::format("cannot read request file '{}'", args.request_path));
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto body = gateway::ParseJsonObject(text);
  if (!body) return Fail(fmt::format("request: {}", body.error().message));
  const json::value* model = body->if_contains("model");
  if (!model || !model->is_string()) return Fail("request: 'model' is required and must be a string");
  std::string model_name(model->as_string());
  auto route = (*snapshot)->Resolve(model_name);
  if (!route) return Fail(fmt::format("request: {}", route.error().message));

  std::string key;
  if (args.key_env) {
    const char* value = std::getenv(args.key_env->c_str());
    if (!value) return Fail(fmt::format("--key-env: environment variable {} is not set", *args.key_env));
    key = value;
  }
  // Without a key: the caller no tenant, team or key-declared class applies to.
  const gateway::Caller* caller = args.key_env ? (*snapshot)->FindCaller(key) : &(*snapshot)->anonymous_caller();
  if (!caller) return Fail(fmt::format("--key-env: the key in {} is not one of the configured auth.keys", *args.key_env));
  auto declared = gateway::ParseDeclared(args.classes, args.jurisdiction);
  if (!declared) return Fail(declared.error().message);

  gateway::PolicyDecision decision = gateway::DecidePolicy(**snapshot, *caller, *declared, *body, route->facts);
  std::string out;
  Pretty(out, gateway::ExplainJson(decision, model_name, route->facts), 0);
  out += '\n';
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace meridian::app
