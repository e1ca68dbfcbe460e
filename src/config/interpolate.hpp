#pragma once
// Environment interpolation of configuration values: ${NAME}, ${NAME:-default} and "$$".
// Internal to the config module; InterpolateEnv (config.hpp) is the public entry point.

#include <functional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace meridian::config {

// Returns the variable's value, or nullptr when it is unset.
using EnvLookup = std::function<const char*(const std::string& name)>;

// Expands `text`:
//   ${NAME}            the value of NAME; unset -> error naming NAME (empty is allowed)
//   ${NAME:-default}   the value of NAME if set and non-empty, else `default` (literal text,
//                      up to the first '}'; not itself interpolated)
//   $$                 a literal '$'; any other '$' is literal as well
// NAME is [A-Za-z_][A-Za-z0-9_]*. An unset `tolerate_unset` variable expands to "" instead of
// failing (used for a disabled backend's own requires_env variable). Messages never quote
// `text` or any value, only variable names. Thread-safe if `lookup` is.
core::Result<std::string> Interpolate(std::string_view text, const EnvLookup& lookup,
                                      std::string_view tolerate_unset = {});

}  // namespace meridian::config
