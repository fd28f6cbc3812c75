// shim.h on Windows: Win32 calls made directly, not through corio's win/ops.cc, so the cases check the
// backend against the OS rather than against itself. Descriptors the backend must accept are registered
// in corio's handle table (win/fd.h) — the one place the shim uses corio's code, because that table is
// what a descriptor number means on Windows.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <fcntl.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "../core/win/fd.h"
#include "harness.h"
#include "shim.h"

namespace corio::test::shim {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw Failure{what + ": Win32 error " + std::to_string(::GetLastError())};
}

std::wstring wide(const std::string& s) {
  if (s.empty()) return {};
  int n = ::MultiByteToWideChar(CP_UTF8, 0, s.c_str(), int(s.size()), nullptr, 0);
  std::wstring w(size_t(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, s.c_str(), int(s.size()), w.data(), n);
  return w;
}

constexpr DWORD kShareAll = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

HANDLE handle_of(int fd) {
  auto e = corio::win::fd_get(fd);
  if (!e) throw Failure{"shim: descriptor " + std::to_string(fd) + " is not open"};
  return e->handle;
}

// One blocking transfer on an overlapped handle. The event's low bit keeps the completion off the
// backend's port, which the handle may be associated with.
long overlapped_transfer(HANDLE h, bool write, void* buf, size_t len) {
  HANDLE event = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  OVERLAPPED ov{};
  ov.hEvent = HANDLE(uintptr_t(event) | 1);
  DWORD n = 0;
  BOOL ok = write ? ::WriteFile(h, buf, DWORD(len), nullptr, &ov) : ::ReadFile(h, buf, DWORD(len), nullptr, &ov);
  if (!ok && ::GetLastError() == ERROR_IO_PENDING) {
    ::WaitForSingleObject(event, INFINITE);
    ok = TRUE;
  }
  if (ok) ok = ::GetOverlappedResult(h, &ov, &n, FALSE);
  DWORD error = ok ? 0 : ::GetLastError();
  ::CloseHandle(event);
  if (ok) return long(n);
  if (!write && (error == ERROR_BROKEN_PIPE || error == ERROR_HANDLE_EOF)) return 0;
  return -1;
}

std::atomic<unsigned> g_pipe_serial{0};

}  // namespace

namespace {

FileInfo info_of_handle(HANDLE h, const std::string& what) {
  BY_HANDLE_FILE_INFORMATION bh;
  if (!::GetFileInformationByHandle(h, &bh)) fail("GetFileInformationByHandle " + what);
  FileInfo info;
  bool dir = bh.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY;
  bool readonly = bh.dwFileAttributes & FILE_ATTRIBUTE_READONLY;
  bool link = false;
  if (bh.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
    FILE_ATTRIBUTE_TAG_INFO tag;
    link = ::GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag, sizeof tag) &&
           tag.ReparseTag == IO_REPARSE_TAG_SYMLINK;
  }
  info.regular = !dir && !link;
  // What POSIX stat shows for a Windows file, as libuv (and so Node) synthesises it: no execute bits.
  info.mode = link ? (0120000 | 0777) : (dir ? 0040000 : 0100000) | (readonly ? 0444 : 0666);
  info.size = int64_t((uint64_t(bh.nFileSizeHigh) << 32) | bh.nFileSizeLow);
  info.ino = int64_t((uint64_t(bh.nFileIndexHigh) << 32) | bh.nFileIndexLow);
  info.dev = int64_t(bh.dwVolumeSerialNumber);
  info.nlink = int64_t(bh.nNumberOfLinks);
  FILE_STANDARD_INFO st;
  info.blocks = ::GetFileInformationByHandleEx(h, FileStandardInfo, &st, sizeof st)
                    ? int64_t((st.AllocationSize.QuadPart + 511) / 512)
                    : (info.size + 511) / 512;
  int64_t ft = int64_t((uint64_t(bh.ftLastWriteTime.dwHighDateTime) << 32) | bh.ftLastWriteTime.dwLowDateTime);
  info.mtime_ns = (ft - 116444736000000000LL) * 100;
  return info;
}

FileInfo info_of_path(const std::string& path, bool no_follow) {
  HANDLE h = ::CreateFileW(wide(path).c_str(), FILE_READ_ATTRIBUTES, kShareAll, nullptr, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS | (no_follow ? FILE_FLAG_OPEN_REPARSE_POINT : 0), nullptr);
  if (h == INVALID_HANDLE_VALUE) fail("plain stat " + path);
  try {
    FileInfo info = info_of_handle(h, path);
    ::CloseHandle(h);
    return info;
  } catch (...) {
    ::CloseHandle(h);
    throw;
  }
}

