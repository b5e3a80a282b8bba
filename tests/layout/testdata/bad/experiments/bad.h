// Sample, never compiled: plain protobuf is fine here, a gRPC stub is not.
#include "chaos/v1/faults.pb.h"
#include "chaos/v1/agent.grpc.pb.h"
