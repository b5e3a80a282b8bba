#include "rpc/config_flag.h"

#include <cstdio>

#include "CLI/CLI.hpp"

namespace chaos::rpc {

void AddConfigFlag(CLI::App& app) {
  app.set_config("--config", "",
                 "file of long flags, one `name = value` line each (`listen = \"HOST:PORT\"`); "
                 "the command line wins");
  app.allow_config_extras(CLI::config_extras_mode::error);
}

std::optional<int> ParseFlags(CLI::App& app, const std::string& binary,
                              const std::string& example, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::FileError&) {
    const std::string file = app.get_config_ptr()->as<std::string>();
    std::fprintf(stderr,
                 "%s: --config %s: cannot read it; write it with one `name = value` line per "
                 "long flag of %s --help, e.g.\n  %s\n",
                 binary.c_str(), file.c_str(), binary.c_str(), example.c_str());
    return 2;
  } catch (const CLI::ConfigError& e) {
    std::fprintf(stderr, "%s: --config %s: %s: each key must be a long flag of %s --help\n",
                 binary.c_str(), app.get_config_ptr()->as<std::string>().c_str(), e.what(),
                 binary.c_str());
    return 2;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
}

}  // namespace chaos::rpc
