#include "agent/command_journal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/record_file.h"
#include "base/errno.h"
#include "base/files.h"
#include "base/ids.h"
#include "base/status_macros.h"

namespace chaos::agent {
namespace {

constexpr char kSuffix[] = ".cmd";
// The largest record file Load() reads; a record is a few KiB at most.
constexpr size_t kMaxRecordBytes = 1 << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<CommandJournal>> CommandJournal::Open(
    const std::string& state_dir) {
  const std::string dir = state_dir + "/commands";
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create command journal ", dir, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<CommandJournal>(new CommandJournal(dir));
}

std::string CommandJournal::PathFor(const std::string& command_id) const {
  return absl::StrCat(dir_, "/", command_id, kSuffix);
}

absl::Status CommandJournal::Put(const chaos::v1::CommandRecord& record) {
  RETURN_IF_ERROR(base::ValidateId("command_id", record.command_id()));
  std::string payload;
  if (!record.SerializeToString(&payload)) {
    return absl::InternalError("cannot serialize command record");
  }
  absl::MutexLock lock(&mu_);
  return base::WriteFileAtomically(PathFor(record.command_id()), FrameRecord(payload), 0600);
}

absl::Status CommandJournal::Remove(const std::string& command_id) {
  if (!base::IsValidId(command_id)) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  if (unlink(PathFor(command_id).c_str()) != 0 && errno != ENOENT) {
    return base::ErrnoToStatus(errno, absl::StrCat("unlink ", PathFor(command_id)));
  }
  return base::FsyncDir(dir_);
}

absl::StatusOr<CommandJournal::Loaded> CommandJournal::Load() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(const std::vector<std::string> names, base::ListDirectory(dir_));
  Loaded loaded;
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(dir_, "/", name);
    absl::StatusOr<std::string> data = base::ReadFileUpTo(path, kMaxRecordBytes);
    absl::StatusOr<std::string> payload =
        data.ok() ? UnframeRecord(*data) : absl::StatusOr<std::string>(data.status());
    chaos::v1::CommandRecord record;
    std::string why;
    if (!absl::EndsWith(name, kSuffix)) {
      why = "not a command record name";  // an interrupted write's temporary file, too
    } else if (!payload.ok()) {
      why = std::string(payload.status().message());
    } else if (!record.ParseFromString(*payload)) {
      why = "payload does not parse";
    } else if (absl::StrCat(record.command_id(), kSuffix) != name) {
      why = "command id does not match file name";
    }
    if (why.empty()) {
      loaded.records.push_back(std::move(record));
      continue;
    }
    unlink(path.c_str());
    loaded.dropped.push_back(absl::StrCat(path, ": ", why));
  }
  return loaded;
}

}  // namespace chaos::agent
