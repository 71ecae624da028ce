//! Benchmark tools; the binaries are in `src/bin`, the drivers in `scripts/bench-*.py`.
