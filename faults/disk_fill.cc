#include "faults/disk_fill.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "absl/cleanup/cleanup.h"
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "base/paths.h"
#include "base/errno.h"

namespace chaos::faults {
namespace {

constexpr uint64_t kMaxChunk = uint64_t{1} << 30;  // 1 GiB per fallocate
constexpr uint64_t kMinChunk = uint64_t{1} << 20;  // stop halving at 1 MiB
constexpr char kPrefix[] = ".chaos-fill-";
constexpr char kTagChars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
constexpr size_t kRandomDigits = 16;  // RandomHex
constexpr int kMaxSweepDepth = 32;

std::string Percent(const FsSpace& s) {
  return s.total == 0 ? "0" : absl::StrFormat("%.2f", 100.0 * s.used() / s.total);
}

std::string RandomHex() {
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(absl::BitGen()));
}

}  // namespace

absl::Status DiskFillParams::Validate() const {
  if (directory.empty()) {
    return absl::InvalidArgumentError("disk_fill.directory: required");
  }
  if (directory[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "disk_fill.directory: must be an absolute path, got \"", directory, "\""));
  }
  if (base::HasDotDot(directory)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "disk_fill.directory: must not contain \"..\", got \"", directory, "\""));
  }
  switch (size) {
    case Size::kBytes:
      if (bytes == 0) return absl::InvalidArgumentError("disk_fill.bytes: must be > 0");
      break;
    case Size::kTargetPercent:
      if (!(target_percent > 0 && target_percent <= 100)) {  // also rejects NaN
        return absl::InvalidArgumentError(absl::StrCat(
            "disk_fill.target_percent: must be in (0, 100], got ", target_percent));
      }
      break;
    case Size::kLeaveFreeBytes:
      break;
  }
  if (tag.empty() || tag.size() > 64 || tag.find_first_not_of(kTagChars) != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("disk_fill.tag: must match [A-Za-z0-9._-]{1,64}, got \"", tag, "\""));
  }
  for (const std::string& root : allowed_roots) {
    if (root.empty() || root[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("disk_fill.allowed_roots: \"", root, "\" is not absolute"));
    }
  }
  return absl::OkStatus();
}

DiskFill::DiskFill(DiskFillParams params, FileOs& os) : params_(std::move(params)), os_(os) {}

DiskFill::~DiskFill() = default;

absl::Status DiskFill::Inject(const UndoRecorder& record) {
  RETURN_IF_ERROR(params_.Validate());
  auto real = os_.RealPath(params_.directory);
  if (!real.ok()) {
    return absl::Status(real.status().code(),
                        absl::StrCat("disk_fill.directory: ", real.status().message()));
  }
  if (!os_.IsDirectory(*real)) {
    return absl::FailedPreconditionError(
        absl::StrCat("disk_fill.directory: ", *real, " is not a directory"));
  }
  bool allowed = false;
  for (const std::string& root : params_.allowed_roots) {
    auto real_root = os_.RealPath(root);
    if (real_root.ok() && base::IsWithin(*real, *real_root)) allowed = true;
  }
  if (!allowed) {
    return absl::PermissionDeniedError(absl::StrCat(
        "disk_fill.directory: ", *real, " is outside the allowed fill roots [",
        absl::StrJoin(params_.allowed_roots, ", "), "]"));
  }
  ASSIGN_OR_RETURN(const uint64_t dev, os_.DeviceOf(*real));
  if (!params_.state_dir.empty() && !params_.allow_state_filesystem) {
    auto state_dev = os_.DeviceOf(params_.state_dir);
    if (state_dev.ok() && *state_dev == dev) {
      return absl::PermissionDeniedError(absl::StrCat(
          "disk_fill.directory: ", *real, " is on the filesystem that holds the agent's state (",
          params_.state_dir, "); filling it needs allow_state_filesystem"));
    }
  }
  ASSIGN_OR_RETURN(before_, os_.StatFs(*real));
  switch (params_.size) {
    case DiskFillParams::Size::kBytes:
      requested_ = params_.bytes;
      break;
    case DiskFillParams::Size::kTargetPercent: {
      const auto want = static_cast<uint64_t>(
          std::ceil(static_cast<double>(before_.total) * params_.target_percent / 100.0));
      if (want <= before_.used()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "disk_fill.target_percent: ", *real, " is already ", Percent(before_),
            "% used, at or above the target ", params_.target_percent, "%"));
      }
      requested_ = want - before_.used();
      break;
    }
    case DiskFillParams::Size::kLeaveFreeBytes:
      if (before_.available <= params_.leave_free_bytes) {
        return absl::FailedPreconditionError(absl::StrCat(
            "disk_fill.leave_free_bytes: only ", before_.available, " bytes are available on ",
            *real, ", not more than the ", params_.leave_free_bytes, " to leave"));
      }
      requested_ = before_.available - params_.leave_free_bytes;
      break;
  }
  const std::string path =
      absl::StrCat(*real == "/" ? "" : *real, "/", kPrefix, params_.tag, "-", RandomHex());
  // Intent first: a crash after creating the file must still find it.
  RETURN_IF_ERROR(record({{"path", path}}));
  ASSIGN_OR_RETURN(const int fd, os_.CreateExclusive(path));
  path_ = path;
  reverted_ = false;
  absl::Cleanup undo = [&] {
    (void)Revert();
  };
  absl::Status s = Allocate(fd);
  absl::Status closed = os_.SyncAndClose(fd);
  if (s.ok() && !closed.ok() && !absl::IsResourceExhausted(closed)) s = closed;
  RETURN_IF_ERROR(s);
  ASSIGN_OR_RETURN(achieved_, os_.AllocatedBytes(path_));
  if (achieved_ < requested_) partial_ = true;
  auto after = os_.StatFs(*real);
  if (after.ok()) after_ = *after;
  std::move(undo).Cancel();
  return absl::OkStatus();
}

