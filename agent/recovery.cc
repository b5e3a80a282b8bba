#include "agent/recovery.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/audit.h"
#include "agent/fault_table.h"
#include "spdlog/spdlog.h"

namespace chaos::agent {
namespace {

using chaos::v1::LedgerRecord;

// Rebuilds the fault from its record and reverts it; the fault is kept in
// *fault whenever it could be rebuilt.
absl::Status RevertLeftover(const LedgerRecord& record, const FactoryOptions& options,
                            std::unique_ptr<faults::Fault>* fault) {
  auto made = MakeFault(record.status().spec(), options);
  if (!made.ok()) return made.status();
  *fault = *std::move(made);
  const faults::UndoState undo(record.undo().begin(), record.undo().end());
  if (absl::Status s = (*fault)->Adopt(undo); !s.ok()) return s;
  return (*fault)->Revert();
}

void MarkReverted(FaultLedger& ledger, LedgerRecord& record) {
  chaos::v1::FaultStatus* status = record.mutable_status();
  if (status->state() != chaos::v1::FAULT_STATE_FAILED) {
    status->set_state(chaos::v1::FAULT_STATE_REVERTED);
    status->set_reason("reverted at agent start-up (recovery)");
  }
  status->set_reverted_at_unix_ms(absl::ToUnixMillis(absl::Now()));
  record.clear_undo();
  if (absl::Status p = ledger.Put(record); !p.ok()) {
    spdlog::error("recovery: fault {} reverted but ledger write failed: {}",
                  status->spec().fault_id(), p.ToString());
  }
  AuditFault("recover", *status, "agent", "reverted");
}

void MarkFailed(FaultLedger& ledger, LedgerRecord& record, const absl::Status& why) {
  spdlog::error("recovery: fault {} could not be reverted: {}",
                record.status().spec().fault_id(), why.ToString());
  record.mutable_status()->set_state(chaos::v1::FAULT_STATE_FAILED);
  record.mutable_status()->set_reason(absl::StrCat("recovery revert failed: ", why.message()));
  (void)ledger.Put(record);
}

}  // namespace

Recovery RecoverFromLedger(FaultLedger& ledger, const FactoryOptions& options) {
  Recovery out;
  auto loaded = ledger.Load();
  if (!loaded.ok()) {
    spdlog::error("recovery: cannot read the ledger: {}", loaded.status().ToString());
    return out;
  }
  for (const std::string& q : loaded->quarantined) {
    spdlog::error("recovery: quarantined corrupt ledger record {}", q);
  }
  for (LedgerRecord& record : loaded->records) {
    RecoveredFault recovered;
    if (IsLive(record)) {
      const absl::Status s = RevertLeftover(record, options, &recovered.fault);
      if (s.ok()) {
        MarkReverted(ledger, record);
        recovered.fault.reset();  // nothing left to undo
        ++out.reverted;
      } else {
        MarkFailed(ledger, record, s);
        ++out.failed;
      }
    }
    recovered.record = std::move(record);
    out.faults.push_back(std::move(recovered));
  }
  return out;
}

}  // namespace chaos::agent
