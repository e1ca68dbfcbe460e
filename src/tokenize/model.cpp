#include <algorithm>
#include <array>
#include <cctype>
#include <system_error>

#include "tokenize/tokenize.hpp"

namespace meridian::tokenize {

namespace {

// `name` is `prefix`, or `prefix` followed by '-' or '.' (a version, size or date suffix).
bool Named(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return false;
  return name.size() == prefix.size() || name[prefix.size()] == '-' || name[prefix.size()] == '.';
}

constexpr std::array<std::string_view, 10> kO200k = {
    "gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "gpt-oss", "codex"};
constexpr std::array<std::string_view, 7> kCl100k = {
    "gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada-002", "davinci-002",
    "babbage-002"};

}  // namespace

std::string_view FamilyName(Family family) {
  switch (family) {
    case Family::kO200k:
      return "o200k_base";
    case Family::kCl100k:
      return "cl100k_base";
    case Family::kApproximate:
      break;
  }
  return "approximate";
}

Family EncodingFor(std::string_view model) {
  if (model.starts_with("ft:")) model.remove_prefix(3);
  if (const auto slash = model.rfind('/'); slash != std::string_view::npos) {
    model.remove_prefix(slash + 1);
  }
  std::string name(model);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // A fine-tuned model's name goes on after the base with ':' ("gpt-4o-mini-2024-07-18:org::id").
  if (const auto colon = name.find(':'); colon != std::string::npos) name.resize(colon);
  for (std::string_view p : kO200k) {
    if (Named(name, p)) return Family::kO200k;
  }
  for (std::string_view p : kCl100k) {
    if (Named(name, p)) return Family::kCl100k;
  }
  return Family::kApproximate;
}

std::filesystem::path DefaultDataDir() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::filesystem::path("share") / "tokenizer";
  return exe.parent_path() / "share" / "tokenizer";
}

Estimator Estimator::Load(const std::filesystem::path& dir, std::vector<core::Error>* problems) {
  Estimator e;
  auto load = [&](std::string_view name, std::shared_ptr<const Encoding>& slot) {
    auto enc = Encoding::Load(name, dir);
    if (enc) {
      slot = std::shared_ptr<const Encoding>(std::move(*enc));
    } else if (problems) {
      problems->push_back(std::move(enc.error()));
    }
  };
  load("o200k_base", e.o200k_);
  load("cl100k_base", e.cl100k_);
  return e;
}

const Encoding* Estimator::Get(Family family) const {
  switch (family) {
    case Family::kO200k:
      return o200k_.get();
    case Family::kCl100k:
      return cl100k_.get();
    case Family::kApproximate:
      break;
  }
  return nullptr;
}

Estimator::Estimate Estimator::Count(std::string_view model, std::string_view text) const {
  Estimate r;
  r.family = EncodingFor(model);
  if (const Encoding* enc = Get(r.family)) {
    r.tokens = enc->Count(text);
    r.exact = true;
  } else {
    r.tokens = ApproximateCount(text);
  }
  return r;
}

}  // namespace meridian::tokenize
