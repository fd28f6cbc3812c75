// The Windows descriptor table (win/fd.h says why it exists and what it promises).
#include "fd.h"

#include <cerrno>
#include <mutex>
#include <new>
#include <vector>

namespace corio::win {
namespace {

constexpr int kFirstFd = 3;        // 0-2 read as stdio: never hand them out
constexpr int kMaxFds = 1 << 20;   // a runaway leak stops here with EMFILE instead of exhausting memory

struct Table {
  std::mutex mu;
  std::vector<std::shared_ptr<FdEntry>> slots;  // index = fd - kFirstFd
  size_t lowest_free = 0;                       // no free slot below this index
};

Table& table() {
  static Table* t = new Table;  // never destroyed: worker threads may still close handles at process exit
  return *t;
}

FdKind kind_of(HANDLE h) {
  switch (::GetFileType(h)) {
    case FILE_TYPE_DISK: return FdKind::kDisk;
    case FILE_TYPE_PIPE: return FdKind::kPipe;
    case FILE_TYPE_CHAR: return FdKind::kChar;
    default: return FdKind::kOther;
  }
}

}  // namespace

int fd_adopt(HANDLE h, bool overlapped, bool append) {
  std::shared_ptr<FdEntry> entry;
  try {
    entry = std::make_shared<FdEntry>();
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  entry->handle = h;
  entry->kind = kind_of(h);
  entry->overlapped = overlapped;
  entry->append = append;
  if (entry->kind == FdKind::kDisk) {
    FILE_BASIC_INFO info;
    if (::GetFileInformationByHandleEx(h, FileBasicInfo, &info, sizeof info))
      entry->directory = (info.FileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
  }
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  size_t i = t.lowest_free;
  while (i < t.slots.size() && t.slots[i]) i++;
  if (i >= size_t(kMaxFds - kFirstFd)) return -EMFILE;
  try {
    if (i == t.slots.size()) t.slots.emplace_back();
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  t.slots[i] = std::move(entry);
  t.lowest_free = i + 1;
  return int(i) + kFirstFd;
}

std::shared_ptr<FdEntry> fd_get(int fd) {
  if (fd < kFirstFd) return nullptr;
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  size_t i = size_t(fd - kFirstFd);
  return i < t.slots.size() ? t.slots[i] : nullptr;
}

int fd_close(int fd) {
  std::shared_ptr<FdEntry> entry;
  {
    if (fd < kFirstFd) return -EBADF;
    Table& t = table();
    std::lock_guard<std::mutex> lock(t.mu);
    size_t i = size_t(fd - kFirstFd);
    if (i >= t.slots.size() || !t.slots[i]) return -EBADF;
    entry = std::move(t.slots[i]);
    if (i < t.lowest_free) t.lowest_free = i;
  }
  // Outside the lock: CloseHandle can block (a named pipe flushing, an antivirus filter), and the number
  // is already free. Like close(2), the descriptor is gone even when this fails.
  return ::CloseHandle(entry->handle) ? 0 : -EIO;
}

}  // namespace corio::win