absl::Status DiskFill::Allocate(int fd) {
  uint64_t offset = 0;
  uint64_t chunk = kMaxChunk;
  method_ = "fallocate";
  while (offset < requested_) {
    const uint64_t len = std::min(chunk, requested_ - offset);
    const int err = os_.Fallocate(fd, offset, len);
    if (err == 0) {
      offset += len;
      continue;
    }
    if (err == ENOSPC) {
      if (len <= kMinChunk) {
        partial_ = true;
        return absl::OkStatus();
      }
      chunk = std::max(kMinChunk, (len / 2) & ~uint64_t{4095});
      continue;
    }
    if (err == EOPNOTSUPP || err == ENOSYS) {
      method_ = "write";
      int werr = 0;
      offset += os_.WriteZeros(fd, offset, requested_ - offset, &werr);
      if (werr == ENOSPC || werr == EDQUOT) {
        partial_ = true;
        return absl::OkStatus();
      }
      if (werr != 0) return base::ErrnoToStatus(werr, absl::StrCat("disk_fill: write ", path_));
      return absl::OkStatus();
    }
    if (err == EDQUOT) {
      partial_ = true;
      return absl::OkStatus();
    }
    return base::ErrnoToStatus(err, absl::StrCat("disk_fill: fallocate ", path_));
  }
  return absl::OkStatus();
}

absl::Status DiskFill::Revert() {
  if (path_.empty()) {
    reverted_ = true;
    return absl::OkStatus();
  }
  absl::Status s = os_.Unlink(path_);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  reverted_ = true;
  return absl::OkStatus();
}

absl::Status DiskFill::Adopt(const UndoState& undo) {
  ASSIGN_OR_RETURN(const std::string path, UndoValue(undo, "disk_fill", "path"));
  const size_t slash = path.rfind('/');
  if (path.empty() || path[0] != '/' || slash == std::string::npos ||
      !absl::StartsWith(absl::string_view(path).substr(slash + 1), kPrefix) ||
      base::HasDotDot(path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("disk_fill undo state: \"", path, "\" is not a fill file path"));
  }
  path_ = path;
  return absl::OkStatus();
}

FaultStatus DiskFill::Status() const {
  FaultStatus s;
  if (reverted_) {
    s.summary = absl::StrCat("fill file ", path_, " deleted");
  } else {
    s.summary = absl::StrCat(partial_ ? "partially filled (filesystem full): " : "filled ",
                             achieved_, " of ", requested_, " bytes in ", path_, " (",
                             Percent(before_), "% -> ", Percent(after_), "% used)");
  }
  s.details["path"] = path_;
  s.details["requested_bytes"] = absl::StrCat(requested_);
  s.details["achieved_bytes"] = absl::StrCat(achieved_);
  s.details["partial"] = partial_ ? "true" : "false";
  s.details["method"] = method_;
  s.details["used_percent_before"] = Percent(before_);
  s.details["used_percent_after"] = Percent(after_);
  return s;
}

bool IsFillFileName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kPrefix) || name.size() < kRandomDigits + 2) return false;
  const absl::string_view random = name.substr(name.size() - kRandomDigits);
  const absl::string_view tag = name.substr(0, name.size() - kRandomDigits - 1);
  return name[tag.size()] == '-' && tag.size() <= 64 &&
         random.find_first_not_of("0123456789abcdef") == absl::string_view::npos &&
         tag.find_first_not_of(kTagChars) == absl::string_view::npos;
}

namespace {

// Sweeps the directory open as `fd` (named `path`) if it is on device
// `dev` (a mount swapped in after the parent was read is not entered);
// takes ownership of fd.
void SweepFillDirectory(int fd, const std::string& path, dev_t dev, int depth,
                        const std::set<std::string>& keep, std::vector<Leftover>* out) {
  struct stat self;
  DIR* dir = fstat(fd, &self) == 0 && self.st_dev == dev ? fdopendir(fd) : nullptr;
  if (dir == nullptr) {
    close(fd);
    return;
  }
  std::vector<std::string> subdirs;
  while (dirent* e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string full = absl::StrCat(path == "/" ? "" : path, "/", name);
    if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
      subdirs.push_back(name);
    } else if (S_ISREG(st.st_mode) && IsFillFileName(name) && !keep.contains(full)) {
      absl::Status s;
      if (unlinkat(fd, name.c_str(), 0) != 0 && errno != ENOENT) {
        s = base::ErrnoToStatus(errno, absl::StrCat("disk_fill sweep: unlink ", full));
      }
      out->push_back({full, s});
    }
  }
  if (depth < kMaxSweepDepth) {
    for (const std::string& name : subdirs) {
      const int sub = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        SweepFillDirectory(sub, absl::StrCat(path == "/" ? "" : path, "/", name), dev, depth + 1,
                           keep, out);
      }
    }
  }
  closedir(dir);  // closes fd
}

}  // namespace

std::vector<Leftover> RemoveLeftoverFills(const std::vector<std::string>& roots,
                                          const std::set<std::string>& keep) {
  std::vector<Leftover> out;
  std::set<std::string> seen;
  for (const std::string& root : roots) {
    char resolved[PATH_MAX];
    if (realpath(root.c_str(), resolved) == nullptr || !seen.insert(resolved).second) continue;
    struct stat st;
    if (stat(resolved, &st) != 0) continue;
    const int fd = open(resolved, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) SweepFillDirectory(fd, resolved, st.st_dev, 0, keep, &out);
  }
  return out;
}

}  // namespace chaos::faults
