#include <cmath>
#include <cstdio>
#include <optional>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unistd.h>

#include "app/commands.h"
#include "app/engine_options.h"
#include "app/metrics_table.h"
#include "app/param_json.h"
#include "app/registry_options.h"
#include "backtest/calendar.h"
#include "backtest/engine.h"
#include "services/backtest_json.h"
#include "services/ensemble_backtest.h"
#include "services/ensemble_request.h"
#include "storage/ensemble_store.h"
#include "storage/registry_db.h"

namespace qf::app {

namespace {

struct BacktestOptions {
  EngineOptions engine;
  std::string ensemble;
  std::string registry;
  std::string params;
  bool json = false;
  bool trades = false;
  std::string equity_path;
};

// Writes time,equity,target to `path` atomically (temp file + rename).
void WriteEquityCsv(const std::string& path, const Market& m, const BacktestResult& r) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp);
    if (!out) throw std::runtime_error("cannot write '" + path + "'");
    out << "time,equity,target\n";
    char buf[64];
    for (std::size_t t = 0; t < m.size(); ++t) {
      std::snprintf(buf, sizeof(buf), ",%.17g,%d\n", r.equity[t], r.targets[t]);
      out << FormatIsoTime(m.primary.time[t]) << buf;
    }
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw std::runtime_error("cannot write '" + path + "'");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot move the equity file into place at '" + path + "'");
  }
}

// `backtest --ensemble NAME`: the committee's vote and each member, in- and
// out-of-sample (services::EnsembleBacktestJson, as GET /ensemble/{name}/backtest).
void RunEnsemble(const BacktestOptions& o) {
  SqliteDb db = OpenRegistry(o.registry, OpenMode::kReadOnly);
  const std::optional<StoredEnsemble> e = EnsembleStore(db).Find(o.ensemble);
  if (!e) {
    throw std::invalid_argument("no ensemble named '" + o.ensemble + "' in registry '" +
                                o.registry + "' (see 'quantfarm ensemble list')");
  }
  EngineOptions engine = o.engine;
  if (engine.store.symbol.empty()) engine.store.symbol = e->symbol;
  if (engine.store.symbol.empty()) {
    throw std::invalid_argument("ensemble '" + o.ensemble +
                                "' has no symbol of its own: give --symbol");
  }
  const Market market = engine.LoadMarket(false);
  const double in_sample = engine.split.in_sample > 0 ? engine.split.in_sample : e->in_sample;
  const services::EnsembleBacktest b = services::RunEnsembleBacktest(
      services::StoredEnsembleSpec(*e), market, in_sample, engine.Config());
  if (o.json) {
    std::cout << services::EnsembleBacktestJson(*e, market, in_sample, b).dump(2) << "\n";
    return;
  }
  std::cout << "ensemble " << e->name << " (version " << e->version << ", " << e->voting
            << " voting) on " << market.primary.symbol << " (" << market.timeframe.name
            << ", " << market.size() << " bars), in-sample " << in_sample << "\n\n";
  std::printf("%-24s %-14s %s\n", "who", "segment", MetricsHeader().c_str());
  const auto rows = [](const std::string& who, const BacktestResult& r) {
    for (std::size_t s = 0; s < r.segments.size(); ++s) {
      std::printf("%-24s %-14s %s\n", who.c_str(), r.segments[s].label.c_str(),
                  MetricsRow(r.metrics[s]).c_str());
    }
  };
  rows("committee", b.committee);
  for (std::size_t i = 0; i < b.members.size(); ++i) {
    rows("#" + std::to_string(e->members[i].id) + " " + e->members[i].strategy, b.members[i]);
  }
  std::printf("\nbest member by in-sample Sharpe: #%lld; out of sample the committee %s it\n",
              static_cast<long long>(e->members[b.best_member].id),
              b.committee_beats_best_member ? "beats" : "does not beat");
  std::fflush(stdout);
}

