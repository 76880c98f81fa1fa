#include <charconv>
#include <cmath>
#include <iostream>
#include <string>

#include "app/commands.h"
#include "app/param_json.h"
#include "app/store_options.h"
#include "backtest/calendar.h"
#include "backtest/indicator_catalog.h"
#include "storage/market_store.h"

namespace qf::app {

namespace {

struct IndicatorOptions {
  StoreOptions store;
  std::string name;
  std::string params;
  bool list = false;
};

void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, res.ptr);
}

void Run(const IndicatorOptions& o) {
  if (o.list) {
    for (const auto& info : IndicatorCatalog()) {
      std::cout << info.name << "  " << info.description << "\n    params:";
      for (const auto& p : info.params.specs()) {
        std::cout << " " << p.name << "=" << p.default_value;
      }
      std::cout << "  columns:";
      for (const auto& c : info.columns) std::cout << " " << c;
      std::cout << "\n";
    }
    return;
  }
  if (o.name.empty()) throw std::invalid_argument("--name is required (or --list)");
  if (o.store.symbol.empty()) throw std::invalid_argument("--symbol is required");
  const IndicatorInfo& info = FindIndicator(o.name);
  const ParamValues p = ParseParamsJson(info.params, o.params);
  const BarSeries bars = MarketStore(o.store.store).Read(o.store.symbol, o.store.timeframe);
  const auto columns = ComputeIndicator(info, p, bars);
  std::string out = "time";
  for (const auto& c : info.columns) out += "," + c;
  out += "\n";
  for (std::size_t t = 0; t < bars.size(); ++t) {
    out += FormatIsoTime(bars.time[t]);
    for (const auto& col : columns) {
      out += ',';
      AppendNumber(out, col[t]);
    }
    out += '\n';
    if (out.size() > (1 << 20)) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out;
}

}  // namespace

void AddIndicatorCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "indicator", "print an indicator series as CSV (time,value...); NaN during warm-up");
  auto o = std::make_shared<IndicatorOptions>();
  AddStoreFlags(cmd, &o->store, false);
  cmd->add_option("--name", o->name, "indicator name (see --list)");
  cmd->add_option("--params", o->params, "JSON parameters, e.g. '{\"period\": 20}'");
  cmd->add_flag("--list", o->list, "list the indicators and their parameters");
  cmd->callback([o] { Run(*o); });
}

}  // namespace qf::app
