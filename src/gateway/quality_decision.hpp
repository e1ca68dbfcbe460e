#pragma once
// The learned quality router's per-request decision (docs/quality_router.md, "How a decision is
// made"), as one pure function shared by the gateway (Gateway::ResolveByQuality) and
// `meridian replay` (replay/engine.cpp): the request's last user turn (LastUserText) is scored
// by the alias's model, and the request goes to the alias's target (strong) when the score is
// at or above the alias's threshold, else to its weak model.
//
// Pure: reads only its arguments; allocation apart from the extracted text; thread-safe.

#include <boost/json/object.hpp>

#include "gateway/ingress.hpp"
#include "gateway/snapshot.hpp"

namespace meridian::gateway {

struct QualityDecision {
  double score = 0;     // P(strong wins | last user text), in (0, 1)
  bool strong = false;  // score >= quality.threshold: the alias's target serves the request
};

// Scores the last user turn of `body` (a request in dialect `api`) with `quality.model`. Never
// fails: a body without a user turn scores the empty text, as in the gateway.
QualityDecision DecideQuality(const QualityRoute& quality, Api api, const boost::json::object& body);

}  // namespace meridian::gateway