void Run(const BacktestOptions& o) {
  if (!o.ensemble.empty()) {
    if (!o.engine.strategy.empty() || !o.params.empty() || !o.equity_path.empty() || o.trades) {
      throw std::invalid_argument(
          "--ensemble backtests the ensemble's members: leave out --strategy, --params, "
          "--equity and --trades");
    }
    RunEnsemble(o);
    return;
  }
  if (o.engine.strategy.empty()) {
    throw std::invalid_argument("give --strategy (or --ensemble NAME)");
  }
  if (o.engine.store.symbol.empty()) throw std::invalid_argument("give --symbol");
  const Strategy& strategy = FindStrategy(o.engine.strategy);
  const ParamValues p = ParseParamsJson(strategy.space(), o.params);
  strategy.Validate(p);
  const EngineConfig config = o.engine.Config();
  const Market market = o.engine.LoadMarket(strategy.needs_pair());
  const BacktestResult r = RunBacktest(market, strategy, p, config, o.engine.split);
  if (!o.equity_path.empty()) WriteEquityCsv(o.equity_path, market, r);

  const std::string symbols =
      market.primary.symbol + (market.secondary ? "/" + market.secondary->symbol : "");
  if (o.json) {
    nlohmann::ordered_json j =
        services::BacktestSummaryJson(market, strategy, p, config, r);
    if (o.trades) {
      j["trades"] = nlohmann::ordered_json::array();
      for (const Trade& t : r.trades) j["trades"].push_back(services::TradeToJson(t));
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << strategy.name() << " on " << symbols << " (" << market.timeframe.name << ", "
            << market.size() << " bars, " << FormatIsoTime(market.primary.time.front())
            << " .. " << FormatIsoTime(market.primary.time.back()) << ")\n"
            << "params: " << strategy.space().Describe(p) << "\n"
            << "fills: " << o.engine.fill << ", costs " << config.costs.PerSide() * 1e4
            << " bps per side, size " << config.position_size
            << (config.allow_short ? ", long and short" : ", long only") << "\n\n";
  std::printf("%-14s %s\n", "segment", MetricsHeader().c_str());
  for (std::size_t s = 0; s < r.segments.size(); ++s) {
    std::printf("%-14s %s\n", r.segments[s].label.c_str(), MetricsRow(r.metrics[s]).c_str());
  }
  if (o.trades) {
    std::printf("\n%-5s %-20s %12s %-20s %12s %6s %9s\n", "side", "entry", "price", "exit",
                "price", "bars", "pnl%");
    for (const Trade& t : r.trades) {
      std::printf("%-5s %-20s %12.4f %-20s %12.4f %6zu %9.3f%s\n",
                  t.direction > 0 ? "long" : "short", FormatIsoTime(t.entry_time).c_str(),
                  t.entry_price, FormatIsoTime(t.exit_time).c_str(), t.exit_price,
                  t.exit_bar - t.entry_bar, 100 * t.pnl, t.open ? " (open)" : "");
    }
  }
  std::fflush(stdout);
}

}  // namespace

void AddBacktestCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("backtest", "backtest one strategy with one parameter set");
  auto o = std::make_shared<BacktestOptions>();
  AddEngineFlags(cmd, &o->engine);
  cmd->get_option("--strategy")->required(false);
  cmd->get_option("--symbol")->required(false)->description(
      "symbol, e.g. AAA (with --ensemble: default the ensemble's)");
  cmd->add_option("--ensemble", o->ensemble,
                  "backtest this ensemble's vote (see 'quantfarm ensemble') next to each "
                  "member, in and out of sample");
  AddRegistryFlag(cmd, &o->registry);
  cmd->add_option("--params", o->params,
                  "JSON parameter values, e.g. '{\"fast\": 10, \"slow\": 30}' (others "
                  "default)");
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->add_flag("--trades", o->trades, "list the trades");
  cmd->add_option("--equity", o->equity_path, "write time,equity,target CSV to this file");
  cmd->callback([o] { Run(*o); });
}

}  // namespace qf::app
