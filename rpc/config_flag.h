// --config FILE for the two daemons, declared once: a file of the daemon's
// long flags, one `name = value` line each (`listen = "127.0.0.1:7070"`,
// `label = ["zone=a", "rack=3"]`, `insecure = true`; `#` starts a comment),
// the format of CLI11's config files. A flag given on the command line wins
// over the file. The packages' systemd units start the daemons with
// --config /etc/chaos/NAME.conf (docs/OPERATIONS.md).
#ifndef CHAOS_RPC_CONFIG_FLAG_H_
#define CHAOS_RPC_CONFIG_FLAG_H_

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace chaos::rpc {

// Declares --config on `app`; a key the daemon has no flag for is an error.
void AddConfigFlag(CLI::App& app);

// Parses argv into `app`. nullopt: go on. Otherwise the process's exit code,
// with the message printed: CLI11's (0 after --help or --version, its own
// code for a bad flag, as CLI11_PARSE), or 2 for a --config file that cannot
// be read (the message names the file and says what to write into it, with
// `example` as the sample line) or that holds a key no flag has.
[[nodiscard]] std::optional<int> ParseFlags(CLI::App& app, const std::string& binary,
                                            const std::string& example, int argc, char** argv);

}  // namespace chaos::rpc

#endif  // CHAOS_RPC_CONFIG_FLAG_H_
