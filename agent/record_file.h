// Record files: how the agent's durable records sit on disk, the fault
// ledger's (ledger.h) and the command journal's (command_journal.h) alike:
// a magic, the payload's length and CRC-32, then the payload (a serialized
// protobuf message). The files are written whole with
// base::WriteFileAtomically, so a crash leaves the old record or the new;
// these checks catch a file damaged some other way. Pure functions;
// thread-safe.
#ifndef CHAOS_AGENT_RECORD_FILE_H_
#define CHAOS_AGENT_RECORD_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace chaos::agent {

// The file's content for `payload`.
std::string FrameRecord(const std::string& payload);

// The payload of a file's content, or DATA_LOSS saying what is wrong: "bad
// magic or truncated header", "length mismatch (header says 10, file has
// 7)", "checksum mismatch".
[[nodiscard]] absl::StatusOr<std::string> UnframeRecord(const std::string& data);

}  // namespace chaos::agent

#endif  // CHAOS_AGENT_RECORD_FILE_H_
