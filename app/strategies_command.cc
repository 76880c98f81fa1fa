#include <iostream>
#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "backtest/strategy.h"
#include "services/search_catalog.h"

namespace qf::app {

void AddStrategiesCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("strategies", "list the strategy seeds and their parameters");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([json] {
    if (*json) {
      // The form GET /algorithms lists as "strategies".
      std::cout << services::StrategiesJson().dump(2) << "\n";
      return;
    }
    for (const Strategy* s : AllStrategies()) {
      std::cout << s->name() << (s->needs_pair() ? "  (pair: --symbol and --symbol2)" : "")
                << "\n  " << s->description() << "\n";
      for (const auto& p : s->space().specs()) {
        std::cout << "    " << p.name << "  " << (p.type == ParamType::kInt ? "int" : "float")
                  << " [" << p.min << ", " << p.max << "] step " << p.step << " default "
                  << p.default_value << "  " << p.description << "\n";
      }
    }
  });
}

}  // namespace qf::app
