#pragma once
// Checksum and format validators for identifiers the classifier finds. Each takes the matched
// text (which may contain the separators people write: spaces, '-', '.', '/') and returns true
// when it is a plausible, well-formed identifier of that kind. Pure functions, thread-safe,
// no allocation, never log or keep the value.

#include <string_view>

namespace meridian::classify {

// Payment card: 12–19 digits, Luhn check, and an issuer prefix in use (Visa, Mastercard, Amex,
// Diners, Discover, JCB, UnionPay, Maestro, Mir). Separators: space or '-'.
bool LuhnValid(std::string_view text);
// IBAN: registered country code, that country's length, ISO 13616 mod-97 == 1. Spaces allowed;
// letters in either case.
bool IbanValid(std::string_view text);
// US SSN: 9 digits (optionally 3-2-4 with '-' or ' '); area not 000/666/900–999, group not 00,
// serial not 0000; two well-known advertising numbers are rejected.
bool UsSsnValid(std::string_view text);
// Chinese resident identity card: 18 chars, province code, plausible birth date, ISO 7064
// MOD 11-2 check character (digit or 'X').
bool CnResidentIdValid(std::string_view text);
// German Steuer-IdNr: 11 digits, first not 0, digit-repetition rule, ISO 7064 MOD 11,10 check.
// Separators ' ' and '/' are skipped.
bool DeTaxIdValid(std::string_view text);
// French NIR (INSEE): 13 characters (Corsica 2A/2B) + 2-digit key = 97 - (n mod 97).
bool FrNirValid(std::string_view text);
// Indian Aadhaar: 12 digits, first not 0/1, Verhoeff check digit.
bool InAadhaarValid(std::string_view text);
// UK National Insurance number: 2 prefix letters (issuing rules), 6 digits, suffix A–D.
bool UkNinoValid(std::string_view text);
// Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter), letter = mod 23 table;
// X/Y/Z count as 0/1/2. Letters in either case; separators ' ', '-', '.' are skipped.
bool EsDniNieValid(std::string_view text);
// Italian codice fiscale: 16 chars, omocodia substitutions, month letter, day, check character.
bool ItCodiceFiscaleValid(std::string_view text);
// Brazilian CPF: 11 digits (optionally 000.000.000-00), two mod-11 check digits, not all equal.
bool BrCpfValid(std::string_view text);

}  // namespace meridian::classify
