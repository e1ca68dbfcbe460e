#include <fmt/format.h>

#include "app/commands.hpp"
#include "config/config.hpp"

namespace meridian::app {

int ConfigCheck(const std::string& path) {
  auto loaded = config::LoadConfigFile(path);
  if (!loaded) {
    for (const auto& issue : loaded.error()) fmt::print(stderr, "{}\n", issue.ToString());
    fmt::print(stderr, "{}: {} error(s)\n", path, loaded.error().size());
    return 2;
  }
  for (const auto& warning : loaded->warnings) fmt::print(stderr, "warning: {}\n", warning);
  fmt::print("{}: ok ({} backends enabled, {} disabled, {} aliases)\n", path, loaded->backends.size(),
             loaded->disabled_backends.size(), loaded->aliases.size());
  return 0;
}

}  // namespace meridian::app
