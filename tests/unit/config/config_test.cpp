#include "config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace meridian::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Sets (or unsets) an environment variable for the scope of a test; restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A minimal valid backends section; "backends:" is its line 1, the entry starts on line 2.
const std::string kB =
    "backends:\n"
    "  - id: a\n"
    "    provider: openai\n"
    "    base_url: http://127.0.0.1:9/v1\n"
    "    models: [m1]\n"
    "    tier: cloud\n";

// kB plus one more field of the backend, on line 7.
std::string Backend(const std::string& extra) { return kB + "    " + extra + "\n"; }

std::vector<std::string> KeyStrings(const Config& c) {
  std::vector<std::string> out;
  for (const KeyConfig& k : c.auth.keys) out.push_back(k.key);
  return out;
}

std::vector<std::string> Issues(const std::string& yaml) {
  auto r = ParseConfig(yaml, "t.yaml");
  std::vector<std::string> out;
  if (r) return out;
  for (const ConfigIssue& issue : r.error()) out.push_back(issue.ToString());
  return out;
}

Config Valid(const std::string& yaml) {
  auto r = ParseConfig(yaml, "t.yaml");
  if (!r) {
    std::string all;
    for (const ConfigIssue& issue : r.error()) all += issue.ToString() + "\n";
    ADD_FAILURE() << "unexpected issues:\n" << all;
    return Config{};
  }
  return std::move(*r);
}

class ConfigTest : public ::testing::Test {
 protected:
  // Variables the tests rely on being unset, whatever the runner's environment holds.
  ScopedEnv unset1_{"MERIDIAN_TEST_UNSET", std::nullopt};
  ScopedEnv unset2_{"MERIDIAN_TEST_KEY", std::nullopt};
};

// ---------------------------------------------------------------------------------------------
// Table: one YAML text, the exact issues it yields.

struct IssueCase {
  std::string name;
  std::string yaml;
  std::vector<std::string> issues;
};

void PrintTo(const IssueCase& c, std::ostream* os) { *os << c.name; }

class IssueTable : public ConfigTest, public ::testing::WithParamInterface<IssueCase> {};

TEST_P(IssueTable, ReportsExactly) {
  EXPECT_EQ(Issues(GetParam().yaml), GetParam().issues) << GetParam().yaml;
}

std::string Server(const std::string& line) { return "server:\n  " + line + "\n" + kB; }

const std::string kDurationHint = "expected e.g. 500ms, 10s, 1.5s, 5m, 1h or integer milliseconds";
const std::string kSizeHint = "expected e.g. 16KiB, 10MiB, 1GiB, 500KB or integer bytes";

INSTANTIATE_TEST_SUITE_P(
    WrongTypes, IssueTable,
    ::testing::Values(
        IssueCase{"server_is_list", "server: [1, 2]\n" + kB,
                  {"t.yaml:1: server: expected a map, got a list"}},
        IssueCase{"listen_is_map", Server("listen: {a: 1}"),
                  {"t.yaml:2: server.listen: expected a string, got a map"}},
        IssueCase{"workers_not_integer", Server("workers: abc"),
                  {"t.yaml:2: server.workers: expected an integer, got 'abc'"}},
        IssueCase{"workers_negative", Server("workers: -1"),
                  {"t.yaml:2: server.workers: must not be negative, got -1"}},
        IssueCase{"workers_too_many", Server("workers: 257"),
                  {"t.yaml:2: server.workers: must be between 0 and 256, got 257"}},
        IssueCase{"workers_list", Server("workers: [1]"),
                  {"t.yaml:2: server.workers: expected an integer, got a list"}},
        IssueCase{"workers_fraction", Server("workers: 1.5"),
                  {"t.yaml:2: server.workers: expected an integer, got '1.5'"}},
        IssueCase{"max_connections_zero", Server("max_connections: 0"),
                  {"t.yaml:2: server.max_connections: must be between 1 and 1000000, got 0"}},
        IssueCase{"listen_port_out_of_range", Server("listen: \"127.0.0.1:70000\""),
                  {"t.yaml:2: server.listen: invalid listen address '127.0.0.1:70000': port must "
                   "be a number from 0 to 65535"}},
        IssueCase{"listen_port_not_number", Server("listen: \"127.0.0.1:http\""),
                  {"t.yaml:2: server.listen: invalid listen address '127.0.0.1:http': port must "
                   "be a number from 0 to 65535"}},
        IssueCase{"listen_without_port", Server("listen: localhost"),
                  {"t.yaml:2: server.listen: invalid listen address 'localhost': expected "
                   "host:port, e.g. 127.0.0.1:8090 or [::1]:8090"}},
        IssueCase{"listen_ipv6_without_brackets", Server("listen: \"::1:8090\""),
                  {"t.yaml:2: server.listen: invalid listen address '::1:8090': IPv6 addresses "
                   "must be written in brackets, e.g. [::1]:8090"}},
        IssueCase{"listen_without_host", Server("listen: \":8090\""),
                  {"t.yaml:2: server.listen: invalid listen address ':8090': host is missing; "
                   "expected host:port, e.g. 127.0.0.1:8090 or [::1]:8090 (0.0.0.0 listens on "
                   "all interfaces)"}},
        IssueCase{"listen_bad_host", Server("listen: \"bad!host:80\""),
                  {"t.yaml:2: server.listen: invalid listen address 'bad!host:80': invalid host "
                   "'bad!host'"}},
        IssueCase{"listen_bad_ipv6", Server("listen: \"[zz::1]:80\""),
                  {"t.yaml:2: server.listen: invalid listen address '[zz::1]:80': invalid host "
                   "'zz::1'"}},
        IssueCase{"request_log_not_bool", Server("request_log: maybe"),
                  {"t.yaml:2: server.request_log: expected true or false, got 'maybe'"}},
        IssueCase{"request_log_null", Server("request_log:"),
                  {"t.yaml:2: server.request_log: expected true or false, got an empty value"}},
        IssueCase{"timeout_is_map", Server("header_timeout: {s: 1}"),
                  {"t.yaml:2: server.header_timeout: expected a duration, got a map"}},
        IssueCase{"size_is_list", Server("max_body_size: [1]"),
                  {"t.yaml:2: server.max_body_size: expected a size, got a list"}},
        IssueCase{"state_dir_list", "state_dir: [a]\n" + kB,
                  {"t.yaml:1: state_dir: expected a string, got a list"}},
        IssueCase{"state_dir_empty", "state_dir: \"\"\n" + kB,
                  {"t.yaml:1: state_dir: must not be empty"}},
        IssueCase{"backends_is_map", "backends: {a: 1}\n",
                  {"t.yaml:1: backends: expected a list of backends, got a map"}},
        IssueCase{"backend_is_scalar", "backends:\n  - just-a-name\n",
                  {"t.yaml:2: backends[0]: expected a map describing a backend, got a scalar"}},
        IssueCase{"models_scalar",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: http://h\n"
                  "    models: m1\n    tier: cloud\n",
                  {"t.yaml:5: backends[0].models: expected a list of strings, got a scalar"}},
        IssueCase{"models_empty",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: http://h\n"
                  "    models: []\n    tier: cloud\n",
                  {"t.yaml:5: backends[0].models: must list at least one model"}},
        IssueCase{"models_item_map",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: http://h\n"
                  "    models:\n      - m1\n      - {x: 1}\n    tier: cloud\n",
                  {"t.yaml:7: backends[0].models[1]: expected a string, got a map"}},
        IssueCase{"models_item_empty",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: http://h\n"
                  "    models: [m1, \"\"]\n    tier: cloud\n",
                  {"t.yaml:5: backends[0].models[1]: must not be empty"}},
        IssueCase{"models_item_space",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: http://h\n"
                  "    models: [m1, \"gpt 4\"]\n    tier: cloud\n",
                  {"t.yaml:5: backends[0].models[1]: must not contain spaces or control "
                   "characters"}},
        IssueCase{"models_duplicate",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: http://h\n"
                  "    models:\n      - m1\n      - m2\n      - m1\n    tier: cloud\n",
                  {"t.yaml:8: backends[0].models[2]: duplicate model 'm1' (also "
                   "backends[0].models[0])"}},
        IssueCase{"auth_key_map_no_key", "auth:\n  keys:\n    - {tenant: acme}\n" + kB,
                  {"t.yaml:3: auth.keys[0].key: is required"}},
        IssueCase{"auth_key_map_unknown_field", "auth:\n  keys:\n    - {key: sk-1, tennant: acme}\n" + kB,
                  {"t.yaml:3: auth.keys[0].tennant: unknown field 'tennant'; did you mean 'tenant'?"}},
        IssueCase{"auth_key_map_bad_class", "auth:\n  keys:\n    - key: sk-1\n      data_classes: [emial]\n" + kB,
                  {"t.yaml:4: auth.keys[0].data_classes[0]: unknown data class 'emial'"}},
        IssueCase{"auth_key_map_bad_jurisdiction", "auth:\n  keys:\n    - key: sk-1\n      jurisdiction: de\n" + kB,
                  {"t.yaml:4: auth.keys[0].jurisdiction: unknown jurisdiction 'de': codes are upper case, write 'DE'"}},
        IssueCase{"auth_key_map_star_tenant", "auth:\n  keys:\n    - {key: sk-1, tenant: \"a*\"}\n" + kB,
                  {"t.yaml:3: auth.keys[0].tenant: must not contain spaces, control characters or '*'"}},
        IssueCase{"auth_key_map_duplicate", "auth:\n  keys:\n    - sk-1\n    - {key: sk-1, tenant: a}\n" + kB,
                  {"t.yaml:4: auth.keys[1]: duplicate key (same as auth.keys[0])"}},
        IssueCase{"auth_keys_scalar", "auth:\n  keys: sk-x\n" + kB,
                  {"t.yaml:2: auth.keys: expected a list of keys, got a scalar"}},
        IssueCase{"auth_is_list", "auth: [a]\n" + kB, {"t.yaml:1: auth: expected a map, got a list"}},
        IssueCase{"auth_key_empty", "auth:\n  keys: [\"\"]\n" + kB,
                  {"t.yaml:2: auth.keys[0]: must not be empty"}},
        IssueCase{"auth_key_space", "auth:\n  keys: [\"sk-a b\"]\n" + kB,
                  {"t.yaml:2: auth.keys[0]: must not contain spaces or control characters"}},
        IssueCase{"auth_key_duplicate", "auth:\n  keys:\n    - sk-one\n    - sk-one\n" + kB,
                  {"t.yaml:4: auth.keys[1]: duplicate key (same as auth.keys[0])"}},
        IssueCase{"pool_max_idle_fraction", Backend("pool: {max_idle: 1.5}"),
                  {"t.yaml:7: backends[0].pool.max_idle: expected an integer, got '1.5'"}},
        IssueCase{"pool_max_idle_too_big", Backend("pool: {max_idle: 10001}"),
                  {"t.yaml:7: backends[0].pool.max_idle: must be between 0 and 10000, got 10001"}},
        IssueCase{"timeouts_scalar", Backend("timeouts: 5s"),
                  {"t.yaml:7: backends[0].timeouts: expected a map, got a scalar"}},
        IssueCase{"upstream_defaults_list", "upstream_defaults: [1]\n" + kB,
                  {"t.yaml:1: upstream_defaults: expected a map, got a list"}},
        IssueCase{"tier_unknown",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: http://h\n"
                  "    models: [m1]\n    tier: space\n",
                  {"t.yaml:6: backends[0].tier: unknown tier 'space' (expected edge, local or "
                   "cloud)"}},
        IssueCase{"required_fields_missing", "backends:\n  - id: a\n",
                  {"t.yaml:2: backends[0].provider: is required",
                   "t.yaml:2: backends[0].base_url: is required",
                   "t.yaml:2: backends[0].models: is required",
                   "t.yaml:2: backends[0].tier: is required"}},
        IssueCase{"id_invalid",
                  "backends:\n  - id: My.Backend\n    provider: openai\n    base_url: http://h\n"
                  "    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:2: backends[0].id: invalid id 'My.Backend': use 1 to 63 lower-case "
                   "letters, digits, '_' and '-', starting with a letter or digit"}},
        IssueCase{"id_starts_with_dash",
                  "backends:\n  - id: -a\n    provider: openai\n    base_url: http://h\n"
                  "    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:2: backends[0].id: invalid id '-a': use 1 to 63 lower-case letters, "
                   "digits, '_' and '-', starting with a letter or digit"}},
        IssueCase{"provider_typo",
                  "backends:\n  - id: a\n    provider: opnai\n    base_url: http://h\n"
                  "    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:3: backends[0].provider: unknown provider 'opnai'; did you mean "
                   "'openai'?"}},
        IssueCase{"provider_unknown",
                  "backends:\n  - id: a\n    provider: watson\n    base_url: http://h\n"
                  "    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:3: backends[0].provider: unknown provider 'watson' (known: openai, "
                   "azure-openai, anthropic, gemini, mistral, deepseek, qwen, groq, together, "
                   "xai, openrouter, ollama, vllm, llamacpp, sglang, simulator)"}},
        IssueCase{"region_invalid", Backend("region: US East"),
                  {"t.yaml:7: backends[0].region: invalid region 'US East': use lower-case "
                   "letters, digits and '-'"}},
        IssueCase{"vendor_invalid", Backend("vendor: Open AI"),
                  {"t.yaml:7: backends[0].vendor: invalid vendor 'Open AI': use lower-case "
                   "letters, digits, '_' and '-'"}},
        IssueCase{"requires_env_invalid", Backend("requires_env: 1KEY"),
                  {"t.yaml:7: backends[0].requires_env: invalid environment variable name "
                   "'1KEY' (letters, digits and '_', not starting with a digit)"}},
        IssueCase{"api_key_map", Backend("api_key: {a: b}"),
                  {"t.yaml:7: backends[0].api_key: expected a string, got a map"}},
        IssueCase{"ca_file_missing", Backend("ca_file: /nonexistent/meridian/ca.pem"),
                  {"t.yaml:7: backends[0].ca_file: cannot read CA file "
                   "'/nonexistent/meridian/ca.pem': no such file"}},
        IssueCase{"ca_file_directory", "upstream_defaults:\n  ca_file: /\n" + kB,
                  {"t.yaml:2: upstream_defaults.ca_file: CA file '/' is not a regular file"}},
        IssueCase{"health_path_relative", Backend("health_check: {path: models}"),
                  {"t.yaml:7: backends[0].health_check.path: must start with '/', got 'models'"}},
        IssueCase{"health_path_query", Backend("health_check: {path: \"/models?x=1\"}"),
                  {"t.yaml:7: backends[0].health_check.path: must not contain spaces, control "
                   "characters, '?' or '#'"}},
        IssueCase{"health_path_missing", Backend("health_check: {interval: 5s}"),
                  {"t.yaml:7: backends[0].health_check.path: is required when health_check is "
                   "set"}},
        IssueCase{"health_timeout_exceeds_interval",
                  Backend("health_check: {path: /models, interval: 1s, timeout: 2s}"),
                  {"t.yaml:7: backends[0].health_check.timeout: must not exceed interval (1s), "
                   "got 2s"}},
        IssueCase{"health_check_list", Backend("health_check: [/models]"),
                  {"t.yaml:7: backends[0].health_check: expected a map, got a list"}}));

