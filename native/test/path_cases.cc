// Path operations every backend runs (issue 4): unlink, rename, mkdir, rmdir, stat/lstat, fallocate and
// readdir, each with its success and the errno of its usual failures, plus the FIFO read-open rule that
// open(2) sets and every backend must keep. Expected errnos are taken from the plain system call on a twin
// file where POSIX lets platforms differ (unlink of a directory: EISDIR on Linux, EPERM on macOS), so the
// cases state "same as the OS", not "same as Linux". On Windows "the OS" is what node:fs reports there
// (libuv's mapping of the Win32 error). Everything the cases do to the file system directly goes through
// shim.h, so the same cases run on every platform; the FIFO-open cases are POSIX-only (fifo_cases.cc).
#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness.h"
#include "shim.h"

using namespace corio;
using corio::test::collect;
using corio::test::Context;
using corio::test::Failure;
using corio::test::run_one;
namespace shim = corio::test::shim;

namespace {

std::string at(const Context& ctx, const std::string& name) { return ctx.scratch_dir + "/" + name; }

Submission path_op(OpCode op, uint32_t token, const std::string& path) {
  Submission s;
  s.op = op;
  s.token = token;
  s.path = path.c_str();
  return s;
}

int32_t unlink_path(Context& ctx, const std::string& path) { return run_one(ctx, path_op(OpCode::kUnlink, 1, path)); }
int32_t rmdir_path(Context& ctx, const std::string& path) { return run_one(ctx, path_op(OpCode::kRmdir, 2, path)); }

int32_t mkdir_path(Context& ctx, const std::string& path, int mode = 0755) {
  Submission s = path_op(OpCode::kMkdir, 3, path);
  s.mode = mode;
  return run_one(ctx, s);
}

int32_t rename_path(Context& ctx, const std::string& from, const std::string& to) {
  Submission s = path_op(OpCode::kRename, 4, from);
  s.path2 = to.c_str();
  return run_one(ctx, s);
}

int32_t stat_path(Context& ctx, const std::string& path, StatResult* out, bool no_follow = false) {
  Submission s = path_op(OpCode::kStat, 5, path);
  s.stat = out;
  s.flags = no_follow ? kStatNoFollow : 0;
  return run_one(ctx, s);
}

int32_t fallocate_fd(Context& ctx, int fd, int64_t offset, int64_t length, bool keep_size) {
  Submission s;
  s.op = OpCode::kFallocate;
  s.token = 6;
  s.fd = fd;
  s.offset = offset;
  s.length = length;
  s.flags = keep_size ? kFallocKeepSize : 0;
  return run_one(ctx, s);
}

int32_t readdir_into(Context& ctx, const std::string& path, std::vector<uint8_t>& buf, uint32_t len) {
  Submission s = path_op(OpCode::kReaddir, 7, path);
  s.buf = buf.data();
  s.len = len;
  return run_one(ctx, s);
}

// Decodes kReaddir records, failing on anything malformed: a record without its NUL, an empty name, a type
// outside the kDirent* range, "." or "..", or a name seen twice.
std::map<std::string, uint8_t> parse_dirents(const std::vector<uint8_t>& buf, int32_t used) {
  CHECK(used >= 0 && size_t(used) <= buf.size());
  std::map<std::string, uint8_t> out;
  size_t i = 0;
  while (i < size_t(used)) {
    uint8_t type = buf[i++];
    CHECK(type <= kDirentBlock);
    size_t start = i;
    while (i < size_t(used) && buf[i] != 0) i++;
    if (i == size_t(used)) throw Failure{"readdir record without its NUL at byte " + std::to_string(start)};
    std::string name(reinterpret_cast<const char*>(buf.data() + start), i - start);
    i++;  // the NUL
    CHECK(!name.empty() && name != "." && name != "..");
    if (!out.emplace(name, type).second) throw Failure{"readdir listed '" + name + "' twice"};
  }
  return out;
}

void touch(const std::string& path, const std::string& data = "") { shim::write_file(path, data); }

bool exists(const std::string& path) { return shim::exists(path); }

std::string contents(const std::string& path) { return shim::read_file(path); }

void make_dir(const std::string& path) {
  int32_t r = shim::plain_mkdir(path);
  if (r != 0) throw Failure{"plain mkdir " + path + ": " + std::to_string(r)};
}

// A symbolic link, or SKIP where this process cannot make one (Windows without the privilege).
void symlink_or_skip(const std::string& target, const std::string& link) {
  std::string why_not;
  if (!shim::make_symlink(target, link, &why_not)) SKIP(why_not);
}

bool is_dir(int64_t mode) { return (mode & 0170000) == 0040000; }
bool is_reg(int64_t mode) { return (mode & 0170000) == 0100000; }
bool is_link(int64_t mode) { return (mode & 0170000) == shim::symlink_type_bits(); }

// The file systems that have no fallocate say so in one of these (Windows' C runtime tells them apart).
bool no_fallocate(int32_t r) { return r == -EOPNOTSUPP || r == -ENOTSUP; }

}  // namespace

