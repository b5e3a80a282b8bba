#include "agent/record_file.h"

#include <zlib.h>

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace chaos::agent {
namespace {

constexpr char kMagic[8] = {'C', 'H', 'A', 'O', 'S', 'L', 'G', '1'};
constexpr size_t kHeader = sizeof(kMagic) + 8;  // magic, u32 length, u32 crc

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

uint32_t Crc(const char* data, size_t size) {
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data), size));
}

}  // namespace

std::string FrameRecord(const std::string& payload) {
  std::string data(kMagic, sizeof(kMagic));
  PutU32(&data, static_cast<uint32_t>(payload.size()));
  PutU32(&data, Crc(payload.data(), payload.size()));
  data += payload;
  return data;
}

absl::StatusOr<std::string> UnframeRecord(const std::string& data) {
  if (data.size() < kHeader || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError("bad magic or truncated header");
  }
  const uint32_t len = GetU32(data.data() + sizeof(kMagic));
  const uint32_t crc = GetU32(data.data() + sizeof(kMagic) + 4);
  if (data.size() != kHeader + len) {
    return absl::DataLossError(absl::StrCat("length mismatch (header says ", len, ", file has ",
                                            data.size() - kHeader, ")"));
  }
  if (Crc(data.data() + kHeader, len) != crc) return absl::DataLossError("checksum mismatch");
  return data.substr(kHeader);
}

}  // namespace chaos::agent
