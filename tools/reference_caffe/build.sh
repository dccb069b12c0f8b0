#!/usr/bin/env bash
# Build CPU-only Caffe with its Python bindings (pycaffe) for local reference runs.
#
# Source: the PyPI sdist brocolli-caffe 9.0.2 (Caffe 1.0 at 9b89154 plus an SSD fork's
# additions). Its setup.py wants conda, so CMake is driven directly: CPU_ONLY, OpenBLAS,
# no OpenCV/LevelDB/LMDB; Debian packages for every dependency (the fork links -lopenblas
# directly). Everything lands under build/ (git-ignored):
# build/caffe/src (patched sources), build/caffe/cmake (objects),
# build/caffe-venv (a Python environment with NumPy 1.x for pycaffe; the project's .venv
# is not touched). About 6 to 8 minutes on 2 cores.
#
# Usage: bash tools/reference_caffe/build.sh      (idempotent; re-run to resume)
# Then:  build/caffe-venv/bin/python -c "import caffe"  (the venv's site-packages holds a
#        .pth file pointing at build/caffe/src/python)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="9.0.2"
work="$repo/build/caffe"
src="$work/src"
obj="$work/cmake"
venv="$repo/build/caffe-venv"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
jobs="${JOBS:-$(nproc)}"

step() { echo "== $(date -u +%H:%M:%S) $*"; }

step "Debian packages"
if [[ "${SKIP_APT:-0}" != 1 ]]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    cmake g++ make protobuf-compiler libprotobuf-dev libgoogle-glog-dev libgflags-dev \
    libboost-python-dev libboost-system-dev libboost-thread-dev libboost-filesystem-dev \
    libboost-regex-dev libhdf5-dev libopenblas-dev >/dev/null
fi

step "Python environment for pycaffe: $venv"
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
# pycaffe's C++ uses the NumPy 1.x C API; caffe/io.py imports scikit-image and SciPy,
# pycaffe.py six.
"$venv/bin/pip" install -q "numpy<2" "scipy<1.14" "scikit-image<0.23" "protobuf==4.21.12" "six" \
  "tqdm"
py_ver="$("$venv/bin/python" -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')"
py_inc="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
np_inc="$("$venv/bin/python" -c 'import numpy; print(numpy.get_include())')"

step "sources: brocolli-caffe $version"
mkdir -p "$work"
if [[ ! -f "$src/CMakeLists.txt" ]]; then
  (cd "$work" && "$venv/bin/pip" download -q --no-deps --no-binary :all: \
      "brocolli-caffe==$version" -d .)
  rm -rf "$src" "$work/brocolli-caffe-$version"
  tar xzf "$work/brocolli-caffe-$version.tar.gz" -C "$work"
  mv "$work/brocolli-caffe-$version" "$src"
  # 1. Hard-coded Anaconda include/link paths -> this Python and its NumPy; HDF5 from
  #    Debian's serial build.
  sed -i \
    -e "s#^include_directories(\${ANACONDA_HOME}/include .*#include_directories($py_inc $np_inc /usr/include/hdf5/serial)#" \
    -e 's#^link_directories(${ANACONDA_HOME}/lib)#link_directories(/usr/lib/x86_64-linux-gnu/hdf5/serial)#' \
    "$src/CMakeLists.txt"
  # 2. Debian library names: boost_python<XY>, hdf5_serial(_hl).
  sed -i \
    -e "s#-lboost_python #-lboost_python$py_ver #" \
    -e 's#-lhdf5_hl -lhdf5 #-lhdf5_serial_hl -lhdf5_serial #' \
    "$src/python/CMakeLists.txt"
  # 3. net.cpp includes the gtest harness header without using it.
  sed -i -e 's@^#include "caffe/test/test_caffe_main.hpp"@// (gtest include removed)@' \
    "$src/src/caffe/net.cpp"
  # 4. The test target needs gtest, which is not built here.
  sed -i -e 's@^ add_subdirectory(test)@# add_subdirectory(test)@' "$src/src/caffe/CMakeLists.txt"
fi

step "configure"
cmake -S "$src" -B "$obj" -DCMAKE_BUILD_TYPE=Release -DCPU_ONLY=ON -DUSE_CUDNN=OFF \
  -DUSE_OPENCV=OFF -DUSE_LEVELDB=OFF -DUSE_LMDB=OFF -DUSE_HDF5=OFF \
  -DBUILD_python=ON -DBUILD_docs=OFF -DBUILD_matlab=OFF \
  -DPYTHON_INCLUDE_DIRS="$py_inc" -DNUMPY_INCLUDE_DIR="$np_inc" >"$work/cmake.log"

step "compile (make -j$jobs pycaffe; log: $work/make.log)"
make -C "$obj" -j"$jobs" pycaffe >"$work/make.log" 2>&1 || {
  tail -30 "$work/make.log"; exit 1; }

step "install into $venv (a .pth file)"
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$src/python" >"$site/reference_caffe.pth"
GLOG_minloglevel=2 "$venv/bin/python" -c \
  "import caffe; caffe.set_mode_cpu(); print('pycaffe', caffe.__version__, 'imports')"
step "done"
