// Small, exact file operations shared by every component: reading a small
// text file (with or without a size limit), writing all of a buffer, and
// replacing a file atomically (temporary file, fsync, rename, fsync of the
// directory), so a reader sees the old content or the new, never a torn
// one.
//
// Errors are canonical statuses naming the path ("create /x/y.tmp.12: No
// space left on device"). Thread-safe.
#ifndef CHAOS_BASE_FILES_H_
#define CHAOS_BASE_FILES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chaos::base {

// The whole content of a small file (/proc, /sys, pidfiles). Returns false
// when it cannot be opened.
bool ReadTextFile(const std::string& path, std::string* out);

// The whole content of a file that people or requests provide (policy,
// experiment, inventory files), refused beyond `max_bytes` so that a huge
// file is never read into memory: "PATH: 2000000 bytes, more than the limit
// of 1048576 bytes" (INVALID_ARGUMENT); a file that cannot be opened or
// read is the errno's code with "PATH: strerror" (NOT_FOUND, ...).
[[nodiscard]] absl::StatusOr<std::string> ReadFileUpTo(const std::string& path,
                                                       size_t max_bytes);

// Writes every byte of `data` to `fd`, retrying on EINTR and short writes.
// `path` only names the file in errors.
[[nodiscard]] absl::Status WriteAll(int fd, absl::string_view data, const std::string& path);

// The names in a directory, "." and ".." left out, in no order; the
// errno's code with "opendir DIR: strerror" when it cannot be read.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& dir);

// Flushes a directory's entries (after a rename or unlink inside it).
[[nodiscard]] absl::Status FsyncDir(const std::string& dir);

// How WriteFileAtomically waits for the disk.
enum class Sync {
  // The data is synced before the rename and the directory after it: on
  // return the new content survives a crash of the host.
  kDurable,
  // Neither: readers see the old content or the new, and the kernel writes
  // both out in its own time, so a crash of the host within seconds may
  // leave the old content; where a file system does not write a renamed
  // file's data before the rename (ext4 does, by default), an empty file.
  kLazy,
};

// Replaces `path` with `data` through "<path>.tmp.<pid>" in the same
// directory. `mode` is the new file's mode.
[[nodiscard]] absl::Status WriteFileAtomically(const std::string& path, absl::string_view data,
                                               int mode = 0644, Sync sync = Sync::kDurable);

}  // namespace chaos::base

#endif  // CHAOS_BASE_FILES_H_
