// The dialect conformance matrix: every client (ingress) dialect × every upstream (egress)
// dialect × {non-streaming, streaming} × every scenario, asserting exact wire output against
// the fixtures in tests/fixtures/dialect/conformance/ (docs/dialects.md, "Conformance suite").
//
// A scenario fixture holds, for each dialect, the scenario's request, its non-streaming
// response and its stream, in that dialect's own wire form. For each ordered pair (I = the
// client's dialect, E = the upstream's) the test checks:
//
//   request   decode(I request) → encode(E)  == E's request          (streaming mode: the
//             streaming form of both, see StreamForm)
//   response  decode(E response) → encode(I) == I's response          (non-streaming mode)
//   stream    E's stream through E's StreamDecoder and I's StreamEncoder, event by event
//             == I's stream, byte for byte (streaming mode)
//
// errors.json holds one scenario per error class: each dialect's HTTP error (status, headers,
// body) and mid-stream error event; decode(E) → encode(I) == I's, exactly.
//
// The only normalisation is of names that are the upstream's by nature: the model, the
// response id and tool-call ids (Gemini has none: the decoder makes them, rule G2). Each
// dialect's fixture lists its names, and the translated output has E's names replaced by I's
// (for requests, I's by E's). OpenAI's `created` (the others have none) is the client
// fixture's value, passed as the encoder option the gateway would pass.
//
// Where a pair cannot be exact because a dialect lacks something, the fixture's `overrides`
// hold what that pair must produce instead (a JSON patch of the expectation, a whole
// expectation, or, for requests, the exact 400 that must refuse the translation), with the
// rule of docs/dialects.md that says why. Every override must be needed (the unpatched
// expectation must fail) and name a rule docs/dialects.md defines.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "codecs.hpp"
#include "dialect/openai_responses.hpp"
#include "fixture_util.hpp"

namespace meridian::dialect {
namespace {

namespace json = boost::json;
using testing::JsonDiff;

// ---- the codecs ------------------------------------------------------------------------

class AnyStreamDecoder {
 public:
  virtual ~AnyStreamDecoder() = default;
  virtual core::Result<void> Feed(std::string_view data, std::vector<StreamEvent>& out) = 0;
  virtual void Finish(std::vector<StreamEvent>& out) = 0;
};

class AnyStreamEncoder {
 public:
  virtual ~AnyStreamEncoder() = default;
  virtual core::Result<void> Encode(const StreamEvent& ev, std::string& out) = 0;
};

template <typename D>
class DecoderOf : public AnyStreamDecoder {
 public:
  core::Result<void> Feed(std::string_view data, std::vector<StreamEvent>& out) override {
    return d_.Feed(data, out);
  }
  void Finish(std::vector<StreamEvent>& out) override { d_.Finish(out); }

 private:
  D d_;
};

template <typename E>
class EncoderOf : public AnyStreamEncoder {
 public:
  explicit EncoderOf(E e) : e_(std::move(e)) {}
  core::Result<void> Encode(const StreamEvent& ev, std::string& out) override {
    return e_.Encode(ev, out);
  }