// ---- unlink ------------------------------------------------------------------------------------------

CORE_CASE("unlink removes a file; missing is ENOENT, through a file ENOTDIR (as the OS says), a directory as the OS says") {
  std::string file = at(ctx, "f");
  touch(file);
  CHECK_EQ(unlink_path(ctx, file), 0);
  CHECK(!exists(file));
  CHECK_EQ(unlink_path(ctx, file), -ENOENT);
  touch(file);
  CHECK_EQ(unlink_path(ctx, file + "/x"), shim::through_file_errno());
  std::string dir = at(ctx, "d"), twin = at(ctx, "twin");
  make_dir(dir);
  make_dir(twin);
  int32_t want = shim::plain_unlink(twin);  // EISDIR on Linux, EPERM on macOS and Windows (POSIX allows both)
  CHECK(want == -EISDIR || want == -EPERM);
  CHECK_EQ(unlink_path(ctx, dir), want);
  CHECK(exists(dir));
}

CORE_CASE("unlink of a symbolic link removes the link, not its target") {
  std::string target = at(ctx, "target"), link = at(ctx, "link");
  touch(target, "kept");
  symlink_or_skip(target, link);
  CHECK_EQ(unlink_path(ctx, link), 0);
  CHECK(!exists(link));
  CHECK(contents(target) == "kept");
}

// ---- rename ------------------------------------------------------------------------------------------

CORE_CASE("rename moves a file and replaces an existing target") {
  std::string a = at(ctx, "a"), b = at(ctx, "b"), c = at(ctx, "c");
  touch(a, "first");
  CHECK_EQ(rename_path(ctx, a, b), 0);
  CHECK(!exists(a));
  CHECK(contents(b) == "first");
  touch(c, "replacement");
  shim::FileInfo before = shim::stat_path(c);
  CHECK_EQ(rename_path(ctx, c, b), 0);  // b existed: replaced in one step
  CHECK(!exists(c));
  CHECK(contents(b) == "replacement");
  shim::FileInfo after = shim::stat_path(b);
  CHECK_EQ(after.ino, before.ino);  // the same file, moved
}

CORE_CASE("rename errors: ENOENT, ENOTDIR, EISDIR, ENOTEMPTY as the OS says") {
  std::string file = at(ctx, "file"), dir = at(ctx, "dir"), full = at(ctx, "full");
  touch(file);
  make_dir(dir);
  make_dir(full);
  touch(full + "/inside");
  CHECK_EQ(rename_path(ctx, at(ctx, "missing"), at(ctx, "x")), -ENOENT);
  CHECK_EQ(rename_path(ctx, file, at(ctx, "no-such-dir/x")), -ENOENT);
  // Each of these is compared with the plain call on a twin: POSIX says ENOTDIR, EISDIR, ENOTDIR and
  // ENOTEMPTY or EEXIST; Windows (node:fs there) says EPERM for the replacements it refuses.
  std::string twin_file = at(ctx, "twin-file"), twin_dir = at(ctx, "twin-dir");
  touch(twin_file);
  make_dir(twin_dir);
  CHECK_EQ(rename_path(ctx, file, file + "/x"), shim::plain_rename(twin_file, twin_file + "/x"));
  int32_t file_over_dir = shim::plain_rename(twin_file, twin_dir);
  CHECK(file_over_dir == -EISDIR || file_over_dir == -EPERM);
  CHECK_EQ(rename_path(ctx, file, dir), file_over_dir);
  std::string empty_twin = at(ctx, "twin"), full_twin = at(ctx, "full-twin");
  make_dir(empty_twin);
  make_dir(full_twin);
  touch(full_twin + "/inside");
  int32_t want = shim::plain_rename(empty_twin, full_twin);  // ENOTEMPTY or EEXIST (POSIX), EPERM (Windows)
  CHECK(want == -ENOTEMPTY || want == -EEXIST || want == -EPERM);
  CHECK_EQ(rename_path(ctx, dir, full), want);
  CHECK(exists(file) && exists(dir) && exists(full + "/inside"));
  // A directory over a file: ENOTDIR on POSIX. Windows' answer differs by file system (Wine replaces the
  // file), so that one is compared with the plain call only where the twin leaves both in place.
  std::string twin_file2 = at(ctx, "twin-file2"), twin_dir2 = at(ctx, "twin-dir2");
  touch(twin_file2);
  make_dir(twin_dir2);
  int32_t dir_over_file = shim::plain_rename(twin_dir2, twin_file2);
  if (dir_over_file != 0) {
    CHECK_EQ(rename_path(ctx, dir, file), dir_over_file);
    CHECK(exists(file) && exists(dir));
  }
}

