#pragma once
// Jurisdiction codes used in backend facts and policies: ISO 3166-1 alpha-2 country codes
// (upper case, officially assigned only) plus "EU" for the European Union as a whole.

#include <span>
#include <string_view>

namespace meridian::core {

// True for an officially assigned ISO 3166-1 alpha-2 code ("DE", "US") or "EU".
// Case-sensitive: "de" is not known. Thread-safe (pure).
bool IsKnownJurisdiction(std::string_view code);

// True for the 27 member states of the European Union, by ISO code ("GR" for Greece, not
// "EL"). "EU" itself is not a member state and yields false. Thread-safe (pure).
bool IsEuMember(std::string_view code);

// The officially assigned ISO 3166-1 alpha-2 codes, sorted ascending (without "EU").
// Static storage; thread-safe.
std::span<const std::string_view> AssignedCountryCodes();

}  // namespace meridian::core