 private:
  E e_;
};

// What the gateway tells a client-side encoder.
struct ClientContext {
  std::int64_t created = 0;    // OpenAI: the creation time to use when the upstream has none
  bool include_usage = false;  // OpenAI: the client asked stream_options.include_usage
};

// One dialect behind one interface. Fixture sections and test names use `name`.
struct Codec {
  std::string name;
  std::function<core::Result<ChatRequest>(const json::value&)> decode_request;
  std::function<core::Result<json::value>(const ChatRequest&)> encode_request;
  // The streaming form of a (non-streaming) request form, as a client of this dialect asks.
  std::function<json::value(const json::value&)> stream_form;
  // The creation time an encoder must use for this dialect's client fixture (OpenAI only).
  std::function<std::int64_t(const json::object& section)> created;
  std::function<core::Result<ChatResponse>(std::string_view)> decode_response;
  std::function<core::Result<std::string>(const ChatResponse&, const ClientContext&)>
      encode_response;
  std::function<std::unique_ptr<AnyStreamDecoder>()> stream_decoder;
  std::function<std::unique_ptr<AnyStreamEncoder>(const ClientContext&)> stream_encoder;
  std::function<ApiError(int, std::string_view, const ErrorHeaders&)> decode_error;
  std::function<HttpError(const ApiError&)> encode_error;
  // Called on a request decoded by this codec before another dialect's encoder sees it (the
  // gateway's step; Responses: PrepareForeign). Empty: nothing to do.
  std::function<void(ChatRequest&)> prepare_foreign = {};
};

std::int64_t NoCreated(const json::object&) { return 0; }

json::object WithMembers(json::value form, std::initializer_list<std::pair<std::string_view, json::value>> add) {
  json::object o = std::move(form.as_object());
  for (const auto& [k, v] : add) o[k] = v;
  return o;
}

// The dialects of the matrix, in test-name order. A dialect takes part in a scenario when the
// fixture has its section; the first three (kCoreDialects) must be in every scenario. The
// OpenAI Responses dialect is registered; scenarios gain its pairs as they gain an
// "openai_responses" section.
const std::vector<Codec>& Codecs() {
  static const std::vector<Codec> kCodecs = [] {
    std::vector<Codec> c;
    c.push_back(Codec{
        "openai_chat",
        [](const json::value& f) { return openai::DecodeRequest(f.as_object()); },
        [](const ChatRequest& r) -> core::Result<json::value> {
          auto out = openai::EncodeRequest(r);
          if (!out) return std::unexpected(out.error());
          return json::parse(*out);
        },
        [](const json::value& f) -> json::value {
          return WithMembers(f, {{"stream", true},
                                 {"stream_options", json::object{{"include_usage", true}}}});
        },
        [](const json::object& s) -> std::int64_t {
          return s.at("response").at("created").as_int64();
        },
        [](std::string_view b) { return openai::DecodeResponse(b); },
        [](const ChatResponse& r, const ClientContext& ctx) {
          openai::ResponseOptions o;
          o.created = ctx.created;
          return openai::EncodeResponse(r, o);
        },
        [] { return std::make_unique<DecoderOf<openai::StreamDecoder>>(); },
        [](const ClientContext& ctx) -> std::unique_ptr<AnyStreamEncoder> {
          openai::StreamOptions o;
          o.include_usage = ctx.include_usage;
          o.created = ctx.created;
          return std::make_unique<EncoderOf<openai::StreamEncoder>>(openai::StreamEncoder(o));
        },
        [](int s, std::string_view b, const ErrorHeaders& h) { return openai::DecodeError(s, b, h); },
        [](const ApiError& e) { return openai::EncodeError(e); },
    });
    c.push_back(Codec{
        "anthropic_messages",
        [](const json::value& f) { return anthropic::DecodeRequest(f.as_object()); },
        [](const ChatRequest& r) -> core::Result<json::value> {
          auto out = anthropic::EncodeRequest(r);
          if (!out) return std::unexpected(out.error());
          return json::parse(*out);
        },
        [](const json::value& f) -> json::value { return WithMembers(f, {{"stream", true}}); },
        NoCreated,
        [](std::string_view b) { return anthropic::DecodeResponse(b); },
        [](const ChatResponse& r, const ClientContext&) { return anthropic::EncodeResponse(r); },
        [] { return std::make_unique<DecoderOf<anthropic::StreamDecoder>>(); },
        [](const ClientContext&) -> std::unique_ptr<AnyStreamEncoder> {
          return std::make_unique<EncoderOf<anthropic::StreamEncoder>>(anthropic::StreamEncoder());
        },
        [](int s, std::string_view b, const ErrorHeaders& h) {
          return anthropic::DecodeError(s, b, h);
        },
        [](const ApiError& e) { return anthropic::EncodeError(e); },
    });
    c.push_back(Codec{
        "gemini",
        [](const json::value& f) { return testing::DecodeRequestForm("gemini", f); },
        [](const ChatRequest& r) { return testing::EncodeRequestForm("gemini", r, {}); },
        [](const json::value& f) -> json::value {
          json::object o = f.as_object();
          std::string path(o.at("path").as_string());
          const std::string from = ":generateContent";
          if (auto at = path.find(from); at != std::string::npos) {
            path.replace(at, from.size(), ":streamGenerateContent?alt=sse");
          }
          o["path"] = path;
          return o;
        },
        NoCreated,
        [](std::string_view b) { return gemini::DecodeResponse(b); },
        [](const ChatResponse& r, const ClientContext&) { return gemini::EncodeResponse(r); },
        [] { return std::make_unique<DecoderOf<gemini::StreamDecoder>>(); },
        [](const ClientContext&) -> std::unique_ptr<AnyStreamEncoder> {
          return std::make_unique<EncoderOf<gemini::StreamEncoder>>(gemini::StreamEncoder());
        },
        [](int s, std::string_view b, const ErrorHeaders& h) { return gemini::DecodeError(s, b, h); },
        [](const ApiError& e) { return gemini::EncodeError(e); },
    });
    c.push_back(Codec{
        "openai_responses",
        [](const json::value& f) { return responses::DecodeRequest(f.as_object()); },
        [](const ChatRequest& r) -> core::Result<json::value> {
          auto out = responses::EncodeRequest(r);
          if (!out) return std::unexpected(out.error());
          return json::parse(*out);
        },
        [](const json::value& f) -> json::value { return WithMembers(f, {{"stream", true}}); },
        [](const json::object& s) -> std::int64_t {
          return s.at("response").at("created_at").as_int64();
        },
        [](std::string_view b) { return responses::DecodeResponse(b); },
        [](const ChatResponse& r, const ClientContext& ctx) {
          responses::ResponseOptions o;
          o.created = ctx.created;
          return responses::EncodeResponse(r, o);
        },
        [] { return std::make_unique<DecoderOf<responses::StreamDecoder>>(); },
        [](const ClientContext& ctx) -> std::unique_ptr<AnyStreamEncoder> {
          responses::StreamOptions o;
          o.created = ctx.created;
          return std::make_unique<EncoderOf<responses::StreamEncoder>>(responses::StreamEncoder(o));
        },
        [](int s, std::string_view b, const ErrorHeaders& h) {
          return responses::DecodeError(s, b, h);
        },
        [](const ApiError& e) { return responses::EncodeError(e); },
        [](ChatRequest& r) { responses::PrepareForeign(r); },
    });
    return c;
  }();
  return kCodecs;
}

const std::vector<std::string> kCoreDialects = {"openai_chat", "anthropic_messages", "gemini"};

const Codec& CodecFor(std::string_view name) {
  for (const Codec& c : Codecs()) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("unknown dialect " + std::string(name));
}

// ---- fixtures --------------------------------------------------------------------------

constexpr std::string_view kDir = "conformance";
constexpr std::string_view kErrors = "errors";
constexpr std::string_view kErrorPrefix = "error_";

// A scenario: a content scenario file, or one error class of errors.json.
struct Scenario {
  std::string name;
  bool error = false;
  json::object fx;  // content: the whole file; error: the class's object
};

const std::vector<Scenario>& Scenarios() {
  static const std::vector<Scenario> kScenarios = [] {
    std::vector<Scenario> out;
    for (const std::string& file : testing::ListFixtures(kDir)) {
      json::object fx = testing::LoadFixture(kDir, file);
      if (file == kErrors) {
        for (const auto& kv : fx.at("classes").as_object()) {
          out.push_back(Scenario{std::string(kErrorPrefix) + std::string(kv.key()), true,
                                 kv.value().as_object()});
        }
      } else {
        out.push_back(Scenario{file, false, std::move(fx)});
      }
    }
    return out;
  }();
  return kScenarios;
}

const Scenario& ScenarioFor(const std::string& name) {
  for (const Scenario& s : Scenarios()) {
    if (s.name == name) return s;
  }
  throw std::runtime_error("unknown scenario " + name);
}

// docs/dialects.md defines a rule as a bullet "- **<id> <title>.**".
const std::set<std::string>& DocumentedRules() {
  static const std::set<std::string> kRules = [] {
    std::set<std::string> rules;
    const std::string doc = testing::ReadFile(std::filesystem::path(MERIDIAN_SOURCE_DIR) / "docs" /
                                              "dialects.md");
    std::size_t pos = 0;
    while ((pos = doc.find("\n- **", pos)) != std::string::npos) {
      pos += 5;
      const std::size_t end = doc.find_first_of(" *", pos);
      if (end != std::string::npos) rules.insert(doc.substr(pos, end - pos));
    }
    return rules;
  }();
  return kRules;
}

// ---- names -----------------------------------------------------------------------------

// The names a dialect's fixture section lists under names.<part>, in a fixed order: model,
// id, then tool_ids in order (empty strings for what the section lacks).
std::vector<std::string> NamesOf(const json::object& section, std::string_view part) {
  std::vector<std::string> out(2);
  const json::value* names = section.if_contains("names");
  const json::value* p = names ? names->as_object().if_contains(part) : nullptr;
  if (p == nullptr) return out;
  const json::object& o = p->as_object();
  if (const auto* v = o.if_contains("model")) out[0] = std::string(v->as_string());
  if (const auto* v = o.if_contains("id")) out[1] = std::string(v->as_string());
  if (const auto* v = o.if_contains("tool_ids")) {
    for (const auto& t : v->as_array()) out.emplace_back(t.as_string());
  }
  return out;
}

// Replaces each name of `from` by the name in the same place of `to`, in one pass, longest
// match first (a Gemini tool id "call_<responseId>_0" contains the response id).
std::string Rename(std::string_view text, const std::vector<std::string>& from,
                   const std::vector<std::string>& to) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < from.size() && i < to.size(); ++i) {
    if (!from[i].empty() && !to[i].empty() && from[i] != to[i]) order.push_back(i);
  }
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return from[a].size() > from[b].size(); });
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    bool hit = false;
    for (std::size_t i : order) {
      if (text.compare(pos, from[i].size(), from[i]) == 0) {
        out += to[i];
        pos += from[i].size();
        hit = true;
        break;
      }
    }
    if (!hit) out += text[pos++];
  }
  return out;
}

