// Sample, never compiled: the agent reaching up into the controller.
#include "faults/cpu_burn.h"
// #include "controller/cli/progress.h"  (a comment, not an include)
#include "controller/engine/runner.h"
