#include <memory>
#include <string>

#include "app/commands.h"
#include "app/registry_options.h"
#include "app/search_run_flags.h"
#include "search/search_job.h"
#include "search/search_launch.h"

namespace qf::app {

void AddSearchCommand(CLI::App& app, mpi::MpiRuntime& runtime) {
  auto* cmd = app.add_subcommand(
      "search",
      "grid, random, ga, pbt, asha or bayesian search of strategy parameters (config key "
      "\"search\"); under mpirun rank 0 is the head and the other ranks evaluate");
  auto o = std::make_shared<search::RunOptions>();
  cmd->add_option("--config", o->config_path,
                  "JSON config (see README, \"search\"); required unless --resume --name "
                  "NAME takes it from the registry");
  AddSearchRunFlags(cmd, o.get());
  cmd->callback([o, cmd, &runtime] {
    InstallStopHandlers(o->engine);
    o->out_given = cmd->get_option("--out")->count() > 0;
    o->no_cache = o->no_cache || CacheDisabledByEnvironment();
    search::LaunchSearch(runtime, *o, search::MakeSearchJob);
  });
}

}  // namespace qf::app
