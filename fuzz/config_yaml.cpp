// libFuzzer target: config::ParseConfig on YAML text; corpus/config_yaml.
// It promises never to throw (an escaping exception is a crash here), and a failure lists at
// least one issue. yaml-cpp itself is Debian's build, so only config/ is coverage-guided.
#include "config/config.hpp"
#include "fuzz_util.hpp"

// (A document starting with ',' used to hang yaml-cpp 0.7's LoadAll forever; ParseConfig now
// detects it and reports an issue, so no input is skipped.)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = meridian::fuzz::AsText(data, size);
  auto config = meridian::config::ParseConfig(text, "fuzz.yaml");
  if (!config) {
    FUZZ_CHECK(!config.error().empty(), "failed without an issue");
    for (const auto& issue : config.error()) (void)issue.ToString();
  }
  return 0;
}
