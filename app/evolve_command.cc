#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/registry_options.h"
#include "app/search_run_flags.h"
#include "backtest/strategy.h"
#include "ga/evolve_config.h"
#include "ga/ga_search.h"
#include "search/ga_results.h"
#include "search/search_launch.h"

namespace qf::app {

void AddEvolveCommand(CLI::App& app, mpi::MpiRuntime& runtime) {
  auto* cmd = app.add_subcommand(
      "evolve",
      "genetic search of strategy parameters; under mpirun rank 0 is the head and the "
      "other ranks evaluate");
  auto o = std::make_shared<search::RunOptions>();
  cmd->add_option("--config", o->config_path,
                  "JSON config (see README); required unless --resume --name NAME "
                  "takes it from the registry");
  AddSearchRunFlags(cmd, o.get());
  cmd->callback([o, cmd, &runtime] {
    InstallStopHandlers(o->engine);
    o->out_given = cmd->get_option("--out")->count() > 0;
    o->no_cache = o->no_cache || CacheDisabledByEnvironment();
    search::LaunchSearch(runtime, *o, [](const std::string& text) {
      search::SearchJob job;
      job.eval = ga::ParseEvolveConfig(text);
      const ga::EvolveConfig& c = job.eval;
      job.config_text = c.text;
      auto ga = std::make_unique<ga::GaSearch>(c.ga, ga::MakeIslandSpecs(c),
                                               static_cast<int>(c.strategies.size()),
                                               c.generations);
      const ga::GaSearch* model = ga.get();
      job.algorithm = std::move(ga);
      job.extra = [model, strategies = c.strategies](ResultsFile& file,
                                                     const search::SearchRecord& record) {
        search::AddGaResults(file, *model, strategies, record);
      };
      std::string what = c.strategies[0];
      for (std::size_t i = 1; i < c.strategies.size(); ++i) what += ", " + c.strategies[i];
      char banner[512];
      std::snprintf(banner, sizeof banner,
                    "evolve %s on %zu symbol%s: population %d, %d island%s, %d generations",
                    what.c_str(), c.symbols.size(), c.symbols.size() == 1 ? "" : "s",
                    c.ga.population, c.ga.islands, c.ga.islands == 1 ? "" : "s",
                    c.generations);
      job.banner = banner;
      return job;
    });
  });
}

}  // namespace qf::app