INSTANTIATE_TEST_SUITE_P(
    UnknownKeys, IssueTable,
    ::testing::Values(
        IssueCase{"server_typo", Server("header_timout: 5s"),
                  {"t.yaml:2: server.header_timout: unknown field 'header_timout'; did you mean "
                   "'header_timeout'?"}},
        IssueCase{"server_transposition", Server("wokrers: 2"),
                  {"t.yaml:2: server.wokrers: unknown field 'wokrers'; did you mean 'workers'?"}},
        IssueCase{"top_level_typo", "backend: []\n" + kB,
                  {"t.yaml:1: backend: unknown field 'backend'; did you mean 'backends'?"}},
        IssueCase{"top_level_unrelated", "frobnicate: 1\n" + kB,
                  {"t.yaml:1: frobnicate: unknown field 'frobnicate'"}},
        IssueCase{"backend_typo", Backend("modles: [x]"),
                  {"t.yaml:7: backends[0].modles: unknown field 'modles'; did you mean "
                   "'models'?"}},
        IssueCase{"nested_typo", Backend("timeouts: {conect: 1s}"),
                  {"t.yaml:7: backends[0].timeouts.conect: unknown field 'conect'; did you mean "
                   "'connect'?"}},
        IssueCase{"health_typo", Backend("health_check: {path: /m, intervall: 2s}"),
                  {"t.yaml:7: backends[0].health_check.intervall: unknown field 'intervall'; "
                   "did you mean 'interval'?"}},
        IssueCase{"duplicate_field", "server:\n  workers: 1\n  workers: 2\n" + kB,
                  {"t.yaml:3: server.workers: duplicate field 'workers' (first set at line 2)"}},
        IssueCase{"non_string_key", "? [a, b]\n: 1\n" + kB,
                  {"t.yaml:1: field names must be plain strings"}}));

INSTANTIATE_TEST_SUITE_P(
    SizesAndDurations, IssueTable,
    ::testing::Values(
        IssueCase{"size_with_space", Server("max_body_size: 10 MiB"),
                  {"t.yaml:2: server.max_body_size: invalid size '10 MiB': no space allowed "
                   "before the unit; " +
                   kSizeHint}},
        IssueCase{"size_unknown_unit", Server("max_body_size: 10x"),
                  {"t.yaml:2: server.max_body_size: invalid size '10x': unknown unit 'x'; " +
                   kSizeHint}},
        IssueCase{"size_below_bound", Server("max_body_size: 512B"),
                  {"t.yaml:2: server.max_body_size: must be between 1KiB and 1GiB, got 512B"}},
        IssueCase{"size_above_bound", Server("max_header_size: 2MiB"),
                  {"t.yaml:2: server.max_header_size: must be between 1KiB and 1MiB, got 2MiB"}},
        IssueCase{"duration_negative", Server("header_timeout: -1s"),
                  {"t.yaml:2: server.header_timeout: invalid duration '-1s': must not be "
                   "negative"}},
        IssueCase{"duration_unknown_unit", Server("header_timeout: 10x"),
                  {"t.yaml:2: server.header_timeout: invalid duration '10x': unknown unit 'x'; " +
                   kDurationHint}},
        IssueCase{"duration_zero", Server("header_timeout: 0"),
                  {"t.yaml:2: server.header_timeout: must be between 1ms and 24h, got 0ms"}},
        IssueCase{"duration_too_long", Server("idle_timeout: 25h"),
                  {"t.yaml:2: server.idle_timeout: must be between 1ms and 24h, got 25h"}},
        IssueCase{"duration_fraction_too_fine", Server("write_timeout: 1.0005s"),
                  {"t.yaml:2: server.write_timeout: invalid duration '1.0005s': not a whole "
                   "number of milliseconds"}}));

