// Registration: announces this agent to a controller (address it can be
// reached at, hostname, labels) and heartbeats by registering again at the
// interval the controller answers with. With several controllers (those
// sharing an etcd store, of which only the leader serves), each heartbeat
// goes to the one that last accepted, else to the next in the list, until
// one accepts. Failures are logged and retried at the same interval; the
// agent serves whether or not a controller listens.
// Start() returns at once; the destructor stops the thread promptly.
// Thread safety: the object is driven from one thread.
#ifndef CHAOS_AGENT_REGISTRATION_H_
#define CHAOS_AGENT_REGISTRATION_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chaos/v1/controller.grpc.pb.h"

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rpc/credentials.h"

namespace chaos::agent {

struct RegistrationOptions {
  std::vector<std::string> controllers;  // host:port each, at least one
  std::string advertise;   // host:port the controller uses to reach this agent
  std::string hostname;
  std::map<std::string, std::string> labels;
  // How to reach the controller: the agent's own certificate with TLS.
  rpc::TransportOptions transport;
  // Until the controller says otherwise.
  absl::Duration initial_interval = absl::Seconds(1);
};

class Registration {
 public:
  explicit Registration(RegistrationOptions options);
  ~Registration();
  void Start();
  // Heartbeats the controller accepted so far.
  int accepted();

 private:
  void Loop();
  // Sends one heartbeat, from controller `*current` on; true when one
  // accepted (then *current is it).
  bool Heartbeat(size_t* current, absl::Duration* interval);
  const RegistrationOptions options_;
  std::vector<std::unique_ptr<chaos::v1::Controller::Stub>> stubs_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int accepted_ ABSL_GUARDED_BY(mu_) = 0;
  bool warned_ = false;  // the loop's thread only
  std::thread thread_;
};

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_REGISTRATION_H_