// ---- overrides -------------------------------------------------------------------------

bool Matches(const json::value& v, std::string_view dialect) {
  if (v.is_string()) return v.as_string() == dialect;
  for (const auto& x : v.as_array()) {
    if (x.as_string() == dialect) return true;
  }
  return false;
}

// The override of `part` ("request", "response", "stream", "http") for client I and
// upstream E, or null.
const json::object* FindOverride(const json::object& fx, std::string_view part,
                                 std::string_view client, std::string_view upstream) {
  const json::value* list = fx.if_contains("overrides");
  if (list == nullptr) return nullptr;
  const json::object* found = nullptr;
  for (const auto& ov : list->as_array()) {
    const json::object& o = ov.as_object();
    if (o.at("part").as_string() != part) continue;
    if (!Matches(o.at("client"), client) || !Matches(o.at("upstream"), upstream)) continue;
    EXPECT_EQ(found, nullptr) << "two overrides of " << part << " for " << client << " <- "
                              << upstream;
    found = &o;
  }
  return found;
}

std::vector<std::string> PointerTokens(std::string_view ptr) {
  std::vector<std::string> out;
  if (ptr.empty()) return out;
  if (ptr.front() != '/') throw std::runtime_error("bad JSON pointer " + std::string(ptr));
  std::size_t pos = 1;
  while (true) {
    const std::size_t end = ptr.find('/', pos);
    std::string tok(ptr.substr(pos, end == std::string_view::npos ? std::string_view::npos
                                                                   : end - pos));
    for (std::size_t i; (i = tok.find("~1")) != std::string::npos;) tok.replace(i, 2, "/");
    for (std::size_t i; (i = tok.find("~0")) != std::string::npos;) tok.replace(i, 2, "~");
    out.push_back(std::move(tok));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

// Applies RFC 6902 add / replace / remove operations. Throws on a path that does not apply.
void ApplyPatch(json::value& doc, const json::array& ops) {
  for (const auto& opv : ops) {
    const json::object& op = opv.as_object();
    const std::string_view kind = op.at("op").as_string();
    const std::string path(op.at("path").as_string());
    std::vector<std::string> toks = PointerTokens(path);
    if (toks.empty()) throw std::runtime_error("patch of the whole document: use expect");
    json::value* parent = &doc;
    for (std::size_t i = 0; i + 1 < toks.size(); ++i) {
      if (parent->is_object()) parent = &parent->as_object().at(toks[i]);
      else parent = &parent->as_array().at(std::stoul(toks[i]));
    }
    const std::string& last = toks.back();
    if (parent->is_object()) {
      json::object& o = parent->as_object();
      if (kind == "add") o[last] = op.at("value");
      else if (kind == "replace") o.at(last) = op.at("value");
      else if (kind == "remove") {
        if (o.erase(last) == 0) throw std::out_of_range("no member " + path);
      } else throw std::runtime_error("unknown op");
    } else {
      json::array& a = parent->as_array();
      if (kind == "add") {
        if (last == "-") a.push_back(op.at("value"));
        else a.insert(a.begin() + static_cast<std::ptrdiff_t>(std::stoul(last)), op.at("value"));
      } else if (kind == "replace") {
        a.at(std::stoul(last)) = op.at("value");
      } else if (kind == "remove") {
        const std::size_t i = std::stoul(last);
        if (i >= a.size()) throw std::out_of_range("no element " + path);
        a.erase(a.begin() + static_cast<std::ptrdiff_t>(i));
      } else throw std::runtime_error("unknown op");
    }
  }
}

// The expectation after an override (patch or whole replacement).
json::value Overridden(const json::value& base, const json::object* ov) {
  if (ov == nullptr) return base;
  if (const auto* e = ov->if_contains("expect")) return *e;
  json::value out = base;
  if (const auto* p = ov->if_contains("patch")) ApplyPatch(out, p->as_array());
  return out;
}

// An override's rules: "rule" is one id or a list of them.
std::vector<std::string> RulesOf(const json::object& ov) {
  std::vector<std::string> out;
  const json::value& r = ov.at("rule");
  if (r.is_string()) out.emplace_back(r.as_string());
  else for (const auto& x : r.as_array()) out.emplace_back(x.as_string());
  return out;
}

void CheckOverrideShape(const json::object& ov) {
  const std::vector<std::string> rules = RulesOf(ov);
  EXPECT_FALSE(rules.empty()) << "override without a rule";
  for (const std::string& rule : rules) {
    EXPECT_TRUE(DocumentedRules().contains(rule))
        << "override rule '" << rule << "' is not defined in docs/dialects.md";
  }
  EXPECT_TRUE(ov.contains("note")) << "override without a note";
  const int kinds = int(ov.contains("patch")) + int(ov.contains("expect")) +
                    int(ov.contains("reject"));
  EXPECT_EQ(kinds, 1) << "an override has exactly one of patch, expect, reject";
}

// ---- SSE -------------------------------------------------------------------------------

// A fixture's stream event as SSE text: {"event", "data"} → "event: e\ndata: {...}\n\n";
// a string → "data: <string>\n\n" ("[DONE]"); {"comment": c} → ": c\n\n"; another object →
// "data: {...}\n\n". The JSON is compact, members in the fixture's order.
std::string Render(const json::value& ev) {
  if (ev.is_string()) return "data: " + std::string(ev.as_string()) + "\n\n";
  const json::object& o = ev.as_object();
  if (const auto* c = o.if_contains("comment")) return ": " + std::string(c->as_string()) + "\n\n";
  if (o.size() == 2 && o.contains("event") && o.contains("data")) {
    return "event: " + std::string(o.at("event").as_string()) + "\ndata: " +
           json::serialize(o.at("data")) + "\n\n";
  }
  return "data: " + json::serialize(ev) + "\n\n";
}

std::string RenderAll(const json::value& events) {
  std::string out;
  for (const auto& ev : events.as_array()) out += Render(ev);
  return out;
}

// The data an upstream event carries (what the gateway's SSE reader hands a decoder).
std::string DataOf(const json::value& ev) {
  if (ev.is_string()) return std::string(ev.as_string());
  const json::object& o = ev.as_object();
  if (o.size() == 2 && o.contains("event") && o.contains("data")) {
    return json::serialize(o.at("data"));
  }
  return json::serialize(ev);
}

// Splits SSE text into its events ("...\n\n" each), for naming the first difference.
std::vector<std::string> SseEvents(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find("\n\n", pos);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

std::string SseDiff(std::string_view want, std::string_view got) {
  if (want == got) return {};
  const auto w = SseEvents(want);
  const auto g = SseEvents(got);
  for (std::size_t i = 0; i < std::max(w.size(), g.size()); ++i) {
    const std::string a = i < w.size() ? w[i] : "<none>";
    const std::string b = i < g.size() ? g[i] : "<none>";
    if (a != b) {
      return "event " + std::to_string(i) + ":\n  want: " + a + "\n  got:  " + b;
    }
  }
  return "byte difference outside events";
}

// ---- the cases -------------------------------------------------------------------------

struct Case {
  std::string scenario;
  std::string client;    // I: the dialect the client speaks
  std::string upstream;  // E: the dialect the backend speaks
  bool stream = false;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.scenario << " client=" << c.client << " upstream=" << c.upstream
      << (c.stream ? " stream" : " non-stream");
}

std::vector<Case> AllCases() {
  std::vector<Case> out;
  for (const Scenario& s : Scenarios()) {
    for (const Codec& i : Codecs()) {
      if (!s.fx.contains(i.name)) continue;
      for (const Codec& e : Codecs()) {
        if (!s.fx.contains(e.name)) continue;
        for (bool stream : {false, true}) out.push_back(Case{s.name, i.name, e.name, stream});
      }
    }
  }
  return out;
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return c.scenario + "__client_" + c.client + "__upstream_" + c.upstream + "__" +
         (c.stream ? "stream" : "nonstream");
}

const json::object& Section(const json::object& fx, const std::string& dialect) {
  const json::value* v = fx.if_contains(dialect);
  if (v == nullptr) throw std::runtime_error("the fixture has no '" + dialect + "' section");
  return v->as_object();
}

enum class Outcome { kExact, kOverride, kReject };

// Runs `check(expected)` against the overridden expectation; with an override, also
// requires that the plain expectation fails (no stale overrides).
template <typename Check>
Outcome Expect(const json::value& base, const json::object* ov, std::string_view what,
               Check&& check) {
  if (ov != nullptr) CheckOverrideShape(*ov);
  const json::value want = Overridden(base, ov);
  const std::string diff = check(want);
  EXPECT_TRUE(diff.empty()) << what << ": " << diff;
  if (ov != nullptr && diff.empty()) {
    EXPECT_FALSE(check(base).empty())
        << what << ": the override (rule " << json::serialize(ov->at("rule"))
        << ") is not needed: the plain expectation holds";
  }
  return ov != nullptr ? Outcome::kOverride : Outcome::kExact;
}

Outcome CheckRequest(const Scenario& s, const Case& c) {
  const Codec& I = CodecFor(c.client);
  const Codec& E = CodecFor(c.upstream);
  const json::object& is = Section(s.fx, c.client);
  const json::object& es = Section(s.fx, c.upstream);
  json::value input = is.at("request");
  if (c.stream) input = I.stream_form(input);
  auto req = I.decode_request(input);
  if (!req) {
    ADD_FAILURE() << "the client's own request does not decode: " << req.error().message;
    return Outcome::kExact;
  }
  if (c.client != c.upstream && I.prepare_foreign) I.prepare_foreign(*req);
  auto out = E.encode_request(*req);
  const json::object* ov = FindOverride(s.fx, "request", c.client, c.upstream);
  if (ov != nullptr && ov->contains("reject")) {
    CheckOverrideShape(*ov);
    const json::object& want = ov->at("reject").as_object();
    if (out) {
      ADD_FAILURE() << "request: translation succeeded, want a 400: " << json::serialize(*out);
      return Outcome::kReject;
    }
    EXPECT_EQ(out.error().code, core::ErrorCode::kInvalidRequest) << out.error().message;
    EXPECT_EQ(out.error().param, want.at("param").as_string());
    EXPECT_EQ(out.error().message, want.at("message").as_string());
    return Outcome::kReject;
  }
  if (!out) {
    ADD_FAILURE() << "request: translation failed: " << out.error().message;
    return Outcome::kExact;
  }
  const json::value got = json::parse(
      Rename(json::serialize(*out), NamesOf(is, "request"), NamesOf(es, "request")));
  json::value base = es.at("request");
  return Expect(base, ov, "request", [&](json::value want) {
    if (c.stream) want = E.stream_form(want);
    std::string d = JsonDiff(want, got);
    if (!d.empty()) d += "\noutput: " + json::serialize(got);
    return d;
  });
}

Outcome CheckResponse(const Scenario& s, const Case& c) {
  const Codec& I = CodecFor(c.client);
  const Codec& E = CodecFor(c.upstream);
  const json::object& is = Section(s.fx, c.client);
  const json::object& es = Section(s.fx, c.upstream);
  auto resp = E.decode_response(json::serialize(es.at("response")));
  if (!resp) {
    ADD_FAILURE() << "response: the upstream's response does not decode: "
                  << resp.error().message;
    return Outcome::kExact;
  }
  ClientContext ctx;
  ctx.created = I.created(is);
  auto out = I.encode_response(*resp, ctx);
  if (!out) {
    ADD_FAILURE() << "response: encoding failed: " << out.error().message;
    return Outcome::kExact;
  }
  const json::value got =
      json::parse(Rename(*out, NamesOf(es, "response"), NamesOf(is, "response")));
  return Expect(is.at("response"), FindOverride(s.fx, "response", c.client, c.upstream),
                "response", [&](const json::value& want) {
                  std::string d = JsonDiff(want, got);
                  if (!d.empty()) d += "\noutput: " + json::serialize(got);
                  return d;
                });
}

// E's stream events through E's decoder and I's encoder; the bytes written.
std::string Pipe(const Codec& I, const Codec& E, const json::array& events,
                 const ClientContext& ctx) {
  auto dec = E.stream_decoder();
  auto enc = I.stream_encoder(ctx);
  std::vector<StreamEvent> evs;
  std::string out;
  auto encode_all = [&] {
    for (const StreamEvent& ev : evs) {
      auto r = enc->Encode(ev, out);
      if (!r) {
        ADD_FAILURE() << "stream: encoding failed: " << r.error().message;
        return false;
      }
    }
    evs.clear();
    return true;
  };
  for (std::size_t k = 0; k < events.size(); ++k) {
    auto r = dec->Feed(DataOf(events[k]), evs);
    if (!r) {
      ADD_FAILURE() << "stream: upstream event " << k << " does not decode: " << r.error().message;
      return out;
    }
    if (!encode_all()) return out;
  }
  dec->Finish(evs);
  encode_all();
  return out;
}

Outcome CheckStream(const Scenario& s, const Case& c, const ClientContext& ctx) {
  const Codec& I = CodecFor(c.client);
  const Codec& E = CodecFor(c.upstream);
  const json::object& is = Section(s.fx, c.client);
  const json::object& es = Section(s.fx, c.upstream);
  const std::string got = Rename(Pipe(I, E, es.at("stream").as_array(), ctx),
                                 NamesOf(es, "response"), NamesOf(is, "response"));
  return Expect(is.at("stream"), FindOverride(s.fx, "stream", c.client, c.upstream), "stream",
                [&](const json::value& want) {
                  std::string d = SseDiff(RenderAll(want), got);
                  if (!d.empty()) d += "\noutput:\n" + got;
                  return d;
                });
}

ErrorHeaders HeadersOf(const json::object& http) {
  ErrorHeaders h;
  if (const auto* v = http.if_contains("headers")) {
    const auto& o = v->as_object();
    if (const auto* x = o.if_contains("retry-after")) h.retry_after = x->as_string();
    if (const auto* x = o.if_contains("retry-after-ms")) h.retry_after_ms = x->as_string();
    if (const auto* x = o.if_contains("x-should-retry")) h.should_retry = x->as_string();
    if (const auto* x = o.if_contains("request-id")) h.request_id = x->as_string();
  }
  return h;
}

Outcome CheckHttpError(const Scenario& s, const Case& c) {
  const Codec& I = CodecFor(c.client);
  const Codec& E = CodecFor(c.upstream);
  const json::object& eh = Section(s.fx, c.upstream).at("http").as_object();
  const ApiError api = E.decode_error(static_cast<int>(eh.at("status").as_int64()),
                                      json::serialize(eh.at("body")), HeadersOf(eh));
  const HttpError out = I.encode_error(api);
  json::object got;
  got["status"] = out.status;
  json::object headers;
  for (const auto& [k, v] : out.headers) headers[k] = v;
  got["headers"] = std::move(headers);
  got["body"] = testing::ParseOrString(out.body);
  return Expect(Section(s.fx, c.client).at("http"),
                FindOverride(s.fx, "http", c.client, c.upstream), "http",
                [&](const json::value& want_v) {
                  json::object want = want_v.as_object();
                  if (!want.contains("headers")) want["headers"] = json::object();
                  std::string d = JsonDiff(want, got);
                  if (!d.empty()) d += "\noutput: " + json::serialize(got);
                  return d;
                });
}

class Conformance : public ::testing::TestWithParam<Case> {};

TEST_P(Conformance, ExactWireOutput) {
  const Case& c = GetParam();
  const Scenario& s = ScenarioFor(c.scenario);
  if (s.error) {
    if (c.stream) {
      CheckStream(s, c, {});
    } else {
      CheckHttpError(s, c);
    }
    return;
  }
  CheckRequest(s, c);
  if (!c.stream) {
    CheckResponse(s, c);
    return;
  }
  // The client's own streaming request says whether it wants usage (OpenAI include_usage).
  const Codec& I = CodecFor(c.client);
  const json::object& is = Section(s.fx, c.client);
  ClientContext ctx;
  ctx.created = I.created(is);
  auto req = I.decode_request(I.stream_form(is.at("request")));
  ASSERT_TRUE(req.has_value()) << req.error().message;
  ctx.include_usage = req->stream_include_usage.value_or(false);
  CheckStream(s, c, ctx);
}

INSTANTIATE_TEST_SUITE_P(Matrix, Conformance, ::testing::ValuesIn(AllCases()), CaseName);

// The fixtures themselves: every dialect has every part, every override targets a known pair
// and part of its scenario and names a rule docs/dialects.md defines.
TEST(ConformanceFixtures, AreComplete) {
  ASSERT_FALSE(Scenarios().empty());
  std::set<std::string> dialects;
  for (const Codec& c : Codecs()) dialects.insert(c.name);
  for (const Scenario& s : Scenarios()) {
    SCOPED_TRACE(s.name);
    for (const std::string& d : kCoreDialects) {
      EXPECT_TRUE(s.fx.contains(d)) << "no " << d << " section";
    }
    for (const Codec& c : Codecs()) {
      if (!s.fx.contains(c.name)) continue;
      const json::object& sec = s.fx.at(c.name).as_object();
      for (std::string_view part : s.error ? std::vector<std::string_view>{"http", "stream"}
                                           : std::vector<std::string_view>{"request", "response",
                                                                           "stream"}) {
        EXPECT_TRUE(sec.contains(part)) << c.name << " has no " << part;
      }
    }
    if (const auto* list = s.fx.if_contains("overrides")) {
      for (const auto& ov : list->as_array()) {
        const json::object& o = ov.as_object();
        CheckOverrideShape(o);
        const std::string_view part = o.at("part").as_string();
        const std::set<std::string_view> parts =
            s.error ? std::set<std::string_view>{"http", "stream"}
                    : std::set<std::string_view>{"request", "response", "stream"};
        EXPECT_TRUE(parts.contains(part)) << "override of unknown part " << part;
        for (std::string_view key : {"client", "upstream"}) {
          const json::value& v = o.at(key);
          std::vector<std::string> names;
          if (v.is_string()) names.emplace_back(v.as_string());
          else for (const auto& x : v.as_array()) names.emplace_back(x.as_string());
          for (const auto& n : names) EXPECT_TRUE(dialects.contains(n)) << "unknown dialect " << n;
        }
      }
    }
  }
}

// The size of the matrix, for docs/dialects.md: scenarios × ordered pairs × modes, and how
// many checks are exact, exact after a documented rule's override, or a documented 400.
TEST(ConformanceFixtures, MatrixCounts) {
  std::size_t content = 0, errors = 0;
  for (const Scenario& s : Scenarios()) (s.error ? errors : content)++;
  std::size_t pairs = 0, dialects = 0;
  for (const Scenario& s : Scenarios()) {
    std::size_t n = 0;
    for (const Codec& c : Codecs()) n += s.fx.contains(c.name) ? 1 : 0;
    pairs += n * n;
    dialects = std::max(dialects, n);
  }
  std::map<std::string, std::map<std::string, int>> counts;  // part → outcome → n
  for (const Case& c : AllCases()) {
    const Scenario& s = ScenarioFor(c.scenario);
    auto count = [&](std::string_view part) {
      const json::object* ov = FindOverride(s.fx, part, c.client, c.upstream);
      const std::string what = ov == nullptr              ? "exact"
                               : ov->contains("reject") ? "400"
                                                          : "rule";
      std::string key(part);
      if (part == "request") key += c.stream ? " (stream)" : " (non-stream)";
      if (part == "stream" && s.error) key = "stream error";
      counts[key][what]++;
    };
    if (s.error) {
      count(c.stream ? "stream" : "http");
    } else {
      count("request");
      count(c.stream ? "stream" : "response");
    }
  }
  const std::size_t cases = AllCases().size();
  std::printf("conformance matrix: up to %zu dialects (%zu ordered pairs), %zu content "
              "scenarios + %zu error classes, 2 modes = %zu cases\n",
              dialects, dialects * dialects, content, errors, cases);
  for (const Codec& c : Codecs()) {
    int n = 0;
    for (const Scenario& s : Scenarios()) n += s.fx.contains(c.name) ? 1 : 0;
    std::printf("  %-20s in %d of %zu scenarios\n", c.name.c_str(), n, Scenarios().size());
  }
  int total = 0;
  for (const auto& [part, by] : counts) {
    int n = 0;
    for (const auto& [_, k] : by) n += k;
    total += n;
    std::printf("  %-22s %4d checks: %4d exact, %4d exact after a rule's override, %4d "
                "documented 400\n",
                part.c_str(), n, by.count("exact") ? by.at("exact") : 0,
                by.count("rule") ? by.at("rule") : 0, by.count("400") ? by.at("400") : 0);
  }
  std::printf("  total %d checks\n", total);
  EXPECT_EQ(cases, pairs * 2);
}

}  // namespace
}  // namespace meridian::dialect
