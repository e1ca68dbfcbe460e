#include "telemetry/metrics.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace meridian::telemetry {
namespace {

TEST(MetricsTest, RendersSmallRegistryExactly) {
  Registry reg;
  auto* requests =
      reg.AddCounter("meridian_requests_total", "Requests handled.", {"route", "status"}).value();
  // Created out of order: the output is sorted by label values.
  requests->With({"embed", "200"}).Inc(2);
  requests->With({"chat", "500"}).Inc();
  requests->With({"chat", "200"}).Inc(3);

  auto* up = reg.AddGauge("meridian_up", "Line one\nback\\slash \"quoted\"").value();
  up->With({}).Set(1);

  auto* esc = reg.AddGauge("meridian_label_escape", "Escaping.", {"v"}).value();
  esc->With({"a\"b\\c\nd"}).Set(-2.5);

  auto* latency =
      reg.AddHistogram("meridian_latency_seconds", "Latency.", {"backend"}, {0.125, 0.5, 1})
          .value();
  Histogram& sim = latency->With({"sim-a"});
  sim.Observe(0.0625);
  sim.Observe(0.125);  // upper bounds are inclusive
  sim.Observe(0.75);
  sim.Observe(3);

  auto* sizes = reg.AddHistogram("meridian_body_bytes", "Sizes.", {}, {1024}).value();
  sizes->With({}).Observe(10);

  reg.AddCounter("meridian_empty_total", "No series yet.", {"x"}).value();

  const std::string expected =
      "# HELP meridian_requests_total Requests handled.\n"
      "# TYPE meridian_requests_total counter\n"
      "meridian_requests_total{route=\"chat\",status=\"200\"} 3\n"
      "meridian_requests_total{route=\"chat\",status=\"500\"} 1\n"
      "meridian_requests_total{route=\"embed\",status=\"200\"} 2\n"
      "# HELP meridian_up Line one\\nback\\\\slash \"quoted\"\n"
      "# TYPE meridian_up gauge\n"
      "meridian_up 1\n"
      "# HELP meridian_label_escape Escaping.\n"
      "# TYPE meridian_label_escape gauge\n"
      "meridian_label_escape{v=\"a\\\"b\\\\c\\nd\"} -2.5\n"
      "# HELP meridian_latency_seconds Latency.\n"
      "# TYPE meridian_latency_seconds histogram\n"
      "meridian_latency_seconds_bucket{backend=\"sim-a\",le=\"0.125\"} 2\n"
      "meridian_latency_seconds_bucket{backend=\"sim-a\",le=\"0.5\"} 2\n"
      "meridian_latency_seconds_bucket{backend=\"sim-a\",le=\"1\"} 3\n"
      "meridian_latency_seconds_bucket{backend=\"sim-a\",le=\"+Inf\"} 4\n"
      "meridian_latency_seconds_sum{backend=\"sim-a\"} 3.9375\n"
      "meridian_latency_seconds_count{backend=\"sim-a\"} 4\n"
      "# HELP meridian_body_bytes Sizes.\n"
      "# TYPE meridian_body_bytes histogram\n"
      "meridian_body_bytes_bucket{le=\"1024\"} 1\n"
      "meridian_body_bytes_bucket{le=\"+Inf\"} 1\n"
      "meridian_body_bytes_sum 10\n"
      "meridian_body_bytes_count 1\n"
      "# HELP meridian_empty_total No series yet.\n"
      "# TYPE meridian_empty_total counter\n";
  EXPECT_EQ(reg.RenderPrometheus(), expected);
}

TEST(MetricsTest, UnlabeledFamiliesStartAtZero) {
  Registry reg;
  reg.AddCounter("a_total", "A.").value();
  reg.AddGauge("b", "B.").value();
  reg.AddHistogram("c", "C.", {}, {1}).value();
  EXPECT_EQ(reg.RenderPrometheus(),
            "# HELP a_total A.\n# TYPE a_total counter\na_total 0\n"
            "# HELP b B.\n# TYPE b gauge\nb 0\n"
            "# HELP c C.\n# TYPE c histogram\n"
            "c_bucket{le=\"1\"} 0\nc_bucket{le=\"+Inf\"} 0\nc_sum 0\nc_count 0\n");
}

TEST(MetricsTest, NumberFormatting) {
  auto fmt = [](double v) {
    std::string s;
    AppendPrometheusNumber(s, v);
    return s;
  };
  EXPECT_EQ(fmt(0), "0");
  EXPECT_EQ(fmt(-0.0), "0");
  EXPECT_EQ(fmt(1), "1");
  EXPECT_EQ(fmt(-7), "-7");
  EXPECT_EQ(fmt(123456789012.0), "123456789012");
  EXPECT_EQ(fmt(1e20), "100000000000000000000");
  EXPECT_EQ(fmt(1.5), "1.5");
  EXPECT_EQ(fmt(0.0005), "0.0005");
  EXPECT_EQ(fmt(0.1), "0.1");
  EXPECT_EQ(fmt(0.000001), "0.000001");
  EXPECT_EQ(fmt(1234.5678), "1234.5678");
  EXPECT_EQ(fmt(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(fmt(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(fmt(std::numeric_limits<double>::quiet_NaN()), "NaN");
  // Non-integral or huge values use the shortest round-trip form (exponent allowed there).
  EXPECT_EQ(std::stod(fmt(1e-7)), 1e-7);
  EXPECT_EQ(std::stod(fmt(1e300)), 1e300);
}

TEST(MetricsTest, GaugeSetAndAdd) {
  Registry reg;
  Gauge& g = reg.AddGauge("g", "G.").value()->With({});
  g.Set(2.5);
  g.Add(1);
  g.Add(-0.5);
  EXPECT_EQ(g.Value(), 3.0);
}

TEST(MetricsTest, HistogramNanAndTrailingInfBound) {
  Registry reg;
  auto* h = reg.AddHistogram("h", "H.", {}, {1, std::numeric_limits<double>::infinity()}).value();
  Histogram& s = h->With({});
  EXPECT_EQ(s.bounds().size(), 1u);
  s.Observe(std::numeric_limits<double>::quiet_NaN());
  Histogram::Snapshot snap = s.Collect();
  EXPECT_EQ(snap.counts, (std::vector<std::uint64_t>{0, 1}));
  EXPECT_EQ(snap.count, 1u);
  EXPECT_TRUE(std::isnan(snap.sum));
  EXPECT_NE(reg.RenderPrometheus().find("h_sum NaN\n"), std::string::npos);
}

TEST(MetricsTest, ReferencesAreStableAcrossGrowth) {
  Registry reg;
  auto* fam = reg.AddCounter("c_total", "C.", {"k"}).value();
  Counter* first = &fam->With({"k0"});
  for (int i = 1; i < 2000; ++i) fam->With({"k" + std::to_string(i)}).Inc();
  EXPECT_EQ(&fam->With({"k0"}), first);
  for (int i = 1; i < 2000; ++i) {
    EXPECT_EQ(fam->With({"k" + std::to_string(i)}).Value(), 1u) << i;
  }
}

TEST(MetricsTest, RegistrationErrors) {
  Registry reg;
  ASSERT_TRUE(reg.AddCounter("ok:name_total", "ok", {"a", "_b"}));
  EXPECT_FALSE(reg.AddCounter("", "empty"));
  EXPECT_FALSE(reg.AddCounter("1abc", "digit first"));
  EXPECT_FALSE(reg.AddCounter("a-b", "dash"));
  EXPECT_FALSE(reg.AddCounter("x_total", "bad label", {"a:b"}));
  EXPECT_FALSE(reg.AddCounter("x_total", "reserved label", {"__a"}));
  EXPECT_FALSE(reg.AddCounter("x_total", "empty label", {""}));
  EXPECT_FALSE(reg.AddCounter("x_total", "duplicate label", {"a", "a"}));
  EXPECT_FALSE(reg.AddGauge("ok:name_total", "duplicate name"));
  EXPECT_FALSE(reg.AddHistogram("h", "le reserved", {"le"}, {1}));
  EXPECT_FALSE(reg.AddHistogram("h", "unsorted", {}, {2, 1}));
  EXPECT_FALSE(reg.AddHistogram("h", "repeated", {}, {1, 1}));
  EXPECT_FALSE(reg.AddHistogram("h", "nan", {}, {std::nan("")}));
  ASSERT_TRUE(reg.AddHistogram("h", "fine", {}, {1}));
  EXPECT_FALSE(reg.AddCounter("h_count", "collides with the histogram's samples"));
  EXPECT_FALSE(reg.AddCallbackGauge("h_sum", "collides", {}, [](Emit) {}));
  EXPECT_FALSE(reg.AddCallbackGauge("cb", "no callback", {}, nullptr));
  // Failed registrations leave nothing behind: the names are still free.
  EXPECT_TRUE(reg.AddCounter("x_total", "now fine", {"a"}));
  auto err = reg.AddCounter("bad name", "x");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code, core::ErrorCode::kInternal);
  EXPECT_NE(err.error().message.find("bad name"), std::string::npos);
}

TEST(MetricsTest, CallbackGauge) {
  Registry reg;
  int pooled = 3;
  ASSERT_TRUE(reg.AddCallbackGauge("meridian_upstream_pooled", "Idle pooled connections.",
                                   {"upstream"}, [&pooled](Emit emit) {
                                     emit({"sim-b"}, 7);
                                     emit({"sim-a"}, pooled);
                                     emit({"sim-b"}, 8);  // duplicate: last one wins
                                   }));
  ASSERT_TRUE(reg.AddCallbackGauge("meridian_inflight", "In flight.", {},
                                   [](Emit emit) { emit({}, 0.5); }));
  const std::string expected_head =
      "# HELP meridian_upstream_pooled Idle pooled connections.\n"
      "# TYPE meridian_upstream_pooled gauge\n";
  EXPECT_EQ(reg.RenderPrometheus(),
            expected_head +
                "meridian_upstream_pooled{upstream=\"sim-a\"} 3\n"
                "meridian_upstream_pooled{upstream=\"sim-b\"} 8\n"
                "# HELP meridian_inflight In flight.\n# TYPE meridian_inflight gauge\n"
                "meridian_inflight 0.5\n");
  pooled = 4;  // evaluated again at every scrape
  EXPECT_NE(reg.RenderPrometheus().find("{upstream=\"sim-a\"} 4\n"), std::string::npos);
}

void ConcurrentIncrements(std::uint32_t shards) {
  Registry reg(RegistryOptions{.shards = shards});
  auto* requests = reg.AddCounter("req_total", "R.", {"route", "status"}).value();
  auto* latency = reg.AddHistogram("lat", "L.", {"route"}, {0.5, 1.5}).value();
  auto* fresh = reg.AddCounter("fresh_total", "F.", {"thread", "i"}).value();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100'000;
  const std::vector<std::pair<std::string, std::string>> label_sets = {
      {"chat", "200"}, {"chat", "500"}, {"embed", "200"}, {"responses", "429"}};

  std::atomic<bool> stop{false};
  std::thread scraper([&] {
    while (!stop.load()) {
      std::string text = reg.RenderPrometheus();
      ASSERT_FALSE(text.empty());
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto& [route, status] = label_sets[i % label_sets.size()];
        requests->With({route, status}).Inc();
        latency->With({route}).Observe(i % 2 == 0 ? 1.0 : 2.0);
        if (i % 1000 == 0) {  // new series created while others look up: table growth
          fresh->With({std::to_string(t), std::to_string(i)}).Inc(2);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  stop = true;
  scraper.join();

  const std::uint64_t per_set = kThreads * kPerThread / label_sets.size();
  for (const auto& [route, status] : label_sets) {
    EXPECT_EQ(requests->With({route, status}).Value(), per_set) << route << status;
  }
  std::uint64_t observed = 0;
  double sum = 0;
  for (const char* route : {"chat", "embed", "responses"}) {
    Histogram::Snapshot snap = latency->With({route}).Collect();
    EXPECT_EQ(snap.counts[0], 0u);
    EXPECT_EQ(snap.counts[1] + snap.counts[2], snap.count);
    observed += snap.count;
    sum += snap.sum;
  }
  EXPECT_EQ(observed, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(sum, 1.5 * kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; i += 1000) {
      EXPECT_EQ(fresh->With({std::to_string(t), std::to_string(i)}).Value(), 2u);
    }
  }
}

TEST(MetricsTest, ConcurrentUpdatesSharded) { ConcurrentIncrements(8); }
TEST(MetricsTest, ConcurrentUpdatesUnsharded) { ConcurrentIncrements(1); }

TEST(MetricsTest, DefaultLatencyBuckets) {
  std::vector<double> b = DefaultLatencyBuckets();
  ASSERT_GE(b.size(), 12u);
  EXPECT_EQ(b.front(), 0.0005);
  EXPECT_EQ(b.back(), 60);
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
  Registry reg;
  EXPECT_TRUE(reg.AddHistogram("d", "D.", {}, b));
}

}  // namespace
}  // namespace meridian::telemetry