INSTANTIATE_TEST_SUITE_P(
    Urls, IssueTable,
    ::testing::Values(
        IssueCase{"scheme",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: ftp://h/v1\n"
                  "    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:4: backends[0].base_url: invalid URL: unsupported scheme 'ftp' "
                   "(expected http or https)"}},
        IssueCase{"user_info",
                  "backends:\n  - id: a\n    provider: openai\n"
                  "    base_url: https://bob:hunter2@h/v1\n    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:4: backends[0].base_url: invalid URL: user-info (user:password@) is "
                   "not allowed in URLs; pass credentials as api_key"}},
        IssueCase{"query",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: https://h/v1?x=1\n"
                  "    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:4: backends[0].base_url: invalid URL: query strings are not allowed "
                   "in URLs"}},
        IssueCase{"fragment",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: \"https://h/v1#x\"\n"
                  "    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:4: backends[0].base_url: invalid URL: fragments are not allowed in "
                   "URLs"}},
        IssueCase{"space",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: https://h/v 1\n"
                  "    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:4: backends[0].base_url: invalid URL: URL must not contain spaces or "
                   "control characters"}},
        IssueCase{"no_host",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: https:///v1\n"
                  "    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:4: backends[0].base_url: invalid URL: URL has no host"}},
        IssueCase{"port",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: http://h:0/v1\n"
                  "    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:4: backends[0].base_url: invalid URL: port must be a number from 1 "
                   "to 65535"}},
        IssueCase{"empty",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: \"\"\n"
                  "    models: [m1]\n    tier: cloud\n",
                  {"t.yaml:4: backends[0].base_url: must not be empty"}}));

INSTANTIATE_TEST_SUITE_P(
    Jurisdictions, IssueTable,
    ::testing::Values(
        IssueCase{"unknown", Backend("jurisdiction: XX"),
                  {"t.yaml:7: backends[0].jurisdiction: unknown jurisdiction 'XX' (expected an "
                   "ISO 3166-1 alpha-2 code such as DE or US, or EU)"}},
        IssueCase{"alpha3", Backend("jurisdiction: DEU"),
                  {"t.yaml:7: backends[0].jurisdiction: unknown jurisdiction 'DEU' (expected an "
                   "ISO 3166-1 alpha-2 code such as DE or US, or EU)"}},
        IssueCase{"reserved_uk", Backend("jurisdiction: UK"),
                  {"t.yaml:7: backends[0].jurisdiction: unknown jurisdiction 'UK' (expected an "
                   "ISO 3166-1 alpha-2 code such as DE or US, or EU)"}},
        IssueCase{"lower_case", Backend("jurisdiction: de"),
                  {"t.yaml:7: backends[0].jurisdiction: unknown jurisdiction 'de': codes are "
                   "upper case, write 'DE'"}},
        IssueCase{"empty", Backend("jurisdiction: \"\""),
                  {"t.yaml:7: backends[0].jurisdiction: must not be empty"}}));

INSTANTIATE_TEST_SUITE_P(
    Structure, IssueTable,
    ::testing::Values(
        IssueCase{"empty_file", "", {"t.yaml: configuration is empty"}},
        IssueCase{"only_comments", "# nothing here\n\n", {"t.yaml: configuration is empty"}},
        IssueCase{"top_level_list", "- a\n- b\n",
                  {"t.yaml:1: the top level must be a map of sections, got a list"}},
        IssueCase{"top_level_scalar", "hello\n",
                  {"t.yaml:1: the top level must be a map of sections, got a scalar"}},
        IssueCase{"two_documents", "state_dir: a\n---\nstate_dir: b\n",
                  {"t.yaml:3: only one YAML document is allowed per file"}},
        IssueCase{"no_backends", "state_dir: ./s\n",
                  {"t.yaml: backends: at least one backend must be declared"}},
        IssueCase{"empty_backends", "backends: []\n",
                  {"t.yaml:1: backends: at least one backend must be declared"}},
        IssueCase{"null_backends", "state_dir: x\nbackends:\n",
                  {"t.yaml:2: backends: at least one backend must be declared"}},
        IssueCase{"syntax_unclosed_flow", "server:\n  listen: [1, 2\n  workers: 2\n" + kB,
                  {"t.yaml:3: YAML syntax error: end of sequence flow not found"}},
        IssueCase{"syntax_bad_indent", "server:\n workers: 2\n  listen: x\n" + kB,
                  {"t.yaml:3: YAML syntax error: illegal map value"}},
        IssueCase{"syntax_unclosed_quote_at_eof", kB + "state_dir: \"abc",
                  {"t.yaml:7: YAML syntax error: illegal EOF in scalar"}},
        IssueCase{"syntax_tab_indent", "state_dir: x\n\tserver: {}\n" + kB,
                  {"t.yaml:2: YAML syntax error: illegal tab when looking for indentation"}},
        IssueCase{"syntax_extra_bracket", kB + "state_dir: [a, b]]\n",
                  {"t.yaml:7: YAML syntax error: illegal flow end"}},
        IssueCase{"too_deep", "state_dir: " + std::string(2000, '[') + std::string(2000, ']'),
                  {"t.yaml:1: YAML syntax error: nesting is too deep"}},
        IssueCase{"duplicate_backend_id",
                  kB +
                      "  - id: a\n    provider: openai\n    base_url: http://h\n"
                      "    models: [m2]\n    tier: cloud\n",
                  {"t.yaml:7: backends[1].id: duplicate backend id 'a' (first declared at line "
                   "2)"}}));

INSTANTIATE_TEST_SUITE_P(
    Aliases, IssueTable,
    ::testing::Values(
        IssueCase{"alias_shadows_model", kB + "aliases:\n  m1: m1\n",
                  {"t.yaml:8: aliases.m1: alias 'm1' has the same name as a model served by "
                   "backend 'a'"}},
        IssueCase{"alias_target_unknown", kB + "aliases:\n  fast: nope\n",
                  {"t.yaml:8: aliases.fast: alias 'fast' points to model 'nope', which no "
                   "backend serves"}},
        IssueCase{"alias_target_is_alias", kB + "aliases:\n  fast: m1\n  quick: fast\n",
                  {"t.yaml:9: aliases.quick: alias 'quick' points to model 'fast', which no "
                   "backend serves"}},
        IssueCase{"alias_duplicate", kB + "aliases:\n  fast: m1\n  fast: m1\n",
                  {"t.yaml:9: aliases.fast: duplicate alias 'fast'"}},
        IssueCase{"alias_value_map_unknown_field", kB + "aliases:\n  fast: {model: m1}\n",
                  {"t.yaml:8: aliases.fast.model: unknown field 'model'",
                   "t.yaml:8: aliases.fast.target: required: the model id the alias stands for"}},
        IssueCase{"alias_value_list", kB + "aliases:\n  fast: [m1]\n",
                  {"t.yaml:8: aliases.fast: expected a string, got a list"}},
        IssueCase{"alias_strategy_unknown", kB + "aliases:\n  fast: {target: m1, strategy: random}\n",
                  {"t.yaml:8: aliases.fast.strategy: unknown strategy 'random'; expected one of p2c, "
                   "cheapest, fastest, weighted, least-busy, priority"}},
        IssueCase{"alias_weights_unknown_backend", kB + "aliases:\n  fast: {target: m1, weights: {zz: 2}}\n",
                  {"t.yaml:8: aliases.fast.weights.zz: no backend has the id 'zz'"}},
        IssueCase{"alias_quality_missing_fields", kB + "aliases:\n  fast: {target: m1, quality: {threshold: 0.5}}\n",
                  {"t.yaml:8: aliases.fast.quality.weak: required: the cheaper model id",
                   "t.yaml:8: aliases.fast.quality.model: required: the quality router's model file"}},
        IssueCase{"alias_quality_weak_unserved",
                  kB + "aliases:\n  fast: {target: m1, quality: {weak: m9, model: q.json}}\n",
                  {"t.yaml:8: aliases.fast.quality.weak: no backend serves model 'm9'"}},
        IssueCase{"alias_quality_both",
                  kB + "aliases:\n  fast: {target: m1, quality: {weak: m1, model: q.json, threshold: 0.5, "
                       "strong_share: 0.2}}\n",
                  {"t.yaml:8: aliases.fast.quality.strong_share: set either threshold or strong_share, "
                   "not both"}},
        IssueCase{"alias_quality_share_range",
                  kB + "aliases:\n  fast: {target: m1, quality: {weak: m1, model: q.json, strong_share: 1.5}}\n",
                  {"t.yaml:8: aliases.fast.quality.strong_share: expected a number between 0 and 1, got "
                   "'1.5'"}},
        IssueCase{"routing_max_attempts_range", kB + "routing:\n  max_attempts: 0\n",
                  {"t.yaml:8: routing.max_attempts: must be between 1 and 16, got 0"}},
        IssueCase{"routing_open_breakers", kB + "routing:\n  open_breakers: skip\n",
                  {"t.yaml:8: routing.open_breakers: expected 'last' or 'exclude', got 'skip'"}},
        IssueCase{"routing_affinity", kB + "routing:\n  affinity: sticky\n",
                  {"t.yaml:8: routing.affinity: expected 'prefix' or 'none', got 'sticky'"}},
        IssueCase{"routing_latency_goal", kB + "routing:\n  latency_goal: p99\n",
                  {"t.yaml:8: routing.latency_goal: expected 'ttft' or 'total', got 'p99'"}},
        IssueCase{"routing_unknown_field", kB + "routing:\n  strategy: p2c\n  retries: 2\n",
                  {"t.yaml:9: routing.retries: unknown field 'retries'"}},
        IssueCase{"limits_default_max_output_zero", kB + "limits:\n  default_max_output_tokens: 0\n",
                  {"t.yaml:8: limits.default_max_output_tokens: must be between 1 and 10000000, got 0"}},
        IssueCase{"alias_value_empty", kB + "aliases:\n  fast: \"\"\n",
                  {"t.yaml:8: aliases.fast: must not be empty"}},
        IssueCase{"aliases_list", kB + "aliases: [fast]\n",
                  {"t.yaml:7: aliases: expected a map, got a list"}},
        IssueCase{"alias_name_space", kB + "aliases:\n  \"my fast\": m1\n",
                  {"t.yaml:8: aliases.my fast: alias names must be non-empty and without spaces "
                   "or control characters"}}));