CORE_CASE("rename copies both paths before submit returns") {
  std::string a = at(ctx, "from"), b = at(ctx, "to");
  touch(a, "moved");
  std::string from = a, to = b;
  Submission s = path_op(OpCode::kRename, 9, from);
  s.path2 = to.c_str();
  ctx.backend->submit(s);
  // Change the caller's strings in place before the backend runs the operation: it must use its own
  // copies (contract 4). Only the last letter, so a backend that reads ours stays in the scratch folder
  // (".../frox" does not exist: ENOENT; ".../tx" would be a wrong target).
  from.back() = 'x';
  to.back() = 'x';
  auto got = collect(*ctx.backend, 1);
  CHECK_EQ(got[0].result, 0);
  CHECK(!exists(a));
  CHECK(contents(b) == "moved");
}

// ---- mkdir and rmdir ---------------------------------------------------------------------------------

CORE_CASE("mkdir creates a directory with the mode (less umask); EEXIST, ENOENT, ENOTDIR as the OS says") {
  std::string dir = at(ctx, "made");
  CHECK_EQ(mkdir_path(ctx, dir, 0750), 0);
  shim::FileInfo st = shim::stat_path(dir);
  CHECK(is_dir(st.mode));
  CHECK_EQ(int(st.mode & 07777), shim::expected_dir_permissions(0750));
  CHECK_EQ(mkdir_path(ctx, dir), -EEXIST);
  std::string file = at(ctx, "file");
  touch(file);
  CHECK_EQ(mkdir_path(ctx, file), -EEXIST);
  CHECK_EQ(mkdir_path(ctx, at(ctx, "missing/child")), -ENOENT);
  CHECK_EQ(mkdir_path(ctx, file + "/child"), shim::through_file_errno());
}

CORE_CASE("rmdir removes an empty directory; ENOTEMPTY as the OS says, ENOENT, and a file as node:fs says") {
  std::string dir = at(ctx, "empty");
  make_dir(dir);
  CHECK_EQ(rmdir_path(ctx, dir), 0);
  CHECK(!exists(dir));
  CHECK_EQ(rmdir_path(ctx, dir), -ENOENT);
  std::string full = at(ctx, "full"), twin = at(ctx, "twin");
  make_dir(full);
  make_dir(twin);
  touch(full + "/inside");
  touch(twin + "/inside");
  int32_t want = shim::plain_rmdir(twin);  // ENOTEMPTY on Linux, macOS, Windows; POSIX also allows EEXIST
  CHECK(want == -ENOTEMPTY || want == -EEXIST);
  CHECK_EQ(rmdir_path(ctx, full), want);
  CHECK(exists(full + "/inside"));
  std::string file = at(ctx, "file");
  touch(file);
  CHECK_EQ(rmdir_path(ctx, file), shim::rmdir_file_errno());
}

