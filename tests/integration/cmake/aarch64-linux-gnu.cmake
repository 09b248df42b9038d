# aarch64-linux-gnu.cmake — CMake toolchain file for the integration test's cross build: the
# generated code is compiled by Debian's AArch64 cross gcc (onnxcc still runs on the host).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# the host's onnxcc package is found through CMAKE_PREFIX_PATH, outside the target root
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