INSTANTIATE_TEST_SUITE_P(
    Environment, IssueTable,
    ::testing::Values(
        IssueCase{"unset_variable", "state_dir: ${MERIDIAN_TEST_UNSET}\n" + kB,
                  {"t.yaml:1: state_dir: environment variable 'MERIDIAN_TEST_UNSET' is not set "
                   "(write ${MERIDIAN_TEST_UNSET:-default} to give a default)"}},
        IssueCase{"unset_in_list_item",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: http://h\n"
                  "    models:\n      - m1\n      - \"${MERIDIAN_TEST_UNSET}\"\n    tier: cloud\n",
                  {"t.yaml:7: backends[0].models[1]: environment variable 'MERIDIAN_TEST_UNSET' "
                   "is not set (write ${MERIDIAN_TEST_UNSET:-default} to give a default)"}},
        IssueCase{"bad_reference", "state_dir: \"${1X}\"\n" + kB,
                  {"t.yaml:1: state_dir: invalid environment variable reference: use ${NAME} or "
                   "${NAME:-default} with NAME made of letters, digits and '_', not starting "
                   "with a digit"}},
        IssueCase{"unset_other_variable_in_disabled_backend",
                  Backend("requires_env: MERIDIAN_TEST_KEY\n    api_key: ${MERIDIAN_TEST_UNSET}"),
                  {"t.yaml:8: backends[0].api_key: environment variable 'MERIDIAN_TEST_UNSET' is "
                   "not set (write ${MERIDIAN_TEST_UNSET:-default} to give a default)"}},
        IssueCase{"disabled_backend_still_validated",
                  "backends:\n  - id: a\n    provider: openai\n    base_url: ftp://h\n"
                  "    models: [m1]\n    tier: cloud\n    requires_env: MERIDIAN_TEST_KEY\n",
                  {"t.yaml:4: backends[0].base_url: invalid URL: unsupported scheme 'ftp' "
                   "(expected http or https)"}}));

// ---------------------------------------------------------------------------------------------

TEST_F(ConfigTest, CollectsAllIssuesInLineOrder) {
  const std::string yaml =
      "server:\n"                              // 1
      "  workers: many\n"                      // 2
      "  max_body_size: 10 MiB\n"              // 3
      "  listen: \"127.0.0.1\"\n"              // 4
      "backends:\n"                            // 5
      "  - id: a\n"                            // 6
      "    provider: openai\n"                 // 7
      "    base_url: https://u:p@h\n"          // 8
      "    models: [m1]\n"                     // 9
      "    tier: cloud\n"                      // 10
      "    jurisdiction: XX\n"                 // 11
      "  - id: a\n"                            // 12
      "    provider: openai\n"                 // 13
      "    base_url: http://h\n"               // 14
      "    models: [m2]\n"                     // 15
      "    tier: cloud\n"                      // 16
      "    timout: 1s\n"                       // 17
      "aliases:\n"                             // 18
      "  fast: missing\n"                      // 19
      "state_dir: ${MERIDIAN_TEST_UNSET}\n";   // 20
  EXPECT_THAT(
      Issues(yaml),
      ElementsAre(
          "t.yaml:2: server.workers: expected an integer, got 'many'",
          "t.yaml:3: server.max_body_size: invalid size '10 MiB': no space allowed before the "
          "unit; " + kSizeHint,
          "t.yaml:4: server.listen: invalid listen address '127.0.0.1': expected host:port, e.g. "
          "127.0.0.1:8090 or [::1]:8090",
          "t.yaml:8: backends[0].base_url: invalid URL: user-info (user:password@) is not "
          "allowed in URLs; pass credentials as api_key",
          "t.yaml:11: backends[0].jurisdiction: unknown jurisdiction 'XX' (expected an ISO "
          "3166-1 alpha-2 code such as DE or US, or EU)",
          "t.yaml:12: backends[1].id: duplicate backend id 'a' (first declared at line 6)",
          "t.yaml:17: backends[1].timout: unknown field 'timout'; did you mean 'timeouts'?",
          "t.yaml:19: aliases.fast: alias 'fast' points to model 'missing', which no backend "
          "serves",
          "t.yaml:20: state_dir: environment variable 'MERIDIAN_TEST_UNSET' is not set (write "
          "${MERIDIAN_TEST_UNSET:-default} to give a default)"));
}

TEST_F(ConfigTest, IssueFieldsAreStructured) {
  auto r = ParseConfig(Server("workers: abc"), "dir/meridian.yaml");
  ASSERT_FALSE(r.has_value());
  ASSERT_EQ(r.error().size(), 1u);
  const ConfigIssue& issue = r.error()[0];
  EXPECT_EQ(issue.file, "dir/meridian.yaml");
  EXPECT_EQ(issue.line, 2);
  EXPECT_EQ(issue.field, "server.workers");
  EXPECT_EQ(issue.message, "expected an integer, got 'abc'");
  EXPECT_EQ(issue.ToString(), "dir/meridian.yaml:2: server.workers: expected an integer, got 'abc'");
}

TEST(TierTest, Names) {
  EXPECT_EQ(TierName(Tier::kEdge), "edge");
  EXPECT_EQ(TierName(Tier::kLocal), "local");
  EXPECT_EQ(TierName(Tier::kCloud), "cloud");
}

TEST(ConfigIssueTest, ToStringLeavesOutUnknownParts) {
  EXPECT_EQ((ConfigIssue{"f.yaml", 3, "a.b", "bad"}).ToString(), "f.yaml:3: a.b: bad");
  EXPECT_EQ((ConfigIssue{"f.yaml", 0, "a.b", "bad"}).ToString(), "f.yaml: a.b: bad");
  EXPECT_EQ((ConfigIssue{"f.yaml", 3, "", "bad"}).ToString(), "f.yaml:3: bad");
  EXPECT_EQ((ConfigIssue{"f.yaml", 0, "", "bad"}).ToString(), "f.yaml: bad");
}