CORE_CASE("200 mkdirs then 200 rmdirs in one batch each complete once") {
  constexpr uint32_t kN = 200;
  std::vector<std::string> paths;
  for (uint32_t i = 0; i < kN; i++) paths.push_back(at(ctx, "d" + std::to_string(i)));
  for (uint32_t i = 0; i < kN; i++) {
    Submission s = path_op(OpCode::kMkdir, i, paths[i]);
    s.mode = 0755;
    ctx.backend->submit(s);
  }
  std::set<uint32_t> seen;
  for (const Completion& c : collect(*ctx.backend, kN)) {
    CHECK(c.token < kN && seen.insert(c.token).second);
    CHECK_EQ(c.result, 0);
  }
  for (uint32_t i = 0; i < kN; i++) ctx.backend->submit(path_op(OpCode::kRmdir, kN + i, paths[i]));
  seen.clear();
  for (const Completion& c : collect(*ctx.backend, kN)) {
    CHECK(c.token >= kN && c.token < 2 * kN && seen.insert(c.token).second);
    CHECK_EQ(c.result, 0);
  }
  for (auto& p : paths) CHECK(!exists(p));
}

// ---- stat and lstat ----------------------------------------------------------------------------------

CORE_CASE("stat by path matches stat(2); missing is ENOENT, through a file ENOTDIR as the OS says") {
  std::string file = at(ctx, "file");
  touch(file, "twelve bytes");
  StatResult got{};
  CHECK_EQ(stat_path(ctx, file, &got), 0);
  shim::FileInfo st = shim::stat_path(file);
  CHECK_EQ(got.size, int64_t(12));
  CHECK_EQ(got.mode, st.mode);
  CHECK_EQ(got.ino, st.ino);
  CHECK_EQ(got.dev, st.dev);
  CHECK_EQ(got.nlink, st.nlink);
  CHECK_EQ(got.uid, st.uid);
  CHECK_EQ(got.blocks, st.blocks);
  CHECK_EQ(got.mtime_ns, st.mtime_ns);
  StatResult dir{};
  CHECK_EQ(stat_path(ctx, ctx.scratch_dir, &dir), 0);
  CHECK(is_dir(dir.mode));
  CHECK_EQ(stat_path(ctx, at(ctx, "missing"), &got), -ENOENT);
  CHECK_EQ(stat_path(ctx, file + "/x", &got), shim::through_file_errno());
}

CORE_CASE("stat follows a symbolic link, lstat (kStatNoFollow) describes the link itself") {
  std::string target = at(ctx, "target"), link = at(ctx, "link"), dangling = at(ctx, "dangling");
  touch(target, "0123456789");
  symlink_or_skip(target, link);
  symlink_or_skip(at(ctx, "nowhere"), dangling);
  StatResult followed{}, itself{};
  CHECK_EQ(stat_path(ctx, link, &followed, false), 0);
  CHECK_EQ(stat_path(ctx, link, &itself, true), 0);
  shim::FileInfo t = shim::stat_path(target), l = shim::lstat_path(link);
  CHECK(is_reg(followed.mode));
  CHECK_EQ(followed.ino, t.ino);
  CHECK_EQ(followed.size, int64_t(10));
  CHECK(is_link(itself.mode));
  CHECK_EQ(itself.ino, l.ino);
  CHECK_EQ(itself.size, l.size);  // a link's size is the length of what it points to (POSIX)
  StatResult d{};
  CHECK_EQ(stat_path(ctx, dangling, &d, false), -ENOENT);
  CHECK_EQ(stat_path(ctx, dangling, &d, true), 0);
  CHECK(is_link(d.mode));
}

CORE_CASE("stat with an unknown flag is EINVAL and writes nothing") {
  std::string file = at(ctx, "file");
  touch(file);
  StatResult got{};
  got.size = 12345;
  Submission s = path_op(OpCode::kStat, 5, file);
  s.stat = &got;
  s.flags = 2;
  CHECK_EQ(run_one(ctx, s), -EINVAL);
  CHECK_EQ(got.size, int64_t(12345));
}

// ---- fallocate ---------------------------------------------------------------------------------------

