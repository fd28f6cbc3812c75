{
  # One target, sources chosen per platform by conditions (no #ifdef in shared logic).
  # C++20 with exceptions: node-addon-api's C++ exceptions turn argument errors into JS TypeErrors.
  "targets": [
    {
      "target_name": "corio",
      "sources": [
        "native/addon.cc",
        "native/binding/signals.cc",
        "native/binding/hosted.cc",
        "native/core/backend.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++1y"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/core/posix/ops.cc",
            "native/core/linux/posix.cc",
            "native/core/linux/select.cc",
            "native/core/linux/uring.cc",
            "native/core/linux/uring_setup.cc",
            "native/core/linux/epoll.cc",
            "native/core/pool.cc",
            "native/core/posix/pool_os.cc",
            "native/core/posix/signals.cc",
            "native/binding/hosted_uv.cc"
          ]
        }],
        ["OS=='mac'", {
          "sources": [
            "native/core/posix/ops.cc",
            "native/core/mac/posix.cc",
            "native/core/mac/select.cc",
            "native/core/mac/kqueue.cc",
            "native/core/pool.cc",
            "native/core/posix/pool_os.cc",
            "native/core/posix/signals.cc",
            "native/binding/hosted_uv.cc"
          ]
        }],
        ["OS=='win'", {
          "sources": [
            "native/core/win/select.cc",
            "native/core/win/iocp.cc",
            "native/core/win/fd.cc",
            "native/core/win/ops.cc",
            "native/core/win/pool_os.cc",
            "native/core/win/signals.cc",
            "native/core/pool.cc",
            "native/binding/hosted_win.cc"
          ],
          "defines": ["_WIN32_WINNT=0x0602", "WINVER=0x0602", "WIN32_LEAN_AND_MEAN", "NOMINMAX"]
        }],
        ["OS=='linux' and '<!(echo $CORIO_SANITIZE)'=='1'", {
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "GCC_ENABLE_CPP_RTTI": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++20",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++20"] }
      }
    }
  ]
}
