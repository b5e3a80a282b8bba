#include "faults/data_loss.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/errno.h"
#include "base/ids.h"
#include "base/paths.h"
#include "base/status_macros.h"

namespace chaos::faults {
namespace {

constexpr char kQuarantinePrefix[] = ".chaos-quarantine-";
constexpr size_t kMaxPaths = 64;

using WhenRestored = DataLossParams::WhenRestored;

std::string Dirname(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string Basename(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

// lstat: true when something (a file, a directory, a symbolic link) is there.
absl::StatusOr<bool> Exists(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return base::ErrnoToStatus(errno, path);
}

absl::StatusOr<dev_t> DeviceOf(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return base::ErrnoToStatus(errno, path);
  return st.st_dev;
}

// rename(2) that never replaces what is at `to`; syncs both directories.
absl::Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    return base::ErrnoToStatus(errno, absl::StrCat("rename ", from, " to ", to));
  }
  for (const std::string& dir : {Dirname(from), Dirname(to)}) {
    const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      fsync(fd);
      close(fd);
    }
  }
  return absl::OkStatus();
}

// mkdir 0700, or a directory (not a symbolic link) that is already there.
absl::Status MakeQuarantine(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return base::ErrnoToStatus(errno, absl::StrCat("mkdir ", dir));
  }
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) return base::ErrnoToStatus(errno, dir);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not a directory"));
  }
  return absl::OkStatus();
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  return remove(path) == 0 ? 0 : errno;
}

// rm -r that never follows a symbolic link and stays on the filesystem of
// `path` (a mount below it makes the removal fail).
absl::Status RemoveTree(const std::string& path) {
  const int err = nftw(path.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (err == 0 || (err == -1 && errno == ENOENT)) return absl::OkStatus();
  return base::ErrnoToStatus(err == -1 ? errno : err, absl::StrCat("remove ", path));
}

const char* Name(WhenRestored w) {
  switch (w) {
    case WhenRestored::kKeepOriginalAside: return "keep_original_aside";
    case WhenRestored::kDiscardOriginal: return "discard_original";
    case WhenRestored::kPutOriginalBack: return "put_original_back";
  }
  return "?";
}

absl::Status CheckPath(size_t i, const std::string& path, std::set<std::string>& seen) {
  const std::string field = absl::StrCat("data_loss.paths[", i, "]");
  if (path.empty() || path[0] != '/' || path == "/" || path.back() == '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": must be an absolute path to a file or directory, got \"", path, "\""));
  }
  if (base::HasDotDot(path) || absl::StrContains(path, "//") ||
      absl::StrContains(path, "/./")) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be a clean path (no \"..\", \".\" or \"//\"), got \"", path,
                     "\""));
  }
  for (const std::string& other : seen) {
    if (base::IsWithin(path, other) || base::IsWithin(other, path)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", path, " repeats or overlaps ", other));
    }
  }
  seen.insert(path);
  return absl::OkStatus();
}

}  // namespace

absl::Status DataLossParams::Validate() const {
  if (paths.empty() || paths.size() > kMaxPaths) {
    return absl::InvalidArgumentError(
        absl::StrCat("data_loss.paths: 1 to ", kMaxPaths, " paths, got ", paths.size()));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < paths.size(); ++i) RETURN_IF_ERROR(CheckPath(i, paths[i], seen));
  return base::ValidateId("data_loss.tag", tag, base::kNameRule);
}

DataLoss::DataLoss(DataLossParams params) : params_(std::move(params)) {}

DataLoss::~DataLoss() = default;

absl::Status DataLoss::Plan() {
  std::vector<std::string> roots;
  for (const std::string& r : params_.allowed_roots) {
    absl::StatusOr<std::string> real = base::RealPath(r);
    if (real.ok()) roots.push_back(*real);
  }
  std::string state;
  if (!params_.state_dir.empty()) state = base::RealPath(params_.state_dir).value_or("");
  moves_.clear();
  for (size_t i = 0; i < params_.paths.size(); ++i) {
    const std::string field = absl::StrCat("data_loss.paths[", i, "]");
    absl::StatusOr<std::string> parent = base::RealPath(Dirname(params_.paths[i]));
    if (!parent.ok()) {
      return absl::Status(parent.status().code(),
                          absl::StrCat(field, ": ", parent.status().message()));
    }
    const std::string path = absl::StrCat(*parent == "/" ? "" : *parent, "/",
                                          Basename(params_.paths[i]));
    const std::string* root = nullptr;
    for (const std::string& r : roots) {
      if (path != r && base::IsWithin(path, r) && (root == nullptr || r.size() > root->size())) {
        root = &r;
      }
    }
    if (root == nullptr) {
      return absl::PermissionDeniedError(absl::StrCat(
          field, ": ", path, " is not below a data root (",
          roots.empty() ? std::string("none is configured") : absl::StrJoin(roots, ", "), ")"));
    }
    if (!state.empty() && (base::IsWithin(path, state) || base::IsWithin(state, path))) {
      return absl::PermissionDeniedError(
          absl::StrCat(field, ": ", path, " is, holds or lies in the agent's state ", state));
    }
    ASSIGN_OR_RETURN(const bool exists, Exists(path));
    if (!exists) return absl::NotFoundError(absl::StrCat(field, ": ", path, " does not exist"));
    ASSIGN_OR_RETURN(const dev_t dev, DeviceOf(path));
    ASSIGN_OR_RETURN(const dev_t root_dev, DeviceOf(*root));
    if (dev != root_dev) {
      return absl::FailedPreconditionError(absl::StrCat(
          field, ": ", path, " is on another filesystem than its data root ", *root,
          " (a mount point?); a rename cannot move it"));
    }
    const std::string quarantine = absl::StrCat(*root, "/", kQuarantinePrefix, params_.tag);
    if (base::IsWithin(path, quarantine)) {
      return absl::PermissionDeniedError(absl::StrCat(field, ": ", path, " is in quarantine"));
    }
    moves_.push_back({path, absl::StrCat(quarantine, "/", i, "-", Basename(path)), false, ""});
  }
  return absl::OkStatus();
}

