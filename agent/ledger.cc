#include "agent/ledger.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/record_file.h"
#include "base/errno.h"
#include "base/files.h"
#include "base/ids.h"
#include "base/status_macros.h"

namespace chaos::agent {
namespace {

constexpr char kSuffix[] = ".rec";

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create state directory ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

FaultLedger::FaultLedger(std::string state_dir)
    : state_dir_(std::move(state_dir)),
      ledger_dir_(state_dir_ + "/ledger"),
      quarantine_dir_(state_dir_ + "/quarantine") {}

absl::StatusOr<std::unique_ptr<FaultLedger>> FaultLedger::Open(const std::string& state_dir) {
  if (state_dir.empty() || state_dir[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("state directory must be an absolute path, got \"", state_dir, "\""));
  }
  RETURN_IF_ERROR(MakeDir(state_dir));
  std::unique_ptr<FaultLedger> ledger(new FaultLedger(state_dir));
  RETURN_IF_ERROR(MakeDir(ledger->ledger_dir_));
  RETURN_IF_ERROR(MakeDir(ledger->quarantine_dir_));
  if (access(ledger->ledger_dir_.c_str(), W_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("state directory ", ledger->ledger_dir_, " is not writable"));
  }
  return ledger;
}

std::string FaultLedger::PathFor(const std::string& fault_id) const {
  return absl::StrCat(ledger_dir_, "/", fault_id, kSuffix);
}

absl::Status FaultLedger::Put(const chaos::v1::LedgerRecord& record, base::Sync sync) {
  const std::string& id = record.status().spec().fault_id();
  if (!base::IsValidId(id)) return absl::InvalidArgumentError(absl::StrCat("bad fault id \"", id, "\""));
  std::string payload;
  if (!record.SerializeToString(&payload)) {
    return absl::InternalError("cannot serialize ledger record");
  }
  absl::MutexLock lock(&mu_);
  return base::WriteFileAtomically(PathFor(id), FrameRecord(payload), 0600, sync);
}

absl::Status FaultLedger::Remove(const std::string& fault_id) {
  if (!base::IsValidId(fault_id)) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  if (unlink(PathFor(fault_id).c_str()) != 0 && errno != ENOENT) {
    return base::ErrnoToStatus(errno, absl::StrCat("unlink ", PathFor(fault_id)));
  }
  return absl::OkStatus();
}

absl::StatusOr<FaultLedger::Loaded> FaultLedger::Load() {
  absl::MutexLock lock(&mu_);
  Loaded loaded;
  ASSIGN_OR_RETURN(const std::vector<std::string> names, base::ListDirectory(ledger_dir_));
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(ledger_dir_, "/", name);
    // An interrupted write ("<id>.rec.tmp.<pid>", or "<id>.rec.tmp" from
    // earlier versions): the old record stands.
    if (!absl::EndsWith(name, kSuffix) && absl::StrContains(name, ".rec.tmp")) {
      unlink(path.c_str());
      continue;
    }
    std::string why;
    chaos::v1::LedgerRecord record;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    const absl::StatusOr<std::string> payload = UnframeRecord(data);
    if (!absl::EndsWith(name, kSuffix)) {
      why = "not a ledger record name";
    } else if (!payload.ok()) {
      why = std::string(payload.status().message());
    } else if (!record.ParseFromString(*payload)) {
      why = "payload does not parse";
    } else if (absl::StrCat(record.status().spec().fault_id(), kSuffix) != name) {
      why = "fault id does not match file name";
    }
    if (why.empty()) {
      loaded.records.push_back(std::move(record));
      continue;
    }
    const std::string dest = absl::StrCat(quarantine_dir_, "/", name);
    if (rename(path.c_str(), dest.c_str()) != 0) {
      why += absl::StrCat(" (and could not quarantine: ", std::strerror(errno), ")");
    } else {
      why += absl::StrCat(" (moved to ", dest, ")");
    }
    loaded.quarantined.push_back(absl::StrCat(path, ": ", why));
  }
  return loaded;
}

}  // namespace chaos::agent