CORE_CASE("fallocate extends the file (mode 0) or only reserves blocks (keep size)") {
  std::string path = at(ctx, "alloc");
  int fd = shim::open_fd(path, O_CREAT | O_RDWR, 0644);
  struct FdCloser {
    int fd;
    ~FdCloser() { shim::close_fd(fd); }
  } closer{fd};
  int32_t r = fallocate_fd(ctx, fd, 0, 1 << 20, false);
  if (no_fallocate(r)) SKIP("the scratch file system has no fallocate");
  CHECK_EQ(r, 0);
  shim::FileInfo st = shim::fstat_fd(fd);
  CHECK_EQ(st.size, int64_t(1 << 20));
  std::string wine;
  if (st.blocks * 512 < int64_t(1 << 20) && shim::under_wine(&wine))
    SKIP("Wine " + wine + " extends a file as a sparse ftruncate on the host file system, so no blocks are "
         "allocated (NTFS allocates them); the size is right");
  CHECK(st.blocks * 512 >= int64_t(1 << 20));
  int64_t blocks = st.blocks;

  r = fallocate_fd(ctx, fd, 1 << 20, 1 << 20, true);  // the next MiB, beyond the end
  if (no_fallocate(r)) SKIP("the scratch file system cannot reserve blocks beyond the end (keep size)");
  CHECK_EQ(r, 0);
  st = shim::fstat_fd(fd);
  CHECK_EQ(st.size, int64_t(1 << 20));  // size kept
  CHECK(st.blocks >= blocks + (1 << 20) / 512);  // blocks reserved all the same

  CHECK_EQ(fallocate_fd(ctx, fd, 100, 50, false), 0);  // inside the file: no change of size
  CHECK_EQ(shim::fstat_fd(fd).size, int64_t(1 << 20));
}

CORE_CASE("fallocate errors: EBADF, EINVAL for length 0 or an unknown flag, EBADF/ESPIPE as the OS says") {
  std::string path = at(ctx, "alloc");
  int fd = shim::open_fd(path, O_CREAT | O_RDWR, 0644);
  CHECK_EQ(fallocate_fd(ctx, 1 << 20, 0, 4096, false), -EBADF);
  int32_t zero = fallocate_fd(ctx, fd, 0, 0, false);
  if (no_fallocate(zero)) {
    shim::close_fd(fd);
    SKIP("the scratch file system has no fallocate");
  }
  CHECK_EQ(zero, -EINVAL);
  Submission s;
  s.op = OpCode::kFallocate;
  s.token = 6;
  s.fd = fd;
  s.offset = 0;
  s.length = 4096;
  s.flags = 4;
  CHECK_EQ(run_one(ctx, s), -EINVAL);
  int ro = shim::open_fd(path, O_RDONLY);
  CHECK_EQ(fallocate_fd(ctx, ro, 0, 4096, false), -EBADF);  // not open for writing
  int p[2];
  shim::make_pipe(p);
  // Linux and POSIX's posix_fallocate say ESPIPE; so does corio on macOS and Windows (mac/posix.cc).
  CHECK_EQ(fallocate_fd(ctx, p[1], 0, 4096, false), -ESPIPE);
  shim::close_fd(p[0]);
  shim::close_fd(p[1]);
  shim::close_fd(ro);
  shim::close_fd(fd);
}

CORE_CASE("fallocate waits for writes submitted before it on the same descriptor (contract 8)") {
  std::string path = at(ctx, "ordered");
  int fd = shim::open_fd(path, O_CREAT | O_RDWR, 0644);
  static char block[65536];
  std::memset(block, 'w', sizeof block);
  for (uint32_t i = 0; i < 16; i++) {
    Submission w;
    w.op = OpCode::kWrite;
    w.token = i;
    w.fd = fd;
    w.buf = block;
    w.len = sizeof block;
    w.offset = int64_t(i) * int64_t(sizeof block);
    ctx.backend->submit(w);
  }
  Submission f;
  f.op = OpCode::kFallocate;
  f.token = 100;
  f.fd = fd;
  f.offset = 0;
  f.length = 4096;  // inside what the writes make: with the writes first, the size stays 1 MiB
  ctx.backend->submit(f);
  for (const Completion& c : collect(*ctx.backend, 17)) {
    if (c.token == 100 && no_fallocate(c.result)) {
      shim::close_fd(fd);
      SKIP("the scratch file system has no fallocate");
    }
    CHECK_EQ(c.result, c.token == 100 ? 0 : int32_t(sizeof block));
  }
  CHECK_EQ(shim::fstat_fd(fd).size, int64_t(16 * sizeof block));
  shim::close_fd(fd);
}

// ---- readdir -----------------------------------------------------------------------------------------