// The few Win32 errors the path cases meet, as libuv maps them (src/win/error.c), which is what node:fs
// reports on Windows.
int32_t uv_errno(DWORD error) {
  switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND: return -ENOENT;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS: return -EEXIST;
    case ERROR_ACCESS_DENIED: return -EPERM;
    case ERROR_DIR_NOT_EMPTY: return -ENOTEMPTY;
    case ERROR_DIRECTORY: return -ENOTDIR;
    case ERROR_SHARING_VIOLATION: return -EBUSY;
    default: return -EIO;
  }
}

}  // namespace

FileInfo stat_path(const std::string& path) { return info_of_path(path, false); }
FileInfo lstat_path(const std::string& path) { return info_of_path(path, true); }
FileInfo fstat_fd(int fd) { return info_of_handle(handle_of(fd), "descriptor " + std::to_string(fd)); }

bool exists(const std::string& path) { return ::GetFileAttributesW(wide(path).c_str()) != INVALID_FILE_ATTRIBUTES; }

int32_t plain_mkdir(const std::string& path) {
  return ::CreateDirectoryW(wide(path).c_str(), nullptr) ? 0 : uv_errno(::GetLastError());
}

int32_t plain_unlink(const std::string& path) {
  DWORD attrs = ::GetFileAttributesW(wide(path).c_str());
  // libuv's unlink refuses a directory itself, with EPERM, before asking the system.
  if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY) && !(attrs & FILE_ATTRIBUTE_REPARSE_POINT))
    return -EPERM;
  return ::DeleteFileW(wide(path).c_str()) ? 0 : uv_errno(::GetLastError());
}

int32_t plain_rmdir(const std::string& path) {
  return ::RemoveDirectoryW(wide(path).c_str()) ? 0 : uv_errno(::GetLastError());
}

int32_t plain_rename(const std::string& from, const std::string& to) {
  return ::MoveFileExW(wide(from).c_str(), wide(to).c_str(), MOVEFILE_REPLACE_EXISTING) ? 0 : uv_errno(::GetLastError());
}

bool make_symlink(const std::string& target, const std::string& link, std::string* why_not) {
  // 0x2: SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE (developer mode); older systems ignore the bit.
  if (!::CreateSymbolicLinkW(wide(link).c_str(), wide(target).c_str(), 0x2)) {
    *why_not = "this process cannot make symbolic links (CreateSymbolicLinkW: Win32 error " +
               std::to_string(::GetLastError()) + "; needs the privilege or developer mode)";
    return false;
  }
  if (::GetFileAttributesW(wide(link).c_str()) == INVALID_FILE_ATTRIBUTES) {
    // Seen under Wine 8.0: the call reports success and no link exists afterwards.
    std::string wine;
    *why_not = std::string("CreateSymbolicLinkW reported success but made no link") +
               (under_wine(&wine) ? " (Wine " + wine + " does not make Windows symbolic links)" : "");
    return false;
  }
  return true;
}

int64_t symlink_type_bits() { return 0120000; }

int expected_dir_permissions(int) { return 0666; }

int32_t through_file_errno() { return -ENOENT; }

int32_t rmdir_file_errno() { return -ENOENT; }

bool under_wine(std::string* version) {
  // Wine's ntdll exports wine_get_version; Windows' does not (the check Wine's own documentation gives).
  HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  auto get = ntdll ? reinterpret_cast<const char* (*)()>(
                         reinterpret_cast<void*>(::GetProcAddress(ntdll, "wine_get_version")))
                   : nullptr;
  if (!get) return false;
  if (version) *version = get();
  return true;
}

std::string read_file(const std::string& path) {
  HANDLE h = ::CreateFileW(wide(path).c_str(), GENERIC_READ, kShareAll, nullptr, OPEN_EXISTING, 0, nullptr);
  if (h == INVALID_HANDLE_VALUE) fail("plain open " + path);
  std::string data;
  char chunk[65536];
  for (;;) {
    DWORD n = 0;
    if (!::ReadFile(h, chunk, sizeof chunk, &n, nullptr) || n == 0) break;
    data.append(chunk, n);
  }
  ::CloseHandle(h);
  return data;
}

void write_file(const std::string& path, const std::string& data) {
  HANDLE h = ::CreateFileW(wide(path).c_str(), GENERIC_WRITE, kShareAll, nullptr, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) fail("plain open " + path);
  DWORD n = 0;
  BOOL ok = ::WriteFile(h, data.data(), DWORD(data.size()), &n, nullptr) && n == data.size();
  ::CloseHandle(h);
  if (!ok) fail("plain write " + path);
}