TEST_F(ConfigTest, SecretsNeverAppearInIssues) {
  const std::string yaml =
      "auth:\n  keys: [\"sk-secret-1 x\", sk-secret-2, sk-secret-2]\n"
      "backends:\n  - id: a\n    provider: openai\n    base_url: https://bob:pw-secret-3@h\n"
      "    models: [m1]\n    tier: cloud\n    api_key: \"sk-secret-4\\n\"\n";
  auto r = ParseConfig(yaml, "t.yaml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().size(), 4u);
  for (const ConfigIssue& issue : r.error()) {
    EXPECT_EQ(issue.ToString().find("secret"), std::string::npos) << issue.ToString();
  }
}

// ---------------------------------------------------------------------------------------------
// Values that parse.

TEST_F(ConfigTest, DefaultsWhenSectionsAreOmitted) {
  Config c = Valid(kB);
  ServerConfig defaults;
  EXPECT_EQ(c.source, "t.yaml");
  EXPECT_EQ(c.state_dir, "./state");
  EXPECT_EQ(c.server.listen_host, defaults.listen_host);
  EXPECT_EQ(c.server.listen_port, defaults.listen_port);
  EXPECT_EQ(c.server.max_body_bytes, defaults.max_body_bytes);
  EXPECT_THAT(c.auth.keys, IsEmpty());
  EXPECT_THAT(c.warnings,
              ElementsAre("t.yaml: auth.keys: authentication is disabled: no keys are "
                          "configured, so every client is accepted"));
  ASSERT_EQ(c.backends.size(), 1u);
  const BackendConfig& b = c.backends[0];
  EXPECT_EQ(b.line, 2);
  EXPECT_EQ(b.api_key, "");
  EXPECT_EQ(b.jurisdiction, "");
  EXPECT_EQ(b.timeouts.connect, UpstreamTimeouts{}.connect);
  EXPECT_EQ(b.timeouts.total, UpstreamTimeouts{}.total);
  EXPECT_EQ(b.pool.max_idle, PoolConfig{}.max_idle);
  EXPECT_EQ(b.health_check.path, "");
  EXPECT_THAT(c.aliases, IsEmpty());
  EXPECT_THAT(c.disabled_backends, IsEmpty());
}

TEST_F(ConfigTest, EmptyAuthKeysWarnsAtTheSection) {
  Config c = Valid("auth:\n  keys: []\n" + kB);
  EXPECT_THAT(c.warnings,
              ElementsAre("t.yaml:1: auth.keys: authentication is disabled: no keys are "
                          "configured, so every client is accepted"));
}

TEST_F(ConfigTest, HedgeTrueTakesTheDefaultDelays) {
  Config c = Valid(kB + "aliases:\n  f: {target: m1, hedge: true}\n");
  const RoutingConfig& r = c.aliases[0].routing;
  EXPECT_TRUE(r.hedge);
  EXPECT_DOUBLE_EQ(r.hedge_quantile, 0.95);
  EXPECT_EQ(r.hedge_min_delay, Millis(50));
  EXPECT_EQ(r.hedge_max_delay, Millis(10000));
  EXPECT_THAT(c.warnings, testing::Not(testing::Contains(testing::HasSubstr("hedge"))));
}

TEST_F(ConfigTest, HedgeMapSetsItsDelaysAndTurnsHedgingOn) {
  Config c = Valid(kB + "aliases:\n  f: {target: m1, hedge: {quantile: 0.5, min_delay: 20ms, max_delay: 2s}}\n");
  const RoutingConfig& r = c.aliases[0].routing;
  EXPECT_TRUE(r.hedge);
  EXPECT_DOUBLE_EQ(r.hedge_quantile, 0.5);
  EXPECT_EQ(r.hedge_min_delay, Millis(20));
  EXPECT_EQ(r.hedge_max_delay, Millis(2000));
}

TEST_F(ConfigTest, HedgeErrorsNameTheField) {
  EXPECT_THAT(Issues(kB + "aliases:\n  f: {target: m1, hedge: {quantile: 0}}\n"),
              ElementsAre("t.yaml:8: aliases.f.hedge.quantile: must be above 0 (0.95 waits for the 95th "
                          "percentile time to a response head)"));
  EXPECT_THAT(Issues(kB + "aliases:\n  f: {target: m1, hedge: {min_delay: 3s, max_delay: 1s}}\n"),
              ElementsAre("t.yaml:8: aliases.f.hedge.min_delay: min_delay (3000 ms) is above max_delay (1000 ms)"));
  EXPECT_THAT(Issues(kB + "aliases:\n  f: {target: m1, hedge: {after: 1s}}\n"),
              ElementsAre(testing::StartsWith("t.yaml:8: aliases.f.hedge.after: unknown field 'after'")));
  EXPECT_THAT(Issues(kB + "aliases:\n  f: {target: m1, hedge: often}\n"),
              ElementsAre("t.yaml:8: aliases.f.hedge: expected true or false, got 'often'"));
}

TEST_F(ConfigTest, OutlierEjectionIsOnByDefaultAndConfigurable) {
  Config d = Valid(kB);
  EXPECT_TRUE(d.routing.outliers.enabled);
  EXPECT_EQ(d.routing.outliers.interval, Millis(10000));
  Config off = Valid(kB + "routing:\n  outliers: false\n");
  EXPECT_FALSE(off.routing.outliers.enabled);
  Config c = Valid(kB + "routing:\n  outliers: {interval: 200ms, min_samples: 5, min_pool: 2, latency_factor: 2.5, "
                        "min_latency_gap: 20ms, error_rate_gap: 0.2, max_ejected_fraction: 0.34, base_ejection: 5s, "
                        "max_ejection: 1m}\n");
  const OutlierConfig& o = c.routing.outliers;
  EXPECT_TRUE(o.enabled);
  EXPECT_EQ(o.interval, Millis(200));
  EXPECT_EQ(o.min_samples, 5u);
  EXPECT_EQ(o.min_pool, 2u);
  EXPECT_DOUBLE_EQ(o.latency_factor, 2.5);
  EXPECT_EQ(o.min_latency_gap, Millis(20));
  EXPECT_DOUBLE_EQ(o.error_rate_gap, 0.2);
  EXPECT_DOUBLE_EQ(o.max_ejected_fraction, 0.34);
  EXPECT_EQ(o.base_ejection, Millis(5000));
  EXPECT_EQ(o.max_ejection, Millis(60000));
}

TEST_F(ConfigTest, OutlierErrorsNameTheField) {
  EXPECT_THAT(Issues(kB + "routing:\n  outliers: {latency_factor: -1}\n"),
              ElementsAre("t.yaml:8: routing.outliers.latency_factor: expected a positive number, got '-1'"));
  EXPECT_THAT(Issues(kB + "routing:\n  outliers: {base_ejection: 10m, max_ejection: 1m}\n"),
              ElementsAre("t.yaml:8: routing.outliers.base_ejection: base_ejection (600000 ms) is above "
                          "max_ejection (60000 ms)"));
  EXPECT_THAT(Issues(kB + "routing:\n  outliers: {min_pool: 1}\n"),
              ElementsAre(testing::StartsWith("t.yaml:8: routing.outliers.min_pool: ")));
  // Only the top-level routing has outliers: an alias cannot set it.
  EXPECT_THAT(Issues(kB + "aliases:\n  f: {target: m1, outliers: false}\n"),
              ElementsAre(testing::StartsWith("t.yaml:8: aliases.f.outliers: unknown field 'outliers'")));
}

struct ListenCase {
  std::string text;
  std::string host;
  uint16_t port;
};

class ListenTable : public ConfigTest, public ::testing::WithParamInterface<ListenCase> {};

TEST_P(ListenTable, Parses) {
  Config c = Valid(Server("listen: \"" + GetParam().text + "\""));
  EXPECT_EQ(c.server.listen_host, GetParam().host);
  EXPECT_EQ(c.server.listen_port, GetParam().port);
}

INSTANTIATE_TEST_SUITE_P(Table, ListenTable,
                         ::testing::Values(ListenCase{"127.0.0.1:8090", "127.0.0.1", 8090},
                                           ListenCase{"0.0.0.0:0", "0.0.0.0", 0},
                                           ListenCase{"localhost:65535", "localhost", 65535},
                                           ListenCase{"[::1]:8090", "::1", 8090},
                                           ListenCase{"[::]:80", "::", 80}));

TEST_F(ConfigTest, SizesAndDurationsParse) {
  Config c = Valid(
      "server:\n  max_header_size: 1KiB\n  max_body_size: 1.5MiB\n  header_timeout: 1.5s\n"
      "  body_timeout: 250\n  idle_timeout: 2m\n  write_timeout: 500ms\n  shutdown_grace: 0\n" +
      kB);
  EXPECT_EQ(c.server.max_header_bytes, 1024u);
  EXPECT_EQ(c.server.max_body_bytes, 1572864u);
  EXPECT_EQ(c.server.header_timeout, Millis(1500));
  EXPECT_EQ(c.server.body_timeout, Millis(250));
  EXPECT_EQ(c.server.idle_timeout, Millis(120'000));
  EXPECT_EQ(c.server.write_timeout, Millis(500));
  EXPECT_EQ(c.server.shutdown_grace, Millis(0));
  Config d = Valid("server:\n  max_body_size: 1GiB\n  max_header_size: 1MiB\n  idle_timeout: 24h\n" + kB);
  EXPECT_EQ(d.server.max_body_bytes, 1024u * 1024 * 1024);
  EXPECT_EQ(d.server.max_header_bytes, 1024u * 1024);
  EXPECT_EQ(d.server.idle_timeout, Millis(86'400'000));
  Config e = Valid("server:\n  max_body_size: 2000000\n  max_header_size: 2KB\n" + kB);
  EXPECT_EQ(e.server.max_body_bytes, 2'000'000u);
  EXPECT_EQ(e.server.max_header_bytes, 2000u);
}

TEST_F(ConfigTest, EnvironmentIsInterpolatedIntoScalarValues) {
  ScopedEnv workers("MERIDIAN_TEST_WORKERS", "6");
  ScopedEnv port("MERIDIAN_TEST_PORT", "9999");
  Config c = Valid(
      "state_dir: \"${MERIDIAN_TEST_UNSET:-/var/lib/m}\"\n"
      "server:\n  workers: ${MERIDIAN_TEST_WORKERS}\n  listen: \"127.0.0.1:${MERIDIAN_TEST_PORT}\"\n"
      "  request_log: ${MERIDIAN_TEST_UNSET:-false}\n"
      "auth:\n  keys: [\"${MERIDIAN_TEST_UNSET:-sk-dev}\", \"cost$$5\"]\n" +
      kB);
  EXPECT_EQ(c.state_dir, "/var/lib/m");
  EXPECT_EQ(c.server.workers, 6u);
  EXPECT_EQ(c.server.listen_port, 9999);
  EXPECT_FALSE(c.server.request_log);
  EXPECT_THAT(KeyStrings(c), ElementsAre("sk-dev", "cost$5"));
}

TEST_F(ConfigTest, InterpolatedValueIsTypeCheckedAfterExpansion) {
  ScopedEnv workers("MERIDIAN_TEST_WORKERS", "lots");
  EXPECT_THAT(Issues(Server("workers: ${MERIDIAN_TEST_WORKERS}")),
              ElementsAre("t.yaml:2: server.workers: expected an integer, got 'lots'"));
}

TEST_F(ConfigTest, EnvironmentCannotInjectStructure) {
  ScopedEnv inject("MERIDIAN_TEST_INJECT", "x\nserver:\n  workers: 99\nfoo: [1");
  Config c = Valid("state_dir: ${MERIDIAN_TEST_INJECT}\n" + kB);
  EXPECT_EQ(c.state_dir, "x\nserver:\n  workers: 99\nfoo: [1");
  EXPECT_EQ(c.server.workers, 0u);
}

TEST_F(ConfigTest, KeysAreNeverInterpolated) {
  ScopedEnv name("MERIDIAN_TEST_ALIAS", "fast");
  Config c = Valid(kB + "aliases:\n  \"${MERIDIAN_TEST_ALIAS}\": m1\n");
  ASSERT_EQ(c.aliases.size(), 1u);
  EXPECT_EQ(c.aliases[0].name, "${MERIDIAN_TEST_ALIAS}");
  EXPECT_THAT(Issues("${MERIDIAN_TEST_UNSET}: 1\n" + kB),
              ElementsAre("t.yaml:1: ${MERIDIAN_TEST_UNSET}: unknown field "
                          "'${MERIDIAN_TEST_UNSET}'"));
}

// ---------------------------------------------------------------------------------------------
// requires_env

const std::string kTwoBackends =
    "backends:\n"
    "  - id: local\n"                          // 2
    "    provider: ollama\n"
    "    base_url: http://127.0.0.1:11434/v1\n"
    "    models: [llama3.2]\n"
    "    tier: local\n"
    "  - id: cloud\n"                          // 7
    "    provider: openai\n"
    "    base_url: https://api.openai.com/v1\n"
    "    api_key: ${MERIDIAN_TEST_KEY}\n"
    "    requires_env: MERIDIAN_TEST_KEY\n"
    "    models: [gpt-4o-mini]\n"
    "    tier: cloud\n";

TEST_F(ConfigTest, RequiresEnvUnsetDisablesBackend) {
  Config c = Valid(kTwoBackends);
  ASSERT_EQ(c.backends.size(), 1u);
  EXPECT_EQ(c.backends[0].id, "local");
  EXPECT_THAT(c.disabled_backends, ElementsAre("cloud"));
}

TEST_F(ConfigTest, RequiresEnvEmptyDisablesBackend) {
  ScopedEnv key("MERIDIAN_TEST_KEY", "");
  Config c = Valid(kTwoBackends);
  EXPECT_EQ(c.backends.size(), 1u);
  EXPECT_THAT(c.disabled_backends, ElementsAre("cloud"));
}

TEST_F(ConfigTest, RequiresEnvSetEnablesBackend) {
  ScopedEnv key("MERIDIAN_TEST_KEY", "sk-live");
  Config c = Valid(kTwoBackends);
  ASSERT_EQ(c.backends.size(), 2u);
  EXPECT_EQ(c.backends[1].id, "cloud");
  EXPECT_EQ(c.backends[1].api_key, "sk-live");
  EXPECT_EQ(c.backends[1].line, 7);
  EXPECT_THAT(c.disabled_backends, IsEmpty());
}

TEST_F(ConfigTest, NoEnabledBackendIsAWarning) {
  Config c = Valid(
      "auth:\n  keys: [k]\n"
      "backends:\n  - id: a\n    provider: openai\n    base_url: http://h\n    models: [m1]\n"
      "    tier: cloud\n    requires_env: MERIDIAN_TEST_KEY\n");
  EXPECT_THAT(c.backends, IsEmpty());
  EXPECT_THAT(c.disabled_backends, ElementsAre("a"));
  EXPECT_THAT(c.warnings, ElementsAre("t.yaml:3: backends: no backend is enabled: all 1 declared "
                                      "backends have their requires_env variable unset"));
}

TEST_F(ConfigTest, AliasToDisabledBackendIsAWarning) {
  Config c = Valid("auth:\n  keys: [k]\n" + kTwoBackends +
                   "aliases:\n  fast: llama3.2\n  smart: gpt-4o-mini\n");
  ASSERT_EQ(c.aliases.size(), 2u);
  EXPECT_EQ(c.aliases[1].name, "smart");
  EXPECT_EQ(c.aliases[1].target, "gpt-4o-mini");
  EXPECT_THAT(c.warnings, ElementsAre("t.yaml:18: aliases.smart: alias 'smart' points to model "
                                      "'gpt-4o-mini', which only disabled backends serve "
                                      "(cloud)"));
}

TEST_F(ConfigTest, AliasMustNotShadowModelOfDisabledBackend) {
  EXPECT_THAT(Issues(kTwoBackends + "aliases:\n  gpt-4o-mini: llama3.2\n"),
              ElementsAre("t.yaml:15: aliases.gpt-4o-mini: alias 'gpt-4o-mini' has the same name "
                          "as a model served by backend 'cloud'"));
}

// ---------------------------------------------------------------------------------------------
// Full round trip: every field set, every field checked.

TEST_F(ConfigTest, FullConfigRoundTrip) {
  namespace fs = std::filesystem;
  fs::path ca = fs::temp_directory_path() / "meridian_config_test_ca.pem";
  { std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n"; }
  ScopedEnv key("MERIDIAN_TEST_KEY", "sk-upstream");
  const std::string yaml =
      "# Meridian test configuration\n"                                  // 1
      "state_dir: /var/lib/meridian\n"                                   // 2
      "server:\n"                                                        // 3
      "  listen: \"[::1]:9000\"\n"                                       // 4
      "  workers: 4\n"
      "  max_connections: 500\n"
      "  max_header_size: 32KiB\n"
      "  max_body_size: 2MB\n"
      "  header_timeout: 5s\n"
      "  body_timeout: 20s\n"
      "  idle_timeout: 1m\n"
      "  write_timeout: 15s\n"
      "  shutdown_grace: 2.5s\n"
      "  request_log: false\n"
      "auth:\n"
      "  keys: [sk-one, sk-two]\n"
      "upstream_defaults:\n"
      "  timeouts: {connect: 2s, first_byte: 30s, between_chunks: 10s, total: 5m}\n"
      "  pool: {max_idle: 16, idle_timeout: 30s, max_lifetime: 5m}\n"
      "  ca_file: " + ca.string() + "\n"                                 // 20
      "backends:\n"                                                      // 21
      "  - id: eu-cloud\n"                                               // 22
      "    provider: mistral\n"
      "    base_url: https://api.mistral.ai/v1/\n"
      "    api_key: \"${MERIDIAN_TEST_KEY}\"\n"
      "    requires_env: MERIDIAN_TEST_KEY\n"
      "    models: [mistral-large-latest, mistral-embed]\n"
      "    tier: cloud\n"
      "    jurisdiction: FR\n"
      "    region: eu-west-3\n"
      "    vendor: mistral\n"
      "    timeouts: {first_byte: 120s}\n"
      "    pool: {max_idle: 8}\n"
      "    health_check: {path: /models, interval: 10s, timeout: 2s}\n"
      "  - id: edge_1\n"                                                 // 35
      "    provider: simulator\n"
      "    base_url: http://127.0.0.1:18101\n"
      "    models:\n"
      "      - sim-small\n"
      "    tier: edge\n"
      "    jurisdiction: EU\n"
      "    ca_file: \"\"\n"
      "    health_check:\n"
      "      path: /health\n"
      "aliases:\n"
      "  fast: sim-small\n"
      "  big: mistral-large-latest\n";
  Config c = Valid(yaml);
  fs::remove(ca);

  EXPECT_EQ(c.source, "t.yaml");
  EXPECT_EQ(c.state_dir, "/var/lib/meridian");
  EXPECT_EQ(c.server.listen_host, "::1");
  EXPECT_EQ(c.server.listen_port, 9000);
  EXPECT_EQ(c.server.workers, 4u);
  EXPECT_EQ(c.server.max_connections, 500u);
  EXPECT_EQ(c.server.max_header_bytes, 32u * 1024);
  EXPECT_EQ(c.server.max_body_bytes, 2'000'000u);
  EXPECT_EQ(c.server.header_timeout, Millis(5'000));
  EXPECT_EQ(c.server.body_timeout, Millis(20'000));
  EXPECT_EQ(c.server.idle_timeout, Millis(60'000));
  EXPECT_EQ(c.server.write_timeout, Millis(15'000));
  EXPECT_EQ(c.server.shutdown_grace, Millis(2'500));
  EXPECT_FALSE(c.server.request_log);
  EXPECT_THAT(KeyStrings(c), ElementsAre("sk-one", "sk-two"));
  EXPECT_THAT(c.warnings, IsEmpty());
  EXPECT_THAT(c.disabled_backends, IsEmpty());

  ASSERT_EQ(c.backends.size(), 2u);
  const BackendConfig& a = c.backends[0];
  EXPECT_EQ(a.id, "eu-cloud");
  EXPECT_EQ(a.provider, "mistral");
  EXPECT_EQ(a.base_url, "https://api.mistral.ai/v1/");
  EXPECT_EQ(a.api_key, "sk-upstream");
  EXPECT_THAT(a.models, ElementsAre("mistral-large-latest", "mistral-embed"));
  EXPECT_EQ(a.tier, Tier::kCloud);
  EXPECT_EQ(a.jurisdiction, "FR");
  EXPECT_EQ(a.region, "eu-west-3");
  EXPECT_EQ(a.vendor, "mistral");
  EXPECT_EQ(a.timeouts.connect, Millis(2'000));         // inherited
  EXPECT_EQ(a.timeouts.first_byte, Millis(120'000));    // overridden
  EXPECT_EQ(a.timeouts.between_chunks, Millis(10'000));
  EXPECT_EQ(a.timeouts.total, Millis(300'000));
  EXPECT_EQ(a.pool.max_idle, 8u);                       // overridden
  EXPECT_EQ(a.pool.idle_timeout, Millis(30'000));       // inherited
  EXPECT_EQ(a.pool.max_lifetime, Millis(300'000));
  EXPECT_EQ(a.ca_file, ca.string());                    // inherited
  EXPECT_EQ(a.health_check.path, "/models");
  EXPECT_EQ(a.health_check.interval, Millis(10'000));
  EXPECT_EQ(a.health_check.timeout, Millis(2'000));
  EXPECT_EQ(a.line, 22);

  const BackendConfig& b = c.backends[1];
  EXPECT_EQ(b.id, "edge_1");
  EXPECT_EQ(b.provider, "simulator");
  EXPECT_EQ(b.base_url, "http://127.0.0.1:18101");
  EXPECT_EQ(b.api_key, "");
  EXPECT_THAT(b.models, ElementsAre("sim-small"));
  EXPECT_EQ(b.tier, Tier::kEdge);
  EXPECT_EQ(b.jurisdiction, "EU");
  EXPECT_EQ(b.region, "");
  EXPECT_EQ(b.vendor, "");
  EXPECT_EQ(b.timeouts.first_byte, Millis(30'000));     // from upstream_defaults
  EXPECT_EQ(b.pool.max_idle, 16u);
  EXPECT_EQ(b.ca_file, "");                             // explicitly reset to system store
  EXPECT_EQ(b.health_check.path, "/health");
  EXPECT_EQ(b.health_check.interval, HealthCheckConfig{}.interval);
  EXPECT_EQ(b.health_check.timeout, HealthCheckConfig{}.timeout);
  EXPECT_EQ(b.line, 35);

  ASSERT_EQ(c.aliases.size(), 2u);
  EXPECT_EQ(c.aliases[0].name, "fast");
  EXPECT_EQ(c.aliases[0].target, "sim-small");
  EXPECT_EQ(c.aliases[1].name, "big");
  EXPECT_EQ(c.aliases[1].target, "mistral-large-latest");
}

// ---------------------------------------------------------------------------------------------
// LoadConfigFile

TEST_F(ConfigTest, LoadConfigFileReadsAndParses) {
  namespace fs = std::filesystem;
  fs::path path = fs::temp_directory_path() / "meridian_config_test_load.yaml";
  { std::ofstream(path) << "auth:\n  keys: [k]\n" << kB; }
  auto r = LoadConfigFile(path.string());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->source, path.string());
  EXPECT_EQ(r->backends.size(), 1u);

  { std::ofstream(path) << "server:\n  workers: x\n" << kB; }
  auto bad = LoadConfigFile(path.string());
  fs::remove(path);
  ASSERT_FALSE(bad.has_value());
  ASSERT_EQ(bad.error().size(), 1u);
  EXPECT_EQ(bad.error()[0].ToString(),
            path.string() + ":2: server.workers: expected an integer, got 'x'");
}

TEST_F(ConfigTest, LoadConfigFileMissing) {
  auto r = LoadConfigFile("/nonexistent/meridian.yaml");
  ASSERT_FALSE(r.has_value());
  ASSERT_EQ(r.error().size(), 1u);
  EXPECT_EQ(r.error()[0].ToString(),
            "/nonexistent/meridian.yaml: cannot read configuration file: No such file or "
            "directory");
}

TEST_F(ConfigTest, LoadConfigFileDirectory) {
  auto r = LoadConfigFile("/tmp");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error()[0].ToString(), "/tmp: cannot read configuration file: it is a directory");
}

}  // namespace
}  // namespace meridian::config

namespace meridian::config {
namespace {

TEST(ConfigKeys, MapEntriesCarryTenantTeamClassesAndJurisdiction) {
  auto r = ParseConfig("auth:\n  keys:\n    - sk-plain\n    - key: sk-acme-ops\n      tenant: acme\n"
                       "      team: ops\n      data_classes: [classification_marking, email, email]\n"
                       "      jurisdiction: DE\n" + kB,
                       "t.yaml");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->auth.keys.size(), 2u);
  EXPECT_EQ(r->auth.keys[0].key, "sk-plain");
  EXPECT_EQ(r->auth.keys[0].tenant, "");
  const KeyConfig& k = r->auth.keys[1];
  EXPECT_EQ(k.key, "sk-acme-ops");
  EXPECT_EQ(k.tenant, "acme");
  EXPECT_EQ(k.team, "ops");
  EXPECT_THAT(k.data_classes, ElementsAre(core::DataClass::kClassificationMarking, core::DataClass::kEmail));
  EXPECT_EQ(k.jurisdiction, "DE");
}

// ---------------------------------------------------------------------------------------------
// store: the usage ledger and the audit log (docs/store.md)

std::string Store(const std::string& body) { return "store:\n" + body + kB; }

INSTANTIATE_TEST_SUITE_P(
    Store, IssueTable,
    ::testing::Values(
        IssueCase{"store_is_list", "store: [1]\n" + kB, {"t.yaml:1: store: expected a map, got a list"}},
        IssueCase{"store_unknown_section", Store("  leger: {}\n"),
                  {"t.yaml:2: store.leger: unknown field 'leger'; did you mean 'ledger'?"}},
        IssueCase{"ledger_unknown_field", Store("  ledger:\n    batch_windw: 10ms\n"),
                  {"t.yaml:3: store.ledger.batch_windw: unknown field 'batch_windw'; did you mean "
                   "'batch_window'?"}},
        IssueCase{"durability_unknown", Store("  ledger:\n    durability: fsync\n"),
                  {"t.yaml:3: store.ledger.durability: unknown durability 'fsync' (expected batched or strict)"}},
        IssueCase{"batch_max_zero", Store("  ledger:\n    batch_max: 0\n"),
                  {"t.yaml:3: store.ledger.batch_max: must be between 1 and 65536, got 0"}},
        IssueCase{"batch_max_above_queue", Store("  ledger:\n    queue_size: 100\n    batch_max: 200\n"),
                  {"t.yaml:4: store.ledger.batch_max: must not exceed queue_size (100), got 200"}},
        IssueCase{"batch_window_too_long", Store("  ledger:\n    batch_window: 1m\n"),
                  {"t.yaml:3: store.ledger.batch_window: must be between 1ms and 10s, got 1m"}},
        IssueCase{"batch_window_not_duration", Store("  ledger:\n    batch_window: soon\n"),
                  {"t.yaml:3: store.ledger.batch_window: invalid duration 'soon': " + kDurationHint}},
        IssueCase{"queue_size_negative", Store("  ledger:\n    queue_size: -5\n"),
                  {"t.yaml:3: store.ledger.queue_size: must not be negative, got -5"}},
        IssueCase{"audit_enabled_not_bool", Store("  audit:\n    enabled: yes\n"),
                  {"t.yaml:3: store.audit.enabled: expected true or false, got 'yes'"}},
        IssueCase{"audit_unknown_field", Store("  audit:\n    enable: false\n"),
                  {"t.yaml:3: store.audit.enable: unknown field 'enable'; did you mean 'enabled'?"}},
        IssueCase{"audit_is_scalar", Store("  audit: off\n"),
                  {"t.yaml:2: store.audit: expected a map, got a scalar"}}));

TEST(ConfigStore, DefaultsAndValues) {
  auto d = ParseConfig(kB, "t.yaml");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->store.ledger.durability, LedgerDurability::kBatched);
  EXPECT_EQ(d->store.ledger.batch_max, 256u);
  EXPECT_EQ(d->store.ledger.batch_window, Millis(50));
  EXPECT_EQ(d->store.ledger.queue_size, 65536u);
  EXPECT_TRUE(d->store.audit.enabled);

  auto r = ParseConfig(Store("  ledger: {durability: strict, batch_max: 32, batch_window: 5ms, queue_size: 1024}\n"
                             "  audit: {enabled: false}\n"),
                       "t.yaml");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->store.ledger.durability, LedgerDurability::kStrict);
  EXPECT_EQ(LedgerDurabilityName(r->store.ledger.durability), "strict");
  EXPECT_EQ(r->store.ledger.batch_max, 32u);
  EXPECT_EQ(r->store.ledger.batch_window, Millis(5));
  EXPECT_EQ(r->store.ledger.queue_size, 1024u);
  EXPECT_FALSE(r->store.audit.enabled);
  // An empty section is "not set".
  EXPECT_TRUE(ParseConfig("store:\n" + kB, "t.yaml").has_value());
}

TEST(ConfigStore, LoadConfigFileHandsBackTheBytesItRead) {
  const std::string path = (std::filesystem::temp_directory_path() / "meridian-config-raw-test.yaml").string();
  const std::string text = "# comment\n" + kB;
  {
    std::ofstream(path) << text;
  }
  std::string raw;
  auto r = LoadConfigFile(path, &raw);
  std::filesystem::remove(path);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(raw, text);
}

TEST(ConfigKeys, PoliciesAndFactsAreKeptRawForThePolicyModule) {
  auto r = ParseConfig(Backend("facts: {storage_jurisdiction: FR}") +
                           "policies:\n  - name: r1\n    action: block\n",
                       "t.yaml");
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->policies.IsSequence());
  EXPECT_EQ(r->policies.size(), 1u);
  ASSERT_EQ(r->backends.size(), 1u);
  EXPECT_EQ(r->backends[0].facts["storage_jurisdiction"].Scalar(), "FR");
  EXPECT_EQ(r->backends[0].path, "backends[0]");
}

}  // namespace
}  // namespace meridian::config

// ---------------------------------------------------------------------------------------------
// Provider presets: dialect, default base URL, Azure deployments (config/providers.hpp).

namespace meridian::config {
namespace {

std::string OneBackend(const std::string& fields) {
  return "backends:\n  - id: a\n    models: [m1]\n    tier: cloud\n" + fields;
}

TEST_F(ConfigTest, ProviderPresetGivesDialectAndBaseUrl) {
  struct Case {
    std::string provider;
    WireDialect dialect;
    std::string base_url;
  } cases[] = {
      {"openai", WireDialect::kOpenAiChat, "https://api.openai.com/v1"},
      {"anthropic", WireDialect::kAnthropicMessages, "https://api.anthropic.com/v1"},
      {"gemini", WireDialect::kGemini, "https://generativelanguage.googleapis.com/v1beta"},
      {"mistral", WireDialect::kOpenAiChat, "https://api.mistral.ai/v1"},
      {"groq", WireDialect::kOpenAiChat, "https://api.groq.com/openai/v1"},
      {"qwen", WireDialect::kOpenAiChat, "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"},
      {"ollama", WireDialect::kOpenAiChat, "http://127.0.0.1:11434/v1"},
  };
  for (const Case& c : cases) {
    Config cfg = Valid(OneBackend("    provider: " + c.provider + "\n"));
    ASSERT_EQ(cfg.backends.size(), 1u) << c.provider;
    EXPECT_EQ(cfg.backends[0].dialect, c.dialect) << c.provider;
    EXPECT_EQ(cfg.backends[0].base_url, c.base_url) << c.provider;
  }
  // Every provider name the loader accepts has a preset.
  for (const ProviderPreset& p : ProviderPresets()) EXPECT_EQ(FindProviderPreset(p.name), &p);
}

TEST_F(ConfigTest, DialectOverridesThePresetAndBaseUrlIsRequiredWithoutOne) {
  Config cfg = Valid(OneBackend("    provider: simulator\n    dialect: anthropic_messages\n    base_url: http://127.0.0.1:9/v1\n"));
  EXPECT_EQ(cfg.backends[0].dialect, WireDialect::kAnthropicMessages);
  EXPECT_EQ(Issues(OneBackend("    provider: simulator\n")),
            std::vector<std::string>{"t.yaml:2: backends[0].base_url: is required"});
  EXPECT_EQ(Issues(OneBackend("    provider: openai\n    dialect: anthropic\n")),
            std::vector<std::string>{"t.yaml:6: backends[0].dialect: unknown dialect 'anthropic' (known: "
                                     "openai_chat, openai_responses, anthropic_messages, gemini)"});
}

TEST_F(ConfigTest, AzureDeploymentsAndApiVersion) {
  Config cfg = Valid(
      "backends:\n  - id: az\n    provider: azure-openai\n    base_url: https://contoso.openai.azure.com/openai\n"
      "    models: [gpt-4o, gpt-4o-mini]\n    tier: cloud\n    api_version: 2025-04-01-preview\n"
      "    deployments: {gpt-4o: prod-4o}\n");
  ASSERT_EQ(cfg.backends.size(), 1u);
  EXPECT_EQ(cfg.backends[0].api_version, "2025-04-01-preview");
  ASSERT_EQ(cfg.backends[0].deployments.size(), 1u);
  EXPECT_EQ(cfg.backends[0].deployments[0], (std::pair<std::string, std::string>{"gpt-4o", "prod-4o"}));

  EXPECT_EQ(Issues("backends:\n  - id: az\n    provider: azure-openai\n    models: [m1]\n    tier: cloud\n"),
            std::vector<std::string>{"t.yaml:2: backends[0].base_url: is required"});
  EXPECT_EQ(Issues(OneBackend("    provider: openai\n    api_version: x\n")),
            std::vector<std::string>{"t.yaml:6: backends[0].api_version: only an azure-openai backend takes an api_version"});
  EXPECT_EQ(Issues("backends:\n  - id: az\n    provider: azure-openai\n    base_url: https://h/openai\n"
                   "    models: [m1]\n    tier: cloud\n    deployments: {m2: d, m1: \"bad name\"}\n"),
            (std::vector<std::string>{
                "t.yaml:2: backends[0].deployments.m2: 'm2' is not one of this backend's models",
                "t.yaml:7: backends[0].deployments.m1: deployment names use letters, digits, '-', '_' and '.'"}));
  EXPECT_EQ(Issues("backends:\n  - id: az\n    provider: azure-openai\n    base_url: https://h/openai\n"
                   "    models: [m1]\n    tier: cloud\n    dialect: gemini\n"),
            std::vector<std::string>{
                "t.yaml:2: backends[0].dialect: an azure-openai backend speaks openai_chat or openai_responses"});
}

}  // namespace
}  // namespace meridian::config

namespace meridian::config {
namespace {

// yaml-cpp 0.7 loops forever in LoadAll on a document starting with ',' (found by
// fuzz/config_yaml): the loader reports it instead of hanging.
TEST_F(ConfigTest, ADocumentStartingWithACommaIsAnErrorNotAHang) {
  EXPECT_EQ(Issues(",\n"), std::vector<std::string>{"t.yaml:1: YAML syntax error: unexpected ',' where a document should start"});
  EXPECT_EQ(Issues("# comment, with a comma\n\n ,x\n"),
            std::vector<std::string>{"t.yaml:3: YAML syntax error: unexpected ',' where a document should start"});
  // Commas inside flow collections and scalars are ordinary YAML.
  Config c = Valid("backends:\n  - {id: a, provider: openai, models: [m1, m2], tier: cloud}\n");
  EXPECT_EQ(c.backends.size(), 1u);
}

TEST_F(ConfigTest, RoutingDefaultsAndAliasOverrides) {
  Config none = Valid(kB);
  EXPECT_EQ(none.routing.strategy, "p2c");
  EXPECT_EQ(none.routing.max_attempts, 3u);
  EXPECT_EQ(none.routing.deadline, Millis{0});
  EXPECT_FALSE(none.routing.exclude_open);
  EXPECT_EQ(none.default_max_output_tokens, 4096);
  EXPECT_EQ(Valid(kB + "limits:\n  default_max_output_tokens: 64\n").default_max_output_tokens, 64);

  Config c = Valid(kB +
                   "routing:\n  strategy: priority\n  max_attempts: 2\n  deadline: 30s\n"
                   "  open_breakers: exclude\n"
                   "aliases:\n  plain: m1\n"
                   "  fast: {target: m1, strategy: fastest, latency_goal: total, hedge: true, "
                   "weights: {a: 3}}\n"
                   "  smart: {target: m1, quality: {weak: m1, model: q.json, strong_share: 0.25}}\n");
  EXPECT_EQ(c.routing.strategy, "priority");
  EXPECT_EQ(c.routing.max_attempts, 2u);
  EXPECT_EQ(c.routing.deadline, Millis{30'000});
  EXPECT_TRUE(c.routing.exclude_open);
  ASSERT_EQ(c.aliases.size(), 3u);
  // An alias inherits every field it does not set.
  EXPECT_EQ(c.aliases[0].routing.strategy, "priority");
  EXPECT_EQ(c.aliases[0].routing.max_attempts, 2u);
  EXPECT_FALSE(c.aliases[0].quality);
  const AliasConfig& fast = c.aliases[1];
  EXPECT_EQ(fast.target, "m1");
  EXPECT_EQ(fast.routing.strategy, "fastest");
  EXPECT_TRUE(fast.routing.latency_total);
  EXPECT_TRUE(fast.routing.hedge);
  EXPECT_FALSE(fast.routing.prefix_affinity);
  EXPECT_TRUE(Valid(kB + "aliases:\n  s: {target: m1, affinity: prefix}\n").aliases[0].routing.prefix_affinity);
  EXPECT_EQ(fast.routing.max_attempts, 2u);
  EXPECT_EQ(fast.routing.weights, (std::vector<std::pair<std::string, unsigned>>{{"a", 3}}));
  ASSERT_TRUE(c.aliases[2].quality);
  EXPECT_EQ(c.aliases[2].quality->weak, "m1");
  EXPECT_EQ(c.aliases[2].quality->model_file, "q.json");
  EXPECT_EQ(c.aliases[2].quality->strong_share, 0.25);
  EXPECT_FALSE(c.aliases[2].quality->threshold);
}


}  // namespace
}  // namespace meridian::config
