#include "services/backtest_json.h"

#include "backtest/calendar.h"

namespace qf::services {

nlohmann::ordered_json ParamsToJson(const ParamSpace& space, const ParamValues& values) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < space.size(); ++i) {
    const auto& s = space.specs()[i];
    if (s.type == ParamType::kInt) {
      j[s.name] = static_cast<long long>(values[i]);
    } else {
      j[s.name] = values[i];
    }
  }
  return j;
}

nlohmann::ordered_json SpaceToJson(const ParamSpace& space) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& s : space.specs()) {
    const bool is_int = s.type == ParamType::kInt;
    nlohmann::ordered_json p;
    p["name"] = s.name;
    p["type"] = is_int ? "int" : "float";
    if (is_int) {
      p["min"] = static_cast<long long>(s.min);
      p["max"] = static_cast<long long>(s.max);
      p["step"] = static_cast<long long>(s.step);
      p["default"] = static_cast<long long>(s.default_value);
    } else {
      p["min"] = s.min;
      p["max"] = s.max;
      p["step"] = s.step;
      p["default"] = s.default_value;
    }
    p["description"] = s.description;
    out.push_back(p);
  }
  return out;
}

nlohmann::ordered_json MetricsToJson(const Metrics& m) {
  nlohmann::ordered_json j;
  j["bars"] = m.bars;
  j["total_return"] = m.total_return;
  j["cagr"] = m.cagr;
  j["volatility"] = m.volatility;
  j["sharpe"] = m.sharpe;
  j["sortino"] = m.sortino;
  j["calmar"] = m.calmar;
  j["max_drawdown"] = m.max_drawdown;
  j["max_drawdown_duration"] = m.max_drawdown_duration;
  j["win_rate"] = m.win_rate;
  j["profit_factor"] = m.profit_factor;
  j["trades"] = m.trades;
  j["exposure"] = m.exposure;
  return j;
}

nlohmann::ordered_json TradeToJson(const Trade& t) {
  nlohmann::ordered_json j;
  j["direction"] = t.direction > 0 ? "long" : "short";
  j["entry_time"] = FormatIsoTime(t.entry_time);
  j["entry_price"] = t.entry_price;
  j["exit_time"] = FormatIsoTime(t.exit_time);
  j["exit_price"] = t.exit_price;
  j["bars"] = t.exit_bar - t.entry_bar;
  j["pnl"] = t.pnl;
  j["open"] = t.open;
  return j;
}

const char* FillName(FillTiming fill) {
  return fill == FillTiming::kClose ? "close" : "next-open";
}

nlohmann::ordered_json BacktestSummaryJson(const Market& market, const Strategy& strategy,
                                           const ParamValues& p,
                                           const EngineConfig& config,
                                           const BacktestResult& r) {
  nlohmann::ordered_json j;
  j["strategy"] = strategy.name();
  j["symbol"] =
      market.primary.symbol + (market.secondary ? "/" + market.secondary->symbol : "");
  j["timeframe"] = market.timeframe.name;
  j["bars"] = market.size();
  j["first_time"] = FormatIsoTime(market.primary.time.front());
  j["last_time"] = FormatIsoTime(market.primary.time.back());
  j["params"] = ParamsToJson(strategy.space(), p);
  j["fill"] = FillName(config.fill);
  j["cost_bps_per_side"] = config.costs.PerSide() * 1e4;
  j["position_size"] = config.position_size;
  j["allow_short"] = config.allow_short;
  nlohmann::ordered_json segments = nlohmann::ordered_json::object();
  for (std::size_t s = 0; s < r.segments.size(); ++s) {
    auto m = MetricsToJson(r.metrics[s]);
    m["first_time"] = FormatIsoTime(market.primary.time[r.segments[s].begin]);
    m["last_time"] = FormatIsoTime(market.primary.time[r.segments[s].end - 1]);
    segments[r.segments[s].label] = m;
  }
  j["metrics"] = segments;
  return j;
}

}  // namespace qf::services
