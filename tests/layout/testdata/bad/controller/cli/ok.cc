// Sample, never compiled: the CLI may include itself and everything below.
#include "controller/cli/progress.h"
#include "controller/engine/runner.h"
