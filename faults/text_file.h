// ReadTextFile: the whole content of a small file (/proc, /sys, pidfiles).
// Returns false when it cannot be opened. Thread-safe.
#ifndef CHAOS_FAULTS_TEXT_FILE_H_
#define CHAOS_FAULTS_TEXT_FILE_H_

#include <string>

namespace chaos::faults {

bool ReadTextFile(const std::string& path, std::string* out);

}  // namespace chaos::faults

#endif  // CHAOS_FAULTS_TEXT_FILE_H_
