#include "app/engine_options.h"

#include <stdexcept>

#include "storage/market_store.h"

namespace qf::app {

void AddEngineFlags(CLI::App* cmd, EngineOptions* o) {
  AddStoreFlags(cmd, &o->store, true);
  cmd->add_option("--symbol2", o->symbol2,
                  "second symbol (pairs_arbitrage trades --symbol against it)");
  cmd->add_option("--strategy", o->strategy, "strategy seed (see 'quantfarm strategies')")
      ->required();
  cmd->add_option("--fill", o->fill,
                  "next-open (default: fill at the next bar's open) or close "
                  "(optimistic: fill at the signal bar's close)");
  cmd->add_option("--commission-bps", o->config.costs.commission_bps,
                  "commission per side in basis points (default 1)");
  cmd->add_option("--slippage-bps", o->config.costs.slippage_bps,
                  "slippage per side in basis points (default 1)");
  cmd->add_option("--size", o->config.position_size,
                  "position size as a fraction of equity (default 1)");
  cmd->add_flag("--long-only", o->long_only, "turn short signals into flat");
  auto* in_sample = cmd->add_option("--in-sample", o->split.in_sample,
                                    "in-sample fraction, e.g. 0.7: metrics are also "
                                    "reported for the in-sample and out-of-sample parts");
  auto* folds = cmd->add_option("--folds", o->split.folds,
                                "report metrics on K consecutive walk-forward folds");
  in_sample->excludes(folds);
}

EngineConfig EngineOptions::Config() const {
  EngineConfig c = config;
  if (fill == "next-open") {
    c.fill = FillTiming::kNextOpen;
  } else if (fill == "close") {
    c.fill = FillTiming::kClose;
  } else {
    throw std::invalid_argument("--fill must be next-open or close, got '" + fill + "'");
  }
  c.allow_short = !long_only;
  c.Validate();
  return c;
}

Market EngineOptions::LoadMarket(bool needs_pair) const {
  if (needs_pair && symbol2.empty()) {
    throw std::invalid_argument("strategy '" + strategy +
                                "' trades a pair: give --symbol2 as well as --symbol");
  }
  if (!needs_pair && !symbol2.empty()) {
    throw std::invalid_argument("strategy '" + strategy +
                                "' trades one symbol; --symbol2 is only for pairs_arbitrage");
  }
  const Timeframe tf = Timeframe::Parse(store.timeframe);
  MarketStore db(store.store);
  BarSeries a = db.Read(store.symbol, store.timeframe);
  if (!needs_pair) return MakeMarket(std::move(a), tf);
  return MakePairMarket(std::move(a), db.Read(symbol2, store.timeframe), tf);
}

}  // namespace qf::app
