// `quantfarm data import|import-fundamentals|synth|list|show`: moving market data and
// company fundamentals into and out of the HDF5 store.

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/store_options.h"
#include "backtest/calendar.h"
#include "backtest/synthetic_market.h"
#include "backtest/timeframe.h"
#include "services/search_catalog.h"
#include "storage/csv_bar_reader.h"
#include "storage/fundamentals.h"
#include "storage/market_store.h"

namespace qf::app {
namespace {

// Shortest decimal text that reads back as the same double.
std::string FormatNumber(double v) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, result.ptr);
}

struct ImportOptions {
  StoreOptions store;
  std::string csv;
};

void RunImport(const ImportOptions& o) {
  ValidateSymbolName(o.store.symbol);
  Timeframe::Parse(o.store.timeframe);
  const BarSeries bars = ReadBarsCsv(o.csv, o.store.symbol, o.store.timeframe);
  const std::string source =
      "csv:" + std::filesystem::absolute(o.csv).lexically_normal().string();
  MarketStore(o.store.store).Write({bars}, source);
  std::cout << "imported " << bars.size() << " bars of " << bars.symbol << "/"
            << bars.timeframe << " from " << o.csv << " into " << o.store.store
            << " (hash " << BarsContentHash(bars) << ")\n";
}

struct ImportFundamentalsOptions {
  StoreOptions store;
  std::string csv;
};

void RunImportFundamentals(const ImportFundamentalsOptions& o) {
  const std::vector<Fundamentals> rows = ReadFundamentalsCsv(o.csv);
  const std::string source =
      "csv:" + std::filesystem::absolute(o.csv).lexically_normal().string();
  const MarketStore store(o.store.store);
  store.WriteFundamentals(rows, source);
  std::cout << "imported fundamentals of " << rows.size() << " symbols from " << o.csv
            << " into " << o.store.store << " (" << store.ReadFundamentals().rows.size()
            << " symbols stored)\n";
}

struct SynthOptions {
  StoreOptions store;
  SynthConfig config;
};

void RunSynth(const SynthOptions& o) {
  const std::vector<BarSeries> market = SynthesizeMarket(o.config);
  const std::string source = "synth seed=" + std::to_string(o.config.seed) +
                             " symbols=" + std::to_string(o.config.symbols) +
                             " bars=" + std::to_string(o.config.bars) +
                             " timeframe=" + o.config.timeframe;
  std::vector<std::string> symbols;
  for (const BarSeries& bars : market) symbols.push_back(bars.symbol);
  MarketStore(o.store.store)
      .Write(market, SynthesizeFundamentals(symbols, o.config.seed), source);
  for (const BarSeries& bars : market) {
    std::cout << "wrote " << bars.symbol << "/" << bars.timeframe << ": " << bars.size()
              << " bars " << FormatIsoTime(bars.time.front()) << " .. "
              << FormatIsoTime(bars.time.back()) << " (hash " << BarsContentHash(bars)
              << ") into " << o.store.store << "\n";
  }
  // On stderr: stdout keeps one line per series.
  std::cerr << "wrote fundamentals of " << symbols.size() << " symbols into "
            << o.store.store << "\n";
}

struct ListOptions {
  StoreOptions store;
  bool json = false;
};

void RunList(const ListOptions& o) {
  const std::vector<SeriesInfo> infos = MarketStore(o.store.store).List();
  if (o.json) {
    // The form GET /symbols answers.
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const SeriesInfo& info : infos) out.push_back(services::SeriesJson(info));
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"symbol", "timeframe", "bars", "first", "last", "hash"});
  for (const SeriesInfo& info : infos) {
    rows.push_back({info.symbol, info.timeframe, std::to_string(info.bars),
                    FormatIsoTime(info.first_time), FormatIsoTime(info.last_time),
                    info.content_hash});
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const bool numeric = c == 2;
      const std::string pad(widths[c] - row[c].size(), ' ');
      line += numeric ? pad + row[c] : row[c] + (c + 1 < row.size() ? pad : "");
      if (c + 1 < row.size()) line += "  ";
    }
    std::cout << line << "\n";
  }
  if (infos.empty()) std::cerr << "store '" << o.store.store << "' is empty\n";
}

struct ShowOptions {
  StoreOptions store;
  int64_t head = 10;
  int64_t tail = 0;
  bool all = false;
  bool json = false;
  CLI::Option* head_option = nullptr;
  CLI::Option* tail_option = nullptr;
};

