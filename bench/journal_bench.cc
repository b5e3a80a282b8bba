// What journaling a fleet's reverts costs the controller: EVENTS run
// events appended by THREADS threads at once (as --fan-out threads journal
// their reverts), one by one under one lock as RunManager did before
// (each waits for the write before it), against JournalWriter's group
// commit. ROUNDS pairs of rounds (one by one, then group commit), each on
// a run of its own in one store: SQLite (a file at PATH, WAL,
// synchronous=FULL, as the controller opens it) or etcd (ENDPOINT, under a
// prefix of its own).
// Prints each round's milliseconds and the medians' ratio.
//   journal_bench sqlite PATH | etcd ENDPOINT  EVENTS THREADS ROUNDS
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/fan_out.h"
#include "controller/store/etcd_history_store.h"
#include "controller/store/journal_writer.h"
#include "controller/store/sqlite_history_store.h"

namespace chaos::controller {
namespace {

absl::StatusOr<std::unique_ptr<HistoryStore>> OpenStore(const std::string& kind,
                                                        const std::string& where) {
  if (kind == "sqlite") return SqliteHistoryStore::Open(where);
  etcd::ClientOptions options;
  options.endpoints = {where};
  auto client = etcd::Client::Connect(options);
  if (!client.ok()) return client.status();
  return EtcdHistoryStore::Open(std::shared_ptr<etcd::Client>(std::move(*client)),
                                absl::StrCat("/journal-bench-", getpid(), "/"));
}

chaos::v1::RunEvent Revert(const std::string& run_id, uint32_t seq) {
  chaos::v1::RunEvent e;
  e.set_run_id(run_id);
  e.set_seq(seq);
  e.set_at_unix_ms(absl::ToUnixMillis(absl::Now()));
  e.set_type("revert");
  e.set_message("processPause: resumed 1 process(es)");
  (*e.mutable_fields())["step"] = "fault";
  (*e.mutable_fields())["agent"] = absl::StrCat("127.0.0.1:", 20000 + seq);
  return e;
}

int Run(const std::string& kind, const std::string& where, int events, int threads, int rounds) {
  auto store = OpenStore(kind, where);
  if (!store.ok()) {
    std::cerr << "journal_bench: " << store.status() << "\n";
    return 1;
  }
  HistoryStore* history = store->get();
  std::vector<double> one_by_one, grouped;
  for (int round = 0; round < 2 * rounds; ++round) {
    const bool group = round % 2 == 1;  // pairs: one by one, then group commit
    chaos::v1::Run run;
    run.set_run_id(absl::StrCat("bench-", round));
    if (const absl::Status s = history->InsertRun(run, ""); !s.ok()) {
      std::cerr << "journal_bench: " << s << "\n";
      return 1;
    }
    absl::Mutex mu;
    uint32_t seq = 0;
    std::atomic<int> failed{0};
    JournalWriter writer(history, [&](const std::vector<chaos::v1::RunEvent>&,
                                      const absl::Status& s) { failed += s.ok() ? 0 : 1; });
    const absl::Time start = absl::Now();
    base::FanOut(events, threads, [&](size_t) {
      if (group) {
        uint64_t ticket;
        {
          absl::MutexLock lock(&mu);
          ticket = writer.Queue(Revert(run.run_id(), ++seq));
        }
        writer.Wait(ticket);
      } else {
        absl::MutexLock lock(&mu);
        failed += history->AppendEvent(Revert(run.run_id(), ++seq)).ok() ? 0 : 1;
      }
    });
    const absl::Duration took = absl::Now() - start;
    if (failed > 0) {
      std::cerr << "journal_bench: " << failed << " write(s) failed\n";
      return 1;
    }
    const double ms = absl::ToDoubleMilliseconds(took);
    (group ? grouped : one_by_one).push_back(ms);
    std::printf("%s round %d: %s %d events from %d threads: %.1f ms\n", kind.c_str(), round / 2,
                group ? "group commit" : "one by one", events, threads, ms);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("%s median: one by one %.1f ms, group commit %.1f ms, ratio %.3f\n", kind.c_str(),
              median(one_by_one), median(grouped), median(grouped) / median(one_by_one));
  return 0;
}

}  // namespace
}  // namespace chaos::controller

int main(int argc, char** argv) {
  const std::string kind = argc > 1 ? argv[1] : "";
  if ((kind == "sqlite" || kind == "etcd") && argc == 6) {
    return chaos::controller::Run(kind, argv[2], std::atoi(argv[3]), std::atoi(argv[4]),
                                  std::atoi(argv[5]));
  }
  std::cerr << "usage: journal_bench sqlite PATH | etcd ENDPOINT  EVENTS THREADS ROUNDS\n";
  return 2;
}
