#pragma once
// UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).

#include <cstddef>
#include <optional>
#include <string_view>

namespace meridian::core {

// The byte offset of the first invalid sequence in `text`, or nullopt if it is valid UTF-8.
// Thread-safe, no allocation.
std::optional<std::size_t> FirstInvalidUtf8(std::string_view text);

}  // namespace meridian::core