int expected_permissions(int mode) { return (mode & 0200) ? 0666 : 0444; }

int open_fd(const std::string& path, int flags, int mode) {
  DWORD access = (flags & O_RDWR) ? GENERIC_READ | GENERIC_WRITE : (flags & O_WRONLY) ? GENERIC_WRITE : GENERIC_READ;
  DWORD disposition = (flags & O_CREAT) ? ((flags & O_EXCL) ? CREATE_NEW : (flags & O_TRUNC) ? CREATE_ALWAYS : OPEN_ALWAYS)
                                        : ((flags & O_TRUNC) ? TRUNCATE_EXISTING : OPEN_EXISTING);
  DWORD attributes = (flags & O_CREAT) && !(mode & 0200) ? FILE_ATTRIBUTE_READONLY : FILE_ATTRIBUTE_NORMAL;
  HANDLE h = ::CreateFileW(wide(path).c_str(), access, kShareAll, nullptr, disposition,
                           attributes | FILE_FLAG_OVERLAPPED, nullptr);
  if (h == INVALID_HANDLE_VALUE) fail("plain open " + path);
  int fd = corio::win::fd_adopt(h, true, (flags & O_APPEND) != 0);
  if (fd < 0) {
    ::CloseHandle(h);
    throw Failure{"fd_adopt: " + std::to_string(fd)};
  }
  return fd;
}

void close_fd(int fd) { corio::win::fd_close(fd); }

long read_fd(int fd, void* buf, size_t len) { return overlapped_transfer(handle_of(fd), false, buf, len); }

long write_fd(int fd, const void* buf, size_t len) {
  return overlapped_transfer(handle_of(fd), true, const_cast<void*>(buf), len);
}

void make_pipe(int fds[2]) {
  // A byte-mode named pipe, both ends overlapped; the 64 KiB buffer is what a Linux pipe holds too, so a
  // 1 MiB write blocks in the same way.
  std::wstring name = L"\\\\.\\pipe\\corio-test-" + std::to_wstring(::GetCurrentProcessId()) + L"-" +
                      std::to_wstring(g_pipe_serial.fetch_add(1));
  HANDLE server = ::CreateNamedPipeW(name.c_str(), PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                     PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
                                     65536, 65536, 0, nullptr);
  if (server == INVALID_HANDLE_VALUE) fail("CreateNamedPipeW");
  HANDLE client = ::CreateFileW(name.c_str(), GENERIC_WRITE | FILE_READ_ATTRIBUTES, 0, nullptr, OPEN_EXISTING,
                                FILE_FLAG_OVERLAPPED, nullptr);
  if (client == INVALID_HANDLE_VALUE) {
    ::CloseHandle(server);
    fail("CreateFileW (pipe client)");
  }
  // The client is already connected, so this returns at once (ERROR_PIPE_CONNECTED); an OVERLAPPED is
  // required for a handle opened overlapped.
  OVERLAPPED ov{};
  ov.hEvent = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (!::ConnectNamedPipe(server, &ov)) {
    DWORD error = ::GetLastError();
    if (error == ERROR_IO_PENDING) ::WaitForSingleObject(ov.hEvent, INFINITE);
    else if (error != ERROR_PIPE_CONNECTED) {
      ::CloseHandle(ov.hEvent);
      ::CloseHandle(client);
      ::CloseHandle(server);
      fail("ConnectNamedPipe");
    }
  }
  ::CloseHandle(ov.hEvent);
  fds[0] = corio::win::fd_adopt(server, true, false);
  fds[1] = corio::win::fd_adopt(client, true, false);
  if (fds[0] < 0 || fds[1] < 0) throw Failure{"fd_adopt for a pipe"};
}

uint64_t pipe_buffered(int read_fd) {
  DWORD avail = 0;
  if (!::PeekNamedPipe(handle_of(read_fd), nullptr, 0, nullptr, &avail, nullptr)) fail("PeekNamedPipe");
  return avail;
}

bool make_fifo(const std::string&, std::string* why_not) {
  *why_not = "Windows has no FIFOs in the file system (a named pipe's open never blocks for a peer)";
  return false;
}

void release_fifo(const std::string&) {}

void ignore_sigpipe() {}  // Windows has no SIGPIPE: a write to a broken pipe fails with ERROR_NO_DATA

bool pipe_keeps_cancelled_bytes() { return false; }

}  // namespace corio::test::shim
