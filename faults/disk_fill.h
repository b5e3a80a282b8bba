// DiskFill: fills a filesystem with one tagged file.
//
// The size is given as bytes, as a target percent of the filesystem's total
// that should be in use, or as "leave N bytes available"; the byte count is
// computed from statvfs at inject time. The file is named
// "<directory>/.chaos-fill-<tag>-<random>" and its path is recorded before it
// is created, so an agent restarted after a crash deletes it. Space is
// allocated with fallocate (real blocks, no data written); where the
// filesystem does not support it (EOPNOTSUPP) zeros are written instead.
// Running out of space (ENOSPC) is not a failure: the fault keeps what it
// got and reports the achieved size. Any other error deletes the file and
// returns the error, leaving the host as it was.
//
// Refused (PERMISSION_DENIED): directories outside `allowed_roots` (after
// resolving symlinks) and the filesystem that holds `state_dir` (the agent's
// own journal), unless `allow_state_filesystem`.
//
// Revert deletes the file; a file that is already gone is OK. Adopt only
// accepts paths whose name starts with ".chaos-fill-".
//
// Undo state: {"path": "<absolute path>"}.
#ifndef CHAOS_FAULTS_DISK_FILL_H_
#define CHAOS_FAULTS_DISK_FILL_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "faults/fault.h"
#include "faults/host_os.h"

namespace chaos::faults {

struct DiskFillParams {
  enum class Size { kBytes, kTargetPercent, kLeaveFreeBytes };

  std::string directory;  // absolute, no ".." components
  Size size = Size::kBytes;
  uint64_t bytes = 0;           // kBytes: > 0
  double target_percent = 0;    // kTargetPercent: (0, 100]
  uint64_t leave_free_bytes = 0;  // kLeaveFreeBytes
  std::string tag = "fill";     // [A-Za-z0-9._-]{1,64}, part of the file name
  std::vector<std::string> allowed_roots;  // absolute; empty refuses everything
  std::string state_dir;        // the agent's state; "" when none
  bool allow_state_filesystem = false;

  // INVALID_ARGUMENT naming "disk_fill.<field>".
  [[nodiscard]] absl::Status Validate() const;
};

class DiskFill final : public Fault {
 public:
  explicit DiskFill(DiskFillParams params, FileOs& os = RealFileOs());
  ~DiskFill() override;  // does not revert: the owner decides

  absl::Status Inject(const UndoRecorder& record) override;
  absl::Status Revert() override;
  absl::Status Adopt(const UndoState& undo) override;
  FaultStatus Status() const override;

  const std::string& path() const { return path_; }
  uint64_t requested_bytes() const { return requested_; }
  uint64_t achieved_bytes() const { return achieved_; }
  bool partial() const { return partial_; }

 private:
  // Allocates up to requested_ bytes in fd; sets achieved_, partial_, method_.
  absl::Status Allocate(int fd);

  const DiskFillParams params_;
  FileOs& os_;
  std::string path_;
  uint64_t requested_ = 0;
  uint64_t achieved_ = 0;
  bool partial_ = false;
  std::string method_;
  FsSpace before_, after_;
  bool reverted_ = false;
};

// True for the names DiskFill gives its files, and only those:
// ".chaos-fill-<tag>-<16 lowercase hex digits>", tag [A-Za-z0-9._-]{1,64}.
bool IsFillFileName(absl::string_view name);

// Start-up sweep: deletes every regular file named as IsFillFileName says
// under each of `roots` (resolved once; a root that is missing is skipped)
// and its subdirectories, except the paths in `keep` (fill files a ledger
// record still names). Never follows a symlink: directories are opened one
// level at a time with O_NOFOLLOW and files are removed with unlinkat on
// their directory, so nothing outside the roots is reached. Stays on each
// root's filesystem (a filesystem mounted below a root is not entered) and
// goes at most 32 directories deep. Returns one Leftover per file found;
// a directory that cannot be read is skipped, not reported.
std::vector<Leftover> RemoveLeftoverFills(const std::vector<std::string>& roots,
                                          const std::set<std::string>& keep);

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_DISK_FILL_H_
