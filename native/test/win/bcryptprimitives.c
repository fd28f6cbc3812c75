// Stand-in for Windows' bcryptprimitives.dll, which Wine 8.0 lacks: vitest's Rust-built dependencies
// (rolldown, lightningcss) import its ProcessPrng. Built into the Wine prefix by scripts/test-windows.sh.
#include <windows.h>
#include <ntsecapi.h> /* RtlGenRandom = advapi32!SystemFunction036 */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {  // RtlGenRandom takes a ULONG length: fill in chunks
    ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
    if (!RtlGenRandom(data, n)) return FALSE;
    data += n;
    len -= n;
  }
  return TRUE;
}