CORE_CASE("readdir of an empty directory is 0 bytes; missing is ENOENT, a file ENOTDIR") {
  std::string dir = at(ctx, "empty");
  make_dir(dir);
  std::vector<uint8_t> buf(4096, 0xee);
  CHECK_EQ(readdir_into(ctx, dir, buf, uint32_t(buf.size())), 0);
  CHECK_EQ(readdir_into(ctx, dir, buf, 0), 0);  // nothing to fit: even a zero-length buffer will do
  CHECK_EQ(readdir_into(ctx, at(ctx, "missing"), buf, uint32_t(buf.size())), -ENOENT);
  std::string file = at(ctx, "file");
  touch(file);
  CHECK_EQ(readdir_into(ctx, file, buf, uint32_t(buf.size())), -ENOTDIR);
}

CORE_CASE("readdir of one entry: the exact record, and -ENOBUFS one byte short of it") {
  std::string dir = at(ctx, "one");
  make_dir(dir);
  touch(dir + "/hello.txt");
  std::vector<uint8_t> buf(64, 0xee);
  int32_t used = readdir_into(ctx, dir, buf, uint32_t(buf.size()));
  const char want[] = "\x01hello.txt";  // [kDirentFile]["hello.txt"][NUL]
  CHECK_EQ(used, int32_t(sizeof want));
  CHECK(std::memcmp(buf.data(), want, sizeof want) == 0);
  CHECK_EQ(buf[sizeof want], uint8_t(0xee));  // nothing written past the result
  CHECK_EQ(readdir_into(ctx, dir, buf, uint32_t(sizeof want)), int32_t(sizeof want));  // exactly fits
  CHECK_EQ(readdir_into(ctx, dir, buf, uint32_t(sizeof want) - 1), -ENOBUFS);
  CHECK_EQ(readdir_into(ctx, dir, buf, 4), -ENOBUFS);
}

CORE_CASE("readdir of 2,000 entries of every common type, and -ENOBUFS with a small buffer") {
  std::string dir = at(ctx, "many");
  make_dir(dir);
  std::map<std::string, uint8_t> want;
  for (int i = 0; i < 1994; i++) {
    std::string name = "file-" + std::to_string(i);
    touch(dir + "/" + name);
    want[name] = kDirentFile;
  }
  for (int i = 0; i < 3; i++) {
    std::string name = "dir-" + std::to_string(i);
    make_dir(dir + "/" + name);
    want[name] = kDirentDir;
  }
  // Links and a FIFO where the platform makes them; files of those names where it does not, so the
  // count and the sizes stay the same.
  std::string why_not;
  const bool links = shim::make_symlink("file-0", dir + "/link", &why_not) &&
                     shim::make_symlink("nowhere", dir + "/dangling", &why_not);  // listed all the same
  for (const char* name : {"link", "dangling"}) {
    if (!links && !exists(dir + "/" + name)) touch(dir + "/" + name);
    want[name] = links ? kDirentSymlink : kDirentFile;
  }
  const bool fifo = shim::make_fifo(dir + "/fifo", &why_not);
  if (!fifo) touch(dir + "/fifo");
  want["fifo"] = fifo ? kDirentFifo : kDirentFile;
  CHECK_EQ(want.size(), size_t(2000));

  size_t need = 0;
  for (auto& [name, type] : want) need += name.size() + 2;
  std::vector<uint8_t> buf(need + 100);
  int32_t used = readdir_into(ctx, dir, buf, uint32_t(buf.size()));
  CHECK_EQ(used, int32_t(need));
  auto got = parse_dirents(buf, used);
  CHECK_EQ(got.size(), want.size());
  for (auto& [name, type] : want) {
    auto it = got.find(name);
    if (it == got.end()) throw Failure{"readdir did not list '" + name + "'"};
    // DT_UNKNOWN is allowed by the format (some file systems do not say); a known type must be right.
    if (it->second != kDirentUnknown && it->second != type)
      throw Failure{"'" + name + "' has type " + std::to_string(it->second) + ", want " + std::to_string(type)};
  }
  CHECK_EQ(readdir_into(ctx, dir, buf, 1024), -ENOBUFS);
  CHECK_EQ(readdir_into(ctx, dir, buf, uint32_t(need) - 1), -ENOBUFS);
}
