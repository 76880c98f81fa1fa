#ifndef QUANTFARM_TESTS_SERVICES_SERVICE_TEST_ENV_H_
#define QUANTFARM_TESTS_SERVICES_SERVICE_TEST_ENV_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backtest/synthetic_market.h"
#include "services/service.h"
#include "services/services_config.h"
#include "storage/fundamentals.h"
#include "storage/market_store.h"

namespace qf::services::testing {

namespace fs = std::filesystem;

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A temporary directory with a synthetic store (kSymbols symbols of kBars daily bars
// and their fundamentals), a registry path and a crawl folder; config() points at
// them.
class ServiceTest : public ::testing::Test {
 protected:
  static constexpr int kSymbols = 6;
  static constexpr int kBars = 300;

  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("services_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "crawl");
    config_.store = (dir_ / "market.h5").string();
    config_.registry = (dir_ / "quantfarm.db").string();
    config_.crawl_folder = (dir_ / "crawl").string();
    SynthConfig synth;
    synth.symbols = kSymbols;
    synth.bars = kBars;
    synth.seed = 11;
    series_ = SynthesizeMarket(synth);
    std::vector<std::string> symbols;
    for (const BarSeries& b : series_) symbols.push_back(b.symbol);
    fundamentals_ = SynthesizeFundamentals(symbols, 11);
    MarketStore(config_.store).Write(series_, fundamentals_, "test");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static Response Call(Service& service, const std::string& method,
                       const std::string& path, const std::string& body = "",
                       const std::map<std::string, std::string>& query = {}) {
    Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.query = query;
    return service.Handle(r);
  }
  static Response Post(Service& service, const std::string& path,
                       const nlohmann::json& body) {
    return Call(service, "POST", path, body.dump());
  }
  static nlohmann::json Json(const Response& r) { return nlohmann::json::parse(r.body); }
  // Expects an error response with `status`, `error` and a detail containing `detail`.
  static void ExpectError(const Response& r, int status, const std::string& error,
                          const std::string& detail) {
    EXPECT_EQ(r.status, status) << r.body;
    const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j.value("error", ""), error) << r.body;
    EXPECT_NE(j.value("detail", "").find(detail), std::string::npos)
        << "detail '" << j.value("detail", "") << "' lacks '" << detail << "'";
  }

  fs::path dir_;
  ServicesConfig config_;
  std::vector<BarSeries> series_;
  std::vector<Fundamentals> fundamentals_;
};

}  // namespace qf::services::testing

#endif  // QUANTFARM_TESTS_SERVICES_SERVICE_TEST_ENV_H_