void RunShow(const ShowOptions& o) {
  const MarketStore store(o.store.store);
  const BarSeries bars = store.Read(o.store.symbol, o.store.timeframe);
  const std::size_t n = bars.size();
  // Rows [0, head) and [n - tail, n); --head 10 unless --head or --tail is given.
  const bool explicit_range = o.head_option->count() > 0 || o.tail_option->count() > 0;
  std::size_t head = static_cast<std::size_t>(o.head_option->count() > 0 ? o.head
                                              : explicit_range           ? 0
                                                                         : o.head);
  std::size_t tail = static_cast<std::size_t>(o.tail);
  if (o.all) head = n;
  head = std::min(head, n);
  tail = std::min(tail, n - head);
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < head; ++i) rows.push_back(i);
  for (std::size_t i = n - tail; i < n; ++i) rows.push_back(i);

  if (o.json) {
    nlohmann::json out = {{"symbol", bars.symbol},
                          {"timeframe", bars.timeframe},
                          {"bars", n},
                          {"first", FormatIsoTime(bars.time.front())},
                          {"last", FormatIsoTime(bars.time.back())},
                          {"content_hash", BarsContentHash(bars)},
                          {"rows", nlohmann::json::array()}};
    for (const std::size_t i : rows) {
      out["rows"].push_back({{"time", FormatIsoTime(bars.time[i])},
                             {"epoch", bars.time[i]},
                             {"open", bars.open[i]},
                             {"high", bars.high[i]},
                             {"low", bars.low[i]},
                             {"close", bars.close[i]},
                             {"volume", bars.volume[i]}});
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::string text = "time,open,high,low,close,volume\n";
    for (const std::size_t i : rows) {
      text += FormatIsoTime(bars.time[i]);
      for (const double v :
           {bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i]}) {
        text += ',';
        text += FormatNumber(v);
      }
      text += '\n';
    }
    std::cout << text;
  }
  std::cerr << bars.symbol << "/" << bars.timeframe << ": " << n << " bars, "
            << FormatIsoTime(bars.time.front()) << " .. "
            << FormatIsoTime(bars.time.back()) << ", hash " << BarsContentHash(bars)
            << "; showing " << rows.size()
            << (head > 0 && tail > 0 ? " (first " + std::to_string(head) + ", last " +
                                           std::to_string(tail) + ")"
                                     : "")
            << "\n";
}

}  // namespace

void AddDataCommand(CLI::App& app) {
  CLI::App* data =
      app.add_subcommand("data", "import, synthesize, list and show market data");
  data->require_subcommand(1);

  auto import = std::make_shared<ImportOptions>();
  CLI::App* import_cmd =
      data->add_subcommand("import", "import OHLCV bars from a CSV file");
  import_cmd->add_option("--csv", import->csv, "CSV file with a header row")->required();
  AddStoreFlags(import_cmd, &import->store, true);
  import_cmd->callback([import] { RunImport(*import); });

  auto fundamentals = std::make_shared<ImportFundamentalsOptions>();
  CLI::App* fundamentals_cmd = data->add_subcommand(
      "import-fundamentals",
      "import company fundamentals (symbol, name, sector, market_cap, pe, "
      "dividend_yield) from a CSV file");
  fundamentals_cmd
      ->add_option(
          "--csv", fundamentals->csv,
          "CSV file with a header row: symbol,name,sector,market_cap,pe,"
          "dividend_yield (dividend_yield in percent; empty numbers are missing)")
      ->required();
  AddStoreFlag(fundamentals_cmd, &fundamentals->store);
  fundamentals_cmd->callback([fundamentals] { RunImportFundamentals(*fundamentals); });

  auto synth = std::make_shared<SynthOptions>();
  CLI::App* synth_cmd = data->add_subcommand(
      "synth",
      "write a deterministic synthetic market (bars and fundamentals) to the store");
  synth_cmd->add_option("--symbols", synth->config.symbols,
                        "number of symbols (default 4)");
  synth_cmd->add_option("--bars", synth->config.bars, "bars per symbol (default 2520)");
  synth_cmd->add_option("--seed", synth->config.seed, "random seed (default 42)");
  synth_cmd->add_option("--timeframe", synth->config.timeframe,
                        "bar timeframe (default 1d)");
  AddStoreFlag(synth_cmd, &synth->store);
  synth_cmd->callback([synth] { RunSynth(*synth); });

  auto list = std::make_shared<ListOptions>();
  CLI::App* list_cmd = data->add_subcommand("list", "list the series in the store");
  AddStoreFlag(list_cmd, &list->store);
  list_cmd->add_flag("--json", list->json, "print a JSON array");
  list_cmd->callback([list] { RunList(*list); });

  auto show = std::make_shared<ShowOptions>();
  CLI::App* show_cmd = data->add_subcommand("show", "print bars of one series as CSV");
  AddStoreFlags(show_cmd, &show->store, true);
  show->head_option =
      show_cmd->add_option("--head", show->head, "first N bars (default 10)")
          ->check(CLI::NonNegativeNumber);
  show->tail_option = show_cmd->add_option("--tail", show->tail, "last N bars")
                          ->check(CLI::NonNegativeNumber);
  show_cmd->add_flag("--all", show->all, "every bar");
  show_cmd->add_flag("--json", show->json, "print a JSON object with the rows");
  show_cmd->callback([show] { RunShow(*show); });
}

}  // namespace qf::app
