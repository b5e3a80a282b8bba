// Sample, never compiled: faults/ reaching for gRPC and protobuf.
#include "faults/fault.h"
#include "grpcpp/grpcpp.h"
#  include   "chaos/v1/faults.pb.h"
#include "absl/status/status.h"
#include <grpc/grpc.h>
#include <string>
