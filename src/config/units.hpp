#pragma once
// Duration and size literals of the configuration file.
//
//   duration: integer milliseconds ("250") or <number><unit>, unit ms|s|m|h ("500ms", "1.5s")
//   size:     integer bytes ("65536") or <number><unit>, unit B|KB|MB|GB (1000-based) or
//             KiB|MiB|GiB (1024-based) ("16KiB", "1.5MiB")
// A number may have a decimal fraction when a unit is given; the result must be a whole
// number of milliseconds or bytes. No sign, no spaces, no exponent.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace meridian::config {

// Success: the duration. Failure: kInvalidRequest with a message that quotes `text` and says
// what was expected. Thread-safe (pure).
core::Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Success: the size in bytes. Failure as ParseDuration. Thread-safe (pure).
core::Result<uint64_t> ParseSize(std::string_view text);

// Shortest exact rendering with the largest unit that divides evenly: 1500ms -> "1500ms",
// 90000 -> "90s", 600000 -> "10m". Used in messages and docs. Thread-safe.
std::string FormatDuration(std::chrono::milliseconds d);

// 16384 -> "16KiB", 10485760 -> "10MiB", 1000 -> "1000B". Thread-safe.
std::string FormatSize(uint64_t bytes);

}  // namespace meridian::config
