// Sample, never compiled: the daemon including the CLI.
#include "controller/engine/runner.h"
#include "controller/cli/progress.h"