UndoState DataLoss::Undo() const {
  UndoState undo = {{"when_restored", Name(params_.when_restored)},
                    {"count", absl::StrCat(moves_.size())}};
  for (size_t i = 0; i < moves_.size(); ++i) {
    undo[absl::StrCat("path.", i)] = moves_[i].path;
    undo[absl::StrCat("dest.", i)] = moves_[i].dest;
  }
  return undo;
}

absl::Status DataLoss::Inject(const UndoRecorder& record) {
  RETURN_IF_ERROR(Plan());
  // Journaled before the first quarantine directory exists.
  RETURN_IF_ERROR(record(Undo()));
  for (size_t i = 0; i < moves_.size(); ++i) {
    const std::string quarantine = Dirname(moves_[i].dest);
    absl::Status s = MakeQuarantine(quarantine);
    if (s.ok()) s = RenameNoReplace(moves_[i].path, moves_[i].dest);
    if (!s.ok()) {
      absl::Status back = MoveBack(i);
      if (!back.ok()) return absl::InternalError(absl::StrCat(s.message(), "; ", back.message()));
      return s;
    }
    moves_[i].moved = true;
  }
  return absl::OkStatus();
}

absl::Status DataLoss::MoveBack(size_t done) {
  absl::Status first;
  for (size_t i = 0; i < done; ++i) first.Update(RevertOne(i, moves_[i]));
  for (const Move& m : moves_) rmdir(Dirname(m.dest).c_str());  // only when empty
  return first;
}

absl::Status DataLoss::RevertOne(size_t i, Move& m) {
  ASSIGN_OR_RETURN(const bool original_aside, Exists(m.dest));
  if (!original_aside) return absl::OkStatus();  // never moved, or already back
  ASSIGN_OR_RETURN(const bool restored, Exists(m.path));
  if (!restored) {
    RETURN_IF_ERROR(RenameNoReplace(m.dest, m.path));
    m.outcome = "put back";
    return absl::OkStatus();
  }
  switch (params_.when_restored) {
    case WhenRestored::kKeepOriginalAside:
      m.outcome = absl::StrCat("restored data kept; original kept at ", m.dest);
      return absl::OkStatus();
    case WhenRestored::kDiscardOriginal:
      RETURN_IF_ERROR(RemoveTree(m.dest));
      m.outcome = "restored data kept; original discarded";
      return absl::OkStatus();
    case WhenRestored::kPutOriginalBack: {
      const std::string aside = absl::StrCat(m.dest, ".restored");
      RETURN_IF_ERROR(RenameNoReplace(m.path, aside));
      RETURN_IF_ERROR(RenameNoReplace(m.dest, m.path));
      m.outcome = absl::StrCat("original put back; restored data kept at ", aside);
      return absl::OkStatus();
    }
  }
  return absl::InternalError(absl::StrCat("data_loss: path ", i, ": unknown when_restored"));
}

absl::Status DataLoss::Revert() {
  absl::Status s = MoveBack(moves_.size());
  if (s.ok()) reverted_ = true;
  return s;
}

absl::Status DataLoss::Adopt(const UndoState& undo) {
  ASSIGN_OR_RETURN(const std::string count_text, UndoValue(undo, "data_loss", "count"));
  size_t count = 0;
  if (!absl::SimpleAtoi(count_text, &count) || count > kMaxPaths) {
    return absl::InvalidArgumentError(absl::StrCat("data_loss undo state: bad count ", count_text));
  }
  std::vector<Move> moves;
  for (size_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(std::string path, UndoValue(undo, "data_loss", absl::StrCat("path.", i)));
    ASSIGN_OR_RETURN(std::string dest, UndoValue(undo, "data_loss", absl::StrCat("dest.", i)));
    if (!absl::StartsWith(Basename(Dirname(dest)), kQuarantinePrefix) || path.empty() ||
        path[0] != '/' || base::HasDotDot(path) || base::HasDotDot(dest)) {
      return absl::InvalidArgumentError(
          absl::StrCat("data_loss undo state: ", path, " -> ", dest, " is not a quarantine move"));
    }
    moves.push_back({std::move(path), std::move(dest), true, ""});
  }
  moves_ = std::move(moves);
  return absl::OkStatus();
}

FaultStatus DataLoss::Status() const {
  FaultStatus s;
  s.summary = absl::StrCat(reverted_ ? "reverted data loss of " : "data loss: ", moves_.size(),
                           " path(s) in quarantine, when restored: ",
                           Name(params_.when_restored));
  for (size_t i = 0; i < moves_.size(); ++i) {
    s.details[absl::StrCat("path.", i)] = moves_[i].path;
    s.details[absl::StrCat("quarantine.", i)] = moves_[i].dest;
    if (!moves_[i].outcome.empty()) s.details[absl::StrCat("revert.", i)] = moves_[i].outcome;
  }
  return s;
}

}  // namespace chaos::faults
