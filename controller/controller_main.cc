// chaos-controller: the central service. In this version it serves the
// standard gRPC health-checking protocol only; the chaos.v1.Controller RPCs
// answer UNIMPLEMENTED (gRPC's answer for an unregistered service) until
// the controller service lands.
#include <signal.h>

#include <cstdio>
#include <fstream>

#include "CLI/CLI.hpp"
#include "controller/credentials.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  CLI::App app{"chaos-controller: runs experiments against chaos agents"};
  std::string listen = "127.0.0.1:7071", port_file;
  app.add_option("--listen", listen, "host:port to serve on (port 0: let the OS choose)")
      ->capture_default_str();
  app.add_option("--port-file", port_file, "write the chosen port to this file once serving");
  CLI11_PARSE(app, argc, argv);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // gRPC refuses to start a server with no service of its own ("At least
  // one of the completion queues must be frequently polled"); the default
  // health service does not count. A callback generic service answers
  // UNIMPLEMENTED for every method no other service claims, which is the
  // documented behaviour until the Controller service lands.
  grpc::CallbackGenericService unimplemented;
  builder.RegisterCallbackGenericService(&unimplemented);
  int port = 0;
  builder.AddListeningPort(listen, chaos::controller::ControllerServerCredentials(), &port);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "chaos-controller: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  spdlog::info("chaos-controller serving health on port {}", port);
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("signal {}: stopping", sig);
  server->Shutdown();
  return 0;
}
