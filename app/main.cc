#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "app/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"quantfarm: backtests and parameter searches for trading research"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "quantfarm 0.1.0");
  qf::app::AddDataCommand(app);
  qf::app::AddIndicatorCommand(app);
  qf::app::AddStrategiesCommand(app);
  qf::app::AddBacktestCommand(app);
  qf::app::AddSweepCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "quantfarm: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
